"""Benchmark the LED/buzzer feedback: cost of an event, and event-to-pin latency.

1. Cost: ``on_stride`` + ``tick`` on mock pins, microseconds per call (what the analysis
   thread and the ticker spend), for a tick that changes pins and one that does not.
2. Latency: with the real ticker thread running (10 ms period, woken by each event), the
   time from ``on_stride()`` returning... to the green pin actually changing, over N strides,
   timestamped inside the mock pin.

    PYTHONPATH=. python scripts/bench_feedback.py [--events 200]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from typing import ClassVar

from gpiozero.pins.mock import MockFactory, MockPin

from edge.outputs.feedback import FeedbackConfig, FeedbackDriver
from edge.outputs.feedback.selftest import demo_report
from edge.types import Verdict

GREEN = 17


class TimedPin(MockPin):
    """Records ``perf_counter()`` at every level change and wakes a waiting thread."""

    changes: ClassVar[list[tuple[float, bool]]] = []
    changed = threading.Event()

    def _change_state(self, value):
        changed = super()._change_state(value)
        if changed:
            TimedPin.changes.append((time.perf_counter(), bool(value)))
            TimedPin.changed.set()
        return changed


def bench_cost(repeats: int) -> dict[str, float]:
    driver = FeedbackDriver(FeedbackConfig(head_pin=5, arms_pin=13), pin_factory=MockFactory())
    reports = [demo_report(Verdict.WARN, "arms.x", k) for k in range(repeats)]
    event = change = steady = 0.0
    for k, report in enumerate(reports):
        t = 10.0 * k
        a = time.perf_counter()
        driver.on_stride(report, t)
        b = time.perf_counter()
        driver.tick(t + 0.01)  # flash starts: two pins change
        c = time.perf_counter()
        driver.tick(t + 0.02)  # same output: nothing written
        d = time.perf_counter()
        driver.tick(t + 1.0)  # flash ended: two pins change back
        event += b - a
        change += c - b
        steady += d - c
    driver.close()
    return {
        "on_stride": event / repeats * 1e6,
        "tick (pins change)": change / repeats * 1e6,
        "tick (no change)": steady / repeats * 1e6,
    }


def bench_latency(events: int, interval: float) -> list[float]:
    factory = MockFactory(pin_class=TimedPin)
    driver = FeedbackDriver(FeedbackConfig(stride_flash_ms=20), pin_factory=factory)
    driver.start(interval=interval)
    latencies = []
    try:
        for k in range(events):
            TimedPin.changes.clear()
            TimedPin.changed.clear()
            sent = time.perf_counter()
            driver.on_stride(demo_report(Verdict.OK, None, k))
            if not TimedPin.changed.wait(2.0):
                raise RuntimeError("the LED never changed")
            latencies.append(TimedPin.changes[0][0] - sent)
            time.sleep(0.03)  # let the 20 ms flash end before the next stride
            if factory.pin(GREEN).state:
                raise RuntimeError("the flash did not end")
    finally:
        driver.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=200, help="strides for the latency run")
    parser.add_argument("--repeats", type=int, default=20000, help="events for the cost run")
    args = parser.parse_args()

    print(f"cost per call, mean over {args.repeats} strides (mock pins):")
    for name, micros in bench_cost(args.repeats).items():
        print(f"  {name:<20} {micros:8.1f} us")

    latencies = sorted(bench_latency(args.events, 0.01))
    ms = [x * 1000 for x in latencies]
    p95 = ms[int(0.95 * (len(ms) - 1))]
    print(f"on_stride() -> green pin high, real ticker thread (10 ms period), {len(ms)} strides:")
    print(f"  median {statistics.median(ms):.3f} ms  p95 {p95:.3f} ms  max {ms[-1]:.3f} ms")
    print(f"  vs. a 250 ms budget: max is {ms[-1] / 250:.2%} of it")


if __name__ == "__main__":
    main()
