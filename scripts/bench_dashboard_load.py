#!/usr/bin/env python3
"""The dashboard's memory and responsiveness under many browsers and under attack.

Starts a real Mosquitto and the dashboard in a child process (default settings: caps of
256 connections, 32 per address), then:

1. **browsers**: ``--sse-clients`` event streams (each from its own loopback address, as
   phones on the track's Wi-Fi) while ``--devices`` simulated devices publish a stride every
   0.35 s each for ``--seconds``; every stream must get every stride;
2. **attack**: ``--slow-clients`` connections that begin a request and trickle it
   (slowloris, spread over 10 attacker addresses so the per-address cap does not simply
   refuse them) plus ``--idle-clients`` that connect and say nothing, while the page is
   fetched once a second.

Prints the child's RSS and thread count at each stage and the page's response times::

    python scripts/bench_dashboard_load.py --sse-clients 200 --slow-clients 300
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from edge.outputs.mqtt import MqttPublisher  # noqa: E402
from edge.testing.dashboard import DashboardProcess, publisher_config  # noqa: E402
from edge.testing.mosquitto import Broker  # noqa: E402
from edge.testing.mqtt import stride_report  # noqa: E402


class Stream:
    """One browser's event stream, read on its own thread: counts the stride events."""

    def __init__(self, port: int, source: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), 10, (source, 0))
        self.sock.sendall(
            b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
        )
        self.strides = 0
        self.closed = False
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        self.sock.settimeout(None)
        tail = b""
        try:
            while chunk := self.sock.recv(65536):
                data = tail + chunk
                self.strides += data.count(b"event: stride\n")
                tail = data[-20:]
        except OSError:
            pass
        self.closed = True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._thread.join(timeout=5)


def page_time(url: str) -> float | None:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            response.read()
    except OSError:
        return None
    return (time.monotonic() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sse-clients", type=int, default=200)
    parser.add_argument("--devices", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--slow-clients", type=int, default=300)
    parser.add_argument("--idle-clients", type=int, default=200)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-dashboard-load-"))
    broker = Broker(work / "broker")
    broker.start()
    dashboard = DashboardProcess(broker.port, work / "dashboard.log")
    url = dashboard.url
    print(f"idle: RSS {dashboard.rss_mb():.1f} MB, {dashboard.threads()} threads")

    # 1. browsers
    streams = [Stream(dashboard.port, f"127.0.1.{n % 250 + 1}") for n in range(args.sse_clients)]
    publishers = []
    for n in range(args.devices):
        p = MqttPublisher(publisher_config(broker.port, f"load-pi-{n}", work / f"ob{n}"))
        p.start()
        assert p.link.wait_connected(10)
        publishers.append(p)
    time.sleep(1.0)  # the streams' snapshots
    rss = [dashboard.rss_mb()]
    sent = 0
    started = time.monotonic()
    next_at = started
    while time.monotonic() - started < args.seconds:
        for p in publishers:
            p.publish_stride(stride_report(sent))
        sent += 1
        next_at += 0.35
        time.sleep(max(0.0, next_at - time.monotonic()))
        if sent % 20 == 0:
            rss.append(dashboard.rss_mb())
    deadline = time.monotonic() + 20
    expected = sent * args.devices
    while time.monotonic() < deadline and min(s.strides for s in streams) < expected:
        time.sleep(0.1)
    got = [s.strides for s in streams]
    print(
        f"{args.sse_clients} event streams, {args.devices} devices x {sent} strides: "
        f"RSS peak {max(rss):.1f} MB, end {rss[-1]:.1f} MB, {dashboard.threads()} threads; "
        f"streams with every stride {sum(g >= expected for g in got)}/{len(got)} "
        f"(fewest {min(got)} of {expected}); page {page_time(url + 'api/state'):.1f} ms"
    )
    for s in streams:
        s.close()
    for p in publishers:
        p.stop()
    time.sleep(1.0)

    # 2. attack
    attackers: list[socket.socket] = []
    for n in range(args.slow_clients):
        sock = socket.create_connection(
            ("127.0.0.1", dashboard.port), 10, (f"127.0.2.{n % 10 + 1}", 0)
        )
        sock.sendall(b"GET /api/state HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        sock.setblocking(False)
        attackers.append(sock)
    for n in range(args.idle_clients):
        sock = socket.create_connection(
            ("127.0.0.1", dashboard.port), 10, (f"127.0.3.{n % 10 + 1}", 0)
        )
        attackers.append(sock)
    times, rss = [], []
    for _ in range(15):  # longer than the 10 s head timeout
        for sock in attackers[: args.slow_clients]:
            with contextlib.suppress(OSError):
                sock.send(b"a")
        times.append(page_time(url + "api/state"))
        rss.append(dashboard.rss_mb())
        time.sleep(1.0)
    answered = [t for t in times if t is not None]
    print(
        f"attack: {args.slow_clients} slow + {args.idle_clients} idle connections: "
        f"RSS peak {max(rss):.1f} MB, {dashboard.threads()} threads; page answered "
        f"{len(answered)}/{len(times)} times, median {statistics.median(answered):.1f} ms, "
        f"max {max(answered):.1f} ms"
    )
    for sock in attackers:
        sock.close()
    dashboard.stop()
    broker.stop()


if __name__ == "__main__":
    main()
