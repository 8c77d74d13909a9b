"""Issue 12, finding 1, end to end: `trackside run` on a real full disk, with a real clip, a
real Mosquitto and systemd's notify socket, as systemd runs it.

Before: the daemon died with ``sqlite3.OperationalError: database or disk is full`` within
seconds, died again at every restart, and the stride being written was lost.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from edge.outputs.mqtt.outbox import Outbox
from edge.testing.mqtt import Subscriber, dedupe

REPO = Path(__file__).resolve().parent.parent
CLIP = "movup_run_treadmill.mp4"


def write_config(folder: Path, port: int, clip: Path, state: Path) -> Path:
    config = folder / "trackside.toml"
    config.write_text(
        f"""
[source]
input = "{clip}"
[mqtt]
host = "127.0.0.1"
port = {port}
device_id = "disk"
keepalive = 5
reconnect_max_s = 1
outbox_path = "{state / "outbox.sqlite3"}"
homeassistant = false
[results]
path = "{state / "results.sqlite3"}"
min_free_megabytes = 0.1
# the disk budget under test is the outbox's and the results file's
clips = false
[feedback]
enabled = false
[service]
status_interval = 1.0
# an anonymous session from the start: every stride belongs to the session counted here
auto_session = "always"
"""
    )
    return config


class Notify:
    """systemd's notify socket, read by the test on a thread as systemd does: READY,
    STATUS lines, WATCHDOG."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                line = self.sock.recv(65536).decode()
            except OSError:
                return
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()

    def wait_for(self, predicate, timeout: float, *, after: int = 0) -> str:
        """The first line (from number ``after`` on) that meets ``predicate``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = next((x for x in self.lines[after:] if predicate(x)), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no such line in {timeout} s; last {self.lines[-3:]}")
                self._cond.wait(left)

    def close(self) -> None:
        self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._thread.join(timeout=5)


def start_daemon(config: Path, notify: Notify, model_dir: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "TRACKSIDE_MODEL_DIR": str(model_dir),
        "NOTIFY_SOCKET": str(notify.path),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "edge", "--config", str(config), "run", "--loop", "--speed", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def strides_in(status_line: str) -> int:
    match = re.search(r"(\d+) strides", status_line)
    return int(match.group(1)) if match else -1


def stop(daemon: subprocess.Popen[str]) -> str:
    daemon.send_signal(signal.SIGTERM)
    output, _ = daemon.communicate(timeout=20)
    return output


def test_a_full_disk_degrades_the_daemon_and_loses_no_stride(
    tmp_path, broker, small_disk, media_dir, model_dir
):
    disk = small_disk(256)  # outbox and results store share it, as on the SD card
    # The coach's persistent session: the broker keeps what it missed while it was down.
    coach = Subscriber(broker.port, ["trackside/disk/#"], client_id="coach", persistent=True)
    broker.stop()
    notify = Notify(tmp_path / "notify.sock")
    config = write_config(tmp_path, broker.port, media_dir / CLIP, disk.path)
    daemon = start_daemon(config, notify, model_dir)
    try:
        notify.wait_for(lambda line: line.startswith("READY=1"), timeout=60)
        full = notify.wait_for(lambda line: "MQTT outbox: file not writable" in line, 120)
        assert full.startswith("STATUS=degraded") and "history paused" in full
        # Still analysing and counting strides on a full disk: it neither died nor hung.
        later = notify.wait_for(lambda line: strides_in(line) >= strides_in(full) + 5, timeout=120)
        assert daemon.poll() is None and "held in memory" in later

        disk.resize(16 * 1024)  # space returns...
        broker.start()  # ...and the broker comes back
        seen = len(notify.lines)
        notify.wait_for(
            lambda line: line.startswith("STATUS=running") and "not writable" not in line,
            timeout=60,
            after=seen,
        )
        coach.wait_for(
            lambda ms: sum(t == "trackside/disk/stride" for t, _p, _r in ms) >= strides_in(later),
            timeout=120,
        )
        output = stop(daemon)
        assert daemon.returncode == 0, output
        assert "Traceback" not in output, output
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        notify.close()

    # Every stride the session counted was delivered, or is still queued on disk.
    left = Outbox(disk.path / "outbox.sqlite3")
    queued = [json.loads(m.payload) for m in left.pending(limit=100_000)]
    left.close()
    coach.wait_for(lambda ms: any(t == "trackside/disk/session" for t, _p, _r in ms), 10)
    coach.close()
    delivered = coach.payloads("trackside/disk/stride")
    strides = dedupe(delivered + [p for p in queued if p["type"] == "stride"])
    sessions = coach.payloads("trackside/disk/session") + [
        p for p in queued if p["type"] == "session"
    ]
    assert sessions and sessions[-1]["strides"] == len(strides) > strides_in(later)
    assert len({p["session_id"] for p in strides}) == 1
    held = re.search(r"(\d+) result\(s\) held in memory", later)
    print(
        f"full disk: degraded at stride {strides_in(full)}, {held and held.group(1)} results "
        f"in memory at stride {strides_in(later)}; session {len(strides)} strides: "
        f"{len(dedupe(delivered))} delivered, {len(strides) - len(dedupe(delivered))} still queued"
    )


def test_a_daemon_started_on_a_full_disk_runs_and_publishes_live(
    tmp_path, broker, small_disk, media_dir, model_dir
):
    disk = small_disk(256)
    disk.fill()  # not even an empty outbox or results file fits
    coach = Subscriber(broker.port, ["trackside/disk/#"])
    notify = Notify(tmp_path / "notify.sock")
    config = write_config(tmp_path, broker.port, media_dir / CLIP, disk.path)
    daemon = start_daemon(config, notify, model_dir)
    try:
        notify.wait_for(lambda line: line.startswith("READY=1"), timeout=60)
        coach.wait_for(
            lambda ms: sum(t == "trackside/disk/stride" for t, _p, _r in ms) >= 3, timeout=120
        )
        coach.wait_for(
            lambda ms: any(
                t == "trackside/disk/status" and json.loads(p)["degraded"] for t, p, _r in ms
            ),
            timeout=30,
        )
        status = [s for s in coach.payloads("trackside/disk/status") if s["degraded"]][-1]
        assert status["state"] == "degraded"
        assert any(line.startswith("MQTT outbox: file not writable") for line in status["degraded"])
        assert any(line.startswith("results store: history paused") for line in status["degraded"])
        output = stop(daemon)
        assert daemon.returncode == 0, output
        assert "Traceback" not in output
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        notify.close()
        coach.close()
