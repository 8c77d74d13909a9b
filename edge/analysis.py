"""Gait and cues together: poses in, judged strides and alerts out.

:class:`RunAnalyzer` is what the live daemon feeds one pose at a time; :func:`judge_poses`
does the same for a whole recording at once (burst mode after a pass, ``trackside replay
--strides``), with the batch gait engine's better accuracy.  Both are pure: no clock, no
I/O, so they run the same on a Pi, in a test, or on a recorded file.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from edge.cues.evaluate import CueEvaluator
from edge.cues.profiles import AthleteProfile
from edge.cues.rolling import RollingCues
from edge.cues.settings import CuesConfig
from edge.cues.summary import Summary, SummaryAccumulator
from edge.cues.view import ViewTracker, front_confidence_of
from edge.gait.batch import GaitAnalysis, analyse_arrays
from edge.gait.frontview import classify_view
from edge.gait.streaming import GaitTracker
from edge.types import CueAlert, Pose, Stride, StrideReport

# Keypoints kept for judging the camera view of each stride: a few seconds at any rate.
_RECENT_FRAMES = 1024


@dataclass
class AnalysisUpdate:
    """What one pose produced: judged strides and alert changes (usually nothing)."""

    reports: list[StrideReport] = field(default_factory=list)
    alerts: list[CueAlert] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.reports or self.alerts)


class RunAnalyzer:
    """Streaming gait engine → cue evaluator → rolling alerts, with pass/session summaries."""

    def __init__(self, cues: CuesConfig, athletes: Sequence[AthleteProfile] = ()):
        self.evaluator = CueEvaluator.from_config(cues, athletes)
        self.gait = GaitTracker(athlete_height_cm=self._height())
        self.rolling = RollingCues.from_config(cues)
        self.views = ViewTracker(cues.view)
        self._recent_t: deque[float] = deque(maxlen=_RECENT_FRAMES)
        self._recent_kp: deque[np.ndarray] = deque(maxlen=_RECENT_FRAMES)
        self.pass_summary = SummaryAccumulator()
        self.session_summary = SummaryAccumulator()

    def push(self, pose: Pose) -> AnalysisUpdate:
        self._recent_t.append(pose.timestamp)
        self._recent_kp.append(pose.keypoints)
        return self._judge_all(self.gait.push(pose).strides)

    def flush(self) -> AnalysisUpdate:
        """The strides the gait engine still held (its last ~0.1 s): call when a pass, a
        session or a recording ends, before :meth:`end_pass` / :meth:`end_session`."""
        return self._judge_all(self.gait.flush().strides)

    def _judge_all(self, strides: Sequence[Stride]) -> AnalysisUpdate:
        update = AnalysisUpdate()
        for stride in strides:
            report = self._judge(stride)
            update.reports.append(report)
            update.alerts.extend(self.rolling.update(report))
            self.pass_summary.add(report)
            self.session_summary.add(report)
        return update

    def _judge(self, stride: Stride) -> StrideReport:
        t = np.fromiter(self._recent_t, float, len(self._recent_t))
        inside = (t >= stride.foot_strike.time) & (t <= stride.next_foot_strike.time)
        keypoints = [kp for kp, keep in zip(self._recent_kp, inside, strict=True) if keep]
        estimate = classify_view(np.stack(keypoints)) if keypoints else None
        view = self.views.update(estimate)
        return self.evaluator.evaluate(stride, view, front_confidence=front_confidence_of(estimate))

    def _height(self) -> float | None:
        """The selected athlete's height: it gives the gait metrics a centimetre scale."""
        athlete = self.evaluator.athlete
        return athlete.height_cm if athlete is not None else None

    @property
    def athlete_height_cm(self) -> float | None:
        """The selected athlete's height (``None``: unknown), e.g. for keyframe labels in cm."""
        return self._height()

    def reset_gait(self) -> None:
        """Forget the gait history (after an error) and the strides the gates and running
        medians look back on; alerts and summaries are kept."""
        self.gait = GaitTracker(athlete_height_cm=self._height())
        self.evaluator.reset_history()

    def end_pass(self) -> Summary | None:
        """Close the current pass: its summary (``None`` if it had no stride).  The next
        pass is judged afresh: its strides are not compared with this one's."""
        summary = self.pass_summary.summary() if self.pass_summary.strides else None
        self.pass_summary = SummaryAccumulator()
        self.evaluator.reset_history()
        return summary

    def end_session(self, time: float) -> tuple[Summary | None, tuple[CueAlert, ...]]:
        """Close the session: its summary (with the strides the gait engine still held),
        and the alerts cleared by starting afresh."""
        self.flush()
        summary = self.session_summary.summary() if self.session_summary.strides else None
        self.session_summary = SummaryAccumulator()
        self.pass_summary = SummaryAccumulator()
        return summary, self.rolling.reset(time)

    def select_athlete(self, name: str | None, time: float) -> tuple[CueAlert, ...]:
        """Judge with another athlete's profile from now on; clears every alert."""
        self.evaluator.select_athlete(name)
        self.gait.set_athlete_height(self._height())
        return self.rolling.reset(time)

    def set_cue_enabled(self, cue_id: str, enabled: bool) -> None:
        """Switch a cue on or off; an alert of a cue switched off clears on the next stride."""
        self.evaluator.set_cue_enabled(cue_id, enabled)

    def set_speed(self, speed_mps: float | None) -> None:
        """The session's running speed (e.g. the treadmill's belt), ``None``: not known."""
        self.evaluator.set_speed(speed_mps)

    def set_focus(self, cue_ids: Sequence[str] | None) -> None:
        """The runner's focus cues for this session (``None``: the athlete's or config's)."""
        self.evaluator.set_focus(cue_ids)


@dataclass(frozen=True)
class JudgedRecording:
    analysis: GaitAnalysis
    reports: list[StrideReport]


def judge_poses(
    t: np.ndarray,
    keypoints: np.ndarray,
    cues: CuesConfig,
    athletes: Sequence[AthleteProfile] = (),
) -> JudgedRecording:
    """Batch gait analysis of a whole recording, then every stride judged."""
    evaluator = CueEvaluator.from_config(cues, athletes)
    height = evaluator.athlete.height_cm if evaluator.athlete is not None else None
    analysis = analyse_arrays(t, keypoints, athlete_height_cm=height)
    views = ViewTracker(cues.view)
    reports = []
    for stride in analysis.strides:
        inside = (t >= stride.foot_strike.time) & (t <= stride.next_foot_strike.time)
        estimate = classify_view(keypoints[inside]) if inside.any() else None
        view = views.update(estimate)
        reports.append(
            evaluator.evaluate(stride, view, front_confidence=front_confidence_of(estimate))
        )
    return JudgedRecording(analysis, reports)
