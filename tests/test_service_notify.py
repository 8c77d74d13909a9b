"""sd_notify messages arrive on a real Unix datagram socket, as systemd would read them."""

from __future__ import annotations

import os
import socket

import pytest

from edge.service.notify import SystemdNotifier


@pytest.fixture
def notify_socket(tmp_path):
    path = tmp_path / "notify.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    server.settimeout(5)
    yield path, server
    server.close()


def test_ready_status_watchdog_and_stopping_are_received(notify_socket):
    path, server = notify_socket
    notifier = SystemdNotifier(str(path), watchdog_usec="5000000")
    assert notifier.enabled and notifier.watchdog_interval == 5.0
    assert notifier.ready("replaying clip.mp4")
    assert server.recv(4096) == b"READY=1\nSTATUS=replaying clip.mp4"
    assert notifier.watchdog()
    assert server.recv(4096) == b"WATCHDOG=1"
    assert notifier.status("12.0 fps, 0 dropped")
    assert server.recv(4096) == b"STATUS=12.0 fps, 0 dropped"
    assert notifier.stopping()
    assert server.recv(4096) == b"STOPPING=1"
    notifier.close()


def test_abstract_socket_address():
    name = f"@trackside-test-{os.getpid()}"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(b"\0" + name[1:].encode())
    server.settimeout(5)
    try:
        assert SystemdNotifier(name).ready()
        assert server.recv(4096) == b"READY=1"
    finally:
        server.close()


def test_without_systemd_everything_is_a_quiet_no_op(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    notifier = SystemdNotifier()
    assert not notifier.enabled and notifier.watchdog_interval is None
    assert notifier.ready() is False and notifier.watchdog() is False


def test_watchdog_meant_for_another_process_is_ignored(monkeypatch, tmp_path):
    monkeypatch.setenv("WATCHDOG_USEC", "2000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))
    assert SystemdNotifier(str(tmp_path / "x.sock")).watchdog_interval is None
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert SystemdNotifier(str(tmp_path / "x.sock")).watchdog_interval == 2.0


def test_a_vanished_socket_is_not_fatal(tmp_path):
    notifier = SystemdNotifier(str(tmp_path / "gone.sock"))
    assert notifier.ready() is False


def test_a_reader_that_stops_reading_never_blocks_the_daemon(notify_socket, caplog):
    """A datagram socket holds 10 unread messages; then a blocking send waits forever
    (found while testing issue 12: the daemon hung at SIGTERM on STOPPING=1)."""
    path, server = notify_socket
    notifier = SystemdNotifier(str(path))
    with caplog.at_level("WARNING"):
        sent = [notifier.status(f"n{i}") for i in range(200)]  # returns: nobody reads
    assert sent[0] and not sent[-1]
    assert len([r for r in caplog.records if "cannot notify" in r.getMessage()]) == 1
    assert server.recv(4096) == b"STATUS=n0"
    notifier.close()
