"""The coaching sheet as data: one :class:`Cue` per point a coach makes, in priority order.

Every cue names the per-stride metric it reads (keys of :data:`edge.gait.metrics.METRIC_UNITS`
and :data:`edge.gait.frontview.FRONTVIEW_UNITS`), the camera views in which that metric means
something, and its :class:`Thresholds`.  Cues the 17 COCO keypoints cannot see are listed too,
marked :attr:`Measurability.NOT_MEASURABLE` with the reason, so a coach reading the table
knows they are *not* being judged rather than wondering why they are always fine.

Thresholds are inclusive: a value *at* a limit counts as having crossed it.  They are
starting points drawn from running-biomechanics norms, to be tuned per athlete with
profiles (see :mod:`edge.cues.profiles`), and every one says where it comes from.

    >>> from edge.cues.catalogue import CUES_BY_ID
    >>> CUES_BY_ID["legs.overstride"].thresholds.judge(0.28)
    (<Verdict.WARN: 'warn'>, 0.25)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from edge.types import CueGroup, Verdict

VIEWS = ("side", "front")


class Measurability(StrEnum):
    """How honestly a cue can be judged from 17 COCO keypoints."""

    MEASURABLE = "measurable"  # the metric is the thing the cue asks for
    PROXY = "proxy"  # the metric stands in for something the camera cannot see directly
    NOT_MEASURABLE = "not_measurable"  # never judged: always "unknown" with the reason


@dataclass(frozen=True, slots=True)
class Band:
    """One side of a cue's limits: ``warn`` first, then ``fault`` further out."""

    warn: float
    fault: float


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Where a metric stops being fine.

    ``high`` judges values that are too large (``value >= warn`` warns, ``value >= fault`` is
    a fault); ``low`` judges values that are too small (``<=``).  A cue may have either or
    both.  Limits are named ``warn`` / ``fault`` for a one-sided cue and ``warn_low``,
    ``fault_low``, ``warn_high``, ``fault_high`` for a two-sided one; those names are what
    athlete overrides use.
    """

    high: Band | None = None
    low: Band | None = None

    @property
    def direction(self) -> str:
        """``"above"`` (too high is bad), ``"below"`` (too low is bad) or ``"outside"``."""
        if self.high and self.low:
            return "outside"
        return "above" if self.high else "below"

    def limits(self) -> dict[str, float]:
        """The named limits, e.g. ``{"warn": 0.15, "fault": 0.2}``."""
        if self.high and self.low:
            return {
                "warn_low": self.low.warn,
                "fault_low": self.low.fault,
                "warn_high": self.high.warn,
                "fault_high": self.high.fault,
            }
        band = self.high or self.low
        assert band is not None
        return {"warn": band.warn, "fault": band.fault}

    def with_limits(self, limits: Mapping[str, float]) -> Thresholds:
        """A copy with some named limits replaced (names as in :meth:`limits`)."""
        merged = {**self.limits(), **limits}
        if self.high and self.low:
            return Thresholds(
                high=Band(merged["warn_high"], merged["fault_high"]),
                low=Band(merged["warn_low"], merged["fault_low"]),
            )
        band = Band(merged["warn"], merged["fault"])
        return Thresholds(high=band) if self.high else Thresholds(low=band)

    def problem(self) -> tuple[str, str] | None:
        """``(limit name, what is wrong)`` when the limits are out of order, else ``None``."""
        named = self.limits()
        one_sided = len(named) == 2
        if self.high:
            w, f = ("warn", "fault") if one_sided else ("warn_high", "fault_high")
            if not named[f] >= named[w]:
                return f, f"expected at least {w} ({named[w]:g}), got {named[f]:g}"
        if self.low:
            w, f = ("warn", "fault") if one_sided else ("warn_low", "fault_low")
            if not named[f] <= named[w]:
                return f, f"expected at most {w} ({named[w]:g}), got {named[f]:g}"
        if self.high and self.low and not named["warn_low"] < named["warn_high"]:
            return "warn_high", (
                f"expected more than warn_low ({named['warn_low']:g}), got {named['warn_high']:g}"
            )
        return None

    def judge(self, value: float) -> tuple[Verdict, float]:
        """The verdict for a measured ``value`` and the limit crossed (nearest, when ok)."""
        high, low = self.high, self.low
        if high is not None and value >= high.fault:
            return Verdict.FAULT, high.fault
        if low is not None and value <= low.fault:
            return Verdict.FAULT, low.fault
        if high is not None and value >= high.warn:
            return Verdict.WARN, high.warn
        if low is not None and value <= low.warn:
            return Verdict.WARN, low.warn
        if high is not None and low is not None:
            nearest = high.warn if high.warn - value <= value - low.warn else low.warn
            return Verdict.OK, nearest
        return Verdict.OK, (high or low).warn  # type: ignore[union-attr]

    def describe(self, unit: str) -> str:
        """Plain-words limits, e.g. ``"warn ≥ 0.15, fault ≥ 0.2 leg_length"``."""
        parts = []
        if self.low:
            parts.append(f"warn ≤ {self.low.warn:g}, fault ≤ {self.low.fault:g}")
        if self.high:
            parts.append(f"warn ≥ {self.high.warn:g}, fault ≥ {self.high.fault:g}")
        return "; ".join(parts) + f" {unit}"


@dataclass(frozen=True, slots=True)
class Cue:
    """One coaching point of the sheet.

    ``message`` is what the runner's phone shows (too high, for a two-sided cue);
    ``message_low`` is used when a two-sided cue is too low.  ``short`` heads the column in
    the stride table: two words of at most 8 letters, one per header line.  ``limit_range``
    bounds any threshold an athlete override may set, to catch unit mistakes (degrees typed
    as leg lengths).
    """

    id: str
    title: str
    message: str
    measurability: Measurability
    measurability_note: str
    metric: str | None = None
    unit: str = ""
    views: tuple[str, ...] = ()
    thresholds: Thresholds | None = None
    justification: str = ""
    short: str = ""
    message_low: str = ""
    limit_range: tuple[float, float] = (-math.inf, math.inf)

    @property
    def group(self) -> CueGroup:
        group = CueGroup.of(self.id)
        assert group is not None, f"cue id {self.id!r} names no group"
        return group

    @property
    def name(self) -> str:
        return self.id.split(".", 1)[1]

    @property
    def judged(self) -> bool:
        """``True`` when the cue reads a metric (measurable or proxy)."""
        return self.measurability is not Measurability.NOT_MEASURABLE

    def message_for(self, threshold: float | None) -> str:
        """The coaching message, picking the low-side wording when that side was crossed."""
        t = self.thresholds
        if (
            self.message_low
            and t is not None
            and t.low is not None
            and threshold is not None
            and threshold in (t.low.warn, t.low.fault)
        ):
            return self.message_low
        return self.message


_ANGLE = (-180.0, 180.0)
_RATIO = (-2.0, 2.0)

#: Every cue of the sheet, highest priority first ("run tall" is the single most important).
CATALOGUE: tuple[Cue, ...] = (
    Cue(
        id="posture.run_tall",
        title="Run tall",
        message="Run tall: lift your chest, don't fold at the waist.",
        message_low="Run tall: lean slightly forward, not back.",
        measurability=Measurability.PROXY,
        measurability_note="'Tall' is judged from the trunk angle (mid-hip to mid-shoulder); "
        "hip height ('sitting') is not part of it.",
        metric="trunk_lean_deg",
        unit="deg",
        views=("side",),
        short="trunk lean",
        thresholds=Thresholds(high=Band(13.0, 20.0), low=Band(0.0, -5.0)),
        justification="A forward trunk lean of ~5-10° is typical of good distance running; "
        "≥13° starts to fold at the waist, ≥20° is bent over; ≤0° is upright to "
        "leaning back, which brakes. Starting point, tune per athlete.",
        limit_range=_ANGLE,
    ),
    Cue(
        id="legs.overstride",
        title="Land under the body",
        message="Land under your body: shorter step, foot under the hip.",
        measurability=Measurability.MEASURABLE,
        measurability_note="Ankle and hip keypoints at foot strike, side view.",
        metric="overstride_leg_length",
        unit="leg_length",
        views=("side",),
        short="over- stride",
        thresholds=Thresholds(high=Band(0.25, 0.32)),
        justification="Coaching texts put overstriding at the ankle >~0.15-0.2 leg lengths "
        "ahead of the hip, but a vertical shank under a thigh 20-30° forward "
        "(normal at touchdown) already puts it 0.17-0.25 ahead, and a coach's "
        "demo clip reads 0.21-0.27; so warn ≥0.25 (shank starting to reach), "
        "fault ≥0.32 (shank ~10-15° forward). Starting point, tune per athlete "
        "and speed.",
        limit_range=_RATIO,
    ),
    Cue(
        id="posture.body_in_line",
        title="Body in line",
        message="Stay stacked: hips over the foot, don't tip forward.",
        message_low="Stay stacked: hips over the foot, don't sit back.",
        measurability=Measurability.MEASURABLE,
        measurability_note="Hip over ankle at mid-stance (halfway between foot strike and "
        "toe-off), side view.",
        metric="hip_ahead_of_ankle_midstance_leg_length",
        unit="leg_length",
        views=("side",),
        short="body in line",
        thresholds=Thresholds(high=Band(0.15, 0.25), low=Band(-0.08, -0.15)),
        justification="The sheet asks for the hip directly above the foot at mid-stance (0); "
        "the hip normally passes the ankle near mid-stance, so a hip ≥0.08 leg "
        "lengths behind it means sitting back, ≥0.15 ahead means falling forward "
        "past the foot. Starting point, tune on footage.",
        limit_range=_RATIO,
    ),
    Cue(
        id="head.look_ahead",
        title="Look ahead, chin slightly down",
        message="Look ahead, not at your feet.",
        message_low="Chin slightly down: don't look up.",
        measurability=Measurability.MEASURABLE,
        measurability_note="Head pitch from the ear-eye line (ear-nose as a fallback), side "
        "view; gaze itself is not visible.",
        metric="head_pitch_deg",
        unit="deg",
        views=("side",),
        short="head pitch",
        thresholds=Thresholds(high=Band(20.0, 30.0), low=Band(-5.0, -12.0)),
        justification="The ear-eye line is near the Frankfort plane, level when looking "
        "ahead; 'chin slightly down' is ~0-15° below level; ≥20° looks at the "
        "ground, ≤-5° tips the chin up. Starting point: eye and ear are a few "
        "pixels apart, so this is noisy.",
        limit_range=_ANGLE,
    ),
    Cue(
        id="posture.square_shoulders",
        title="Square shoulders",
        message="Keep shoulders level and square.",
        measurability=Measurability.MEASURABLE,
        measurability_note="Largest shoulder-line tilt over the stride, front or rear view.",
        metric="shoulder_tilt_max_deg",
        unit="deg",
        views=("front",),
        short="shoulder tilt",
        thresholds=Thresholds(high=Band(8.0, 12.0)),
        justification="The shoulder line rocks only a few degrees in efficient running; a "
        "largest tilt ≥8° is visible rocking, ≥12° a clear side-to-side sway. "
        "Starting point (keypoint noise adds ~2°).",
        limit_range=(0.0, 90.0),
    ),
    Cue(
        id="arms.no_cross_body",
        title="Arms forward and back",
        message="Swing arms forward and back, not across your body.",
        measurability=Measurability.MEASURABLE,
        measurability_note="Wrist past the body midline (shoulders to hips), front or rear "
        "view; a side view cannot see it.",
        metric="wrist_crossing_shoulder_width",
        unit="shoulder_width",
        views=("front",),
        short="arms cross",
        thresholds=Thresholds(high=Band(0.05, 0.20)),
        justification="The sheet says no cross-body motion: a wrist reaching the midline "
        "(≥0.05 shoulder widths past it, above keypoint noise) warns; ≥0.2 "
        "(~8 cm) across is a fault. Starting point.",
        limit_range=_RATIO,
    ),
    Cue(
        id="legs.push_off",
        title="Active push-off",
        message="Push off actively: drive the ground away behind you.",
        measurability=Measurability.PROXY,
        measurability_note="Push-off force is invisible; judged by how far the thigh extends "
        "behind the body at toe-off (hip extension).",
        metric="hip_extension_at_toe_off_deg",
        unit="deg",
        views=("side",),
        short="push off",
        thresholds=Thresholds(low=Band(8.0, 3.0)),
        justification="The thigh is typically ~10-20° behind vertical at toe-off in distance "
        "running; ≤8° is a short push-off, ≤3° barely any. Starting point.",
        limit_range=_ANGLE,
    ),
    Cue(
        id="arms.elbows_back",
        title="Elbows back to the hip",
        message="Drive your elbows back to your hips.",
        measurability=Measurability.MEASURABLE,
        measurability_note="Rearmost elbow position relative to the hip, side view (the arm "
        "nearer the camera).",
        metric="elbow_behind_hip_leg_length",
        unit="leg_length",
        views=("side",),
        short="elbows back",
        thresholds=Thresholds(low=Band(-0.02, -0.08)),
        justification="The sheet asks the elbow to reach the hip on the back swing (≥0); "
        "falling short by ≥0.02 leg lengths (beyond keypoint noise) warns, by "
        "≥0.08 (~7 cm) is a fault. Starting point.",
        limit_range=_RATIO,
    ),
    Cue(
        id="arms.hands_shoulder_height",
        title="Hands to shoulder height",
        message="Bring your hands up to shoulder height in front.",
        measurability=Measurability.MEASURABLE,
        measurability_note="Highest wrist on the forward swing relative to the shoulder, in "
        "arm lengths, side view.",
        metric="wrist_height_forward_arm_length",
        unit="arm_length",
        views=("side",),
        short="hands height",
        thresholds=Thresholds(low=Band(-0.30, -0.50)),
        justification="Shoulder height is 0; hands ≤0.3 arm lengths below it (~chest) warn, "
        "≤0.5 (~lower ribs) is a fault. The sheet asks more than many distance "
        "runners do; starting point, tune per athlete.",
        limit_range=_RATIO,
    ),
    Cue(
        id="legs.knee_drive",
        title="Knee and toe up",
        message="Lift your knee in front.",
        measurability=Measurability.MEASURABLE,
        measurability_note="Knee drive from the peak thigh angle in swing; the 'toe up' "
        "(ankle dorsiflexion) part needs foot keypoints and is not judged.",
        metric="peak_thigh_angle_swing_deg",
        unit="deg",
        views=("side",),
        short="knee drive",
        thresholds=Thresholds(low=Band(35.0, 25.0)),
        justification="Peak thigh angle in swing is ~40-55° forward of vertical in distance "
        "running (more in sprinting); ≤35° is a low knee, ≤25° a shuffle. "
        "Starting point.",
        limit_range=_ANGLE,
    ),
    Cue(
        id="legs.heel_to_hamstring",
        title="Heel up to the hamstring",
        message="Fold the leg: heel up under your hamstring.",
        measurability=Measurability.MEASURABLE,
        measurability_note="Peak knee flexion in swing, side view.",
        metric="peak_knee_flexion_swing_deg",
        unit="deg",
        views=("side",),
        short="heel up",
        thresholds=Thresholds(low=Band(85.0, 70.0)),
        justification="Peak swing knee flexion is ~90-120° in distance running and >120° in "
        "sprinting (Novacheck 1998); ≤85° is a low heel recovery, ≤70° a "
        "shuffle. Starting point.",
        limit_range=_ANGLE,
    ),
    Cue(
        id="legs.midfoot_strike",
        title="Strike with the middle of the foot",
        message="Land on the middle of your foot.",
        measurability=Measurability.NOT_MEASURABLE,
        measurability_note="COCO-17 keypoints stop at the ankle: no heel or toe, so the part "
        "of the foot that lands cannot be seen (shank angle at strike, "
        "under 'land under the body', is related but does not tell heel "
        "from midfoot).",
    ),
    Cue(
        id="head.relaxed_face",
        title="Face relaxed",
        message="Relax your face and jaw.",
        measurability=Measurability.NOT_MEASURABLE,
        measurability_note="The face has only eye, ear and nose keypoints: no expression, "
        "jaw or brow.",
    ),
    Cue(
        id="arms.loose_hands",
        title="Hands cupped but loose",
        message="Keep hands cupped and loose.",
        measurability=Measurability.NOT_MEASURABLE,
        measurability_note="The wrist is the last arm keypoint: no fingers, so hand shape "
        "and tension cannot be seen.",
    ),
)

CUES_BY_ID: dict[str, Cue] = {cue.id: cue for cue in CATALOGUE}
CUE_IDS: tuple[str, ...] = tuple(CUES_BY_ID)

#: Priority rank (0 = most important), the tie-break when two cues are equally bad.
PRIORITY: dict[str, int] = {cue.id: rank for rank, cue in enumerate(CATALOGUE)}
