"""The coaching sheet as data: one :class:`Cue` per point a coach makes, in priority order.

Every cue names the per-stride metric it reads (keys of :data:`edge.gait.metrics.METRIC_UNITS`
and :data:`edge.gait.frontview.FRONTVIEW_UNITS`), the camera views in which that metric means
something, and its :class:`Thresholds`.  Cues the 17 COCO keypoints cannot see are listed too,
marked :attr:`Measurability.NOT_MEASURABLE` with the reason, so a coach reading the table
knows they are *not* being judged rather than wondering why they are always fine.

**Every judged threshold has a published basis** (:class:`Basis`: author, year, population,
speed, and the finding in the metric's own reference frame; the research behind them is
``docs/cue-calibration.md``).  Where the literature or the lab data give a speed relation
the limits move with running speed (:class:`SpeedScaling`); with the speed unknown they are
drawn at the most lenient end of :data:`SPEED_RANGE_MPS`.  A cue with no basis yet is
**information only** (``information_only`` says why): its value is shown, it never alerts
and never counts in the stride grade.

Thresholds are inclusive: a value *at* a limit counts as having crossed it; athletes'
profiles (see :mod:`edge.cues.profiles`) may replace them for one runner.

    >>> from edge.cues.catalogue import CUES_BY_ID
    >>> CUES_BY_ID["legs.overstride"].thresholds.judge(20.0)
    (<Verdict.WARN: 'warn'>, 18.0)
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

    def shifted(self, delta: float) -> Thresholds:
        """Every limit moved by ``delta`` (metric units), rounded to 1e-6 so that float noise
        (7.3 + 6.1 = 13.399999...) never moves a value across a limit."""

        def move(band: Band | None) -> Band | None:
            if band is None:
                return None
            return Band(round(band.warn + delta, 6), round(band.fault + delta, 6))

        return Thresholds(high=move(self.high), low=move(self.low))

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


#: Distance-running speeds the speed-scaled limits are drawn for (Fukuchi et al. 2017 ran
#: 2.5-4.5 m/s; recreational self-selected speeds are ~2.5-3.5 m/s).  A known speed is
#: clamped into it; with the speed unknown the most lenient end is used.
SPEED_RANGE_MPS = (2.0, 5.0)


@dataclass(frozen=True, slots=True)
class Basis:
    """A published (or lab-measured) source for a cue's limits.

    ``finding`` is stated in the metric's own reference frame (a published joint angle
    measured against another segment says how it converts).
    """

    source: str  # authors and year
    population: str  # who was measured
    speed: str  # how fast, on what
    finding: str  # the number, in the metric's frame

    def cite(self) -> str:
        return f"{self.source} ({self.population}; {self.speed}): {self.finding}"


@dataclass(frozen=True, slots=True)
class SpeedScaling:
    """Limits that move with running speed.

    The cue's :class:`Thresholds` hold at ``reference_mps``; every limit moves ``per_mps``
    metric units per m/s (the slope of the metric's expected value, ``source``).
    """

    reference_mps: float
    per_mps: float
    source: str

    def speed_for(self, thresholds: Thresholds, speed_mps: float | None) -> float:
        """The speed the limits are drawn at: ``speed_mps`` clamped into
        :data:`SPEED_RANGE_MPS`, or, when unknown, the end of it where they are most lenient
        (lowest limits for a too-low-is-bad cue whose values rise with speed)."""
        lo, hi = SPEED_RANGE_MPS
        if speed_mps is not None:
            return min(max(speed_mps, lo), hi)
        lower_is_lenient = thresholds.direction == "below"
        return lo if lower_is_lenient == (self.per_mps > 0) else hi

    def at(self, thresholds: Thresholds, speed_mps: float | None) -> Thresholds:
        """``thresholds`` (at the reference speed) moved to ``speed_mps``."""
        v = self.speed_for(thresholds, speed_mps)
        return thresholds.shifted(self.per_mps * (v - self.reference_mps))


@dataclass(frozen=True, slots=True)
class Cue:
    """One coaching point of the sheet.

    ``message`` is what the runner's phone shows (too high, for a two-sided cue);
    ``message_low`` is used when a two-sided cue is too low.  ``short`` heads the column in
    the stride table: two words of at most 8 letters, one per header line.  ``limit_range``
    bounds any threshold an athlete override may set, to catch unit mistakes (degrees typed
    as leg lengths).  ``basis`` are the sources of the limits; ``speed`` moves them with
    running speed; ``information_only`` (non-empty: why) marks a measured cue without a
    validated basis: shown, never judged.
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
    basis: tuple[Basis, ...] = ()
    speed: SpeedScaling | None = None
    information_only: str = ""

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

    @property
    def validated(self) -> bool:
        """``True`` when the cue is judged against thresholds with a basis (it may alert
        and counts in the stride grade)."""
        return self.judged and not self.information_only and self.thresholds is not None

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

# The lab runner every speed relation and lab range below comes from: Fukuchi et al. 2017
# (PeerJ 5:e3298), subject RBDS001, true joint centres projected to a side camera and
# measured with this product's own metric code (docs/cue-calibration.md, section 1).
_RBDS001 = "Fukuchi et al. 2017, subject RBDS001"
_RBDS001_WHO = "1 competitive 5-km runner, 22 y, 181 cm"
_RBDS001_SPEEDS = "treadmill, 2.5 and 3.5 m/s (3D curves to 4.5 m/s)"
_NO_BASIS = "no published basis for a limit"

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
        # Teng & Powers 2014: 7.3 +- 3.6 deg; warn beyond 2 SD, fault beyond 3 SD.
        thresholds=Thresholds(high=Band(14.5, 18.1), low=Band(0.1, -3.5)),
        justification="Self-selected trunk flexion from the global vertical (the metric's "
        "frame) is 7.3 ± 3.6°; warn beyond 2 SD (≤0.1° or ≥14.5°), fault beyond 3 SD "
        "(≤-3.5° or ≥18.1°). Their value is a stance mean, ours a stride mean (the BMClab "
        "runner: 4.4° over the stride). No speed relation was found, so none is applied.",
        basis=(
            Basis(
                "Teng & Powers 2014",
                "24 asymptomatic recreational runners",
                "overground, 3.4 m/s",
                "trunk flexion from the global vertical 7.3 ± 3.6° self-selected "
                "(instructed 'flexed' 14.1 ± 4.8°, 'extended' 4.0 ± 3.9°)",
            ),
            Basis(
                "Teng & Powers 2015",
                "40 runners",
                "overground, 3.4 m/s",
                "high- and low-flexion halves 10.8 ± 2.2° and 3.6 ± 2.8°",
            ),
        ),
        limit_range=_ANGLE,
    ),
    Cue(
        id="legs.overstride",
        title="Land under the body",
        message="Land under your body: shorter step, foot under the knee.",
        measurability=Measurability.MEASURABLE,
        measurability_note="The shank (knee to ankle) reaching forward as the foot lands: its "
        "largest forward angle in the 100 ms before foot strike, side view (read at its peak "
        "so a strike found a frame late does not change it). The foot's reach ahead of the "
        "hip is shown as peak_reach_before_strike_leg_length.",
        metric="peak_shank_angle_before_strike_deg",
        unit="deg",
        views=("side",),
        short="over- stride",
        # 18 = the lab runner's largest true value (14.7 deg over 318 strides) + the
        # pipeline's median error on the spoiled lab films (2.5-2.6 deg), rounded up;
        # 25 = 7 deg (~2.5 median errors) further (data: Fukuchi RBDS001, 2.5 and 3.5 m/s).
        thresholds=Thresholds(high=Band(18.0, 25.0)),
        justification="Land with a near-vertical shank. The lab runner's peak shank angle "
        "before the strike is 8.7 ± 1.3° at 2.5 m/s and 10.5 ± 2.5° at 3.5 m/s (largest "
        "14.7°); warn ≥18° (that largest value + the pipeline's median error of 2.5°: the "
        "ankle ~0.3 shank lengths, a shoe, ahead of the knee), fault ≥25° (7° further, past "
        "a straight-legged landing reaching 0.37 leg lengths ahead of the hip, 22.4°). The "
        "trend with speed (+1.8° per m/s) is small against the band, so it is not scaled.",
        basis=(
            Basis(
                "Lieberman et al. 2015",
                "14 runners",
                "treadmill, 3.0 m/s",
                "braking force grows with the foot's landing position ahead of the hip; "
                "land 'with a relatively vertical tibia'",
            ),
            Basis(
                "Souza 2016",
                "clinical review of video running analysis",
                "any speed",
                "judge the tibia angle at loading response: ideally vertical",
            ),
            Basis(
                _RBDS001,
                _RBDS001_WHO,
                _RBDS001_SPEEDS,
                "peak shank angle from the vertical in the 100 ms before strike 8.7 ± 1.3° "
                "(2.5 m/s), 10.5 ± 2.5° (3.5 m/s), max 14.7° (318 strides)",
            ),
        ),
        limit_range=_ANGLE,
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
        justification="Normal runners are not 'stacked' at mid-stance: the hip is 0.12-0.13 "
        "leg lengths ahead of the ankle (lab runner at 2.5 and 3.5 m/s), and one frame of "
        "event timing moves the reading 0.11-0.19 leg lengths.",
        information_only=_NO_BASIS + "; one frame of timing moves it more than the normal range",
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
        justification="No study of running sets gaze or head-pitch limits, and the ear-eye "
        "line is not validated as the Frankfort plane from 2D keypoints: eye and ear are "
        "7-29 px apart on the clips, so one pixel of keypoint error is 2-8° of pitch.",
        information_only=_NO_BASIS + "; eye and ear are a few pixels apart",
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
        justification="No limit on shoulder-line tilt in running was found; a normal lab "
        "runner seen from the front tilts up to 11.9° over a stride.",
        information_only=_NO_BASIS,
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
        justification="Coaching advice only; a normal lab runner's wrist stays 0.26 shoulder "
        "widths short of the midline.",
        information_only=_NO_BASIS,
        limit_range=_RATIO,
    ),
    Cue(
        id="legs.push_off",
        title="Active push-off",
        message="Push off actively: drive the ground away behind you.",
        measurability=Measurability.PROXY,
        measurability_note="Push-off force is invisible; shown as how far the thigh extends "
        "behind the vertical at toe-off.",
        metric="hip_extension_at_toe_off_deg",
        unit="deg",
        views=("side",),
        short="push off",
        justification="Souza 2016: the optimal hip extension 'remains elusive'. The metric "
        "is the thigh behind the vertical, published hip extension is against the pelvis "
        "(~16° apart in running); one frame of toe-off timing moves it 8-15°.",
        information_only=_NO_BASIS + " (Souza 2016); timing-bound",
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
        justification="No basis found; a normal lab runner's elbow reaches 0.31 leg lengths "
        "behind the hip.",
        information_only=_NO_BASIS,
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
        justification="The sheet's own demand; a normal lab runner's hands stay 0.57 arm "
        "lengths below the shoulder.",
        information_only=_NO_BASIS,
        limit_range=_RATIO,
    ),
    Cue(
        id="legs.knee_drive",
        title="Knee and toe up",
        message="Lift your knee in front.",
        measurability=Measurability.MEASURABLE,
        measurability_note="Knee drive from the peak thigh angle in swing (from the vertical, "
        "not from the pelvis); the 'toe up' (ankle dorsiflexion) part needs foot keypoints "
        "and is not judged.",
        metric="peak_thigh_angle_swing_deg",
        unit="deg",
        views=("side",),
        short="knee drive",
        # At 2.5 m/s: expected 27.3 deg (RBDS001), warn 12 deg and fault 20 deg below.
        thresholds=Thresholds(low=Band(15.3, 7.3)),
        speed=SpeedScaling(2.5, 6.1, f"{_RBDS001}: 27.3° at 2.5 m/s, 33.4° at 3.5 m/s"),
        justification="The thigh from the vertical peaks at 27.3 ± 1.1° (2.5 m/s) and "
        "33.4 ± 1.4° (3.5 m/s), +6.1° per m/s; the 'typical 40-55°' of coaching texts is "
        "hip flexion against the pelvis, which the pelvis' forward tilt puts ~20° higher. "
        "Warn 12°, fault 20° below the expected value (~2 and ~3.5 population SDs; the SD "
        "of hip flexion in loading, 5.5-6.0°, stands in for the swing peak's: provisional).",
        basis=(
            Basis(
                _RBDS001,
                _RBDS001_WHO,
                _RBDS001_SPEEDS,
                "peak thigh angle from the vertical in swing 27.3 ± 1.1° (2.5 m/s), "
                "33.4 ± 1.4° (3.5 m/s); 3D hip flexion against the pelvis 46 / 53-57 / "
                "62-65° at 2.5 / 3.5 / 4.5 m/s",
            ),
            Basis(
                "Heiderscheit et al. 2011",
                "45 recreational runners",
                "treadmill, self-selected speed",
                "between-runner SD of hip flexion in loading 5.5-6.0° (stand-in spread)",
            ),
        ),
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
        # At 2.5 m/s: expected 85.4 deg (RBDS001), warn 15 deg and fault 25 deg below.
        thresholds=Thresholds(low=Band(70.4, 60.4)),
        speed=SpeedScaling(2.5, 15.3, f"{_RBDS001}: 85.4° at 2.5 m/s, 100.7° at 3.5 m/s"),
        justification="Peak swing knee flexion (a joint angle: 2D and 3D agree) rises with "
        "speed: 85.4 ± 2.8° at 2.5 m/s, 100.7 ± 2.4° at 3.5 m/s, ~116° at 4.5 m/s, +15.3° per "
        "m/s. Warn 15°, fault 25° below the expected value (~3 and ~5 population SDs; the SD "
        "of the stance knee peak, 4.5°, stands in for the swing peak's: provisional).",
        basis=(
            Basis(
                _RBDS001,
                _RBDS001_WHO,
                _RBDS001_SPEEDS,
                "peak swing knee flexion 85.4 ± 2.8° (2.5 m/s), 100.7 ± 2.4° (3.5 m/s); 3D "
                "85-90 / 100-106 / 116° at 2.5 / 3.5 / 4.5 m/s",
            ),
            Basis(
                "Heiderscheit et al. 2011",
                "45 recreational runners",
                "treadmill, self-selected speed",
                "between-runner SD of the stance knee flexion peak 4.5° (stand-in spread)",
            ),
        ),
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
