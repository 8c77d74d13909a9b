"""What a session's strides say, as a coach asks it: per-cue shares, the two things to work
on, the worst and best strides, key metrics, and left/right asymmetry.  Pure functions over
stored strides (:class:`~edge.outputs.store.StoredStride`); the report, the progress page
and the dashboard read them.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from edge.cues.catalogue import CATALOGUE, CUES_BY_ID
from edge.outputs.plots import stride_value
from edge.outputs.store import StoredStride
from edge.types import Verdict

VERDICTS = tuple(Verdict)
SEVERITY = {Verdict.WARN: 1, Verdict.FAULT: 3}  # every other verdict weighs 0
_JUDGED = (Verdict.OK, Verdict.WARN, Verdict.FAULT)
_FLAGGED = (Verdict.WARN, Verdict.FAULT)

#: The metrics a coach follows across sessions: (key, label, unit, decimals).
KEY_METRICS: tuple[tuple[str, str, str, int], ...] = (
    ("stride.cadence_spm", "Cadence", "spm", 0),
    ("stride.ground_contact_ms", "Ground contact", "ms", 0),
    ("peak_shank_angle_before_strike_deg", "Shank reach (overstride)", "°", 1),
    ("trunk_lean_deg", "Trunk lean", "°", 1),
)
#: Left/right comparisons: (key, label, unit, decimals).
ASYMMETRY_METRICS: tuple[tuple[str, str, str, int], ...] = (
    ("stride.ground_contact_ms", "Ground contact", "ms", 0),
    ("peak_shank_angle_before_strike_deg", "Shank reach (overstride)", "°", 1),
    ("overstride_leg_length", "Foot ahead of hip", "leg lengths", 2),
    ("knee_flexion_at_foot_strike_deg", "Knee flexion at strike", "°", 0),
    ("peak_knee_flexion_swing_deg", "Knee flexion in swing", "°", 0),
)
#: A left/right difference above this share of the mean is worth a coach's look: the
#: symmetry index of Robinson, Herzog & Nigg (1987, J Manipulative Physiol Ther 10:172),
#: with the 10 % bound the gait literature commonly uses for "asymmetric" (review:
#: Sadeghi et al. 2000, Gait & Posture 12:34).
ASYMMETRY_NOTABLE_PERCENT = 10.0


def cue_counts(strides: Sequence[StoredStride]) -> dict[str, dict[str, int]]:
    """Per cue (catalogue order), how many strides got each verdict."""
    counts: dict[str, dict[str, int]] = {}
    for s in strides:
        for cue in s.payload["cues"]:
            c = counts.setdefault(cue["cue_id"], dict.fromkeys(VERDICTS, 0))
            c[cue["verdict"]] = c.get(cue["verdict"], 0) + 1
    order = {c.id: i for i, c in enumerate(CATALOGUE)}
    return dict(sorted(counts.items(), key=lambda kv: order.get(kv[0], len(order))))


def informative(counts: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """The cues that said something: a cue unknown (or unreliable) on every stride is left
    out of the table (it would take a row to say nothing)."""
    return {k: c for k, c in counts.items() if any(c.get(v, 0) for v in (*_JUDGED, "info"))}


def bad_share(counts: dict[str, int]) -> float | None:
    """Share of the judged strides that were warn or fault (``None``: none judged)."""
    judged = sum(counts.get(v, 0) for v in _JUDGED)
    return None if not judged else sum(counts.get(v, 0) for v in _FLAGGED) / judged


def things_to_work_on(counts: dict[str, dict[str, int]], n: int = 2) -> list[tuple[str, float]]:
    """The ``n`` validated cues bad on the largest share of judged strides (share > 0)."""
    ranked = []
    for cue_id, c in counts.items():
        spec = CUES_BY_ID.get(cue_id)
        share = bad_share(c)
        if spec is not None and spec.validated and share:
            ranked.append((-share, cue_id))
    return [(cue_id, -neg) for neg, cue_id in sorted(ranked)[:n]]


def stride_severity(stride: StoredStride) -> tuple[int, int]:
    """(badness, judged cues): faults weigh 3, warnings 1; more judged cues is more trusted."""
    verdicts = [c["verdict"] for c in stride.payload["cues"]]
    judged = sum(v in _JUDGED for v in verdicts)
    return sum(SEVERITY.get(v, 0) for v in verdicts), judged


def worst_and_best(
    strides: Sequence[StoredStride], n: int = 3
) -> tuple[list[StoredStride], list[StoredStride]]:
    """The ``n`` worst strides (most faults) and the ``n`` best: no warning and no fault,
    newest first.  A stride a plausibility gate made unreliable is neither; a session
    without a clean stride has no best ones (they would only be the least bad)."""
    # Among equals the newest first, as the results store keeps their pictures.
    order = {id(s): -i for i, s in enumerate(strides)}
    strides = [s for s in strides if s.payload.get("reliable", True)]
    ranked = sorted(strides, key=lambda s: (-stride_severity(s)[0], order[id(s)]))
    worst = [s for s in ranked[:n] if stride_severity(s)[0] > 0]
    clean = [s for s in strides if stride_severity(s)[0] == 0 and stride_severity(s)[1] > 0]
    best = sorted(clean, key=lambda s: order[id(s)])[:n]
    return worst, best


def median_of(strides: Sequence[StoredStride], key: str) -> float | None:
    values = [v for s in strides if (v := stride_value(s.payload, key)) is not None]
    return float(statistics.median(values)) if values else None


@dataclass(frozen=True, slots=True)
class SideComparison:
    """One metric by side: means, counts, and the symmetry index (% of the mean)."""

    key: str
    label: str
    unit: str
    digits: int
    first: float | None
    second: float | None
    n_first: int
    n_second: int

    @property
    def difference_percent(self) -> float | None:
        if self.first is None or self.second is None:
            return None
        mean = (abs(self.first) + abs(self.second)) / 2
        return None if mean == 0 else 100 * (self.first - self.second) / mean

    @property
    def notable(self) -> bool:
        d = self.difference_percent
        return d is not None and abs(d) > ASYMMETRY_NOTABLE_PERCENT


def asymmetry(strides: Sequence[StoredStride]) -> tuple[tuple[str, str], list[SideComparison]]:
    """Left against right for the :data:`ASYMMETRY_METRICS`.  The sides are ``left`` and
    ``right`` when the pose model told both apart, else the camera's ``near`` and ``far``
    leg (which is the same split on a straight track filmed from one side).  Returns the
    two side names and one comparison per metric measured on both."""
    by_side = {s.payload["stride"].get("side") for s in strides} >= {"left", "right"}
    names = ("left", "right") if by_side else ("near", "far")
    field = "side" if by_side else "leg"
    groups = {
        name: [s for s in strides if s.payload["stride"].get(field) == name] for name in names
    }
    out = []
    for key, label, unit, digits in ASYMMETRY_METRICS:
        values = {
            name: [v for s in group if (v := stride_value(s.payload, key)) is not None]
            for name, group in groups.items()
        }
        a, b = values[names[0]], values[names[1]]
        if not a or not b:
            continue
        out.append(
            SideComparison(
                key,
                label,
                unit,
                digits,
                statistics.fmean(a),
                statistics.fmean(b),
                len(a),
                len(b),
            )
        )
    return names, out
