"""Measure MoveNet's keypoint errors on the labelled real clips: the error model's numbers.

    python scripts/movenet_errors.py [--recordings out/rec] [--labels ../shared/media/labels]
                                     [--groundtruth ../shared/groundtruth]

The recordings are ``trackside replay CLIP --out out/rec/<stem>.jsonl`` (product path: crop
tracking, every frame).  There is no per-frame keypoint truth for these clips, so every
statistic is built on what the hand labels *do* fix:

* **Stance lines.**  Between a labelled foot strike and toe-off the foot is on the ground:
  on a treadmill it moves with the belt (one constant image velocity per clip), on the
  ground with a static camera it stands still, with a panning camera it moves at the pan
  speed.  In the first 60 % of each stance (before the heel lifts) the true ankle therefore
  sits on a straight line in the image.  Each frame of that span is classified by where the
  two COCO ankle keypoints are relative to that line: ``ok`` (the stance leg's own keypoint
  on it, the other off), ``swap`` (only the other leg's keypoint on it), ``merged`` (both on
  it: the swing foot has no keypoint), ``dropout`` (the stance keypoint below the score
  threshold and the other off the line) or ``displaced`` (confident but off the line).  The
  on-line keypoints' scatter is the jitter at a known, slow-moving target.
* **Lag.**  The same line extrapolated to the labelled strike frame and the frame before;
  the stance keypoint's offset there, compared with the *true* ankle's offset measured the
  same way on projected lab data (Fukuchi RBDS001), and the batch engine's signed event
  bias against the labels.
* **Jitter over the whole cycle** (near/far, stance/swing, slow/fast foot): the residual of
  a 5-point local quadratic (leverage-corrected robust SD) on the engine's near/far tracks,
  next to the same estimator on clean projected lab data at the same frame rate (its floor:
  how much of the residual is the motion itself, not MoveNet).
* **Label swaps** over the whole cycle: runs of frames in which the engine's continuity
  filter (``edge.gait.continuity.LimbContinuity``) had to swap MoveNet's left/right names.
* **Dropouts**: keypoints below the engine's 0.3 score threshold, per joint, near/far.

Only importable helpers live here; nothing in ``edge`` depends on it.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.gait.batch import analyse_arrays, build_track
from edge.gait.coco import sanitize_keypoints, split_limbs
from edge.gait.continuity import LimbContinuity
from edge.gait.leg_length import leg_length
from edge.gait.track import LimbJoint
from edge.recording import read_recording
from edge.testing.groundtruth import Camera, LabTrial, film, load_fukuchi
from edge.types import EventKind, Keypoint, Leg

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
MIN_SCORE = 0.3  # the gait engine's keypoint threshold (EventParams.min_score)
ON_LINE = 0.10  # leg lengths: a keypoint this close to the stance line is "on the foot"
EARLY_STANCE = 0.6  # fraction of the labelled stance before the heel lifts
ANKLES = {"L": Keypoint.LEFT_ANKLE, "R": Keypoint.RIGHT_ANKLE}


@dataclass(frozen=True)
class ClipFacts:
    """What the labels README says about a clip (section 2 and 3)."""

    near_side: str | None  # "R"/"L"; None: near/far unknown (simplehrnet)
    facing: int  # +1: the runner faces image right
    surface: str  # "belt" (treadmill), "ground" (static camera), "pan" (panning camera)
    frames: tuple[int, int]  # usable (whole body visible) frame range, inclusive
    repeat: int = 1  # each image is shown this many times (simplehrnet: 3)


CLIPS = {
    "movup_run_treadmill": ClipFacts("R", 1, "belt", (0, 309)),
    "jes_woods_nike_coach_1": ClipFacts("L", -1, "belt", (0, 89)),
    "sports2d_demo3_running_side": ClipFacts("R", 1, "ground", (5, 29)),
    "eliud_kipchoge_sub2_marathon": ClipFacts("R", 1, "pan", (0, 44)),
    "simplehrnet_running_track_wide": ClipFacts(None, 1, "ground", (9, 171), repeat=3),
}


@dataclass(frozen=True)
class Stance:
    leg: Leg
    side: str | None  # anatomical side of the stance foot ("R"/"L"), None if unknown
    strike: int  # labelled FS frame
    toe_off: int  # labelled TO frame


@dataclass
class Clip:
    name: str
    facts: ClipFacts
    t: np.ndarray
    keypoints: np.ndarray  # (N, 17, 3)
    stances: list[Stance]
    leg_px: float
    labels: list[tuple[int, str, Leg]]  # (frame, "FS"/"TO", leg)

    @property
    def fps(self) -> float:
        return 1.0 / float(np.median(np.diff(self.t)))


def read_stances(path: Path, near_side: str | None) -> tuple[list[Stance], list]:
    with Path(path).open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    labels = [
        (int(r["frame"]), r["event"], Leg.NEAR if r["leg"] == "near" else Leg.FAR) for r in rows
    ]
    stances = []
    for frame, kind, leg in labels:
        if kind != "FS":
            continue
        later = [f for f, k, g in labels if k == "TO" and g is leg and f > frame]
        if later:
            side = None
            if near_side is not None:
                side = near_side if leg is Leg.NEAR else ("L" if near_side == "R" else "R")
            stances.append(Stance(leg, side, frame, later[0]))
    return stances, labels


def load_clip(name: str, recordings: Path, labels: Path) -> Clip:
    facts = CLIPS[name]
    rec = read_recording(recordings / f"{name}.jsonl")
    kp = sanitize_keypoints(rec.keypoints)
    stances, events = read_stances(labels / f"{name}.events.csv", facts.near_side)
    left, right = split_limbs(kp)
    leg_px = leg_length(left, right, min_score=MIN_SCORE)
    return Clip(name, facts, np.asarray(rec.timestamps, float), kp, stances, leg_px, events)


# --- stance lines ----------------------------------------------------------------------------


def _candidates(kp: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """(M, 4) frame, keypoint index, x, y of the confident ankle keypoints in ``frames``."""
    rows = [
        (f, k, kp[f, k, 0], kp[f, k, 1])
        for f in frames
        for k in ANKLES.values()
        if kp[f, k, 2] >= MIN_SCORE
    ]
    return np.asarray(rows, float).reshape(-1, 4)


def fit_stance_line(
    t: np.ndarray,
    kp: np.ndarray,
    frames: np.ndarray,
    leg_px: float,
    velocity: tuple[float, float] | None,
    facing: int,
) -> tuple[np.ndarray, np.ndarray, int] | None:
    """(offset, velocity, supporting frames) of the straight line the stance foot follows.

    With ``velocity`` given only the offset is fitted; otherwise the velocity too, from
    pairs of candidates, and it must point backwards (against ``facing``).  The line with
    the most frames that have an ankle keypoint within ``ON_LINE`` of it wins (either
    keypoint: MoveNet's names are not trusted here), then the smaller scatter.
    """
    cand = _candidates(kp, frames)
    if len(cand) < 1:
        return None
    tt = t[cand[:, 0].astype(int)]
    if velocity is not None:
        trials = [np.asarray(velocity, float)]
    else:
        trials = []
        for i in range(len(cand)):
            for j in range(len(cand)):
                dt = tt[j] - tt[i]
                if cand[j, 0] <= cand[i, 0] or dt <= 0:
                    continue
                v = (cand[j, 2:] - cand[i, 2:]) / dt
                if v[0] * facing < 0 and abs(v[1]) < 0.5 * abs(v[0]):
                    trials.append(v)
    best = None
    for v in trials:
        offsets = cand[:, 2:] - np.outer(tt, v)
        for o in offsets:
            d = np.hypot(*(offsets - o).T) / leg_px
            inl = d < ON_LINE
            support = len(set(cand[inl, 0]))
            score = support - d[inl].sum()
            if best is None or score > best[0]:
                best = (score, np.median(offsets[inl], 0), v, support)
    if best is None:
        return None
    return best[1], best[2], best[3]


def belt_velocity(clip: Clip) -> np.ndarray | None:
    """The stance foot's image velocity (px/s) for the clip, ``None`` for a panning camera."""
    if clip.facts.surface == "ground":
        return np.zeros(2)
    if clip.facts.surface == "pan":
        return None  # the pan speed changes: fitted per stance
    fits = []
    for s in clip.stances:
        fit = fit_stance_line(
            clip.t, clip.keypoints, _early(s), clip.leg_px, None, clip.facts.facing
        )
        if fit is not None and fit[2] >= 3:
            fits.append(fit[1])
    return np.median(fits, 0) if fits else None


def _early(s: Stance) -> np.ndarray:
    return np.arange(s.strike, s.strike + round(EARLY_STANCE * (s.toe_off - s.strike)) + 1)


STATES = ("ok", "swap", "merged", "dropout", "displaced")


@dataclass
class StanceTally:
    """Early-stance classification of one group of stances (e.g. the near leg of a clip)."""

    states: Counter = field(default_factory=Counter)
    sequences: list[str] = field(default_factory=list)  # one letter per frame, per stance
    dx: list[float] = field(default_factory=list)  # on-line keypoint scatter, leg lengths
    dy: list[float] = field(default_factory=list)
    swap_knee: Counter = field(default_factory=Counter)  # swap frames: knee also swapped?
    merged_where: Counter = field(default_factory=Counter)  # lost frames: both kp together
    displacement: list[float] = field(default_factory=list)  # displaced: distance, leg lengths
    pairs: list[tuple[float, float]] = field(default_factory=list)  # consecutive on-line dx


LETTER = {"ok": "o", "swap": "S", "merged": "m", "dropout": "-", "displaced": "x"}


def classify_stances(clip: Clip, tallies: dict[str, StanceTally]) -> None:
    """Add every early-stance frame of ``clip`` to ``tallies['near'|'far']``."""
    if clip.facts.near_side is None:
        return
    kp, t, leg = clip.keypoints, clip.t, clip.leg_px
    velocity = belt_velocity(clip)
    knee = {"L": Keypoint.LEFT_KNEE, "R": Keypoint.RIGHT_KNEE}
    for s in clip.stances:
        frames = _early(s)
        fit = fit_stance_line(t, kp, frames, leg, velocity, clip.facts.facing)
        if fit is None:
            continue
        offset, v, _ = fit
        own, other = ANKLES[s.side], ANKLES["L" if s.side == "R" else "R"]
        tally = tallies[s.leg.value]
        seq = ""
        previous = None  # forward residual of the previous frame's on-line keypoint
        for f in frames:
            p = offset + v * t[f]
            dist = {
                k: np.hypot(*(kp[f, k, :2] - p)) / leg if kp[f, k, 2] >= MIN_SCORE else np.inf
                for k in (own, other)
            }
            on_own, on_other = dist[own] < ON_LINE, dist[other] < ON_LINE
            if on_own and on_other:
                state = "merged"
            elif on_own:
                state = "ok"
            elif on_other:
                state = "swap"
                # Was the whole leg renamed, or the ankle alone?  The knee that goes with
                # the on-line ankle is the one nearer to it.
                k_own = kp[f, knee[s.side], :2]
                k_other = kp[f, knee["L" if s.side == "R" else "R"], :2]
                whole = np.hypot(*(k_other - kp[f, other, :2])) < np.hypot(
                    *(k_own - kp[f, other, :2])
                )
                tally.swap_knee["whole leg" if whole else "ankle only"] += 1
            elif kp[f, own, 2] < MIN_SCORE:
                state = "dropout"
            else:
                state = "displaced"
                together = np.hypot(*(kp[f, own, :2] - kp[f, other, :2])) / leg < ON_LINE
                both_seen = kp[f, other, 2] >= MIN_SCORE
                tally.merged_where[
                    "both on the swing foot" if together and both_seen else "apart"
                ] += 1
                tally.displacement.append(float(dist[own]))
            tally.states[state] += 1
            seq += LETTER[state]
            on = own if on_own else (other if on_other else None)
            if on is not None:
                r = kp[f, on, :2] - p
                tally.dx.append(clip.facts.facing * r[0] / leg)
                tally.dy.append(-r[1] / leg)
                if previous is not None:
                    tally.pairs.append((previous, tally.dx[-1]))
                previous = tally.dx[-1]
            else:
                previous = None
        tally.sequences.append(seq)


def run_lengths(sequences: list[str], letter: str) -> tuple[list[int], int]:
    """Lengths of runs of ``letter``; and how many of them touch a stance boundary."""
    runs, truncated = [], 0
    for seq in sequences:
        i = 0
        while i < len(seq):
            if seq[i] != letter:
                i += 1
                continue
            j = i
            while j < len(seq) and seq[j] == letter:
                j += 1
            runs.append(j - i)
            truncated += i == 0 or j == len(seq)
            i = j
    return runs, truncated


# --- lag at the strike -------------------------------------------------------------------------


def strike_offsets(
    t: np.ndarray,
    kp: np.ndarray,
    stances: list[Stance],
    leg_px: float,
    velocity: np.ndarray | None,
    facing: int,
    sides_known: bool,
) -> dict[int, list[tuple[float, float]]]:
    """Offset (forward, up; leg lengths) of the stance ankle from its stance line, by frame
    relative to the labelled strike (-2 .. +1).  The line is fitted on frames FS+1 ..
    early-stance end only, so the strike frame itself is extrapolated."""
    out: dict[int, list[tuple[float, float]]] = {k: [] for k in (-2, -1, 0, 1)}
    for s in stances:
        frames = _early(s)[1:]
        if len(frames) < 2:
            continue
        fit = fit_stance_line(t, kp, frames, leg_px, velocity, facing)
        if fit is None or fit[2] < 2:
            continue
        offset, v, _ = fit
        for rel in out:
            f = s.strike + rel
            if f < 0 or f >= len(t):
                continue
            p = offset + v * t[f]
            keys = [ANKLES[s.side]] if sides_known and s.side else list(ANKLES.values())
            # The stance foot's keypoint, whatever MoveNet called it: the nearer of the two
            # (within 0.3 leg lengths) when names are not trusted.
            best = None
            for k in ANKLES.values():
                if kp[f, k, 2] < MIN_SCORE:
                    continue
                d = np.hypot(*(kp[f, k, :2] - p)) / leg_px
                if (k in keys or not sides_known) and d < 0.3 and (best is None or d < best[0]):
                    best = (d, kp[f, k, :2] - p)
            if best is not None:
                r = best[1]
                out[rel].append((facing * r[0] / leg_px, -r[1] / leg_px))
    return out


def lab_stances(filmed, near_side: str) -> list[Stance]:
    """Force-plate contacts as label-style stances: FS = first frame at or after the force
    onset, TO = last frame at or before the force end (the labels' convention)."""
    out = []
    for e in filmed.trial.events:
        if not (np.isfinite(e.foot_strike) and np.isfinite(e.toe_off)):
            continue
        fs = int(np.searchsorted(filmed.t, e.foot_strike, side="left"))
        to = int(np.searchsorted(filmed.t, e.toe_off, side="right")) - 1
        if 0 < fs < to < len(filmed.t) - 1:
            leg = Leg.NEAR if e.side == near_side else Leg.FAR
            out.append(Stance(leg, e.side, fs, to))
    return out


# --- residual jitter over the whole cycle --------------------------------------------------------

SPEED_BINS = (0.0, 1.0, 2.5, 5.0, np.inf)  # ankle image speed, leg lengths per second


def local_residuals(t: np.ndarray, xy: np.ndarray, ok: np.ndarray):
    """Leverage-corrected residual of a 5-point local quadratic at each frame, and speed.

    Returns (residual (N, 2) in the input units, speed (N,) units per second); ``nan`` where
    the five frames centred on a frame are not all usable.
    """
    n = len(t)
    resid = np.full((n, 2), np.nan)
    speed = np.full(n, np.nan)
    for i in range(2, n - 2):
        sl = slice(i - 2, i + 3)
        if not ok[sl].all():
            continue
        x = t[sl] - t[i]
        design = np.vander(x, 3, increasing=True)
        hat = design @ np.linalg.pinv(design)
        h = hat[2, 2]
        coef = np.linalg.lstsq(design, xy[sl], rcond=None)[0]
        resid[i] = (xy[i] - coef[0]) / np.sqrt(max(1e-9, 1 - h))
        speed[i] = float(np.hypot(*coef[1]))
    return resid, speed


def robust_sd(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    if len(values) < 8:
        return float("nan")
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


@dataclass
class JitterTally:
    """Residuals (leg lengths) per (joint, leg, phase, speed bin)."""

    rows: dict[tuple, list[np.ndarray]] = field(default_factory=dict)

    def add(self, key: tuple, resid: np.ndarray) -> None:
        self.rows.setdefault(key, []).append(resid)

    def sd(self, **match) -> tuple[float, int]:
        """Robust SD of both coordinates pooled over the keys that match, and the count."""
        names = ("joint", "leg", "phase", "speed")
        parts = [
            np.concatenate(v)
            for k, v in self.rows.items()
            if all(match.get(n) in (None, k[i]) for i, n in enumerate(names))
        ]
        if not parts:
            return float("nan"), 0
        r = np.concatenate(parts).reshape(-1)
        r = r[np.isfinite(r)]
        return robust_sd(r), len(r) // 2


PHASES = ("strike", "stance", "toe-off", "swing")


def phase_of_frames(n: int, stances: list[Stance]) -> dict[Leg, np.ndarray]:
    """Per frame and leg: "strike" (labelled FS +-1 frame), "toe-off" (TO +-1), "stance"
    (the rest of the contact) or "swing" (everything else, flight included)."""
    out = {Leg.NEAR: np.full(n, "swing", object), Leg.FAR: np.full(n, "swing", object)}
    for s in stances:
        out[s.leg][s.strike : s.toe_off + 1] = "stance"
    for s in stances:
        out[s.leg][max(0, s.toe_off - 1) : s.toe_off + 2] = "toe-off"
        out[s.leg][max(0, s.strike - 1) : s.strike + 2] = "strike"
    return out


def track_leg_map(clip: Clip, track) -> np.ndarray:
    """Per frame, +1 when the engine's near track is the labelled near leg, -1 when it is the
    far leg, 0 when the labels cannot tell (flight, no stance).  Decided per stance by which
    track's ankle follows the stance line."""
    n = len(clip.t)
    out = np.zeros(n, int)
    velocity = belt_velocity(clip)
    for s in clip.stances:
        frames = _early(s)
        fit = fit_stance_line(
            clip.t, clip.keypoints, frames, clip.leg_px, velocity, clip.facts.facing
        )
        if fit is None:
            continue
        offset, v, _ = fit
        votes = 0
        for f in frames:
            p = offset + v * clip.t[f]
            dn = np.hypot(*(track.near[f, LimbJoint.ANKLE, :2] - p))
            df = np.hypot(*(track.far[f, LimbJoint.ANKLE, :2] - p))
            votes += int(np.sign(df - dn))
        if votes == 0:
            continue
        same = (votes > 0) == (s.leg is Leg.NEAR)
        out[s.strike : s.toe_off + 1] = 1 if same else -1
    return out


def cycle_jitter(clip: Clip, tally: JitterTally) -> None:
    """Whole-cycle residuals of hip, knee and ankle on the engine's near/far tracks."""
    lo, hi = clip.facts.frames
    step = clip.facts.repeat
    frames = np.arange(lo, hi + 1, step)  # first copies only where images repeat
    t = clip.t[frames]
    track = build_track(t, clip.keypoints[frames], min_score=MIN_SCORE)
    stances = [
        Stance(
            s.leg,
            s.side,
            int(np.searchsorted(frames, s.strike)),
            int(np.searchsorted(frames, s.toe_off)),
        )
        for s in clip.stances
    ]
    sub = Clip(clip.name, clip.facts, t, clip.keypoints[frames], stances, clip.leg_px, [])
    mapping = (
        track_leg_map(sub, track) if clip.facts.near_side is not None else np.zeros(len(t), int)
    )
    phase = phase_of_frames(len(t), stances)
    for limb, label in ((track.near, "near"), (track.far, "far")):
        for joint in (LimbJoint.HIP, LimbJoint.KNEE, LimbJoint.ANKLE):
            xy = limb[:, joint, :2].astype(float) / clip.leg_px
            ok = limb[:, joint, 2] >= MIN_SCORE
            resid, speed = local_residuals(t, xy, ok)
            for i in range(len(t)):
                if not np.isfinite(resid[i, 0]):
                    continue
                if mapping[i] == 0:
                    leg, ph = "?", "?"
                else:
                    true_leg = (
                        (Leg.NEAR if label == "near" else Leg.FAR)
                        if mapping[i] > 0
                        else (Leg.FAR if label == "near" else Leg.NEAR)
                    )
                    leg = true_leg.value
                    ph = phase[true_leg][i]
                bin_ = int(np.searchsorted(SPEED_BINS, speed[i], side="right") - 1)
                tally.add((joint.name.lower(), leg, ph, bin_), resid[i : i + 1])


def lab_jitter_floor(trial: LabTrial, fps: float, tally: JitterTally, seeds=(0, 1)) -> None:
    """The same residual estimator on clean projected lab keypoints (no MoveNet at all)."""
    for seed in seeds:
        side = "R" if seed % 2 == 0 else "L"
        filmed = film(trial, fps, camera=Camera(side=side, distance=3.0), spoil=None, seed=seed)
        stances = lab_stances(filmed, side)
        phase = phase_of_frames(len(filmed.t), stances)
        for leg_side, leg in ((side, Leg.NEAR), ("L" if side == "R" else "R", Leg.FAR)):
            for joint, name in (
                (Keypoint.RIGHT_HIP, "hip"),
                (Keypoint.RIGHT_KNEE, "knee"),
                (Keypoint.RIGHT_ANKLE, "ankle"),
            ):
                k = joint if leg_side == "R" else Keypoint(joint - 1)
                xy = filmed.clean[:, k, :2].astype(float) / filmed.leg_length_px
                ok = filmed.clean[:, k, 2] > 0
                resid, speed = local_residuals(filmed.t, xy, ok)
                for i in np.flatnonzero(np.isfinite(resid[:, 0])):
                    ph = phase[leg][i]
                    bin_ = int(np.searchsorted(SPEED_BINS, speed[i], side="right") - 1)
                    tally.add((name, leg.value, ph, bin_), resid[i : i + 1])


# --- label swaps over the whole cycle -------------------------------------------------------


def continuity_swaps(clip: Clip) -> tuple[list[int], int, float]:
    """Runs (frames) of MoveNet left/right names that continuity undid, partial swaps, and
    the clip's duration (s).  A frame is "swapped" when track A's knee or ankle came from
    MoveNet's *other* side than the side track A follows most of the time."""
    lo, hi = clip.facts.frames
    frames = np.arange(lo, hi + 1, clip.facts.repeat)
    continuity = LimbContinuity(MIN_SCORE)
    swapped = np.zeros(len(frames), bool)
    partial = 0
    for n, f in enumerate(frames):
        left, right = split_limbs(clip.keypoints[f])
        a, _ = continuity.assign(float(clip.t[f]), clip.keypoints[f])
        knee = np.array_equal(a[LimbJoint.KNEE], right[LimbJoint.KNEE]) and not np.array_equal(
            left[LimbJoint.KNEE], right[LimbJoint.KNEE]
        )
        ankle = np.array_equal(a[LimbJoint.ANKLE], right[LimbJoint.ANKLE]) and not np.array_equal(
            left[LimbJoint.ANKLE], right[LimbJoint.ANKLE]
        )
        swapped[n] = knee or ankle
        partial += knee != ankle
    if swapped.mean() > 0.5:  # track A follows MoveNet's right side: count the other way
        swapped = ~swapped
    runs = []
    i = 0
    while i < len(swapped):
        if swapped[i]:
            j = i
            while j < len(swapped) and swapped[j]:
                j += 1
            runs.append(j - i)
            i = j
        else:
            i += 1
    duration = float(clip.t[frames[-1]] - clip.t[frames[0]])
    return runs, partial, duration


# --- dropouts ----------------------------------------------------------------------------------


def dropout_rates(clip: Clip) -> dict[tuple[str, str], tuple[int, int]]:
    """(low-score count, frames) per (joint, near/far by anatomical side)."""
    lo, hi = clip.facts.frames
    frames = np.arange(lo, hi + 1, clip.facts.repeat)
    out = {}
    for joint, (kl, kr) in {
        "hip": (Keypoint.LEFT_HIP, Keypoint.RIGHT_HIP),
        "knee": (Keypoint.LEFT_KNEE, Keypoint.RIGHT_KNEE),
        "ankle": (Keypoint.LEFT_ANKLE, Keypoint.RIGHT_ANKLE),
    }.items():
        if clip.facts.near_side is None:
            pairs = (("either", kl), ("either", kr))
        else:
            near, far = (kr, kl) if clip.facts.near_side == "R" else (kl, kr)
            pairs = (("near", near), ("far", far))
        for leg, k in pairs:
            low = int((clip.keypoints[frames, k, 2] < MIN_SCORE).sum())
            old = out.get((joint, leg), (0, 0))
            out[(joint, leg)] = (old[0] + low, old[1] + len(frames))
    return out


def mean_scores(clip: Clip) -> dict[str, float]:
    lo, hi = clip.facts.frames
    frames = np.arange(lo, hi + 1, clip.facts.repeat)
    if clip.facts.near_side is None:
        return {}
    near = [Keypoint.RIGHT_HIP, Keypoint.RIGHT_KNEE, Keypoint.RIGHT_ANKLE]
    far = [Keypoint.LEFT_HIP, Keypoint.LEFT_KNEE, Keypoint.LEFT_ANKLE]
    if clip.facts.near_side == "L":
        near, far = far, near
    return {
        "near": float(clip.keypoints[np.ix_(frames, near)][:, :, 2].mean()),
        "far": float(clip.keypoints[np.ix_(frames, far)][:, :, 2].mean()),
    }


# --- event bias on the real clips --------------------------------------------------------------


def event_bias(clip: Clip) -> dict[str, list[float]]:
    """Batch-engine event time minus the labelled frame's time, half-frame corrected (ms).

    A label is the first (FS) or last (TO) frame touching, so a perfect detector's strike
    falls in (t[FS-1], t[FS]] and its toe-off in [t[TO], t[TO+1]): subtracting the middle
    of that interval leaves MoveNet's (and the detector's) bias.  Matched within 2 frames,
    leg ignored.
    """
    result = analyse_arrays(clip.t, clip.keypoints, stride_metrics=False)
    out: dict[str, list[float]] = {"FS": [], "TO": []}
    t = clip.t
    for frame, kind, _leg in clip.labels:
        if not 1 <= frame < len(t) - 1:
            continue
        ek = EventKind.FOOT_STRIKE if kind == "FS" else EventKind.TOE_OFF
        mid = (t[frame - 1] + t[frame]) / 2 if kind == "FS" else (t[frame] + t[frame + 1]) / 2
        dt = t[frame] - t[frame - 1]
        cands = [
            e.time - mid for e in result.events if e.kind is ek and abs(e.time - mid) <= 2.5 * dt
        ]
        if cands:
            out[kind].append(1000 * min(cands, key=abs))
    return out


def lab_event_bias(trial: LabTrial, fps: float, seeds=(0, 1)) -> dict[str, list[float]]:
    """The same half-frame-corrected bias on clean projected lab keypoints, frame-quantised
    like the labels (the detector's own bias at this frame rate)."""
    out: dict[str, list[float]] = {"FS": [], "TO": []}
    for seed in seeds:
        side = "R" if seed % 2 == 0 else "L"
        filmed = film(trial, fps, camera=Camera(side=side, distance=3.0), spoil=None, seed=seed)
        result = analyse_arrays(filmed.t, filmed.keypoints, stride_metrics=False)
        t = filmed.t
        for s in lab_stances(filmed, side):
            for kind, frame, ek in (
                ("FS", s.strike, EventKind.FOOT_STRIKE),
                ("TO", s.toe_off, EventKind.TOE_OFF),
            ):
                if not 1 <= frame < len(t) - 1:
                    continue
                mid = (
                    (t[frame - 1] + t[frame]) / 2 if kind == "FS" else (t[frame] + t[frame + 1]) / 2
                )
                cands = [
                    e.time - mid
                    for e in result.events
                    if e.kind is ek and abs(e.time - mid) <= 2.5 / fps
                ]
                if cands:
                    out[kind].append(1000 * min(cands, key=abs))
    return out


# --- report ----------------------------------------------------------------------------------


def _pct(a: int, b: int) -> str:
    return f"{100 * a / b:5.1f} %" if b else "   -  "


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=Path, default=REPO / "out" / "rec")
    parser.add_argument("--labels", type=Path, default=SHARED / "media" / "labels")
    parser.add_argument("--groundtruth", type=Path, default=SHARED / "groundtruth")
    args = parser.parse_args(argv)
    clips = []
    for name in CLIPS:
        path = args.recordings / f"{name}.jsonl"
        if not path.exists():
            print(
                f"error: {path} missing (make it with `trackside replay CLIP --out {path}`)",
                file=sys.stderr,
            )
            return 2
        clips.append(load_clip(name, args.recordings, args.labels))

    print("## Clips")
    for c in clips:
        print(
            f"{c.name:<32} {len(c.t):4d} frames {c.fps:5.1f} fps  leg {c.leg_px:5.0f} px  "
            f"{len(c.stances)} stances  belt/stance velocity "
            f"{belt_velocity(c) / c.leg_px if belt_velocity(c) is not None else 'per stance'} L/s"
        )

    print("\n## Early stance: where the ankle keypoints are (frames FS .. FS+60% of contact)")
    per_clip = {}
    pooled = {"near": StanceTally(), "far": StanceTally()}
    for c in clips:
        tallies = {"near": StanceTally(), "far": StanceTally()}
        classify_stances(c, tallies)
        classify_stances(c, pooled)
        per_clip[c.name] = tallies
    print(f"{'clip':<32}{'leg':<6}{'frames':>7}" + "".join(f"{s:>11}" for s in STATES))
    for name, tallies in [*per_clip.items(), ("pooled", pooled)]:
        for leg, tally in tallies.items():
            n = sum(tally.states.values())
            if n:
                print(
                    f"{name:<32}{leg:<6}{n:>7}"
                    + "".join(f"{_pct(tally.states[s], n):>11}" for s in STATES)
                )
    for leg, tally in pooled.items():
        print(
            f"  {leg}: swap frames: {dict(tally.swap_knee)}; displaced: {dict(tally.merged_where)}"
        )
        for letter, label in (("S", "swap"), ("-", "dropout"), ("m", "merged"), ("x", "displaced")):
            runs, trunc = run_lengths(tally.sequences, letter)
            if runs:
                hist = Counter(runs)
                print(
                    f"    {label} runs (frames): n={len(runs)} mean {np.mean(runs):.2f} "
                    f"{dict(sorted(hist.items()))}; touching a stance end {trunc}"
                )
        whole = sum(1 for s in tally.sequences if s and set(s) <= {"S"})
        print(f"    stances entirely swapped: {whole} of {len(tally.sequences)}")
        print(
            f"    on-line scatter: forward SD {robust_sd(np.array(tally.dx)):.3f}, "
            f"up SD {robust_sd(np.array(tally.dy)):.3f} leg lengths (n={len(tally.dx)})"
        )
        if len(tally.pairs) > 5:
            a = np.asarray(tally.pairs)
            print(
                f"    consecutive on-line forward residuals: correlation "
                f"{np.corrcoef(a[:, 0], a[:, 1])[0, 1]:+.2f} (n={len(a)})"
            )
        if tally.displacement:
            print(
                f"    displaced distance (leg lengths): quartiles "
                f"{np.round(np.percentile(tally.displacement, [25, 50, 75]), 2)}"
            )

    print("\n## Lag at the strike: stance ankle offset from its stance line (leg lengths)")
    fukuchi = {s: load_fukuchi(args.groundtruth, s) for s in ("T25", "T35")}
    print(
        f"{'source':<40}{'fps':>5}"
        + "".join(f"{'FS' + format(k, '+d'):>20}" for k in (-2, -1, 0, 1))
    )
    for c in clips:
        if c.facts.surface != "belt" and c.facts.near_side is None:
            continue
        offs = strike_offsets(
            c.t,
            c.keypoints,
            c.stances,
            c.leg_px,
            belt_velocity(c),
            c.facts.facing,
            sides_known=False,
        )
        print(
            f"{c.name + ' (MoveNet)':<40}{c.fps:5.1f}"
            + "".join(_fmt_offsets(offs[k]) for k in (-2, -1, 0, 1))
        )
    for speed, trial in fukuchi.items():
        for fps in (25.0, 30.0, 16.7):
            offs: dict[int, list] = {k: [] for k in (-2, -1, 0, 1)}
            for seed in (0, 1):
                side = "R" if seed == 0 else "L"
                filmed = film(
                    trial, fps, camera=Camera(side=side, distance=3.0), spoil=None, seed=seed
                )
                v = None
                stances = lab_stances(filmed, side)
                lab_clip = Clip(
                    "lab",
                    ClipFacts(side, 1, "belt", (0, len(filmed.t) - 1)),
                    filmed.t,
                    filmed.clean.astype(float),
                    stances,
                    filmed.leg_length_px,
                    [],
                )
                v = belt_velocity(lab_clip)
                o = strike_offsets(
                    filmed.t, lab_clip.keypoints, stances, filmed.leg_length_px, v, 1, True
                )
                for k in offs:
                    offs[k] += o[k]
            print(
                f"{'Fukuchi ' + speed + ' true ankle (clean)':<40}{fps:5.1f}"
                + "".join(_fmt_offsets(offs[k]) for k in (-2, -1, 0, 1))
            )

    print("\n## Event bias, batch engine vs labels (ms, half-frame corrected): mean ± SE (n)")
    for c in clips:
        b = event_bias(c)
        print(f"{c.name:<32}{c.fps:5.1f} fps  FS {_fmt_bias(b['FS'])}  TO {_fmt_bias(b['TO'])}")
    for speed, trial in fukuchi.items():
        for fps in (25.0, 30.0):
            b = lab_event_bias(trial, fps)
            print(
                f"{'Fukuchi ' + speed + ' clean':<32}{fps:5.1f} fps  "
                f"FS {_fmt_bias(b['FS'])}  TO {_fmt_bias(b['TO'])}"
            )

    print(
        "\n## Whole-cycle jitter: robust SD of the 5-point local-quadratic residual (leg lengths)"
    )
    real = JitterTally()
    for c in clips:
        cycle_jitter(c, real)
    floor = JitterTally()
    lab_jitter_floor(fukuchi["T25"], 25.0, floor)
    print(f"{'group':<34}{'MoveNet':>9}{'n':>6}{'lab floor':>11}{'n':>6}{'excess':>9}")

    def line(label: str, **match) -> None:
        sd, n = real.sd(**match)
        fl, nf = floor.sd(**{k: v for k, v in match.items() if v != "?"})
        excess = np.sqrt(max(0.0, sd**2 - fl**2)) if np.isfinite(fl) else float("nan")
        print(f"{label:<34}{sd:>9.3f}{n:>6}{fl:>11.3f}{nf:>6}{excess:>9.3f}")

    for joint in ("hip", "knee", "ankle"):
        line(f"{joint}", joint=joint)
        for leg in ("near", "far"):
            line(f"  {joint} {leg}", joint=joint, leg=leg)
            for ph in PHASES:
                line(f"    {joint} {leg} {ph}", joint=joint, leg=leg, phase=ph)
    for b in range(len(SPEED_BINS) - 1):
        line(f"ankle speed {SPEED_BINS[b]:.1f}-{SPEED_BINS[b + 1]:.1f} L/s", joint="ankle", speed=b)
    print(
        "(per clip, ankle:",
        ", ".join(f"{c.name.split('_')[0]} {_clip_sd(c):.3f}" for c in clips) + ")",
    )

    print("\n## Label swaps over the whole cycle (runs of frames continuity had to undo)")
    for c in clips:
        runs, partial, duration = continuity_swaps(c)
        hist = Counter(runs)
        frames = sum(runs)
        print(
            f"{c.name:<32} {len(runs):3d} runs in {duration:5.1f} s "
            f"({len(runs) / duration:4.1f}/s),"
            f" {frames} frames swapped, mean run {np.mean(runs) if runs else 0:.1f} fr;"
            f" partial (knee xor ankle) frames {partial}; runs {dict(sorted(hist.items()))}"
        )

    print("\n## Dropouts (score < 0.3) and mean scores, usable frames")
    total: dict[tuple[str, str], tuple[int, int]] = {}
    for c in clips:
        rates = dropout_rates(c)
        scores = mean_scores(c)
        print(
            f"{c.name:<32}"
            + "  ".join(f"{j} {leg} {_pct(*v)}" for (j, leg), v in rates.items())
            + (f"  | scores near {scores['near']:.2f} far {scores['far']:.2f}" if scores else "")
        )
        if (c.facts.near_side is not None and c.facts.surface != "ground") or c.name.startswith(
            "sports2d"
        ):
            for k, v in rates.items():
                old = total.get(k, (0, 0))
                total[k] = (old[0] + v[0], old[1] + v[1])
    print(
        f"{'pooled (near/far known)':<32}"
        + "  ".join(f"{j} {leg} {_pct(*v)}" for (j, leg), v in total.items())
    )

    print("\n## Batch strikes on the real clips (validate_gait --clips scoring)")
    for c in clips:
        print(f"{c.name:<32} {clip_scores(c)}")
    print("\n## Model check: the same measurements on spoiled lab films")
    model_check(args.groundtruth, seeds=(0, 1, 2, 3))
    return 0


def lab_clip(filmed, name: str) -> Clip:
    """A spoiled lab film as a :class:`Clip`, force-plate contacts as its labels."""
    stances = lab_stances(filmed, filmed.near_side)
    labels = sorted(
        [(s.strike, "FS", s.leg) for s in stances] + [(s.toe_off, "TO", s.leg) for s in stances]
    )
    facing = 1 if filmed.near_side == "R" else -1
    kp = sanitize_keypoints(filmed.keypoints)
    left, right = split_limbs(kp)
    facts = ClipFacts(filmed.near_side, facing, "belt", (0, len(filmed.t) - 1))
    return Clip(
        name,
        facts,
        np.asarray(filmed.t, float),
        kp,
        stances,
        leg_length(left, right, min_score=MIN_SCORE),
        labels,
    )


def clip_scores(clip: Clip) -> str:
    """Batch strikes against the labels like ``validate_gait --clips``: P/R within 2 frames
    (leg ignored), how many matches carry the right near/far label, median frame error."""
    from validate_gait import ClipLabel, score_clip

    labels = [
        ClipLabel(f, EventKind.FOOT_STRIKE if k == "FS" else EventKind.TOE_OFF, leg)
        for f, k, leg in clip.labels
    ]
    result = analyse_arrays(clip.t, clip.keypoints, stride_metrics=False)
    sc = score_clip(clip.name, np.arange(len(clip.t)), clip.t, result.events, labels)
    err = np.median(np.abs(sc.frame_errors)) if sc.frame_errors else float("nan")
    return (
        f"FS P/R {sc.precision:.2f}/{sc.recall:.2f}, same leg {sc.hits_same_leg}/{sc.hits}, "
        f"median |frame error| {err:.1f}"
    )


def model_check(groundtruth: Path, fps: float = 25.0, seeds=(0, 1)) -> None:
    """The measurements above on Fukuchi films spoiled by each error model (at movup's rate),
    next to the real clips: does a model reproduce what MoveNet does?"""
    from validate_gait_errors import film_spoiled

    trial = load_fukuchi(groundtruth, "T25")
    for noise in ("white", "movenet"):
        tallies = {"near": StanceTally(), "far": StanceTally()}
        jitter = JitterTally()
        runs, duration, scores = [], 0.0, []
        for seed in seeds:
            filmed = film_spoiled(trial, fps, seed, noise, "plain", start=2.0, duration=12.4)
            clip = lab_clip(filmed, f"lab-{noise}-{seed}")
            classify_stances(clip, tallies)
            cycle_jitter(clip, jitter)
            r, _, d = continuity_swaps(clip)
            runs += r
            duration += d
            scores.append(clip_scores(clip))
        print(f"Fukuchi T25 at {fps:.0f} fps, {noise} model ({len(seeds)} films of 12.4 s):")
        for leg, tally in tallies.items():
            n = sum(tally.states.values())
            print(
                f"  early stance {leg}: "
                + ", ".join(f"{st} {_pct(tally.states[st], n).strip()}" for st in STATES)
                + f"; on-line scatter {robust_sd(np.array(tally.dx)):.3f}"
                f"/{robust_sd(np.array(tally.dy)):.3f}"
            )
        print(
            f"  ankle jitter {jitter.sd(joint='ankle')[0]:.3f}"
            f" (near {jitter.sd(joint='ankle', leg='near')[0]:.3f},"
            f" far {jitter.sd(joint='ankle', leg='far')[0]:.3f}),"
            f" knee {jitter.sd(joint='knee')[0]:.3f},"
            f" hip {jitter.sd(joint='hip')[0]:.3f}"
        )
        print(
            f"  continuity swap runs {len(runs) / duration:.1f}/s,"
            f" mean {np.mean(runs) if runs else 0:.1f} frames"
        )
        for line in scores:
            print(f"  batch: {line}")


def _clip_sd(clip: Clip) -> float:
    tally = JitterTally()
    cycle_jitter(clip, tally)
    return tally.sd(joint="ankle")[0]


def _fmt_offsets(values: list[tuple[float, float]]) -> str:
    if not values:
        return f"{'-':>20}"
    a = np.asarray(values)
    return f"{np.median(a[:, 0]):+6.3f}/{np.median(a[:, 1]):+6.3f} ({len(a):2d})"


def _fmt_bias(values: list[float]) -> str:
    if not values:
        return "-"
    a = np.asarray(values)
    se = a.std(ddof=1) / np.sqrt(len(a)) if len(a) > 1 else float("nan")
    return f"{a.mean():+6.1f} ± {se:4.1f} ({len(a):2d}), median {np.median(a):+6.1f}"


if __name__ == "__main__":
    raise SystemExit(main())
