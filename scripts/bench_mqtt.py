#!/usr/bin/env python3
"""Latency of the MQTT output on this machine, against a real local Mosquitto.

Measures, for N synthetic strides, the time from the ``publish_stride()`` call to the
message arriving at a subscriber on loopback (one stride at a time, as in a real run where
strides come ~0.7 s apart), the part of it the calling thread pays (the durable outbox
write), and a burst of N back-to-back strides (replay of an outbox backlog)::

    python scripts/bench_mqtt.py --strides 200

Needs the ``mosquitto`` broker binary (Debian package ``mosquitto``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import paho.mqtt.client as paho  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from edge.outputs.mqtt import MqttConfig, MqttPublisher  # noqa: E402
from edge.testing.mosquitto import Broker  # noqa: E402
from edge.testing.mqtt import stride_report  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strides", type=int, default=200)
    args = parser.parse_args()
    n = args.strides
    with tempfile.TemporaryDirectory() as tmp:
        broker = Broker(Path(tmp) / "broker")
        broker.start()
        arrivals: dict[str, float] = {}
        arrived = threading.Condition()
        subscribed = threading.Event()

        def on_message(_c, _u, message) -> None:
            now = time.perf_counter()
            with arrived:
                arrivals[json.loads(message.payload)["message_id"]] = now
                arrived.notify_all()

        sub = paho.Client(CallbackAPIVersion.VERSION2)
        sub.on_message = on_message
        sub.on_subscribe = lambda *_a: subscribed.set()
        sub.on_connect = lambda c, *_a: c.subscribe("trackside/bench/stride", qos=1)
        sub.connect("127.0.0.1", broker.port)
        sub.loop_start()
        subscribed.wait(10)
        publisher = MqttPublisher(
            MqttConfig(
                host="127.0.0.1",
                port=broker.port,
                device_id="bench",
                homeassistant=False,
                outbox_path=str(Path(tmp) / "outbox.sqlite3"),
            )
        )
        publisher.start()
        publisher.link.wait_connected(10)

        def wait_for(ids: list[str]) -> None:
            deadline = time.monotonic() + 30
            with arrived:
                while not all(i in arrivals for i in ids):
                    if not arrived.wait(deadline - time.monotonic()):
                        raise SystemExit("timed out waiting for strides")

        reports = [stride_report(i) for i in range(n)]
        latency, call = [], []
        for report in reports:
            t0 = time.perf_counter()
            message_id = publisher.publish_stride(report)
            t1 = time.perf_counter()
            wait_for([message_id])
            latency.append((arrivals[message_id] - t0) * 1000)
            call.append((t1 - t0) * 1000)

        t0 = time.perf_counter()
        ids = [publisher.publish_stride(r) for r in reports]
        wait_for(ids)
        burst_s = time.perf_counter() - t0

        publisher.stop()
        sub.disconnect()
        sub.loop_stop()
        broker.stop()

    def line(name: str, values: list[float]) -> str:
        return (
            f"{name:<38} median {statistics.median(values):7.2f} ms   "
            f"p95 {sorted(values)[int(0.95 * (len(values) - 1))]:7.2f} ms   "
            f"max {max(values):7.2f} ms"
        )

    print(f"MQTT output, {n} strides, loopback Mosquitto, QoS 1, SQLite outbox (FULL sync)")
    print(line("publish_stride() -> subscriber", latency))
    print(line("publish_stride() call (outbox write)", call))
    print(
        f"{'burst of back-to-back strides':<38} {n / burst_s:7.0f} strides/s "
        f"({burst_s * 1000:.0f} ms for {n})"
    )


if __name__ == "__main__":
    main()
