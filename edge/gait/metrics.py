"""Kinematic per-stride running metrics from a side-view track.

:func:`stride_metrics` reads one stride of a :class:`~edge.gait.track.SideViewTrack` (limbs
already identified as near/far) and returns a dict of :class:`~edge.types.MetricValue` under
stable snake_case keys (see :data:`METRIC_UNITS` and ``docs/metrics.md`` for every
definition).  Timing metrics (stride time, cadence, contact time...) live in
``edge.gait.timing``; these are the angles and distances a coach looks at.

Conventions: image coordinates (y down) are turned into "forward" with ``track.direction``,
so every signed value reads the same whichever way the runner crosses the picture.  Event
times fall between frames: values at an event are interpolated over valid samples only.
Distances are normalised by the runner's leg length (the one rule of
:mod:`edge.gait.leg_length`, near leg first, over the whole track) and also given in cm
when a :class:`~edge.gait.scale.Scale` is known.  A metric that cannot be measured is
``nan`` with a note saying why; ``quality`` is the mean confidence of the keypoints it read
(0..1), lowered when samples are missing.

This module is the entry point; the metrics themselves are computed by body part in
:mod:`edge.gait.metrics_legs` and :mod:`edge.gait.metrics_body`, which sample the stride
through :class:`~edge.gait.stride_reader.StrideReader`; :mod:`edge.gait.metric_units`
holds the table of keys and units.

Example::

    metrics = stride_metrics(track.window(s.foot_strike.time - 0.1,
                                          s.next_foot_strike.time + 0.1), s, others)
    metrics["knee_flexion_at_foot_strike_deg"].value
"""

from __future__ import annotations

from collections.abc import Sequence

from edge.gait.metric_units import METRIC_UNITS
from edge.gait.metrics_body import arm_metrics, head_metrics, trunk_metrics
from edge.gait.metrics_legs import leg_metrics
from edge.gait.scale import Scale
from edge.gait.stride_reader import StrideReader
from edge.gait.track import SideViewTrack
from edge.types import GaitEvent, MetricValue, Stride

__all__ = ["METRIC_UNITS", "stride_metrics"]


def stride_metrics(
    track: SideViewTrack,
    stride: Stride,
    opposite: Sequence[GaitEvent],
    *,
    scale: Scale | None = None,
    min_score: float = 0.3,
    belt_speed_mps: float | None = None,
) -> dict[str, MetricValue]:
    """Kinematic metrics of one stride, keyed as in :data:`METRIC_UNITS`.

    ``track`` must cover the stride (ideally 0.1 s either side); ``stride.leg`` names the
    limb whose stride it is; ``opposite`` are the other leg's events inside the stride
    (accepted for the contract; the metrics here need only this leg's events).  ``scale``
    adds the centimetre metrics; ``belt_speed_mps`` (treadmill) gives the stride length,
    which overground running gets from the hips' travel across the picture instead.
    Keypoints scoring below ``min_score`` count as unseen.
    """
    del opposite  # every metric here is defined by the stride leg's own events
    r = StrideReader(track, stride, min_score)
    out: dict[str, MetricValue] = {}
    out.update(leg_metrics(r, scale))
    out.update(trunk_metrics(r, scale, belt_speed_mps))
    out.update(head_metrics(r))
    out.update(arm_metrics(r))
    return out
