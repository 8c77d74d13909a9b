"""Cost of the cue stage per stride: evaluate + rolling update (+ summary), in microseconds.

    PYTHONPATH=. python scripts/bench_cues.py [--strides 20000]

A stride carries every metric the gait stage produces (kinematic, front-view and timing),
with values that sweep across the thresholds so every verdict path is taken.
"""

from __future__ import annotations

import argparse
import time

from edge.cues.evaluate import CueEvaluator
from edge.cues.rolling import RollingCues
from edge.cues.summary import SummaryAccumulator
from edge.gait.frontview import FRONTVIEW_UNITS
from edge.gait.metrics import METRIC_UNITS
from edge.types import EventKind, GaitEvent, Leg, MetricValue, Stride

TIMING = {
    "stride_time": "s",
    "stride_cadence": "steps/min",
    "contact_time": "s",
    "duty_factor": "ratio",
    "flight_time": "s",
}


def make_strides(count: int) -> list[Stride]:
    units = {**METRIC_UNITS, **FRONTVIEW_UNITS, **TIMING}
    strides = []
    for i in range(count):
        wobble = (i % 7 - 3) / 3.0  # -1..1: crosses warn and fault limits
        metrics = {
            key: MetricValue(
                0.15 + 0.1 * wobble
                if unit.endswith("length") or unit == "shoulder_width"
                else 10.0 + 12.0 * wobble,
                unit,
                0.7,
            )
            for key, unit in units.items()
        }
        fs = GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, 0.35 * i)
        nfs = GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, 0.35 * i + 0.7)
        strides.append(Stride(i, Leg.NEAR, fs, None, nfs, metrics=metrics))
    return strides


def per_stride_us(fn, items) -> float:
    start = time.perf_counter()
    for item in items:
        fn(item)
    return 1e6 * (time.perf_counter() - start) / len(items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strides", type=int, default=20000)
    args = parser.parse_args()
    strides = make_strides(args.strides)
    evaluator = CueEvaluator()
    per_stride_us(lambda s: evaluator.evaluate(s, "side"), strides[:500])  # warm up
    reports = [evaluator.evaluate(s, "side") for s in strides]

    evaluate_us = per_stride_us(lambda s: evaluator.evaluate(s, "side"), strides)
    rolling = RollingCues()
    rolling_us = per_stride_us(rolling.update, reports)
    summary = SummaryAccumulator()
    summary_us = per_stride_us(summary.add, reports)
    rolling2 = RollingCues()
    both_us = per_stride_us(lambda s: rolling2.update(evaluator.evaluate(s, "side")), strides)

    budget_us = 1e6 / 3.0  # ~3 strides per second at most (both legs, fast cadence)
    print(f"strides              {args.strides}")
    print(f"evaluate             {evaluate_us:8.1f} µs/stride")
    print(f"rolling update       {rolling_us:8.1f} µs/stride")
    print(
        f"evaluate + rolling   {both_us:8.1f} µs/stride "
        f"({100 * both_us / budget_us:.3f}% of a stride budget at 3 strides/s)"
    )
    print(f"summary add          {summary_us:8.1f} µs/stride")


if __name__ == "__main__":
    main()
