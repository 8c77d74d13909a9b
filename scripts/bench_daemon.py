"""How quickly does the runner see an LED, and a coach an MQTT message, after a foot strike?

Replays a real clip through the whole daemon paced in real time (as if it came from a
camera), with the real model, the LED driver on gpiozero's mock pins (its real ticker
thread) and the MQTT publisher talking to a real Mosquitto on loopback.  For every judged
stride it measures, from the moment the frame showing the stride's closing foot strike was
"captured" (released by the pacer):

* to the first traffic-light pin change it caused, and
* to a subscriber receiving the stride message.

    python scripts/bench_daemon.py [--clip CLIP] [--speed 1.0] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gpiozero.pins.mock import MockFactory  # noqa: E402

from edge.capture import open_source  # noqa: E402
from edge.config import Config  # noqa: E402
from edge.outputs.feedback import FeedbackDriver  # noqa: E402
from edge.outputs.mqtt import MqttPublisher  # noqa: E402
from edge.pose.models import resolve_model_path  # noqa: E402
from edge.pose.movenet import PoseEstimator  # noqa: E402
from edge.service.daemon import Daemon  # noqa: E402
from edge.testing.mosquitto import Broker  # noqa: E402
from edge.testing.mqtt import Subscriber  # noqa: E402

TRAFFIC_LIGHT = {"green": 17, "amber": 27, "red": 22}
GRADE_COLOUR = {"ok": "green", "warn": "amber", "fault": "red"}


class TimedSource:
    """Wraps a clip source to note when its first frame was handed to the pacer."""

    def __init__(self, source):
        self.source = source
        self.name, self.live = source.name, False
        self.frame_count, self.nominal_fps = source.frame_count, source.nominal_fps
        self.first_wall: float | None = None
        self.first_t: float | None = None
        self.times: list[float] = []

    def frames(self):
        for frame in self.source.frames():
            if self.first_wall is None:
                self.first_wall, self.first_t = time.monotonic(), frame.timestamp
            self.times.append(frame.timestamp)
            yield frame

    def close(self):
        self.source.close()

    def release_time(self, t: float, speed: float) -> float:
        """Wall time at which the pacer released the first frame at or after source time t."""
        at = next((x for x in self.times if x >= t - 1e-9), self.times[-1])
        return self.first_wall + (at - self.first_t) / speed


def record_pin_changes(factory: MockFactory, pins: dict[str, int]) -> list[tuple[float, str, bool]]:
    changes: list[tuple[float, str, bool]] = []
    for name, number in pins.items():
        pin = factory.pin(number)
        original = pin._change_state

        def patched(value, _name=name, _original=original):
            changes.append((time.monotonic(), _name, bool(value)))
            return _original(value)

        pin._change_state = patched
    return changes


def summarise(label: str, values_ms: list[float]) -> None:
    if not values_ms:
        print(f"{label:34} no samples")
        return
    values_ms = sorted(values_ms)
    p95 = values_ms[min(len(values_ms) - 1, int(0.95 * len(values_ms)))]
    print(
        f"{label:34} n={len(values_ms):3}  median {statistics.median(values_ms):6.1f} ms  "
        f"p95 {p95:6.1f} ms  max {values_ms[-1]:6.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clip", default=str(REPO.parent / "shared/media/movup_run_treadmill.mp4"))
    parser.add_argument("--speed", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="trackside-bench-"))
    broker = Broker(workdir / "broker")
    broker.start()
    subscriber = Subscriber(broker.port, ["trackside/bench/stride"])
    arrivals: dict[int, float] = {}
    original = subscriber._on_message

    def on_message(client, userdata, message):
        arrivals.setdefault(json.loads(message.payload)["stride"]["index"], time.monotonic())
        original(client, userdata, message)

    subscriber.client.on_message = on_message

    config = Config()
    config = replace(
        config,
        mqtt=replace(
            config.mqtt,
            host="127.0.0.1",
            port=broker.port,
            device_id="bench",
            outbox_path=str(workdir / "outbox.sqlite3"),
            homeassistant=False,
        ),
        feedback=replace(config.feedback, pin_factory="mock"),
    )
    factory = MockFactory()
    feedback = FeedbackDriver(config.feedback, pin_factory=factory)
    changes = record_pin_changes(factory, TRAFFIC_LIGHT)
    feedback.start()
    publisher = MqttPublisher(config.mqtt)
    publisher.start()

    strides: list[tuple[float, object]] = []  # (on_stride wall time, report)

    class Tap:
        def on_stride(self, report):
            strides.append((time.monotonic(), report))
            feedback.on_stride(report)

        def on_alert(self, alert):
            feedback.on_alert(alert)

    source = TimedSource(open_source(args.clip))
    model = resolve_model_path("movenet_lightning_int8")
    daemon = Daemon(
        config,
        source_factory=lambda: source,
        estimator_factory=lambda: PoseEstimator(model, num_threads=args.threads),
        sinks={"mqtt": publisher},
        feedback=Tap(),
        pace=args.speed,
    )
    runner = threading.Thread(target=daemon.run)
    runner.start()
    runner.join()
    time.sleep(0.5)  # let the last messages arrive before we stop the broker
    publisher.stop()
    feedback.close()
    subscriber.close()
    broker.stop()

    led_ms, mqtt_ms, decide_ms = [], [], []
    for called, report in strides:
        captured = source.release_time(report.stride.next_foot_strike.time, args.speed)
        decide_ms.append(1000 * (called - captured))
        colour = GRADE_COLOUR.get(report.grade.value)
        after = [t for t, name, on in changes if name == colour and on and 0 <= t - called < 0.2]
        if after:
            led_ms.append(1000 * (after[0] - captured))
        if report.stride.index in arrivals:
            mqtt_ms.append(1000 * (arrivals[report.stride.index] - captured))

    duration = source.times[-1] - source.times[0]
    stats = daemon.stats
    print(
        f"clip {Path(args.clip).name}: {len(source.times)} frames, {duration:.1f} s, paced at "
        f"{args.speed}x; model on {args.threads} thread(s)"
    )
    print(
        f"analysed {stats.frames_analysed} frames "
        f"({stats.frames_analysed / duration * args.speed:.1f} per second of video), "
        f"dropped {daemon.slot.dropped}; {len(strides)} strides judged, "
        f"{len(led_ms)} flashed their grade (the others fell inside an alert's hold)"
    )
    summarise("foot-strike frame -> stride judged", decide_ms)
    summarise("foot-strike frame -> LED on", led_ms)
    summarise("foot-strike frame -> MQTT received", mqtt_ms)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
