"""Validate the cue verdicts: lab truth, metric error, real-clip verdict shares and flips.

    python scripts/validate_cues.py [--groundtruth DIR] [--media DIR] [--config FILE]
        [--fps 30] [--seeds 4] [--clips NAME ...] [--no-lab] [--no-clips]
        [--gates] [--timing] [--smoothing] [--cache DIR]

What it prints, judged by the product's own code (``edge.cues``, ``edge.gait.gates``) with
the catalogue and config **as they are when the script runs** (so thresholds can be
changed and re-run):

1. *Lab truth*: the shared normal runners (Fukuchi RBDS001 at 2.5 and 3.5 m/s, the BMClab
   overground run; see ../shared/groundtruth/SOURCES.md) filmed noise-free from both sides
   with :mod:`edge.testing.groundtruth`, force-plate strides, every metric computed by the product's
   own ``edge.gait.metrics``, judged at the trial's known speed, each stride on its own
   value: the share of true strides each cue grades ok / warn / fault (information-only
   cues: ``info``) and the true values' median and range.  The BMClab runner is also
   filmed from the front for the front-view cues.
2. *Pipeline against truth*: the same trials filmed at ``--fps`` and spoiled like MoveNet
   output, run through the batch (``edge.analysis.judge_poses``) and the streaming
   (``edge.analysis.RunAnalyzer``) paths with the trial's speed set; each detected stride
   is matched to its true stride and the metric's bias and median absolute error are
   reported.
3. *Real clips* (``../shared/media``, poses from the real MoveNet model in
   ``TRACKSIDE_MODEL_DIR``, cached per clip): per cue the ok / warn / fault / unknown /
   info / unreliable shares and the flip rate (share of consecutive judged strides whose
   verdict differs), the stride-grade distribution and its flip rate, batch and live (every
   pose pushed, as the daemon does), and the largest live-vs-batch share difference.
4. ``--gates``: the plausibility gates (:data:`edge.gait.gates.GATES`): each gate's bound,
   the true lab range it must admit, and how many strides it gated (lab truth, lab
   pipeline, clips), with every gated clip stride and its reasons.
5. ``--timing``: how far each at-event metric and the readings before the strike move with
   a +-1 frame event error at 18, 25 and 30 fps, for interpolation at the sub-frame event
   time against a first-contact-frame rule, with the detector's real event errors.
6. ``--smoothing``: the clips' flip rates with each stride judged alone
   (``cues.smooth_strides = 1``) against the configured running median.

Last, the acceptance checks of issue 10 with their numbers.  The reasoning and sources are
in ``docs/cue-calibration.md``.  Only validation tooling lives here; nothing in ``edge``
depends on it.  The clip results check outcomes only: no threshold was fitted to a clip.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import math
import os
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from validate_gait import TREADMILL_DISTANCE

from edge.analysis import RunAnalyzer, judge_poses
from edge.cues.catalogue import CATALOGUE, CUES_BY_ID, Cue
from edge.cues.evaluate import CueEvaluator
from edge.cues.rolling import RollingCues
from edge.cues.settings import CuesConfig
from edge.gait.coco import split_limbs
from edge.gait.frontview import classify_view, frontview_metrics
from edge.gait.gates import GATES, Gate, GateInput, GateScope
from edge.gait.metrics import stride_metrics
from edge.gait.timing import stride_timing
from edge.gait.track import SideViewTrack
from edge.testing.groundtruth import (
    Camera,
    FilmedTrial,
    LabTrial,
    Spoiling,
    film,
    load_bmclab_run,
    load_fukuchi,
)
from edge.types import (
    NUM_KEYPOINTS,
    EventKind,
    GaitEvent,
    Keypoint,
    Leg,
    Pose,
    Side,
    Stride,
    StrideReport,
    Verdict,
)

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("TRACKSIDE_SHARED_DIR", REPO.parent / "shared"))
VERDICTS = tuple(Verdict)
JUDGED = (Verdict.OK, Verdict.WARN, Verdict.FAULT)

# The lab trials are 150 Hz; filming them at that rate keeps the truth free of resampling.
TRUTH_FPS = 150.0
# A detected stride belongs to a true stride when both its strikes are this close (s):
# half of the shortest step time in the lab trials (0.35 s), so no stride matches two.
STRIDE_MATCH_TOLERANCE = 0.15
# The BMClab pelvis speed is measured from the markers; the Fukuchi belt speeds are the
# protocol's (Fukuchi et al. 2017).
FUKUCHI_SPEEDS = {"T25": 2.5, "T35": 3.5}
# Camera for the front-view truth: far enough ahead that the approaching runner's scale
# changes little over the 0.8 s trial.
FRONT_CAMERA_DISTANCE = 8.0  # m ahead of the runner's last position
CLIP_SUFFIXES = {".mp4", ".gif"}
POSE_CACHE_VERSION = 2  # bump when the cached arrays change
# Metrics read at one event of the stride (strike, toe-off or mid-stance between them), so
# true even when the markers end before the stride does.
AT_EVENT_METRICS = (
    "overstride_leg_length",
    "shank_angle_at_foot_strike_deg",
    "knee_flexion_at_foot_strike_deg",
    "trunk_lean_at_foot_strike_deg",
    "hip_extension_at_toe_off_deg",
    "hip_ahead_of_ankle_midstance_leg_length",
    "contact_time",
)
# Read in the 100 ms before the strike: also true when the markers end inside the stride.
BEFORE_STRIKE_METRICS = (
    "peak_reach_before_strike_leg_length",
    "peak_shank_angle_before_strike_deg",
)
# Kept for a stride the markers do not cover to its end (the segment lengths are read at
# the strike, mid-stance and toe-off).
TRUE_AT_EVENTS = (*AT_EVENT_METRICS, *BEFORE_STRIKE_METRICS, "leg_segment_length_change")
# The timing study: everything read at an event or just before the strike.
TIMING_METRICS = (*AT_EVENT_METRICS, *BEFORE_STRIKE_METRICS)
# Shown against lab truth beside the cues' own metrics: readings no cue judges.
SHOWN_METRICS = (
    "overstride_leg_length",
    "peak_reach_before_strike_leg_length",
    "shank_angle_at_foot_strike_deg",
    "knee_flexion_at_foot_strike_deg",
)


@dataclass(frozen=True)
class Segment:
    """A stretch of a clip with a known expectation, from the issue's acceptance list."""

    clip: str
    start: float
    end: float
    what: str
    cue: str | None  # None: the stride grade


# Acceptance checks of issue 10: every "right way" stride of jes_woods (the caption is on
# every frame), Kipchoge's whole clip, and movup's visibly bent-over stretch (6.5-10 s,
# with the coach's red line over it).
SEGMENTS = (
    Segment("eliud_kipchoge_sub2_marathon", 0.0, math.inf, "elite marathoner", None),
    Segment("jes_woods_nike_coach_1", 0.0, math.inf, "'the right way' (whole clip)", None),
    Segment("movup_run_treadmill", 6.5, 10.0, "bent over", "posture.run_tall"),
)


# --- verdict statistics (pure) ------------------------------------------------------------


def verdict_shares(verdicts: Sequence[Verdict]) -> dict[Verdict, float]:
    """Share of each verdict (ok, warn, fault, unknown) among ``verdicts``; all 0 if empty."""
    n = len(verdicts)
    return {v: (sum(1 for x in verdicts if x is v) / n if n else 0.0) for v in VERDICTS}


def judged_shares(verdicts: Sequence[Verdict]) -> dict[Verdict, float]:
    """Share of ok, warn and fault among the *judged* verdicts (unknown left out)."""
    judged = [v for v in verdicts if v in JUDGED]
    n = len(judged)
    return {v: (sum(1 for x in judged if x is v) / n if n else float("nan")) for v in JUDGED}


def flip_rate(verdicts: Sequence[Verdict]) -> float:
    """Share of consecutive *judged* strides whose verdict differs (unknowns skipped).

    ``nan`` with fewer than two judged strides.  The sequence is in stride order, both legs
    interleaved, as the runner's LED shows it.
    """
    judged = [v for v in verdicts if v in JUDGED]
    if len(judged) < 2:
        return float("nan")
    return sum(a is not b for a, b in pairwise(judged)) / (len(judged) - 1)


@dataclass(frozen=True)
class ErrorStats:
    """Pipeline minus truth over matched strides: count, mean (bias), median |error|."""

    n: int
    bias: float
    median_abs: float


def error_stats(pipeline: Sequence[float], truth: Sequence[float]) -> ErrorStats:
    """Bias and median absolute error of paired values, pairs with a ``nan`` left out."""
    p, t = np.asarray(pipeline, float), np.asarray(truth, float)
    ok = np.isfinite(p) & np.isfinite(t)
    if not ok.any():
        return ErrorStats(0, float("nan"), float("nan"))
    e = p[ok] - t[ok]
    return ErrorStats(int(ok.sum()), float(np.mean(e)), float(np.median(np.abs(e))))


@dataclass(frozen=True)
class StrideKey:
    """Where a stride sits: anatomical (lab) or camera (clip) side and its two strikes."""

    side: str
    foot_strike: float
    next_foot_strike: float


def match_strides(
    detected: Sequence[StrideKey],
    truth: Sequence[StrideKey],
    tolerance: float = STRIDE_MATCH_TOLERANCE,
) -> list[tuple[int, int]]:
    """Pairs ``(detected index, true index)``: same side, both strikes within ``tolerance``.

    Each true stride takes the nearest unused detection (sum of the two strike errors), so a
    detection is never counted twice and a missed or spurious stride simply has no pair.
    """
    used: set[int] = set()
    pairs = []
    for j, true in enumerate(truth):
        best, best_cost = -1, math.inf
        for i, det in enumerate(detected):
            if i in used or det.side != true.side:
                continue
            a = abs(det.foot_strike - true.foot_strike)
            b = abs(det.next_foot_strike - true.next_foot_strike)
            if a <= tolerance and b <= tolerance and a + b < best_cost:
                best, best_cost = i, a + b
        if best >= 0:
            used.add(best)
            pairs.append((best, j))
    return sorted(pairs)


def judged_cues(catalogue: Iterable[Cue] = CATALOGUE) -> list[Cue]:
    """The cues that read a metric (validated or information only), in priority order, read
    from the catalogue at run time."""
    return [c for c in catalogue if c.judged and c.metric]


def cue_verdicts(reports: Sequence[StrideReport], cue_id: str) -> list[Verdict]:
    return [next(r.verdict for r in rep.cues if r.cue_id == cue_id) for rep in reports]


def cue_values(reports: Sequence[StrideReport], cue_id: str) -> list[float]:
    return [next(r.value for r in rep.cues if r.cue_id == cue_id) for rep in reports]


# --- lab truth -----------------------------------------------------------------------------


@dataclass
class LabStride:
    """A true stride: the force-plate events and the product's metrics on clean joint centres."""

    trial: str
    camera_side: str
    speed: float  # m/s
    stride: Stride  # metrics filled in
    key: StrideKey
    view: str = "side"
    track: SideViewTrack | None = None
    front_confidence: float = float("nan")


def lab_trials(root: Path) -> list[tuple[LabTrial, float]]:
    """The shared *normal running* trials, glitch frames removed, with their speeds (m/s).

    The walking trials are left out (not running); RBDS001 is the only Fukuchi subject whose
    kinematics and forces are in the shared folder.
    """
    trials = [(load_fukuchi(root, name), speed) for name, speed in FUKUCHI_SPEEDS.items()]
    bmclab = load_bmclab_run(root)
    trials.append((bmclab, pelvis_speed(bmclab)))
    return [(without_glitches(trial)[0], speed) for trial, speed in trials]


# A lab segment is a rigid body: its length varies by millimetres (cluster-fit residuals of
# 0.3-2 mm, SOURCES.md).  A frame where one differs from its median by more than this is a
# reconstruction glitch (RBDS001 T35 has two: the left hip centre jumps 2 m for one frame).
GLITCH_LENGTH_CHANGE = 0.10
SEGMENTS_BY_SIDE = (("hip", "knee"), ("knee", "ankle"), ("shoulder", "elbow"), ("elbow", "wrist"))


def without_glitches(trial: LabTrial) -> tuple[LabTrial, int]:
    """``trial`` with every joint of a side unset (nan) in frames where one of that side's
    segments changes length by more than :data:`GLITCH_LENGTH_CHANGE`; and how many frames."""
    joints = {k: v.copy() for k, v in trial.joints.items()}
    removed = 0
    for side in ("R", "L"):
        bad = np.zeros(len(trial.t), bool)
        for a, b in SEGMENTS_BY_SIDE:
            if (side, a) not in joints or (side, b) not in joints:
                continue
            length = np.linalg.norm(joints[(side, a)] - joints[(side, b)], axis=1)
            median = np.nanmedian(length)
            bad |= np.abs(length / median - 1) > GLITCH_LENGTH_CHANGE
        for (s, _), xyz in joints.items():
            if s == side:
                xyz[bad] = np.nan
        removed += int(bad.sum())
    return dataclasses.replace(trial, joints=joints), removed


def pelvis_speed(trial: LabTrial) -> float:
    """Mean forward speed of the mid-hip over the trial (m/s), least squares."""
    pelvis = 0.5 * (trial.joints[("R", "hip")][:, 0] + trial.joints[("L", "hip")][:, 0])
    ok = np.isfinite(pelvis)
    return float(np.polyfit(trial.t[ok], pelvis[ok], 1)[0])


def camera_for(trial: LabTrial, side: str) -> Camera:
    """The side camera validate_gait uses: 3 m from a treadmill; 6 m and panning overground."""
    if trial.treadmill:
        return Camera(side=side, distance=TREADMILL_DISTANCE)
    return Camera(side=side, distance=6.0, pan=True)


def track_from_clean(filmed: FilmedTrial) -> SideViewTrack:
    """The side-view track of noise-free keypoints, near/far known from the camera side.

    No face keypoints exist in the lab data, so the head points stay unseen.
    """
    left, right = split_limbs(np.asarray(filmed.clean, float))
    near, far = (right, left) if filmed.near_side == "R" else (left, right)
    direction = 1 if filmed.near_side == "R" else -1  # see edge.testing.groundtruth.film
    head = np.zeros((len(filmed.t), 5, 3))
    side = Side.RIGHT if filmed.near_side == "R" else Side.LEFT
    return SideViewTrack(filmed.t, near, far, head, direction, side)


def true_strides(trial: LabTrial, near_side: str) -> list[Stride]:
    """Force-plate strides of both legs, metrics empty; ``near_side`` names the near leg.

    A side with a single strike (the BMClab trial holds one step) gets its next strike from
    the other leg's step time: FS + 2 x (other FS - FS), and its window metrics then need the
    markers to reach that far (they do for the right leg, not for the left).
    """
    strides = []
    for side in ("R", "L"):
        leg = Leg.NEAR if side == near_side else Leg.FAR
        anat = Side.RIGHT if side == "R" else Side.LEFT
        own = sorted(
            (e for e in trial.events if e.side == side and math.isfinite(e.foot_strike)),
            key=lambda e: e.foot_strike,
        )
        other = sorted(
            e.foot_strike for e in trial.events if e.side != side and math.isfinite(e.foot_strike)
        )
        starts = [(a, b.foot_strike) for a, b in pairwise(own)]
        if len(own) == 1:
            later = [t for t in other if t > own[0].foot_strike]
            earlier = [t for t in other if t < own[0].foot_strike]
            step = (later[0] - own[0].foot_strike) if later else (own[0].foot_strike - earlier[-1])
            starts = [(own[0], own[0].foot_strike + 2 * step)]
        for event, next_fs in starts:
            fs = GaitEvent(EventKind.FOOT_STRIKE, leg, event.foot_strike, side=anat)
            to = (
                GaitEvent(EventKind.TOE_OFF, leg, event.toe_off, side=anat)
                if math.isfinite(event.toe_off) and event.toe_off < next_fs
                else None
            )
            nfs = GaitEvent(EventKind.FOOT_STRIKE, leg, next_fs, side=anat)
            strides.append(Stride(len(strides), leg, fs, to, nfs, side=anat))
    return sorted(strides, key=lambda s: s.foot_strike.time)


def opposite_events(trial: LabTrial, stride: Stride) -> list[GaitEvent]:
    """The other leg's force-plate events inside ``stride`` (for flight time)."""
    own = "R" if stride.side is Side.RIGHT else "L"
    leg = Leg.FAR if stride.leg is Leg.NEAR else Leg.NEAR
    out = []
    for e in trial.events:
        if e.side == own:
            continue
        for kind, t in ((EventKind.FOOT_STRIKE, e.foot_strike), (EventKind.TOE_OFF, e.toe_off)):
            if math.isfinite(t) and stride.foot_strike.time < t < stride.next_foot_strike.time:
                out.append(GaitEvent(kind, leg, t))
    return sorted(out, key=lambda e: e.time)


def with_metrics(stride: Stride, track: SideViewTrack, opposite: Sequence[GaitEvent]) -> Stride:
    """``stride`` with the product's timing and kinematic metrics computed on ``track``."""
    metrics = dict(
        stride_timing(stride.foot_strike, stride.toe_off, stride.next_foot_strike, opposite)
    )
    metrics.update(stride_metrics(track, stride, opposite))
    return dataclasses.replace(stride, metrics=metrics)


def true_key(stride: Stride) -> StrideKey:
    """The key of a force-plate stride: its anatomical side and strikes."""
    side = "R" if stride.side is Side.RIGHT else "L"
    return StrideKey(side, stride.foot_strike.time, stride.next_foot_strike.time)


def lab_truth(trials: Sequence[tuple[LabTrial, float]]) -> list[LabStride]:
    """Every true stride of every trial, filmed from the runner's right and left side."""
    out = []
    for trial, speed in trials:
        for side in ("R", "L"):
            filmed = film(trial, TRUTH_FPS, camera=camera_for(trial, side), spoil=None, seed=0)
            track = track_from_clean(filmed)
            for stride in true_strides(trial, side):
                measured = with_metrics(stride, track, opposite_events(trial, stride))
                if stride.next_foot_strike.time > trial.t[-1]:
                    # The markers end inside the stride: only values at its strike, toe-off
                    # and mid-stance are true; window values would cover part of it.
                    kept = {k: m for k, m in measured.metrics.items() if k in TRUE_AT_EVENTS}
                    measured = dataclasses.replace(measured, metrics=kept)
                out.append(
                    LabStride(trial.name, side, speed, measured, true_key(stride), track=track)
                )
    return out


def film_front(trial: LabTrial, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Times and COCO keypoints (N, 17, 3) of ``trial`` seen from a camera ahead of the runner.

    The runner faces the camera, so their right side appears on the image's left.  Only the
    joints the trial has are filled (score 0.8, as :func:`edge.testing.groundtruth.film` does).
    """
    from edge.testing.groundtruth import _COCO  # the marker -> keypoint table, one definition

    t = np.arange(trial.t[0], trial.t[-1], 1 / fps)
    pelvis = 0.5 * (trial.joints[("R", "hip")] + trial.joints[("L", "hip")])
    camera_forward = np.nanmax(pelvis[:, 0]) + FRONT_CAMERA_DISTANCE
    centre_right = float(np.nanmedian(pelvis[:, 2]))
    focal, cx, cy, height = 900.0, 640.0, 360.0, 1.0
    kp = np.zeros((len(t), NUM_KEYPOINTS, 3))
    for (side, joint), xyz in trial.joints.items():
        p = np.stack([np.interp(t, trial.t[np.isfinite(c)], c[np.isfinite(c)]) for c in xyz.T], 1)
        depth = camera_forward - p[:, 0]
        k = _COCO[(side, joint)]
        kp[:, k, 0] = cx - focal * (p[:, 2] - centre_right) / depth
        kp[:, k, 1] = cy - focal * (p[:, 1] - height) / depth
        kp[:, k, 2] = 0.8
    return t, kp


def lab_front_truth(trials: Sequence[tuple[LabTrial, float]]) -> list[LabStride]:
    """Front-view metrics of the true strides of trials with shoulders and wrists (BMClab)."""
    out = []
    for trial, speed in trials:
        if ("R", "shoulder") not in trial.joints:
            continue  # no arm or trunk markers (Fukuchi)
        t, kp = film_front(trial, TRUTH_FPS)
        for stride in true_strides(trial, "R"):
            inside = (t >= stride.foot_strike.time) & (t <= stride.next_foot_strike.time)
            if inside.sum() < 0.9 * TRUTH_FPS * stride.duration:
                continue  # the stride runs past the end of the markers
            measured = dataclasses.replace(stride, metrics=dict(frontview_metrics(kp[inside])))
            estimate = classify_view(kp[inside])
            confidence = estimate.confidence if estimate.view.value != "side" else 0.0
            out.append(
                LabStride(
                    trial.name,
                    "front",
                    speed,
                    measured,
                    true_key(stride),
                    "front",
                    front_confidence=confidence,
                )
            )
    return out


def truth_reports(strides: Sequence[LabStride], cues: CuesConfig, athletes) -> list[StrideReport]:
    """The product's report for each true stride, in input order.

    Each trial and camera is judged as one run in time order (the stride-time gate looks
    back on its strides), in a forced view at the trial's known speed, each stride on its
    own value (``smooth_strides = 1``: these are true values, not noisy readings) and no cue
    switched off.
    """
    reports: list[StrideReport | None] = [None] * len(strides)
    runs: dict[tuple[str, str], list[int]] = {}
    for i, s in enumerate(strides):
        runs.setdefault((s.trial, s.camera_side), []).append(i)
    for index in runs.values():
        index.sort(key=lambda i: strides[i].stride.foot_strike.time)
        first = strides[index[0]]
        evaluator = CueEvaluator.from_config(
            dataclasses.replace(
                cues, disabled=(), view=first.view, speed_mps=first.speed, smooth_strides=1
            ),
            athletes,
        )
        for i in index:
            reports[i] = evaluator.evaluate(strides[i].stride, strides[i].view)
    return [r for r in reports if r is not None]


# --- the pipeline on lab trials --------------------------------------------------------------


@dataclass
class PipelineStride:
    """A stride the product found in a spoiled lab film, with its true counterpart if any."""

    trial: str
    engine: str  # "batch" or "live"
    report: StrideReport
    key: StrideKey
    truth: LabStride | None = None
    track: SideViewTrack | None = None
    film: int = 0  # which spoiled film (seed) it came from


def stride_key(stride: Stride, near_side: str) -> StrideKey:
    far_side = "L" if near_side == "R" else "R"
    side = near_side if stride.leg is Leg.NEAR else far_side
    return StrideKey(side, stride.foot_strike.time, stride.next_foot_strike.time)


def run_live(
    t: np.ndarray, keypoints: np.ndarray, image_size: tuple[int, int], cues: CuesConfig
) -> tuple[list[StrideReport], list[SideViewTrack]]:
    """Every pose pushed through a fresh :class:`RunAnalyzer`, as the daemon does.

    Returns the reports and, for each, the engine's buffered track when it was emitted (the
    plausibility gates read the keypoints behind a stride).
    """
    analyzer = RunAnalyzer(cues)
    reports, tracks = [], []
    for i, (ti, kp) in enumerate(zip(t, keypoints, strict=True)):
        update = analyzer.push(Pose(float(ti), i, np.asarray(kp, np.float32), image_size))
        for report in update.reports:
            reports.append(report)
            tracks.append(analyzer.gait.track())
    for report in analyzer.flush().reports:  # the recording ended
        reports.append(report)
        tracks.append(analyzer.gait.track())
    return reports, tracks


def lab_pipeline(
    trials: Sequence[tuple[LabTrial, float]],
    truth: Sequence[LabStride],
    cues: CuesConfig,
    fps: float,
    seeds: Iterable[int],
) -> list[PipelineStride]:
    """Spoiled films of every trial (camera alternating sides), batch and live, matched;
    judged at the trial's known speed."""
    out = []
    for trial, speed in trials:
        at_speed = dataclasses.replace(cues, speed_mps=speed)
        for seed in seeds:
            side = "R" if seed % 2 == 0 else "L"
            filmed = film(trial, fps, camera=camera_for(trial, side), spoil=Spoiling(), seed=seed)
            mine = [s for s in truth if s.trial == trial.name and s.camera_side == side]
            judged = judge_poses(filmed.t, filmed.keypoints, at_speed)
            batch = (judged.reports, [judged.analysis.track] * len(judged.reports))
            live = run_live(filmed.t, filmed.keypoints, filmed.image_size, at_speed)
            for engine, (reports, tracks) in (("batch", batch), ("live", live)):
                keys = [stride_key(r.stride, side) for r in reports]
                matched = dict(match_strides(keys, [s.key for s in mine]))
                for i, (report, key) in enumerate(zip(reports, keys, strict=True)):
                    true = mine[matched[i]] if i in matched else None
                    out.append(
                        PipelineStride(trial.name, engine, report, key, true, tracks[i], seed)
                    )
    return out


# --- real clips ------------------------------------------------------------------------------


@dataclass
class ClipPoses:
    name: str
    t: np.ndarray
    keypoints: np.ndarray
    image_size: tuple[int, int]
    frame_index: np.ndarray  # decode order, as the clip labels count frames


def clip_poses(clip: Path, model_dir: Path | None, cache: Path) -> ClipPoses:
    """The clip's MoveNet poses (the daemon's default pose settings), cached on disk.

    The cache key covers the clip's bytes, the model file and the pose settings, so a changed
    model or clip is never served stale poses.
    """
    from edge.config import Config
    from edge.pose.models import resolve_model_path
    from edge.replay import iter_poses
    from edge.service.assembly import make_estimator

    pose = Config().pose
    if model_dir is not None:
        pose = dataclasses.replace(pose, model_dir=str(model_dir))
    model = resolve_model_path(pose.model, model_dir=pose.model_dir or None)
    digest = hashlib.sha256(f"poses v{POSE_CACHE_VERSION}".encode())
    digest.update(clip.read_bytes())
    digest.update(Path(model).read_bytes())
    digest.update(repr(dataclasses.astuple(pose)).encode())
    path = cache / f"{clip.stem}-{digest.hexdigest()[:16]}.npz"
    if path.exists():
        data = np.load(path)
        return ClipPoses(
            clip.stem, data["t"], data["keypoints"], tuple(data["image_size"]), data["frames"]
        )
    from edge.capture import open_source

    estimator = make_estimator(dataclasses.replace(Config(), pose=pose))
    t, k, frames, size = [], [], [], (0, 0)
    with open_source(clip) as source:
        for _, p in iter_poses(source, estimator):
            t.append(p.timestamp)
            k.append(p.keypoints)
            frames.append(p.frame_index)
            size = p.image_size
    cache.mkdir(parents=True, exist_ok=True)
    arrays = {"t": np.asarray(t), "keypoints": np.stack(k), "frames": np.asarray(frames)}
    np.savez(path, image_size=np.asarray(size), **arrays)
    return ClipPoses(clip.stem, arrays["t"], arrays["keypoints"], size, arrays["frames"])


@dataclass
class ClipRun:
    """One clip through one path: the reports and the track behind each stride."""

    clip: str
    engine: str
    reports: list[StrideReport]
    tracks: list[SideViewTrack]
    duration: float


def run_clip(poses: ClipPoses, cues: CuesConfig) -> list[ClipRun]:
    """Batch (``judge_poses``) and live (``RunAnalyzer``) verdicts on one clip's poses."""
    duration = float(poses.t[-1] - poses.t[0]) if len(poses.t) else 0.0
    batch = judge_poses(poses.t, poses.keypoints, cues)
    live, tracks = run_live(poses.t, poses.keypoints, poses.image_size, cues)
    return [
        ClipRun(
            poses.name,
            "batch",
            batch.reports,
            [batch.analysis.track] * len(batch.reports),
            duration,
        ),
        ClipRun(poses.name, "live", live, tracks, duration),
    ]


# --- frame-timing robustness ---------------------------------------------------------------

TIMING_FPS = (18.0, 25.0, 30.0)


def shifted(stride: Stride, fs: float, to: float | None, nfs: float) -> Stride:
    """``stride`` with its events moved to the given times (metrics dropped)."""
    leg, side = stride.leg, stride.side
    return Stride(
        stride.index,
        leg,
        GaitEvent(EventKind.FOOT_STRIKE, leg, fs, side=side),
        None if to is None else GaitEvent(EventKind.TOE_OFF, leg, to, side=side),
        GaitEvent(EventKind.FOOT_STRIKE, leg, nfs, side=side),
        side=side,
    )


def first_frame_at_or_after(t: np.ndarray, when: float) -> int:
    return min(int(np.searchsorted(t, when - 1e-9, side="left")), len(t) - 1)


def last_frame_at_or_before(t: np.ndarray, when: float) -> int:
    return max(int(np.searchsorted(t, when + 1e-9, side="right")) - 1, 0)


def interpolated_rule(t: np.ndarray, stride: Stride, frames: int) -> Stride:
    """Events at their (sub-frame) times, moved by ``frames`` frame intervals."""
    dt = float(np.median(np.diff(t)))
    to = None if stride.toe_off is None else stride.toe_off.time + frames * dt
    return shifted(
        stride,
        stride.foot_strike.time + frames * dt,
        to,
        stride.next_foot_strike.time + frames * dt,
    )


def first_contact_rule(t: np.ndarray, stride: Stride, frames: int) -> Stride:
    """Events snapped to frames as the clip labels are: the strike to the first frame in
    contact, the toe-off to the last one; then moved by ``frames`` whole frames."""

    def frame(i: int) -> float:
        return float(t[min(max(i + frames, 0), len(t) - 1)])

    to = None
    if stride.toe_off is not None:
        to = frame(last_frame_at_or_before(t, stride.toe_off.time))
    return shifted(
        stride,
        frame(first_frame_at_or_after(t, stride.foot_strike.time)),
        to,
        frame(first_frame_at_or_after(t, stride.next_foot_strike.time)),
    )


@dataclass
class TimingErrors:
    """Metric errors (value - truth) per rule, keyed by (metric, rule, frames moved)."""

    errors: dict[tuple[str, str, int], list[float]] = field(default_factory=dict)

    def add(self, metric: str, rule: str, frames: int, error: float) -> None:
        if math.isfinite(error):
            self.errors.setdefault((metric, rule, frames), []).append(error)

    def stats(self, metric: str, rule: str, frames: Sequence[int]) -> tuple[float, float, float]:
        """(median |error|, 95th percentile |error|, mean error) pooled over ``frames``."""
        e = np.concatenate(
            [np.asarray(self.errors.get((metric, rule, f), []), float) for f in frames]
        )
        if not e.size:
            return float("nan"), float("nan"), float("nan")
        a = np.abs(e)
        return float(np.median(a)), float(np.percentile(a, 95)), float(np.mean(e))


def detected_event_times(
    events: Iterable[GaitEvent], near_side: str
) -> dict[tuple[str, EventKind], np.ndarray]:
    far_side = "L" if near_side == "R" else "R"
    out: dict[tuple[str, EventKind], list[float]] = {}
    for e in events:
        side = near_side if e.leg is Leg.NEAR else far_side
        out.setdefault((side, e.kind), []).append(e.time)
    return {k: np.sort(np.asarray(v)) for k, v in out.items()}


def nearest(times: np.ndarray | None, when: float, tolerance: float = 0.1) -> float | None:
    if times is None or not times.size:
        return None
    i = int(np.argmin(np.abs(times - when)))
    return float(times[i]) if abs(times[i] - when) <= tolerance else None


EventTimes = dict[tuple[str, EventKind], np.ndarray]
TIMING_RULES = (("interpolated", interpolated_rule), ("first frame", first_contact_rule))


def add_rule_errors(
    errs: TimingErrors,
    rule: str,
    frames: int,
    track: SideViewTrack,
    moved: Stride,
    true: LabStride,
) -> None:
    """Errors against the truth of every at-event and before-strike metric read at ``moved``."""
    got = stride_metrics(track, moved, [])
    for key in TIMING_METRICS:
        if key in got and key in true.stride.metrics:
            errs.add(key, rule, frames, got[key].value - true.stride.metrics[key].value)


def detected_stride(
    found: EventTimes,
    true: LabStride,
    fps: float,
    event_errors: dict[str, list[float]],
    engine: str,
) -> Stride | None:
    """The true stride with the detected events nearest its own (``None`` if a strike was
    missed); the strike and toe-off errors, in frames, go to ``event_errors``."""
    s, side = true.stride, true.key.side
    strikes = found.get((side, EventKind.FOOT_STRIKE))
    fs = nearest(strikes, s.foot_strike.time)
    nfs = nearest(strikes, s.next_foot_strike.time)
    to = (
        None if s.toe_off is None else nearest(found.get((side, EventKind.TOE_OFF)), s.toe_off.time)
    )
    if to is not None:
        event_errors.setdefault(f"{engine} TO", []).append((to - s.toe_off.time) * fps)
    if fs is None or nfs is None:
        return None
    event_errors.setdefault(f"{engine} FS", []).append((fs - s.foot_strike.time) * fps)
    return shifted(s, fs, to, nfs)


def timing_study(
    trials: Sequence[tuple[LabTrial, float]],
    truth: Sequence[LabStride],
    fps_list: Sequence[float] = TIMING_FPS,
    seeds: Iterable[int] = range(3),
) -> tuple[dict[float, TimingErrors], dict[float, dict[str, list[float]]]]:
    """At-event metric errors at each frame rate, and the detector's event errors (frames).

    For every true stride filmed noise-free at the frame rate (random phase per seed) the
    at-event metrics are read with the true events moved by -1, 0 and +1 frames, under the
    interpolated rule and the first-contact-frame rule; then with the events the batch
    engine actually detected in a spoiled film of the same seed ("detected ...").
    """
    from validate_gait import run_streaming

    from edge.gait.batch import analyse_arrays

    results: dict[float, TimingErrors] = {}
    event_errors: dict[float, dict[str, list[float]]] = {}
    for fps in fps_list:
        errs, ev = TimingErrors(), {}
        for trial, _ in trials:
            for seed in seeds:
                side = "R" if seed % 2 == 0 else "L"
                camera = camera_for(trial, side)
                track = track_from_clean(film(trial, fps, camera=camera, spoil=None, seed=seed))
                t = np.asarray(track.t, float)
                spoiled = film(trial, fps, camera=camera, spoil=Spoiling(), seed=seed)
                batch_events = analyse_arrays(spoiled.t, spoiled.keypoints, stride_metrics=False)
                found = {
                    "batch": detected_event_times(batch_events.events, side),
                    "live": detected_event_times(run_streaming(spoiled), side),
                }
                for true in (s for s in truth if (s.trial, s.camera_side) == (trial.name, side)):
                    s = true.stride
                    inside = t[0] + 0.2 < s.foot_strike.time and s.next_foot_strike.time < t[-1]
                    if not inside:
                        continue  # the film's random phase cuts the stride
                    for frames in (-1, 0, 1):
                        for rule, make in TIMING_RULES:
                            add_rule_errors(errs, rule, frames, track, make(t, s, frames), true)
                    for engine, times in found.items():
                        detected = detected_stride(times, true, fps, ev, engine)
                        if detected is None or engine != "batch":
                            continue
                        for rule, make in TIMING_RULES:
                            moved = make(t, detected, 0)
                            add_rule_errors(errs, f"detected {rule}", 0, track, moved, true)
        results[fps] = errs
        event_errors[fps] = ev
    return results, event_errors


def timing_table(results: Mapping[float, TimingErrors]) -> str:
    """Median (95th percentile) |error| per metric and frame rate, per rule."""
    metrics = sorted({k[0] for r in results.values() for k in r.errors}, key=str)
    rows = []
    for key in metrics:
        for fps, errs in results.items():
            row: list[object] = [key, f"{fps:g}"]
            for rule, frames in (
                ("interpolated", (0,)),
                ("interpolated", (-1,)),
                ("interpolated", (1,)),
                ("first frame", (0,)),
                ("first frame", (-1,)),
                ("first frame", (1,)),
                ("detected interpolated", (0,)),
                ("detected first frame", (0,)),
            ):
                med, p95, mean = errs.stats(key, rule, frames)
                d = 3 if "leg_length" in key else 1
                cell = "-" if not math.isfinite(med) else f"{med:.{d}f} ({p95:.{d}f})"
                if rule == "first frame" and frames == (0,) and math.isfinite(mean):
                    cell += f" b{mean:+.{d}f}"
                row.append(cell)
            rows.append(row)
    return table(
        [
            "metric",
            "fps",
            "interp exact",
            "interp -1 fr",
            "interp +1 fr",
            "1st frame exact (bias)",
            "1st frame -1",
            "1st frame +1",
            "detected interp",
            "detected 1st frame",
        ],
        rows,
    )


def event_error_lines(event_errors: Mapping[float, Mapping[str, list[float]]]) -> list[str]:
    lines = []
    for fps, ev in event_errors.items():
        parts = []
        for name, e in sorted(ev.items()):
            a = np.abs(np.asarray(e))
            parts.append(
                f"{name} bias {np.mean(e):+.2f} med|err| {np.median(a):.2f} fr, "
                f"{100 * np.mean(a <= 1):.0f}% within 1 fr (n={a.size})"
            )
        lines.append(f"  {fps:g} fps: " + "; ".join(parts))
    return lines


def stride_events(reports: Sequence[StrideReport]) -> list[GaitEvent]:
    """The distinct events behind ``reports`` (strikes and toe-offs), in time order."""
    seen: dict[tuple[str, str, float], GaitEvent] = {}
    for r in reports:
        s = r.stride
        for e in (s.foot_strike, s.toe_off, s.next_foot_strike):
            if e is not None:
                seen.setdefault((e.kind.value, e.leg.value, round(e.time, 6)), e)
    return sorted(seen.values(), key=lambda e: e.time)


def clip_timing_lines(
    runs: Sequence[ClipRun], poses: Mapping[str, ClipPoses], labels_dir: Path
) -> list[str]:
    """Per clip and path: strike frame errors against the hand labels, and how far the
    at-strike metrics move when the strike moves one frame either way on the real track."""
    from validate_gait import read_labels, score_clip

    lines = []
    for run in runs:
        label_file = labels_dir / f"{run.clip}.events.csv"
        p = poses[run.clip]
        parts = []
        if label_file.exists() and run.reports:
            score = score_clip(
                run.clip, p.frame_index, p.t, stride_events(run.reports), read_labels(label_file)
            )
            err = np.abs(np.asarray(score.frame_errors))
            if err.size:
                parts.append(
                    f"strike vs labels: {score.hits}/{score.labels} found, med|err| "
                    f"{np.median(err):.0f} fr, {100 * np.mean(err <= 1):.0f}% within 1 fr"
                )
        moves: dict[str, list[float]] = {}
        t = p.t
        for report, track in zip(run.reports, run.tracks, strict=True):
            base = report.stride.metrics
            for frames in (-1, 1):
                moved = stride_metrics(track, interpolated_rule(t, report.stride, frames), [])
                for key in ("overstride_leg_length", "shank_angle_at_foot_strike_deg"):
                    if key in base and math.isfinite(base[key].value):
                        moves.setdefault(key, []).append(abs(moved[key].value - base[key].value))
        for key, m in moves.items():
            m = [x for x in m if math.isfinite(x)]
            if m:
                d = 3 if "leg_length" in key else 1
                parts.append(f"{key} per frame med {np.median(m):.{d}f}")
        fps = 1 / float(np.median(np.diff(t))) if len(t) > 1 else float("nan")
        lines.append(f"  {run.clip} {run.engine} ({fps:.0f} fps): " + "; ".join(parts))
    return lines


# --- printing ----------------------------------------------------------------------------------


def pct(x: float) -> str:
    return "-" if not math.isfinite(x) else f"{100 * x:.0f}%"


def num(x: float, digits: int = 2) -> str:
    return "-" if not math.isfinite(x) else f"{x:+.{digits}f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table, columns padded to their widest cell (first column left-aligned)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for k, r in enumerate(cells):
        parts = [r[0].ljust(widths[0])]
        parts += [c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)]
        lines.append("  ".join(parts))
        if k == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def shares_cell(verdicts: Sequence[Verdict], with_unknown: bool = False) -> str:
    """``ok/warn/fault`` (judged shares) or ``ok/warn/fault/unknown`` (all), in percent."""
    if with_unknown:
        s = verdict_shares(verdicts)
        return "/".join(f"{100 * s[v]:.0f}" for v in VERDICTS)
    s = judged_shares(verdicts)
    return "/".join("-" if not math.isfinite(s[v]) else f"{100 * s[v]:.0f}" for v in JUDGED)


def value_range(values: Sequence[float], digits: int = 2) -> str:
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not v.size:
        return "-"
    return f"{np.median(v):.{digits}f} [{v.min():.{digits}f}, {v.max():.{digits}f}]"


def digits_for(unit: str) -> int:
    return 1 if unit in ("deg", "percent", "steps/min") else 2


def lab_truth_table(
    cues: Sequence[Cue], strides: Sequence[LabStride], reports: Sequence[StrideReport], off
) -> str:
    """Per cue and trial: judged ok/warn/fault shares of true strides (``info`` for an
    information-only cue), gated strides, and the true values."""
    trials = sorted({s.trial for s in strides}, key=[s.trial for s in strides].index)
    rows = []
    for cue in cues:
        label = (
            cue.id + (" (off)" if cue.id in off else "") + (" (info)" if not cue.validated else "")
        )
        row: list[object] = [label, cue.metric]
        all_verdicts = []
        for trial in trials:
            idx = [i for i, s in enumerate(strides) if s.trial == trial and cue.views[0] == s.view]
            verdicts = [cue_verdicts([reports[i]], cue.id)[0] for i in idx]
            values = [cue_values([reports[i]], cue.id)[0] for i in idx]
            all_verdicts += verdicts
            n = sum(v in JUDGED for v in verdicts)
            gated = sum(v is Verdict.UNRELIABLE for v in verdicts)
            cell = "info" if not cue.validated else f"{shares_cell(verdicts)} (n={n})"
            cell += f" {gated} gated" if gated else ""
            row += [cell, value_range(values, digits_for(cue.unit))]
        row.append(pct(judged_shares(all_verdicts)[Verdict.OK]) if cue.validated else "info")
        rows.append(row)
    headers = ["cue", "metric"]
    for trial in trials:
        headers += [f"{trial} ok/warn/fault %", "true median [min, max]"]
    headers.append("ok all")
    return table(headers, rows)


def pipeline_table(
    cues: Sequence[Cue], strides: Sequence[PipelineStride], extra: Sequence[str] = ()
) -> str:
    """Per cue metric (and ``extra`` metrics no cue judges) and trial: bias and median
    |error| of batch and live against truth, and the share of those strides the cue grades
    ok (of the judged ones)."""
    trials = sorted({s.trial for s in strides}, key=[s.trial for s in strides].index)
    items: list[tuple[str, str, Cue | None]] = [
        (c.id, c.metric, c) for c in cues if "side" in c.views and c.metric
    ]
    items += [("(shown)", key, None) for key in extra]
    rows = []
    for label, metric, cue in items:
        for trial in trials:
            row: list[object] = [label, metric, trial]
            for engine in ("batch", "live"):
                mine = [s for s in strides if s.trial == trial and s.engine == engine and s.truth]
                got = [s.report.stride.metrics.get(metric) for s in mine]
                true = [s.truth.stride.metrics.get(metric) for s in mine]
                stats = error_stats(
                    [m.value if m else math.nan for m in got],
                    [m.value if m else math.nan for m in true],
                )
                d = 1 if metric.endswith("_deg") else 2
                row += [stats.n, num(stats.bias, d), num(stats.median_abs, d).lstrip("+")]
                if cue is not None and cue.validated:
                    judged = cue_verdicts([s.report for s in mine], cue.id)
                    row.append(pct(judged_shares(judged)[Verdict.OK]))
                else:
                    row.append("info" if cue is not None else "")
            rows.append(row)
    headers = ["cue", "metric", "trial"]
    for engine in ("batch", "live"):
        headers += [f"{engine} n", "bias", "med|err|", "ok"]
    return table(headers, rows)


def matching_table(strides: Sequence[PipelineStride], truth: Sequence[LabStride], seeds) -> str:
    rows = []
    for trial in sorted({s.trial for s in strides}, key=[s.trial for s in strides].index):
        n_true = sum(
            len(
                [
                    t
                    for t in truth
                    if t.trial == trial and t.camera_side == ("R" if s % 2 == 0 else "L")
                ]
            )
            for s in seeds
        )
        for engine in ("batch", "live"):
            mine = [s for s in strides if s.trial == trial and s.engine == engine]
            rows.append([trial, engine, len(mine), sum(s.truth is not None for s in mine), n_true])
    return table(["trial", "engine", "strides found", "matched to truth", "true strides"], rows)


def head_resolution_line(poses: ClipPoses, min_score: float = 0.3) -> str:
    """How many pixels the head-pitch reading rests on: the eye-ear distance, and the pitch
    that one pixel of keypoint error is worth at that distance."""
    k = poses.keypoints
    pairs = ((Keypoint.LEFT_EYE, Keypoint.LEFT_EAR), (Keypoint.RIGHT_EYE, Keypoint.RIGHT_EAR))
    lengths = []
    for eye, ear in pairs:
        ok = (k[:, eye, 2] >= min_score) & (k[:, ear, 2] >= min_score)
        lengths += list(np.hypot(*(k[ok, eye, :2] - k[ok, ear, :2]).T))
    if not lengths:
        return "  face: eyes and ears not seen together"
    d = float(np.median(lengths))
    per_px = math.degrees(math.atan(1.0 / d)) if d > 0 else float("nan")
    return (
        f"  face: eye-ear distance median {d:.1f} px; "
        f"1 px of keypoint error = {per_px:.1f} deg of head pitch"
    )


def grade_of(reports: Sequence[StrideReport]) -> list[Verdict]:
    return [r.grade for r in reports]


def clip_table(cues: Sequence[Cue], runs: Sequence[ClipRun]) -> str:
    """Per cue: shares of every verdict and flip rate, batch and live, and their gaps: over
    every verdict (unreliable and unknown included) and over the judged ones only."""
    by_engine = {r.engine: r for r in runs}
    both = bool(by_engine["batch"].reports and by_engine["live"].reports)
    rows = []
    for cue in [*cues, None]:
        row: list[object] = [cue.id if cue else "stride grade"]
        shares, judged = {}, {}
        for engine in ("batch", "live"):
            run = by_engine[engine]
            verdicts = grade_of(run.reports) if cue is None else cue_verdicts(run.reports, cue.id)
            shares[engine] = verdict_shares(verdicts)
            judged[engine] = judged_shares(verdicts)
            row += [shares_cell(verdicts, with_unknown=True), num(flip_rate(verdicts)).lstrip("+")]
        row.append(f"{100 * share_gap(shares, VERDICTS):.0f}" if both else "-")
        gap = share_gap(judged, JUDGED)
        row.append(f"{100 * gap:.0f}" if both and math.isfinite(gap) else "-")
        rows.append(row)
    header = "/".join(("ok", "warn", "fault", "unk", "info", "unrel")) + " %"
    return table(
        ["cue", f"batch {header}", "flip", f"live {header}", "flip", "max gap", "judged gap"],
        rows,
    )


def share_gap(shares: Mapping[str, Mapping[Verdict, float]], verdicts: Sequence[Verdict]) -> float:
    """Largest difference between the batch and live share of any of ``verdicts``."""
    return max(abs(shares["batch"][v] - shares["live"][v]) for v in verdicts)


def segment_verdicts(run: ClipRun, seg: Segment) -> list[Verdict]:
    inside = [r for r in run.reports if seg.start <= r.stride.foot_strike.time <= seg.end]
    return grade_of(inside) if seg.cue is None else cue_verdicts(inside, seg.cue)


def segment_lines(runs: Sequence[ClipRun], segments: Sequence[Segment] = SEGMENTS) -> list[str]:
    lines = []
    for seg in segments:
        for run in runs:
            if run.clip != seg.clip:
                continue
            verdicts = segment_verdicts(run, seg)
            s = judged_shares(verdicts)
            what = seg.cue or "stride grade"
            lines.append(
                f"  {seg.clip} [{seg.start:g}-{seg.end:g} s] {seg.what}: {what} {run.engine} "
                f"ok {pct(s[Verdict.OK])} warn {pct(s[Verdict.WARN])} fault "
                f"{pct(s[Verdict.FAULT])} of {sum(v in JUDGED for v in verdicts)} judged, "
                f"{sum(v is Verdict.UNRELIABLE for v in verdicts)} unreliable"
            )
    return lines


# --- the plausibility gates, as the product applied them -----------------------------------


def run_gate_inputs(reports: Sequence[StrideReport]) -> list[GateInput]:
    """What each gate read for the strides of one run, in order: the stride and the
    durations of the strides before it (the front-view confidence is not kept here)."""
    out, history = [], []
    for report in reports:
        out.append(GateInput(report.stride, tuple(history)))
        history.append(report.stride.duration)
    return out


@dataclass
class GatedRun:
    """One run's reports (the gates the product applied) and what each gate could read."""

    reports: list[StrideReport]
    inputs: list[GateInput]


def gated_run(reports: Sequence[StrideReport]) -> GatedRun:
    return GatedRun(list(reports), run_gate_inputs(reports))


def gated_cell(runs: Sequence[GatedRun], gate: Gate) -> str:
    """``gated/checked``: strides the gate failed, of those where it could be checked."""
    checked = gated = 0
    for run in runs:
        for report, inp in zip(run.reports, run.inputs, strict=True):
            if gate.scope is GateScope.FRONT or math.isfinite(gate.measure(inp)):
                checked += 1
                gated += any(g.gate == gate.name for g in report.gates)
    return f"{gated}/{checked}"


def truth_runs(truth: Sequence[LabStride], reports: Sequence[StrideReport]) -> list[GatedRun]:
    """The true strides' reports as runs: per trial and camera, in stride order."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, s in enumerate(truth):
        groups.setdefault((s.trial, s.camera_side), []).append(i)
    runs = []
    for index in groups.values():
        index.sort(key=lambda i: truth[i].stride.foot_strike.time)
        runs.append(gated_run([reports[i] for i in index]))
    return runs


def true_range(gate: Gate, truth: Sequence[LabStride], runs: Sequence[GatedRun]) -> str:
    """The range of the gated quantity over the true lab strides."""
    if gate.scope is GateScope.FRONT:
        values = [s.front_confidence for s in truth if s.view == "front"]
    else:
        values = [gate.measure(inp) for run in runs for inp in run.inputs]
    finite = [v for v in values if math.isfinite(v)]
    return f"{min(finite):.3g}..{max(finite):.3g}" if finite else "-"


def pipeline_runs(strides: Sequence[PipelineStride], engine: str) -> list[GatedRun]:
    mine = [s for s in strides if s.engine == engine]
    keys = sorted({(s.trial, s.film) for s in mine})
    return [gated_run([s.report for s in mine if (s.trial, s.film) == key]) for key in keys]


def gates_table(
    gates: Sequence[Gate],
    truth: Sequence[LabStride],
    truth_reports_: Sequence[StrideReport],
    lab: Mapping[str, Sequence[GatedRun]],
    clips: Mapping[str, Sequence[GatedRun]],
) -> str:
    """Per gate: bound, the true lab range, and gated/checked strides in each set."""
    runs = truth_runs(truth, truth_reports_)
    rows = []
    for gate in gates:
        row = [gate.name, f"[{gate.low:g}, {gate.high:g}]", gate.scope.value]
        row += [true_range(gate, truth, runs), gated_cell(runs, gate)]
        row += [gated_cell(lab[e], gate) for e in ("batch", "live")]
        row += [gated_cell(clips[e], gate) for e in ("batch", "live")]
        rows.append(row)
    return table(
        [
            "gate",
            "bound",
            "scope",
            "true lab range",
            "lab truth gated",
            "lab batch",
            "lab live",
            "clips batch",
            "clips live",
        ],
        rows,
    )


def clip_gate_table(gates: Sequence[Gate], runs: Sequence[ClipRun]) -> str:
    """Per clip and path: strides, how many were unreliable as a whole, and per gate."""
    rows = []
    for run in runs:
        row = [run.clip, run.engine, len(run.reports), sum(not r.reliable for r in run.reports)]
        row += [
            sum(any(g.gate == gate.name for g in r.gates) for r in run.reports) for gate in gates
        ]
        rows.append(row)
    return table(["clip", "path", "strides", "whole stride"] + [g.name for g in gates], rows)


def gate_reason_lines(runs: Sequence[ClipRun]) -> list[str]:
    """Every clip stride gated beyond its front-view metrics, with its reasons."""
    lines = []
    for run in runs:
        for report in run.reports:
            failed = [g for g in report.gates if g.metrics != GateScope.FRONT.metrics()]
            if failed:
                s = report.stride
                scope = "whole stride" if not report.reliable else "event readings"
                if report.reliable and all(g.gate == "duty factor" for g in failed):
                    scope = "toe-off readings"
                lines.append(
                    f"  {run.clip} {run.engine} stride at {s.foot_strike.time:.2f} s "
                    f"({s.leg.value}, {scope}): " + "; ".join(g.reason for g in failed)
                )
    return lines


def quality_lines(runs: Sequence[ClipRun], cues: Sequence[Cue]) -> list[str]:
    """How many measured cue values on the clips sit below a few keypoint-quality bars."""
    qualities = []
    for run in runs:
        for report in run.reports:
            for r in report.cues:
                if r.cue_id in {c.id for c in cues} and math.isfinite(r.value):
                    qualities.append(r.confidence)
    q = np.asarray(qualities)
    if not q.size:
        return ["  no measured cue values"]
    bars = ", ".join(f"< {b:g}: {100 * np.mean(q < b):.1f}%" for b in (0.25, 0.3, 0.4, 0.5))
    low = np.percentile(q, [0, 5, 50])
    return [
        f"  {q.size} measured cue values on the clips (both paths): keypoint quality "
        f"min {low[0]:.2f}, 5th pct {low[1]:.2f}, median {low[2]:.2f}; share {bars}"
    ]


# --- main ------------------------------------------------------------------------------------


def load_cues(config_path: Path | None) -> tuple[CuesConfig, tuple]:
    """The ``[cues]`` section and athlete profiles of ``config_path`` (defaults without)."""
    from edge.config import Config, load_config

    config = load_config(config_path) if config_path else Config()
    return config.cues, config.athletes


def find_clips(media: Path, names: Sequence[str] | None) -> list[Path]:
    clips = sorted(p for p in media.iterdir() if p.suffix in CLIP_SUFFIXES)
    if names:
        wanted = {Path(n).stem for n in names}
        missing = wanted - {p.stem for p in clips}
        if missing:
            raise SystemExit(f"error: no clip named {', '.join(sorted(missing))} in {media}")
        clips = [p for p in clips if p.stem in wanted]
    return clips


@dataclass
class LabResults:
    trials: list[tuple[LabTrial, float]]
    truth: list[LabStride]
    reports: list[StrideReport]  # the product's verdicts on the true strides
    pipeline: list[PipelineStride]


@dataclass
class ClipResults:
    runs: list[ClipRun]
    poses: dict[str, ClipPoses]


def print_lab(args: argparse.Namespace, cues: CuesConfig, athletes) -> LabResults:
    """Sections 1 and 2: lab truth under the catalogue, and the pipeline against it."""
    trials = lab_trials(args.groundtruth)
    if args.trials:
        unknown = set(args.trials) - {t.name for t, _ in trials}
        if unknown:
            known = ", ".join(t.name for t, _ in trials)
            raise SystemExit(f"error: no lab trial {', '.join(sorted(unknown))} (known: {known})")
        trials = [(t, v) for t, v in trials if t.name in args.trials]
    truth = lab_truth(trials) + lab_front_truth(trials)
    reports = truth_reports(truth, cues, athletes)
    speeds = ", ".join(f"{t.name} {v:.2f} m/s" for t, v in trials)
    print(f"== Lab truth under the current catalogue ({speeds}, limits drawn at these speeds)")
    print(
        "   force-plate strides, noise-free joint centres filmed from both sides "
        "(front: BMClab only), gates applied, each stride on its own value; (off) = switched "
        "off in [cues].disabled, (info) = information only"
    )
    print(lab_truth_table(judged_cues(), truth, reports, set(cues.disabled)))
    print()
    # The Fukuchi films have no shoulders, so the view classifier cannot tell side from
    # front: judge them as a fixed side camera would be configured (view = "side").
    seeds = range(args.seeds)
    pipeline = lab_pipeline(trials, truth, dataclasses.replace(cues, view="side"), args.fps, seeds)
    print(
        f"== Pipeline against lab truth ({args.fps:g} fps, MoveNet-like spoiling, "
        f"{args.seeds} films per trial, camera sides alternating, speed known)"
    )
    print(matching_table(pipeline, truth, seeds))
    print()
    print(pipeline_table(judged_cues(), pipeline, SHOWN_METRICS))
    print()
    return LabResults(trials, truth, reports, pipeline)


def print_clips(args: argparse.Namespace, cues: CuesConfig) -> ClipResults:
    """Section 3: every clip through the batch and the live path, and the acceptance checks."""
    model_dir = os.environ.get("TRACKSIDE_MODEL_DIR")
    results = ClipResults([], {})
    for clip in find_clips(args.media, args.clips):
        poses = clip_poses(clip, Path(model_dir) if model_dir else None, args.cache)
        results.poses[poses.name] = poses
        runs = run_clip(poses, cues)
        results.runs += runs
        counts = ", ".join(f"{r.engine} {len(r.reports)}" for r in runs)
        print(f"== {clip.name}: {len(poses.t)} frames, {runs[0].duration:.1f} s; strides {counts}")
        print(clip_table(judged_cues(), runs))
        print(head_resolution_line(poses))
        print()
    print("== Acceptance segments (issue 10)")
    print("\n".join(segment_lines(results.runs)))
    print()
    return results


def print_timing(lab: LabResults, clips: ClipResults | None, labels_dir: Path) -> None:
    """Section 5: the +-1 frame study on the lab data, and the clips' own timing errors."""
    print(
        "== Frame-timing robustness: |metric error| vs truth, median (95th pct), noise-free"
        " keypoints; events exact, moved +-1 frame, or as the batch engine detected them"
    )
    results, event_errors = timing_study(lab.trials, lab.truth)
    print(timing_table(results))
    print("  detector event errors on spoiled films (frames, + = late):")
    print("\n".join(event_error_lines(event_errors)))
    if clips is not None:
        print("  real clips (labels in ../shared/media/labels):")
        print("\n".join(clip_timing_lines(clips.runs, clips.poses, labels_dir)))
    print()


def print_gates(lab: LabResults, clips: ClipResults) -> None:
    """Section 4: each gate on the lab truth, the lab pipeline and the clips."""
    print(
        "== Plausibility gates (edge.gait.gates): gated/checked strides; none may gate a true "
        "lab stride.  Every side-view stride fails 'front view' (its front metrics are flagged)"
    )
    lab_runs = {e: pipeline_runs(lab.pipeline, e) for e in ("batch", "live")}
    clip_runs = {
        e: [gated_run(r.reports) for r in clips.runs if r.engine == e] for e in ("batch", "live")
    }
    print(gates_table(GATES, lab.truth, lab.reports, lab_runs, clip_runs))
    print()
    print(clip_gate_table(GATES, clips.runs))
    print("  every clip stride gated beyond its front-view metrics, with its reasons:")
    print("\n".join(gate_reason_lines(clips.runs)))
    print("\n".join(quality_lines(clips.runs, judged_cues())))
    print()


def print_smoothing(args: argparse.Namespace, cues: CuesConfig, clips: ClipResults) -> None:
    """Section 6: the clips' flips with each stride judged alone vs the running median."""
    print(
        f"== Running median: each stride alone (smooth_strides 1) vs the median of "
        f"{cues.smooth_strides} (the config)"
    )
    alone = dataclasses.replace(cues, smooth_strides=1)
    rows = []
    for name, poses in clips.poses.items():
        runs = {(r.engine, "median"): r for r in clips.runs if r.clip == name}
        runs.update({(r.engine, "alone"): r for r in run_clip(poses, alone)})
        for engine in ("batch", "live"):
            row: list[object] = [name, engine]
            for how in ("alone", "median"):
                reports = runs[(engine, how)].reports
                row += [
                    num(flip_rate(grade_of(reports))).lstrip("+"),
                    num(worst_cue_flip(reports)).lstrip("+"),
                ]
            rows.append(row)
    print(
        table(
            ["clip", "path", "grade flip alone", "worst cue", "grade flip median", "worst cue"],
            rows,
        )
    )
    print()


def worst_cue_flip(reports: Sequence[StrideReport]) -> float:
    """The largest flip rate of any validated cue (nan when none has two judged strides)."""
    flips = [flip_rate(cue_verdicts(reports, c.id)) for c in CATALOGUE if c.validated]
    flips = [f for f in flips if math.isfinite(f)]
    return max(flips) if flips else float("nan")


# --- acceptance (issue 10) -------------------------------------------------------------------

TREADMILL_CLIPS = ("movup_run_treadmill",)
GRADE_OK_TARGET = 0.70
LAB_OK_TARGET = 0.90
GRADE_FLIP_TARGET = 0.15
CUE_FLIP_TARGET = 0.20
LIVE_BATCH_GAP_TARGET = 0.10


def verdict_line(ok: bool, text: str) -> str:
    return f"  [{'met' if ok else 'NOT met'}] {text}"


def alert_raised_in(reports: Sequence[StrideReport], cue_id: str, seg: Segment) -> bool:
    """Whether the default rolling policy holds ``cue_id``'s alert on any stride in ``seg``."""
    rolling = RollingCues()
    for report in reports:
        rolling.update(report)
        inside = seg.start <= report.stride.foot_strike.time <= seg.end
        if inside and cue_id in rolling.state.active:
            return True
    return False


def lab_lines(lab: LabResults) -> list[str]:
    lines = []
    for cue in (c for c in CATALOGUE if c.validated):
        verdicts = [
            cue_verdicts([r], cue.id)[0]
            for s, r in zip(lab.truth, lab.reports, strict=True)
            if s.view in cue.views
        ]
        per_trial = []
        for trial, _ in lab.trials:
            mine = [
                cue_verdicts([r], cue.id)[0]
                for s, r in zip(lab.truth, lab.reports, strict=True)
                if s.trial == trial.name and s.view in cue.views
            ]
            if any(v in JUDGED for v in mine):
                per_trial.append(f"{trial.name} {pct(judged_shares(mine)[Verdict.OK])}")
        ok = judged_shares(verdicts)[Verdict.OK]
        n = sum(v in JUDGED for v in verdicts)
        lines.append(
            verdict_line(
                ok >= LAB_OK_TARGET,
                f"lab truth {cue.id}: ok {pct(ok)} of {n} true strides (>= 90 %); "
                + ", ".join(per_trial),
            )
        )
    return lines


def clip_acceptance_lines(runs: Sequence[ClipRun]) -> list[str]:
    lines = []
    by = {(r.clip, r.engine): r for r in runs}
    for seg in SEGMENTS:
        for engine in ("batch", "live"):
            run = by.get((seg.clip, engine))
            if run is None:
                continue
            verdicts = segment_verdicts(run, seg)
            s = judged_shares(verdicts)
            n = sum(v in JUDGED for v in verdicts)
            if seg.cue is None:
                lines.append(
                    verdict_line(
                        s[Verdict.OK] >= GRADE_OK_TARGET,
                        f"{seg.clip} {seg.what} {engine}: stride grade ok {pct(s[Verdict.OK])} "
                        f"of {n} judged (>= 70 %)",
                    )
                )
            else:
                flagged = s[Verdict.WARN] + s[Verdict.FAULT] if n else float("nan")
                raised = alert_raised_in(run.reports, seg.cue, seg)
                lines.append(
                    verdict_line(
                        raised,
                        f"{seg.clip} [{seg.start:g}-{seg.end:g} s] {seg.what} {engine}: "
                        f"{seg.cue} warn/fault on {pct(flagged)} of {n} judged strides, alert "
                        f"{'raised' if raised else 'not raised'}",
                    )
                )
    impossible = judged_wrong = whole_cycle_only = without_reason = 0
    for run in runs:
        for report, inp in zip(run.reports, run_gate_inputs(run.reports), strict=True):
            # Recomputed here from the stride itself, independently of what the product did.
            failed = [g for g in GATES if g.scope is not GateScope.FRONT and g.reason(inp)]
            if not failed:
                continue
            impossible += 1
            covered = [g.scope.metrics() for g in failed]
            judged = [c for c in report.cues if c.verdict.judged]
            judged_wrong += sum(
                any(m is None or CUES_BY_ID[c.cue_id].metric in m for m in covered) for c in judged
            )
            whole_cycle_only += bool(judged)
            without_reason += not all(g.reason for g in report.gates) or not report.gates
    lines.append(
        verdict_line(
            judged_wrong == 0 and without_reason == 0,
            f"clips, both paths: {impossible} strides with impossible geometry or timing; "
            f"{judged_wrong} readings judged that a failed gate covers, {without_reason} "
            f"without a reason; {whole_cycle_only} of them still judged on whole-cycle "
            "readings (trunk lean)",
        )
    )
    for clip in TREADMILL_CLIPS:
        for engine in ("batch", "live"):
            run = by.get((clip, engine))
            if run is None:
                continue
            grade_flip = flip_rate(grade_of(run.reports))
            cue_flip = worst_cue_flip(run.reports)
            lines.append(
                verdict_line(
                    grade_flip <= GRADE_FLIP_TARGET and cue_flip <= CUE_FLIP_TARGET,
                    f"{clip} {engine}: stride-grade flip {num(grade_flip).lstrip('+')} (<= 0.15), "
                    f"worst cue flip {num(cue_flip).lstrip('+')} (<= 0.2)",
                )
            )
    for clip in sorted({r.clip for r in runs}, key=[r.clip for r in runs].index):
        batch, live = by.get((clip, "batch")), by.get((clip, "live"))
        if batch is None or live is None or not batch.reports or not live.reports:
            continue
        worst, worst_judged, cue_at = 0.0, 0.0, ""
        for cue in (c for c in CATALOGUE if c.judged):
            shares = {
                e: verdict_shares(cue_verdicts(r.reports, cue.id))
                for e, r in (("batch", batch), ("live", live))
            }
            judged = {
                e: judged_shares(cue_verdicts(r.reports, cue.id))
                for e, r in (("batch", batch), ("live", live))
            }
            gap = share_gap(shares, VERDICTS)
            if gap > worst:
                worst, cue_at = gap, cue.id
            jgap = share_gap(judged, JUDGED)
            if math.isfinite(jgap):
                worst_judged = max(worst_judged, jgap)
        lines.append(
            verdict_line(
                worst <= LIVE_BATCH_GAP_TARGET,
                f"{clip}: live vs batch, largest share gap {100 * worst:.0f} points "
                f"({cue_at or '-'}; <= 10), of the judged verdicts only {100 * worst_judged:.0f}",
            )
        )
    return lines


def lab_flip_lines(lab: LabResults) -> list[str]:
    """Flip rates on the spoiled lab films (treadmill runs of a normal runner)."""
    lines = []
    for engine in ("batch", "live"):
        runs = pipeline_runs(lab.pipeline, engine)
        grade = max((flip_rate(grade_of(r.reports)) for r in runs), default=float("nan"))
        cue = max((worst_cue_flip(r.reports) for r in runs), default=float("nan"))
        lines.append(
            verdict_line(
                grade <= GRADE_FLIP_TARGET and cue <= CUE_FLIP_TARGET,
                f"lab films {engine} (worst film): stride-grade flip {num(grade).lstrip('+')}, "
                f"worst cue flip {num(cue).lstrip('+')}",
            )
        )
    return lines


def print_acceptance(lab: LabResults | None, clips: ClipResults | None) -> None:
    print("== Acceptance (issue 10)")
    lines: list[str] = []
    if lab is not None:
        lines += lab_lines(lab) + lab_flip_lines(lab)
    if clips is not None:
        lines += clip_acceptance_lines(clips.runs)
    print("\n".join(lines))
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--groundtruth", type=Path, default=SHARED / "groundtruth")
    parser.add_argument("--media", type=Path, default=SHARED / "media")
    parser.add_argument("--config", type=Path, help="trackside TOML ([cues], [[athletes]])")
    parser.add_argument("--fps", type=float, default=30.0, help="lab films for the pipeline")
    parser.add_argument("--seeds", type=int, default=4, help="lab films per trial")
    parser.add_argument("--clips", nargs="*", help="clip names (default: every clip in --media)")
    parser.add_argument("--trials", nargs="*", help="lab trials (default: every normal runner)")
    parser.add_argument("--no-lab", action="store_true")
    parser.add_argument("--no-clips", action="store_true")
    parser.add_argument("--gates", action="store_true", help="the plausibility gates")
    parser.add_argument("--timing", action="store_true", help="+-1 frame event-timing study")
    parser.add_argument("--smoothing", action="store_true", help="flips without the running median")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "trackside-validate-cues",
        help="where clip poses are cached",
    )
    args = parser.parse_args(argv)
    for folder, needed in ((args.groundtruth, not args.no_lab), (args.media, not args.no_clips)):
        if needed and not folder.is_dir():
            print(f"error: folder not found: {folder}", file=sys.stderr)
            return 2
    cues, athletes = load_cues(args.config)
    lab = None if args.no_lab else print_lab(args, cues, athletes)
    clips = None if args.no_clips else print_clips(args, cues)
    if args.timing and lab is not None:
        print_timing(lab, clips, args.media / "labels")
    if args.gates and lab is not None and clips is not None:
        print_gates(lab, clips)
    if args.smoothing and clips is not None:
        print_smoothing(args, cues, clips)
    print_acceptance(lab, clips)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
