"""Judge one stride against every cue: a :class:`~edge.types.StrideReport`.

:func:`evaluate_stride` is the pure core: metrics in, one :class:`~edge.types.CueResult` per
cue out, never raising on bad data.  Per cue, in this order:

* ``UNKNOWN`` (with the reason) when it is not measurable, switched off, or needs another
  camera view;
* ``UNRELIABLE`` when a plausibility gate (:mod:`edge.gait.gates`) failed on what it reads:
  the stride's geometry or timing is physically impossible, so its number is published
  only with that flag;
* ``UNKNOWN`` when its metric is missing, ``nan`` or read from keypoints too uncertain;
* ``INFO`` for an information-only cue (no validated basis): the value, no judgement;
* else ``OK`` / ``WARN`` / ``FAULT`` against the limits at the stride's running speed,
  judged on ``judged_value`` (the running median the evaluator keeps) or the stride's own.

The stride's grade is the worst verdict of the confident, enabled, validated cues (so never
an information-only one); among equally bad cues the higher-priority one is the
``worst_cue``.  A stride a gate made wholly unreliable is graded ``UNRELIABLE``.

:class:`CueEvaluator` holds the rules in force (athlete profile, switched-off cues, view
setting, speed, focus) and the short history the gates and the running median need, and is
what the daemon calls::

    evaluator = CueEvaluator.from_config(config.cues, config.athletes)
    report = evaluator.evaluate(stride, detected_view="side", front_confidence=0.0)
    evaluator.select_athlete("Ana")          # at run time, e.g. from an MQTT command
    evaluator.set_speed(3.4)                 # the treadmill's belt speed
    evaluator.set_focus(("legs.overstride",))
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from edge.cues.catalogue import PRIORITY
from edge.cues.profiles import REASON_OFF, AthleteProfile, CueRule, build_rules
from edge.cues.settings import CuesConfig, focus_problem
from edge.cues.speed import ESTIMATE_STRIDES, choose_speed, stride_speed_estimate
from edge.cues.view import front_confidence_of, resolve_view
from edge.errors import ConfigError
from edge.gait.gates import ROLLING_STRIDES, GateInput, check_stride
from edge.types import (
    UNKNOWN_SPEED,
    CueResult,
    GateFailure,
    MetricValue,
    RunningSpeed,
    Stride,
    StrideReport,
    Verdict,
)

SEVERITY = {Verdict.OK: 0, Verdict.WARN: 1, Verdict.FAULT: 2}
NAN = float("nan")


def _not_judged(
    rule: CueRule,
    verdict: Verdict,
    reason: str,
    value: float = NAN,
    confidence: float = 0.0,
) -> CueResult:
    cue = rule.cue
    return CueResult(
        cue.id,
        verdict,
        value,
        cue.unit,
        cue.message,
        confidence=confidence,
        reason=reason,
        information_only=bool(cue.information_only),
    )


def judge_cue(
    rule: CueRule,
    metrics: Mapping[str, MetricValue],
    view: str | None,
    min_confidence: float = 0.0,
    *,
    gates: Sequence[GateFailure] = (),
    speed_mps: float | None = None,
    judged_value: float | None = None,
) -> CueResult:
    """One cue on one stride's ``metrics``, seen from ``view`` (``None``: not recognised).

    ``gates`` are the plausibility gates the stride failed; ``speed_mps`` the running
    speed (``None``: unknown); ``judged_value`` the value to judge instead of the stride's
    own (the evaluator's running median).
    """
    cue = rule.cue
    if not cue.judged or cue.metric is None:
        return _not_judged(rule, Verdict.UNKNOWN, "not measurable: " + cue.measurability_note)
    if not rule.enabled:
        return _not_judged(rule, Verdict.UNKNOWN, REASON_OFF)
    if view is None:
        return _not_judged(rule, Verdict.UNKNOWN, "camera view not recognised")
    if view not in cue.views:
        return _not_judged(rule, Verdict.UNKNOWN, f"needs a {' or '.join(cue.views)} view")
    metric = metrics.get(cue.metric)
    value = metric.value if metric is not None else NAN
    failed = [g.reason for g in gates if g.covers(cue.metric)]
    if failed:
        quality = metric.quality if metric is not None else 0.0
        return _not_judged(rule, Verdict.UNRELIABLE, "; ".join(failed), value, quality)
    if metric is None:
        return _not_judged(rule, Verdict.UNKNOWN, f"metric {cue.metric} not computed")
    if not math.isfinite(metric.value):
        return _not_judged(rule, Verdict.UNKNOWN, "not measured: " + (metric.note or "no value"))
    if metric.quality < min_confidence:
        return _not_judged(
            rule,
            Verdict.UNKNOWN,
            f"keypoints too uncertain (confidence {metric.quality:.2f} < {min_confidence:.2f})",
            metric.value,
            metric.quality,
        )
    thresholds = rule.thresholds_at(speed_mps)
    if cue.information_only or thresholds is None:
        why = cue.information_only or "no thresholds"
        return _not_judged(
            rule, Verdict.INFO, f"information only: {why}", metric.value, metric.quality
        )
    judged = metric.value if judged_value is None else judged_value
    verdict, threshold = thresholds.judge(judged)
    return CueResult(
        cue.id,
        verdict,
        metric.value,
        cue.unit,
        cue.message_for(threshold),
        threshold=threshold,
        confidence=metric.quality,
        judged_value=judged,
    )


def grade(results: Iterable[CueResult]) -> tuple[Verdict, str | None]:
    """Worst judged verdict and the cue that set it (priority breaks ties).

    Only ok, warn and fault count (information-only, unknown and unreliable cues never
    do).  ``(UNKNOWN, None)`` when no cue was judged; ``(OK, None)`` when all judged are ok.
    """
    worst: CueResult | None = None
    for r in results:
        if not r.verdict.judged:
            continue
        if worst is None or (SEVERITY[r.verdict], -PRIORITY.get(r.cue_id, 99)) > (
            SEVERITY[worst.verdict],
            -PRIORITY.get(worst.cue_id, 99),
        ):
            worst = r
    if worst is None:
        return Verdict.UNKNOWN, None
    return worst.verdict, (None if worst.verdict is Verdict.OK else worst.cue_id)


def evaluate_stride(
    stride: Stride,
    rules: Sequence[CueRule],
    view: str | None,
    *,
    min_confidence: float = 0.0,
    gates: Sequence[GateFailure] = (),
    speed: RunningSpeed = UNKNOWN_SPEED,
    judged_values: Mapping[str, float] | None = None,
    focus: tuple[str, ...] = (),
) -> StrideReport:
    """Every cue of ``rules`` judged on ``stride`` seen from ``view`` ("side"/"front"/None).

    ``gates`` are the plausibility gates it failed; ``speed`` the running speed the limits
    are drawn at; ``judged_values`` maps a cue id to the value to judge instead of the
    stride's own; ``focus`` is recorded on the report for the runner's feedback.
    """
    metrics = stride.metrics
    values = judged_values or {}
    results = tuple(
        judge_cue(
            rule,
            metrics,
            view,
            min_confidence,
            gates=gates,
            speed_mps=speed.mps,
            judged_value=values.get(rule.cue.id),
        )
        for rule in rules
    )
    verdict, worst = grade(results)
    if any(g.metrics is None for g in gates):
        verdict, worst = Verdict.UNRELIABLE, None
    gated = tuple(gates)
    return StrideReport(stride, results, verdict, worst, gates=gated, speed=speed, focus=focus)


class CueEvaluator:
    """The cue rules in force, the short history judging needs, and the per-stride call.

    ``athletes`` are the known profiles; ``athlete`` names the active one (``None``: the
    catalogue's defaults).  ``disabled`` cue ids are off for everyone.  ``view`` is the
    config setting: ``"auto"`` uses the view detected for each stride, ``"side"`` or
    ``"front"`` force it.  ``speed_mps`` is the session's running speed (``None``:
    unknown), ``focus`` the configured focus cues, ``smooth_strides`` how many reliable
    readings each cue's running median covers.

    History, kept between calls and forgotten by :meth:`reset_history` (a new pass, a new
    athlete, a restarted gait analysis): the durations of the last strides (the stride-time
    gate), each cue's last readings (the running median), the last speed estimates.  No I/O,
    no clock: safe to call from any thread that owns it.
    """

    def __init__(
        self,
        *,
        athletes: Sequence[AthleteProfile] = (),
        athlete: str | None = None,
        disabled: Iterable[str] = (),
        view: str = "auto",
        min_confidence: float = 0.25,
        speed_mps: float | None = None,
        focus: Sequence[str] = (),
        smooth_strides: int = 3,
    ) -> None:
        problem = focus_problem(tuple(focus))
        if problem is not None:
            raise ConfigError(f"focus: {problem}")
        self.athletes = {a.name: a for a in athletes}
        self.view = view
        self.min_confidence = min_confidence
        self.smooth_strides = smooth_strides
        self.session_speed_mps = speed_mps
        self.configured_focus = tuple(focus)
        self._session_focus: tuple[str, ...] | None = None
        self._disabled = set(disabled)
        self._athlete: AthleteProfile | None = None
        self._stride_times: deque[float] = deque(maxlen=ROLLING_STRIDES)
        self._readings: dict[str, deque[float]] = {}
        self._speed_estimates: deque[float] = deque(maxlen=ESTIMATE_STRIDES)
        self.rules: tuple[CueRule, ...] = ()
        self.select_athlete(athlete or None)

    @classmethod
    def from_config(cls, cues: CuesConfig, athletes: Sequence[AthleteProfile] = ()) -> CueEvaluator:
        """Build from the ``[cues]`` section and the ``[[athletes]]`` profiles."""
        return cls(
            athletes=athletes,
            athlete=cues.athlete or None,
            disabled=cues.disabled,
            view=cues.view,
            min_confidence=cues.min_confidence,
            speed_mps=cues.speed_mps or None,
            focus=cues.focus,
            smooth_strides=cues.smooth_strides,
        )

    @property
    def athlete(self) -> AthleteProfile | None:
        """The active profile (``None``: catalogue defaults)."""
        return self._athlete

    def select_athlete(self, name: str | None) -> AthleteProfile | None:
        """Make ``name`` the active athlete (``None`` or ``""``: no profile).

        Raises :class:`~edge.errors.ConfigError` for an unknown name, leaving the current
        athlete in place.  The history starts afresh and a session focus set with
        :meth:`set_focus` gives way to the athlete's own.  Callers should reset their
        rolling cue state after a switch.
        """
        if name:
            if name not in self.athletes:
                known = ", ".join(f'"{n}"' for n in self.athletes) or "none defined"
                raise ConfigError(f'athlete: no profile named "{name}" (known: {known})')
            self._athlete = self.athletes[name]
        else:
            self._athlete = None
        self._session_focus = None
        self.reset_history()
        self._rebuild()
        return self._athlete

    def set_cue_enabled(self, cue_id: str, enabled: bool) -> None:
        """Switch one cue on or off for everyone (the athlete's own ``disabled`` still holds)."""
        if cue_id not in PRIORITY:
            raise ConfigError(f'cue: no cue with id "{cue_id}"')
        if enabled:
            self._disabled.discard(cue_id)
        else:
            self._disabled.add(cue_id)
        self._rebuild()

    def set_speed(self, speed_mps: float | None) -> None:
        """The session's running speed in m/s (``None``: not known), e.g. the belt speed."""
        self.session_speed_mps = speed_mps

    def set_focus(self, cue_ids: Sequence[str] | None) -> None:
        """The session's focus cues (one or two validated cue ids; ``()``: none, the LED
        follows the stride grade; ``None``: back to the athlete's or the config's)."""
        if cue_ids is not None:
            problem = focus_problem(tuple(cue_ids))
            if problem is not None:
                raise ConfigError(f"focus: {problem}")
            cue_ids = tuple(cue_ids)
        self._session_focus = cue_ids

    @property
    def focus(self) -> tuple[str, ...]:
        """The focus cues in force: the session's, else the athlete's, else the config's."""
        if self._session_focus is not None:
            return self._session_focus
        if self._athlete is not None and self._athlete.focus:
            return self._athlete.focus
        return self.configured_focus

    @property
    def speed(self) -> RunningSpeed:
        """The running speed the next stride's limits will be drawn at."""
        athlete = self._athlete.speed_mps if self._athlete is not None else None
        return choose_speed(self.session_speed_mps, athlete, tuple(self._speed_estimates))

    @property
    def disabled(self) -> frozenset[str]:
        """Cue ids switched off right now (globally and for the athlete)."""
        return frozenset(r.cue.id for r in self.rules if not r.enabled)

    def reset_history(self) -> None:
        """Forget the recent strides (a new pass, athlete or gait analysis)."""
        self._stride_times.clear()
        self._readings.clear()
        self._speed_estimates.clear()

    def _rebuild(self) -> None:
        self.rules = build_rules(self._athlete, self._disabled)

    def evaluate(
        self,
        stride: Stride,
        detected_view: object = None,
        *,
        front_confidence: float | None = None,
    ) -> StrideReport:
        """Judge one stride.

        ``detected_view`` is the classifier's answer (a ``ViewEstimate``) or a view name;
        ``front_confidence`` is the stride's own front-view confidence for the front-view
        gate (``None``: taken from ``detected_view``; a view forced in the config decides
        it).
        """
        view = resolve_view(self.view, detected_view)  # type: ignore[arg-type]
        if self.view in ("side", "front"):
            # A view fixed in the config is the coach's word for the mount.
            front_confidence = 1.0 if self.view == "front" else 0.0
        elif front_confidence is None:
            front_confidence = front_confidence_of(detected_view)  # type: ignore[arg-type]
        gates = check_stride(GateInput(stride, tuple(self._stride_times), front_confidence))
        self._stride_times.append(stride.duration)
        speed, focus = self.speed, self.focus

        def judge(values: Mapping[str, float] | None) -> StrideReport:
            return evaluate_stride(
                stride,
                self.rules,
                view,
                min_confidence=self.min_confidence,
                gates=gates,
                speed=speed,
                judged_values=values,
                focus=focus,
            )

        report = judge(None)
        if self.smooth_strides > 1:
            medians = self._running_medians(report)
            if medians:
                report = judge(medians)
        estimate = stride_speed_estimate(stride)
        if estimate is not None and not report.unreliable_reason("stride_length_cm"):
            self._speed_estimates.append(estimate)
        return report

    def _running_medians(self, report: StrideReport) -> dict[str, float]:
        """Each judged cue's reading folded into its history, and the median of its last
        ``smooth_strides`` readings, by cue id.  Only judged readings enter the history:
        an unreliable, unknown or information-only one never does."""
        out = {}
        for result in report.cues:
            if not result.verdict.judged:
                continue
            recent = self._readings.setdefault(result.cue_id, deque(maxlen=self.smooth_strides))
            recent.append(result.value)
            out[result.cue_id] = float(np.median(recent))
        return out
