"""A real Mosquitto broker for integration tests, on a free loopback port.

:class:`Broker` writes a config into a temporary folder, starts ``mosquitto`` on it, waits
(bounded) until the port accepts connections, and can stop and restart on the same port
with its persistence file, so a persistent subscriber session survives a restart.
:func:`make_tls_files` makes a throwaway CA and server certificate with the ``openssl``
command and a password file with ``mosquitto_passwd``.

Needs the Debian packages ``mosquitto`` (broker and ``mosquitto_passwd``) and ``openssl``.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
START_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
        return True
    return False


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path
    server_cert: Path
    server_key: Path
    password_file: Path
    username: str
    password: str


class Broker:
    """One ``mosquitto`` process; ``start()``, ``stop()``, ``start()`` again on the same port."""

    def __init__(self, workdir: Path, *, tls: TlsFiles | None = None) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.tls = tls
        self.log_file = workdir / "mosquitto.log"
        self.config_file = workdir / "mosquitto.conf"
        self.process: subprocess.Popen[bytes] | None = None
        self.config_file.write_text(self._config())

    def _config(self) -> str:
        lines = [
            f"listener {self.port} 127.0.0.1",
            "persistence true",
            f"persistence_location {self.workdir}/",
            f"log_dest file {self.log_file}",
            "log_type all",
            "max_queued_messages 100000",
        ]
        if os.geteuid() == 0:
            # Stay root: mosquitto would otherwise switch to its own user, which cannot
            # read the test's temporary folder.
            lines.append(f"user {getpass.getuser()}")
        if self.tls is None:
            lines.append("allow_anonymous true")
        else:
            lines += [
                f"cafile {self.tls.ca_file}",
                f"certfile {self.tls.server_cert}",
                f"keyfile {self.tls.server_key}",
                "allow_anonymous false",
                f"password_file {self.tls.password_file}",
            ]
        return "\n".join(lines) + "\n"

    def start(self) -> None:
        assert self.process is None, "broker already running"
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not port_open(self.port):
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                self.process = None
                raise RuntimeError(f"mosquitto exited at start: {err}\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"mosquitto did not listen on {self.port} in time")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM: mosquitto saves its persistence file first)."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_file.exists():
            return ""
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])


def _run(*args: str | Path) -> None:
    subprocess.run([str(a) for a in args], check=True, capture_output=True, timeout=60)


def make_tls_files(directory: Path, *, username: str, password: str) -> TlsFiles:
    """A throwaway CA, a server certificate for 127.0.0.1/localhost, and a password file."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_crt = directory / "ca.key", directory / "ca.crt"
    key, csr, crt = directory / "server.key", directory / "server.csr", directory / "server.crt"
    ext = directory / "server.ext"
    _run(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        ca_key,
        "-out",
        ca_crt,
        "-days",
        "2",
        "-subj",
        "/CN=Trackside test CA",
    )
    _run(
        "openssl",
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        key,
        "-out",
        csr,
        "-subj",
        "/CN=localhost",
    )
    ext.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _run(
        "openssl",
        "x509",
        "-req",
        "-in",
        csr,
        "-CA",
        ca_crt,
        "-CAkey",
        ca_key,
        "-CAcreateserial",
        "-out",
        crt,
        "-days",
        "2",
        "-extfile",
        ext,
    )
    passwd = directory / "passwd"
    _run("mosquitto_passwd", "-c", "-b", passwd, username, password)
    return TlsFiles(ca_crt, crt, key, passwd, username, password)
