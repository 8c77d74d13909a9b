"""Judge one stride against every cue: a :class:`~edge.types.StrideReport`.

:func:`evaluate_stride` is the pure core: metrics in, one :class:`~edge.types.CueResult` per
cue out, never raising on bad data.  A cue is ``UNKNOWN`` (with the reason) when it is not
measurable, switched off, needs another camera view, or its metric is missing, ``nan`` or
read from keypoints too uncertain to trust.  The stride's grade is its worst *judged*
verdict; among equally bad cues the higher-priority one is the ``worst_cue``.

:class:`CueEvaluator` holds the rules in force (athlete profile, switched-off cues, view
setting) and is what the daemon calls::

    evaluator = CueEvaluator.from_config(config.cues, config.athletes)
    report = evaluator.evaluate(stride, detected_view="side")
    evaluator.select_athlete("Ana")          # at run time, e.g. from an MQTT command
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from edge.cues.catalogue import PRIORITY
from edge.cues.profiles import REASON_OFF, AthleteProfile, CueRule, build_rules
from edge.cues.settings import CuesConfig
from edge.cues.view import resolve_view
from edge.errors import ConfigError
from edge.types import CueResult, MetricValue, Stride, StrideReport, Verdict

SEVERITY = {Verdict.OK: 0, Verdict.WARN: 1, Verdict.FAULT: 2}
NAN = float("nan")


def _unknown(rule: CueRule, reason: str, value: float = NAN, confidence: float = 0.0) -> CueResult:
    cue = rule.cue
    return CueResult(
        cue.id, Verdict.UNKNOWN, value, cue.unit, cue.message, confidence=confidence, reason=reason
    )


def judge_cue(
    rule: CueRule, metrics: Mapping[str, MetricValue], view: str | None, min_confidence: float = 0.0
) -> CueResult:
    """One cue on one stride's ``metrics``, seen from ``view`` (``None``: not recognised)."""
    cue = rule.cue
    if not cue.judged or rule.thresholds is None or cue.metric is None:
        return _unknown(rule, "not measurable: " + cue.measurability_note)
    if not rule.enabled:
        return _unknown(rule, REASON_OFF)
    if view is None:
        return _unknown(rule, "camera view not recognised")
    if view not in cue.views:
        return _unknown(rule, f"needs a {' or '.join(cue.views)} view")
    metric = metrics.get(cue.metric)
    if metric is None:
        return _unknown(rule, f"metric {cue.metric} not computed")
    if not math.isfinite(metric.value):
        return _unknown(rule, "not measured: " + (metric.note or "no value"))
    if metric.quality < min_confidence:
        return _unknown(
            rule,
            f"keypoints too uncertain (confidence {metric.quality:.2f} < {min_confidence:.2f})",
            metric.value,
            metric.quality,
        )
    verdict, threshold = rule.thresholds.judge(metric.value)
    return CueResult(
        cue.id,
        verdict,
        metric.value,
        cue.unit,
        cue.message_for(threshold),
        threshold=threshold,
        confidence=metric.quality,
    )


def grade(results: Iterable[CueResult]) -> tuple[Verdict, str | None]:
    """Worst judged verdict and the cue that set it (priority breaks ties).

    ``(UNKNOWN, None)`` when no cue could be judged; ``(OK, None)`` when all judged are ok.
    """
    worst: CueResult | None = None
    for r in results:
        if r.verdict is Verdict.UNKNOWN:
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
    stride: Stride, rules: Sequence[CueRule], view: str | None, *, min_confidence: float = 0.0
) -> StrideReport:
    """Every cue of ``rules`` judged on ``stride`` seen from ``view`` ("side"/"front"/None)."""
    metrics = stride.metrics
    results = tuple(judge_cue(rule, metrics, view, min_confidence) for rule in rules)
    verdict, worst = grade(results)
    return StrideReport(stride=stride, cues=results, grade=verdict, worst_cue=worst)


class CueEvaluator:
    """The cue rules in force, and the per-stride call.

    ``athletes`` are the known profiles; ``athlete`` names the active one (``None``: the
    catalogue's defaults).  ``disabled`` cue ids are off for everyone.  ``view`` is the
    config setting: ``"auto"`` uses the view detected for each stride, ``"side"`` or
    ``"front"`` force it.  No I/O, no clock: safe to call from any thread that owns it.
    """

    def __init__(
        self,
        *,
        athletes: Sequence[AthleteProfile] = (),
        athlete: str | None = None,
        disabled: Iterable[str] = (),
        view: str = "auto",
        min_confidence: float = 0.25,
    ) -> None:
        self.athletes = {a.name: a for a in athletes}
        self.view = view
        self.min_confidence = min_confidence
        self._disabled = set(disabled)
        self._athlete: AthleteProfile | None = None
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
        )

    @property
    def athlete(self) -> AthleteProfile | None:
        """The active profile (``None``: catalogue defaults)."""
        return self._athlete

    def select_athlete(self, name: str | None) -> AthleteProfile | None:
        """Make ``name`` the active athlete (``None`` or ``""``: no profile).

        Raises :class:`~edge.errors.ConfigError` for an unknown name, leaving the current
        athlete in place.  Callers should reset their rolling cue state after a switch.
        """
        if name:
            if name not in self.athletes:
                known = ", ".join(f'"{n}"' for n in self.athletes) or "none defined"
                raise ConfigError(f'athlete: no profile named "{name}" (known: {known})')
            self._athlete = self.athletes[name]
        else:
            self._athlete = None
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

    @property
    def disabled(self) -> frozenset[str]:
        """Cue ids switched off right now (globally and for the athlete)."""
        return frozenset(r.cue.id for r in self.rules if not r.enabled)

    def _rebuild(self) -> None:
        self.rules = build_rules(self._athlete, self._disabled)

    def evaluate(self, stride: Stride, detected_view: object = None) -> StrideReport:
        """Judge one stride; ``detected_view`` is the classifier's answer (or a view name)."""
        view = resolve_view(self.view, detected_view)  # type: ignore[arg-type]
        return evaluate_stride(stride, self.rules, view, min_confidence=self.min_confidence)
