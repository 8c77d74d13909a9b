#!/usr/bin/env python3
"""Live strides while an outbox backlog drains, against a real local Mosquitto.

An outbox holding ``--backlog`` undelivered strides (an outage's worth: the issue measured
30,000) is handed to a real :class:`MqttPublisher`; while it drains, a live stride is
published every ``--period`` s, as a runner would.  Prints the drain rate and how long each
live stride took to reach a subscriber (before issue 12 they waited behind the backlog:
up to 79 s)::

    python scripts/bench_backlog.py --backlog 30000
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from edge.outputs.mqtt import MqttConfig, MqttPublisher  # noqa: E402
from edge.outputs.mqtt.outbox import Outbox  # noqa: E402
from edge.outputs.mqtt.payloads import Envelope, encode, stride_payload  # noqa: E402
from edge.testing.mosquitto import Broker  # noqa: E402
from edge.testing.mqtt import Subscriber, stride_report  # noqa: E402


def fill(path: Path, count: int, topic: str) -> None:
    """An outbox file with ``count`` strides, written in one transaction (fast to set up)."""
    Outbox(path).close()  # the schema
    db = sqlite3.connect(path)
    now = time.time()
    rows = [
        (
            topic,
            encode(stride_payload(Envelope("bench", f"B{i:025d}", now), stride_report(i))),
            1,
            0,
            now,
        )
        for i in range(count)
    ]
    with db:
        db.executemany(
            "INSERT INTO outbox (topic, payload, qos, retain, created) VALUES (?,?,?,?,?)", rows
        )
    db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backlog", type=int, default=30_000)
    parser.add_argument("--period", type=float, default=0.35)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-backlog-"))
    broker = Broker(work / "broker")
    broker.start()
    topic = "trackside/bench/stride"
    coach = Subscriber(broker.port, [topic], client_id="bench-coach", persistent=True)
    arrived: dict[bytes, float] = {}
    lock = threading.Lock()
    original = coach.client.on_message

    def on_message(client, userdata, message) -> None:  # arrival times of the live ones
        if b'"message_id":"B' not in message.payload:
            with lock:
                arrived[message.payload] = time.monotonic()
        original(client, userdata, message)

    coach.client.on_message = on_message
    fill(work / "outbox.sqlite3", args.backlog, topic)
    publisher = MqttPublisher(
        MqttConfig(
            host="127.0.0.1",
            port=broker.port,
            device_id="bench",
            outbox_path=str(work / "outbox.sqlite3"),
            homeassistant=False,
        )
    )
    started = time.monotonic()
    publisher.start()
    # Strides made before the link is up belong to the backlog (the forwarder's rule).
    assert publisher.link.wait_connected(10)
    sent: list[tuple[str, float]] = []
    i = args.backlog
    while len(publisher.outbox) > 0 or len(sent) < 5:
        mid = publisher.publish_stride(stride_report(i))
        sent.append((mid, time.monotonic()))
        i += 1
        time.sleep(args.period)
        if time.monotonic() - started > 600:
            break
    drained = time.monotonic() - started
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with lock:
            if len(arrived) >= len(sent):
                break
        time.sleep(0.05)
    latencies = []
    with lock:
        for mid, t0 in sent:
            t1 = next((t for payload, t in arrived.items() if mid.encode() in payload), None)
            if t1 is not None:
                latencies.append((t1 - t0) * 1000)
    publisher.stop()
    coach.close()
    broker.stop()
    print(
        f"backlog {args.backlog} strides drained in {drained:.1f} s "
        f"({args.backlog / drained:.0f} msg/s) with a live stride every {args.period} s"
    )
    print(
        f"live strides: {len(latencies)} of {len(sent)} received; publish -> subscriber "
        f"median {statistics.median(latencies):.1f} ms, max {max(latencies):.1f} ms"
    )


if __name__ == "__main__":
    main()
