"""Cue stage: per-stride metrics → plausibility gates → the coach's cues judged ok / warn /
fault, or shown as information only, or flagged unreliable, or unknown with the reason.

The daemon's calls::

    from edge.cues import CueEvaluator, RollingCues, SummaryAccumulator, ViewTracker

    evaluator = CueEvaluator.from_config(config.cues, config.athletes)
    rolling = RollingCues.from_config(config.cues)
    views = ViewTracker(config.cues.view)
    session = SummaryAccumulator()

    estimate = classify_view(stride_keypoints)                # edge.gait.frontview
    view = views.update(estimate)
    report = evaluator.evaluate(                              # a StrideReport
        stride, view, front_confidence=front_confidence_of(estimate)
    )
    alerts = rolling.update(report)                           # CueAlerts raised / cleared
    session.add(report)

    evaluator.select_athlete("Ana"); rolling.reset(now)       # run-time athlete switch
    evaluator.set_speed(3.4); evaluator.set_focus(("legs.overstride",))  # coach's commands
    session.summary()                                         # pass / session summary

The catalogue (:mod:`edge.cues.catalogue`) is data; ``python -m edge.cues.docs`` prints it
as the Markdown table committed in ``docs/cues.md``.
"""

from edge.cues.catalogue import CATALOGUE, CUES_BY_ID, Cue, Measurability, Thresholds
from edge.cues.evaluate import CueEvaluator, evaluate_stride
from edge.cues.profiles import AthleteProfile, build_rules
from edge.cues.rolling import RollingCues, RollingPolicy, RollingState
from edge.cues.settings import CuesConfig, parse_athletes
from edge.cues.summary import Summary, SummaryAccumulator, summarize
from edge.cues.view import ViewTracker

__all__ = [
    "CATALOGUE",
    "CUES_BY_ID",
    "AthleteProfile",
    "Cue",
    "CueEvaluator",
    "CuesConfig",
    "Measurability",
    "RollingCues",
    "RollingPolicy",
    "RollingState",
    "Summary",
    "SummaryAccumulator",
    "Thresholds",
    "ViewTracker",
    "build_rules",
    "evaluate_stride",
    "parse_athletes",
    "summarize",
]
