"""The proposal of docs/cue-calibration.md as data: plausibility gates, candidate readings
and cue bands, evaluated by ``scripts/validate_cues.py``.

This is what an implementer ports into ``edge`` (gates before judging, the timing-robust
overstride reading, speed-scaled bands, information-only cues).  Every constant says where
it comes from: a paper (see the note's references) or the shared lab data it was read from.
Nothing here was fitted to the real clips.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from edge.cues.catalogue import Band, Thresholds
from edge.cues.evaluate import grade
from edge.gait.angles import interp_at
from edge.gait.track import LimbJoint, SideViewTrack
from edge.types import Leg, MetricValue, Stride, StrideReport

# --- plausibility gates ---------------------------------------------------------------------


@dataclass(frozen=True)
class GateInput:
    """What a gate may look at: the stride (metrics filled), the keypoint track behind it,
    the durations of the strides before it (oldest first) and its own view estimate."""

    stride: Stride
    track: SideViewTrack | None = None
    previous_stride_times: tuple[float, ...] = ()
    view_confidence_front: float = float("nan")  # nan: the stride is not judged in a front view


@dataclass(frozen=True)
class Gate:
    """A physical-plausibility bound: a stride outside it is ``unreliable``, not judged.

    ``scope`` says what becomes unreliable: ``"stride"`` (every cue: the events or keypoints
    themselves are wrong), ``"toe_off"`` (the metrics read at or bounded by the toe-off,
    :data:`edge.gait.timing.TOE_OFF_METRICS`) or ``"front"`` (the front-view metrics).
    """

    name: str
    what: str
    low: float
    high: float
    scope: str
    source: str
    measure: Callable[[GateInput], float]

    def reason(self, inp: GateInput) -> str | None:
        """Why ``inp`` fails this gate, or ``None`` (also when the quantity is not measured)."""
        value = self.measure(inp)
        if not math.isfinite(value) or self.low <= value <= self.high:
            return None
        return f"{self.name}: {self.what} {value:.3g} outside [{self.low:g}, {self.high:g}]"


def metric_of(key: str) -> Callable[[GateInput], float]:
    def measure(inp: GateInput) -> float:
        m = inp.stride.metrics.get(key)
        return m.value if m is not None else float("nan")

    return measure


# Strides looked back on for the rolling median (a few seconds of running), and how many
# are needed before the gate applies.
ROLLING_STRIDES = 5
MIN_ROLLING_STRIDES = 3


def stride_time_ratio(inp: GateInput) -> float:
    """This stride's duration over the median of the previous ones (nan: too few)."""
    recent = inp.previous_stride_times[-ROLLING_STRIDES:]
    if len(recent) < MIN_ROLLING_STRIDES:
        return float("nan")
    return inp.stride.duration / float(np.median(recent))


def duty_factor(inp: GateInput) -> float:
    return metric_of("duty_factor")(inp)


def segment_length_change(inp: GateInput) -> float:
    """Largest relative change of the stride leg's thigh or shank, at its strike, mid-stance
    and toe-off, against that segment's median over the track (nan: no track)."""
    track = inp.track
    if track is None or len(track) == 0:
        return float("nan")
    limb = np.asarray(track.near if inp.stride.leg is Leg.NEAR else track.far, float)
    seen = limb[:, :, 2] >= 0.3
    worst = 0.0
    times = [inp.stride.foot_strike.time]
    if inp.stride.toe_off is not None:
        times += [
            0.5 * (inp.stride.foot_strike.time + inp.stride.toe_off.time),
            inp.stride.toe_off.time,
        ]
    measured = False
    for a, b in ((LimbJoint.HIP, LimbJoint.KNEE), (LimbJoint.KNEE, LimbJoint.ANKLE)):
        length = np.hypot(*(limb[:, a, :2] - limb[:, b, :2]).T)
        length[~(seen[:, a] & seen[:, b])] = np.nan
        if not np.isfinite(length).any():
            continue
        median = float(np.nanmedian(length))
        for t in times:
            value = interp_at(np.asarray(track.t, float), length, t, 0.15)
            if math.isfinite(value) and median > 0:
                worst = max(worst, abs(value / median - 1))
                measured = True
    return worst if measured else float("nan")


def front_view_confidence(inp: GateInput) -> float:
    return inp.view_confidence_front


GATES: tuple[Gate, ...] = (
    Gate(
        "stride time",
        "stride time / rolling median",
        0.75,
        1.25,
        "stride",
        "within-runner spatiotemporal CV < 2.5 % in steady treadmill running (preprint "
        "202601.2214), step-length CV 2.2-2.5 % (Craib 1994), lab 0.98-1.02: 25 % is ~10 "
        "CVs; a misplaced strike moves a stride by a step (~50 %)",
        stride_time_ratio,
    ),
    Gate(
        "duty factor",
        "contact time / stride time",
        0.15,
        0.5,
        "toe_off",
        "running has a flight phase (double float, Novacheck 1998), so a contact is under "
        "half a stride; the shortest sprint contacts (0.08 s, edge.gait.timing) over a "
        "~0.45 s stride give ~0.18; lab 0.31-0.38",
        duty_factor,
    ),
    Gate(
        "knee at strike",
        "knee flexion at foot strike (deg)",
        -10.0,
        50.0,
        "stride",
        "knee flexion at contact is 17.8 +- 4.0 deg and its stance peak 46.3 +- 4.5 deg "
        "(Heiderscheit 2011, 3D); lab 2D 3.9-16.4; beyond hyperextension or the stance peak "
        "the 'strike' is not a landing",
        metric_of("knee_flexion_at_foot_strike_deg"),
    ),
    Gate(
        "shank at strike",
        "shank angle at foot strike (deg)",
        -20.0,
        35.0,
        "stride",
        "a near-vertical shank at landing (Souza 2016; Lieberman 2015), lab 2.3-20.1 deg; "
        "pointing back 20 deg is mid-stance, 35 deg forward a straight leg reaching half a "
        "leg ahead",
        metric_of("shank_angle_at_foot_strike_deg"),
    ),
    Gate(
        "foot ahead at strike",
        "ankle ahead of hip at foot strike (leg lengths)",
        -0.15,
        0.6,
        "stride",
        "at touchdown the foot is ahead of the hip (lab 0.17-0.37); a straight leg 37 deg "
        "forward puts it 0.6 leg lengths ahead, more than any running landing",
        metric_of("overstride_leg_length"),
    ),
    Gate(
        "segment length",
        "thigh/shank length change vs track median",
        0.0,
        0.3,
        "stride",
        "bones keep their length: the lab's 2D thigh and shank change by 1.5-7.4 % in a side "
        "view, MoveNet-like noise adds ~5 %; 30 % means a misplaced keypoint",
        segment_length_change,
    ),
    Gate(
        "front view",
        "the stride's own front-view confidence",
        0.5,
        1.0,
        "front",
        "front-view metrics mean nothing in a side view; 0.5 is the view tracker's own bar "
        "for a first front answer (edge.cues.view.ViewTracker)",
        front_view_confidence,
    ),
)


def gate_scope_metrics(scope: str) -> set[str] | None:
    """Metric keys a gate of ``scope`` makes unreliable (``None``: all of them)."""
    from edge.gait.frontview import FRONTVIEW_UNITS
    from edge.gait.timing import TOE_OFF_METRICS

    if scope == "stride":
        return None
    if scope == "toe_off":
        return set(TOE_OFF_METRICS)
    if scope == "front":
        return set(FRONTVIEW_UNITS)
    raise ValueError(f"gate scope: expected stride, toe_off or front, got {scope!r}")


def gate_reasons(inp: GateInput, gates: Sequence[Gate] = GATES) -> list[tuple[Gate, str]]:
    """Every gate ``inp`` fails, with the reason."""
    out = []
    for gate in gates:
        why = gate.reason(inp)
        if why is not None:
            out.append((gate, why))
    return out


def unreliable_metrics(failed: Sequence[tuple[Gate, str]]) -> tuple[set[str] | None, list[str]]:
    """Union of the failed gates' scopes (``None``: the whole stride) and their reasons."""
    keys: set[str] = set()
    for gate, _ in failed:
        scope = gate_scope_metrics(gate.scope)
        if scope is None:
            return None, [why for _, why in failed]
        keys |= scope
    return keys, [why for _, why in failed]


def gate_inputs(
    reports: Sequence[StrideReport],
    tracks: Sequence[SideViewTrack | None],
    front_confidences: Sequence[float] | None = None,
) -> list[GateInput]:
    """One :class:`GateInput` per report, in order, with the causal rolling history."""
    out = []
    history: list[float] = []
    for i, (report, track) in enumerate(zip(reports, tracks, strict=True)):
        front = front_confidences[i] if front_confidences is not None else float("nan")
        out.append(GateInput(report.stride, track, tuple(history), front))
        history.append(report.stride.duration)
    return out


# --- candidate readings ---------------------------------------------------------------------

# Candidate overstride reading that does not depend on the exact strike frame: the foot's
# furthest reach ahead of the hip in the last 100 ms before the strike (terminal swing ends
# with the foot retracting, so the peak sits just before touchdown).
REACH_WINDOW = 0.1  # s


def _peak_before_strike(track: SideViewTrack, stride: Stride, values: np.ndarray) -> float:
    """Largest of ``values`` (per frame, nan = unseen) in the :data:`REACH_WINDOW` before the
    stride's strike, the window's end values interpolated; nan when the window is unseen."""
    from edge.gait.angles import window_with_ends

    fs = stride.foot_strike.time
    samples = window_with_ends(np.asarray(track.t, float), values, fs - REACH_WINDOW, fs, 0.15)
    return float(np.max(samples)) if samples.size else float("nan")


def _stride_leg(track: SideViewTrack, stride: Stride, min_score: float = 0.3):
    limb = np.asarray(track.near if stride.leg is Leg.NEAR else track.far, float)
    xy = limb[:, :, :2].copy()
    xy[limb[:, :, 2] < min_score] = np.nan
    return xy


def peak_reach(track: SideViewTrack, stride: Stride) -> float:
    """Furthest forward (ankle - hip) of the stride leg in the :data:`REACH_WINDOW` before its
    strike, in leg lengths: the foot's reach at landing, read where it changes slowest."""
    from edge.gait.scale import leg_length_px

    xy = _stride_leg(track, stride)
    ahead = track.direction * (xy[:, LimbJoint.ANKLE, 0] - xy[:, LimbJoint.HIP, 0])
    leg = leg_length_px(track)
    return _peak_before_strike(track, stride, ahead) / leg if leg > 0 else float("nan")


def peak_shank_before_strike(track: SideViewTrack, stride: Stride) -> float:
    """Largest forward shank angle (deg from vertical, + = ankle ahead of knee) of the stride
    leg in the :data:`REACH_WINDOW` before its strike."""
    from edge.gait.angles import segment_angle_down

    xy = _stride_leg(track, stride)
    shank = segment_angle_down(xy[:, LimbJoint.KNEE], xy[:, LimbJoint.ANKLE], track.direction)
    return _peak_before_strike(track, stride, shank)


#: Candidate readings the harness computes itself (not yet in edge.gait.metrics).
CANDIDATE_METRICS: dict[str, Callable[[SideViewTrack, Stride], float]] = {
    "peak_reach_before_strike_leg_length": peak_reach,
    "peak_shank_angle_before_strike_deg": peak_shank_before_strike,
}


def with_candidates(stride: Stride, track: SideViewTrack | None) -> dict[str, MetricValue]:
    """``stride``'s metrics plus the :data:`CANDIDATE_METRICS` read on ``track``."""
    metrics = dict(stride.metrics)
    for key, fn in CANDIDATE_METRICS.items():
        value = fn(track, stride) if track is not None and len(track) else float("nan")
        unit = "leg_length" if key.endswith("leg_length") else "deg"
        metrics[key] = MetricValue(value, unit, 1.0 if math.isfinite(value) else 0.0)
    return metrics


# --- proposed bands -------------------------------------------------------------------------

# Distance-running speeds the bands are drawn for (Fukuchi 2017: 2.5-4.5 m/s; recreational
# self-selected speeds ~2.5-3.5 m/s).  With the speed unknown, the most lenient end is used.
SPEED_RANGE = (2.0, 5.0)  # m/s
INFO = "info"  # shown, never judged
UNRELIABLE = "unreliable"  # gated: physically impossible, published with the reason


@dataclass(frozen=True)
class ProposedBand:
    """A cue as proposed: the reading it judges, its band as a function of running speed
    (``None``: information only), and the basis in one line (docs/cue-calibration.md)."""

    cue_id: str
    metric: str
    unit: str
    band: Callable[[float | None], Thresholds] | None
    basis: str

    def thresholds(self, speed: float | None) -> Thresholds | None:
        return None if self.band is None else self.band(speed)


def _lenient(speed: float | None, low_is_bad: bool) -> float:
    """The speed a band is drawn at: the given one (clamped to :data:`SPEED_RANGE`), else
    the end of the range where the cue is most lenient."""
    lo, hi = SPEED_RANGE
    if speed is None:
        return lo if low_is_bad else hi
    return min(max(speed, lo), hi)


def knee_flexion_swing_band(speed: float | None) -> Thresholds:
    # Expected peak swing knee flexion (2D, the metric's frame) rises 15.3 deg per m/s:
    # 85.4 deg at 2.5 m/s, 100.7 at 3.5 (RBDS001 lab truth; its 3D Visual3D curves give
    # 85-90 / 100-106 / 116 deg at 2.5 / 3.5 / 4.5 m/s).  Warn 15 deg, fault 25 deg below:
    # ~3 and ~5 population SDs of a sagittal knee peak.  No SD of the *swing* peak was found;
    # the stance peak's (4.5 deg, 45 runners, Heiderscheit 2011) stands in: provisional.
    v = _lenient(speed, low_is_bad=True)
    expected = 85.4 + 15.3 * (v - 2.5)
    return Thresholds(low=Band(expected - 15.0, expected - 25.0))


def thigh_swing_band(speed: float | None) -> Thresholds:
    # Expected peak thigh angle from vertical in swing: 27.3 deg at 2.5 m/s, 33.4 at 3.5
    # (RBDS001 lab truth, 6.1 deg per m/s; its 3D hip flexion against the pelvis is
    # 19-22 deg higher: 46 / 53-57 / 62-65 deg at 2.5 / 3.5 / 4.5 m/s, the pelvis' forward
    # tilt).  Warn 12 deg, fault 20 deg below: ~2 and ~3.5 population SDs.  No SD of the
    # swing peak was found; the loading-response hip peak's (5.5-6.0 deg, 45 runners,
    # Heiderscheit 2011) stands in: provisional.
    v = _lenient(speed, low_is_bad=True)
    expected = 27.3 + 6.1 * (v - 2.5)
    return Thresholds(low=Band(expected - 12.0, expected - 20.0))


def trunk_band(speed: float | None) -> Thresholds:
    # Teng & Powers 2014: self-selected trunk flexion 7.3 +- 3.6 deg from the global
    # vertical (24 recreational runners, 3.4 m/s).  Warn beyond 2 SD, fault beyond 3 SD;
    # no speed dependence was found to scale by.
    del speed
    mean, sd = 7.3, 3.6
    return Thresholds(
        high=Band(round(mean + 2 * sd, 1), round(mean + 3 * sd, 1)),
        low=Band(round(mean - 2 * sd, 1), round(mean - 3 * sd, 1)),
    )


def shank_reach_band(speed: float | None) -> Thresholds:
    # Peak shank angle in the 100 ms before the strike ("foot lands ahead of the knee").
    # Lieberman 2015 and Souza 2016: land with a near-vertical tibia.  RBDS001 lab truth:
    # 8.7 +- 1.3 deg at 2.5 m/s, 10.5 +- 2.5 at 3.5 (max 14.7 over 318 strides; +1.8 deg per
    # m/s, too small against the band to scale).  Warn at 18 deg = that maximum + the
    # pipeline's median error on the spoiled lab films (2.5-2.6 deg, bias +0.6-1.3): 18 deg
    # puts the ankle ~0.3 shank lengths (a shoe length) ahead of the knee.  Fault at 25 deg:
    # 7 deg (~2.5 median errors) further, past the BMClab left landing (22.4 deg, knee 4 deg,
    # foot 0.37 leg lengths ahead of the hip: the textbook reach, which warns).
    del speed
    return Thresholds(high=Band(18.0, 25.0))


PROPOSED_BANDS: tuple[ProposedBand, ...] = (
    ProposedBand(
        "posture.run_tall",
        "trunk_lean_deg",
        "deg",
        trunk_band,
        "Teng & Powers 2014: 7.3 +- 3.6 deg; warn/fault beyond 2/3 SD",
    ),
    ProposedBand(
        "legs.overstride",
        "peak_shank_angle_before_strike_deg",
        "deg",
        shank_reach_band,
        "near-vertical shank at landing (Lieberman 2015, Souza 2016); lab 8.7-10.5 deg",
    ),
    ProposedBand(
        "posture.body_in_line",
        "hip_ahead_of_ankle_midstance_leg_length",
        "leg_length",
        None,
        "no published basis; moves 0.11-0.18 leg lengths per frame of timing",
    ),
    ProposedBand("head.look_ahead", "head_pitch_deg", "deg", None, "no published basis"),
    ProposedBand(
        "posture.square_shoulders", "shoulder_tilt_max_deg", "deg", None, "no published basis"
    ),
    ProposedBand(
        "arms.no_cross_body",
        "wrist_crossing_shoulder_width",
        "shoulder_width",
        None,
        "no published basis",
    ),
    ProposedBand(
        "legs.push_off",
        "hip_extension_at_toe_off_deg",
        "deg",
        None,
        "Souza 2016: the optimal hip extension 'remains elusive'",
    ),
    ProposedBand(
        "arms.elbows_back", "elbow_behind_hip_leg_length", "leg_length", None, "no published basis"
    ),
    ProposedBand(
        "arms.hands_shoulder_height",
        "wrist_height_forward_arm_length",
        "arm_length",
        None,
        "no published basis",
    ),
    ProposedBand(
        "legs.knee_drive",
        "peak_thigh_angle_swing_deg",
        "deg",
        thigh_swing_band,
        "lab 27.3 deg at 2.5 m/s + 6.1/(m/s); warn/fault 12/20 deg below",
    ),
    ProposedBand(
        "legs.heel_to_hamstring",
        "peak_knee_flexion_swing_deg",
        "deg",
        knee_flexion_swing_band,
        "lab 85.4 deg at 2.5 m/s + 15.3/(m/s); warn/fault 15/25 deg below",
    ),
)


SPEED_LABELS = (("2.5 m/s", 2.5), ("3.5 m/s", 3.5), ("speed unknown", None))


def describe_band(band: ProposedBand) -> str:
    """The band in words, at 2.5 and 3.5 m/s and with the speed unknown (once if the same)."""
    if band.band is None:
        return INFO
    at = {label: band.band(speed).describe(band.unit) for label, speed in SPEED_LABELS}
    if len(set(at.values())) == 1:
        return next(iter(at.values()))
    return "; ".join(f"{label}: {text}" for label, text in at.items())


def proposed_judgement(
    metrics: Mapping[str, MetricValue],
    speed: float | None,
    view: str | None,
    gated: set[str] | None,
    min_confidence: float,
    bands: Sequence[ProposedBand] = PROPOSED_BANDS,
) -> tuple[dict[str, str], str]:
    """Per cue: ok / warn / fault / unknown (the product's own reasons), ``info`` or
    ``unreliable``; and the stride grade (worst judged, validated cue).

    ``gated`` is what the gates made unreliable: ``None`` the whole stride, else metric keys.
    """
    from edge.cues.catalogue import CUES_BY_ID
    from edge.cues.evaluate import judge_cue
    from edge.cues.profiles import CueRule

    out: dict[str, str] = {}
    judged = []
    for band in bands:
        if gated is None or band.metric in gated:
            out[band.cue_id] = UNRELIABLE
            continue
        cue = CUES_BY_ID[band.cue_id]
        thresholds = band.thresholds(speed)
        if thresholds is None:
            m = metrics.get(band.metric)
            out[band.cue_id] = INFO if m is not None and math.isfinite(m.value) else "unknown"
            continue
        proposed = dataclasses.replace(
            cue, metric=band.metric, unit=band.unit, thresholds=thresholds
        )
        result = judge_cue(CueRule(proposed, thresholds), metrics, view, min_confidence)
        out[band.cue_id] = result.verdict.value
        judged.append(result)
    if gated is None:
        return out, UNRELIABLE
    verdict, _ = grade(judged)
    return out, verdict.value


def running_median(history: list[float], value: float, window: int) -> float:
    """Append ``value`` to ``history`` and return the median of its last ``window`` entries."""
    history.append(value)
    return float(np.median(history[-window:]))
