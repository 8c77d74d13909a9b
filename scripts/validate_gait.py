"""Validate the gait engine against force-plate ground truth.

    python scripts/validate_gait.py [--groundtruth ../shared/groundtruth] [--fps 30 60 120]
                                    [--seeds 3] [--trials fukuchi_T25 ...] [--clean]

For every lab trial (see ../shared/groundtruth/SOURCES.md) and frame rate, it films the
joint centres with a virtual side-view camera (edge/testing/groundtruth.py), spoils them
like MoveNet output (noise measured on the real clips, dropouts, dropped frames, left/right
swaps), runs the batch and the streaming engines and prints, per data set and frame rate:
foot-strike and toe-off timing errors (mean = bias, median and 95th percentile of the
absolute error, in ms and frames), missed and spurious events, contact-time and cadence
errors, knee-flexion-at-strike error and the streaming emission latency.

Only importable helpers live here; nothing in ``edge`` depends on it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from edge.gait.batch import analyse_arrays
from edge.gait.streaming import GaitTracker, StreamingParams
from edge.gait.timing import overall_cadence
from edge.testing.groundtruth import (
    Camera,
    FilmedTrial,
    LabTrial,
    Spoiling,
    film,
    load_all,
    match_events,
)
from edge.types import EventKind, GaitEvent, Keypoint, Leg, Pose

DEFAULT_ROOT = Path(__file__).resolve().parent.parent.parent / "shared" / "groundtruth"
MATCH_TOLERANCE = 0.1  # s: a detection further than this from any true event is spurious
EDGE_MARGIN = 0.25  # s: events this close to the ends of the filmed span are not scored
# A camera 3 m beside a treadmill (a typical room); overground: 6 m, fixed or panning.
TREADMILL_DISTANCE = 3.0


@dataclass
class Tally:
    """Pooled results of one engine on one data set at one frame rate."""

    fs_errors: list[float] = field(default_factory=list)
    to_errors: list[float] = field(default_factory=list)
    fs_missed: int = 0
    fs_spurious: int = 0
    fs_true: int = 0
    to_missed: int = 0
    to_spurious: int = 0
    to_true: int = 0
    contact_errors: list[float] = field(default_factory=list)
    cadence_errors: list[float] = field(default_factory=list)  # relative
    knee_errors: list[float] = field(default_factory=list)  # deg
    latencies: list[float] = field(default_factory=list)


def run_streaming(filmed: FilmedTrial) -> list[GaitEvent]:
    tracker = GaitTracker(stride_metrics=False)
    events: list[GaitEvent] = []
    size = filmed.image_size
    for i, (t, kp) in enumerate(zip(filmed.t, filmed.keypoints, strict=True)):
        events.extend(tracker.push(Pose(float(t), i, kp, size)).events)
    events.extend(tracker.flush().events)  # the film ended: what the tracker still held
    return events


def knee_flexion(keypoints: np.ndarray, t: np.ndarray, when: float, side: str) -> float:
    """2D knee flexion (deg) = 180 - angle(hip, knee, ankle), interpolated at ``when``."""
    idx = {
        "R": (Keypoint.RIGHT_HIP, Keypoint.RIGHT_KNEE, Keypoint.RIGHT_ANKLE),
        "L": (Keypoint.LEFT_HIP, Keypoint.LEFT_KNEE, Keypoint.LEFT_ANKLE),
    }[side]
    pts = [np.array([np.interp(when, t, keypoints[:, k, c]) for c in (0, 1)]) for k in idx]
    u, v = pts[0] - pts[1], pts[2] - pts[1]
    cos = float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v)))
    return 180.0 - float(np.degrees(np.arccos(np.clip(cos, -1, 1))))


def score(filmed: FilmedTrial, events: Iterable[GaitEvent], tally: Tally) -> None:
    """Compare detected events with the force plate and add the results to ``tally``."""
    trial = filmed.trial
    near, far = filmed.near_side, ("L" if filmed.near_side == "R" else "R")
    side_of = {Leg.NEAR: near, Leg.FAR: far}
    events = sorted(events, key=lambda e: e.time)
    window = (filmed.t[0] + EDGE_MARGIN, filmed.t[-1] - EDGE_MARGIN)
    strikes = [(side_of[e.leg], e.time) for e in events if e.kind is EventKind.FOOT_STRIKE]
    toe_offs = [(side_of[e.leg], e.time) for e in events if e.kind is EventKind.TOE_OFF]
    fs = match_events(
        strikes,
        [(e.side, e.foot_strike) for e in trial.events],
        window=window,
        tolerance=MATCH_TOLERANCE,
    )
    to = match_events(
        toe_offs,
        [(e.side, e.toe_off) for e in trial.events],
        window=window,
        tolerance=MATCH_TOLERANCE,
    )
    tally.fs_errors += list(fs.errors)
    tally.to_errors += list(to.errors)
    tally.fs_missed += fs.missed
    tally.fs_spurious += fs.spurious
    tally.fs_true += fs.true_count
    tally.to_missed += to.missed
    tally.to_spurious += to.spurious
    tally.to_true += to.true_count
    # The stream holds a pass's first events until its warm-up ends (StreamingParams):
    # the LED's latency budget is for the events after it.
    warm = filmed.t[0] + StreamingParams().pass_warmup
    tally.latencies += [e.latency for e in events if e.latency is not None and e.time >= warm]

    # Contact time and knee flexion at strike, per true contact with both events matched.
    det_by_side = {s: [e for e in events if side_of[e.leg] == s] for s in ("R", "L")}
    for true in trial.events:
        if not (np.isfinite(true.foot_strike) and window[0] <= true.foot_strike <= window[1]):
            continue
        cands = [
            e
            for e in det_by_side[true.side]
            if e.kind is EventKind.FOOT_STRIKE and abs(e.time - true.foot_strike) <= MATCH_TOLERANCE
        ]
        if not cands:
            continue
        strike = min(cands, key=lambda e: abs(e.time - true.foot_strike))
        knee_true = knee_flexion(filmed.clean, filmed.t, true.foot_strike, true.side)
        knee_det = knee_flexion(filmed.keypoints, filmed.t, strike.time, true.side)
        if np.isfinite(knee_det):
            tally.knee_errors.append(knee_det - knee_true)
        if np.isfinite(true.toe_off) and true.toe_off <= window[1]:
            toes = [
                e
                for e in det_by_side[true.side]
                if e.kind is EventKind.TOE_OFF and abs(e.time - true.toe_off) <= MATCH_TOLERANCE
            ]
            if toes:
                toe = min(toes, key=lambda e: abs(e.time - true.toe_off))
                tally.contact_errors.append(
                    (toe.time - strike.time) - (true.toe_off - true.foot_strike)
                )

    # Cadence over the scored span: steps/min from strikes of either foot.
    true_fs = sorted(
        e.foot_strike
        for e in trial.events
        if np.isfinite(e.foot_strike) and window[0] <= e.foot_strike <= window[1]
    )
    det_fs = sorted(t for _, t in strikes if window[0] <= t <= window[1])
    if len(true_fs) >= 3 and len(det_fs) >= 3:
        true_cad = 60 * (len(true_fs) - 1) / (true_fs[-1] - true_fs[0])
        det_cad = 60 * (len(det_fs) - 1) / (det_fs[-1] - det_fs[0])
        tally.cadence_errors.append(det_cad / true_cad - 1)


def _stats(errors: list[float], frame: float) -> str:
    if not errors:
        return f"{'-':>29}"
    e = np.asarray(errors) * 1000
    a = np.abs(e)
    med, p95 = np.median(a), np.percentile(a, 95)
    frames = f"({med / (1000 * frame):.2f}/{p95 / (1000 * frame):.2f} fr)"
    return f"{e.mean():+6.1f} {med:5.1f} {p95:5.1f} ms {frames}"


def _mean_ms(errors: list[float]) -> float:
    return float(np.mean(errors) * 1000) if errors else float("nan")


def summary(tally: Tally) -> dict[str, float]:
    """Headline numbers of a tally (ms, %, deg) for tests and the docs table."""

    def med(x: list[float]) -> float:
        return float(np.median(np.abs(x)) * 1000) if x else float("nan")

    def p95(x: list[float]) -> float:
        return float(np.percentile(np.abs(x), 95) * 1000) if x else float("nan")

    return {
        "fs_median_ms": med(tally.fs_errors),
        "fs_p95_ms": p95(tally.fs_errors),
        "fs_bias_ms": _mean_ms(tally.fs_errors),
        "to_median_ms": med(tally.to_errors),
        "to_p95_ms": p95(tally.to_errors),
        "to_bias_ms": _mean_ms(tally.to_errors),
        "contact_median_ms": med(tally.contact_errors),
        "cadence_max_pct": float(np.max(np.abs(tally.cadence_errors)) * 100)
        if tally.cadence_errors
        else float("nan"),
        "fs_missed": tally.fs_missed,
        "fs_spurious": tally.fs_spurious,
        "to_missed": tally.to_missed,
        "to_spurious": tally.to_spurious,
        "latency_max_ms": float(np.max(tally.latencies) * 1000)
        if tally.latencies
        else float("nan"),
        "knee_median_deg": float(np.median(np.abs(tally.knee_errors)))
        if tally.knee_errors
        else float("nan"),
    }


def evaluate(
    trial: LabTrial,
    fps: float,
    seeds: Iterable[int],
    *,
    spoil: Spoiling | None,
    start: float = 0.0,
    duration: float | None = None,
    camera_sides: tuple[str, ...] = ("R", "L"),
) -> tuple[Tally, Tally]:
    """(batch, streaming) tallies for one trial at one frame rate over several seeds.

    Seeds alternate the camera between the runner's right and left side (left-to-right and
    right-to-left running).  Overground trials use a panning camera on even seeds and a
    fixed one on odd seeds.
    """
    batch, stream = Tally(), Tally()
    for seed in seeds:
        side = camera_sides[seed % len(camera_sides)]
        pan = (not trial.treadmill) and seed % 2 == 0
        camera = Camera(side=side, pan=pan, distance=TREADMILL_DISTANCE if trial.treadmill else 6.0)
        filmed = film(
            trial, fps, camera=camera, spoil=spoil, seed=seed, start=start, duration=duration
        )
        result = analyse_arrays(filmed.t, filmed.keypoints, stride_metrics=False)
        score(filmed, result.events, batch)
        score(filmed, run_streaming(filmed), stream)
    return batch, stream


# --- real clips with hand-made labels ---------------------------------------------------------

# Frame tolerance per clip (labels/README.md): +-3 where each image is shown three times.
CLIP_TOLERANCE = {"simplehrnet_running_track_wide": 3}
DEFAULT_TOLERANCE = 2


@dataclass(frozen=True)
class ClipLabel:
    frame: int
    kind: EventKind
    leg: Leg


@dataclass(frozen=True)
class ClipScore:
    """Detected events of one clip against its labels (frame indices in decode order)."""

    clip: str
    kind: EventKind
    labels: int
    detections: int
    hits: int  # labels matched within tolerance, leg identity ignored
    hits_same_leg: int
    frame_errors: tuple[int, ...]
    labelled_cadence: float  # steps/min, the labels README's formula

    @property
    def recall(self) -> float:
        return self.hits / self.labels if self.labels else float("nan")

    @property
    def precision(self) -> float:
        return self.hits / self.detections if self.detections else float("nan")


def read_labels(path: Path) -> list[ClipLabel]:
    """``<clip>.events.csv`` from ../shared/media/labels (see the README there)."""
    import csv

    labels = []
    with Path(path).open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            kind = EventKind.FOOT_STRIKE if row["event"] == "FS" else EventKind.TOE_OFF
            leg = Leg.NEAR if row["leg"] == "near" else Leg.FAR
            labels.append(ClipLabel(int(row["frame"]), kind, leg))
    return labels


def score_clip(
    clip: str,
    frame_index: np.ndarray,
    timestamps: np.ndarray,
    events: Iterable[GaitEvent],
    labels: list[ClipLabel],
    kind: EventKind = EventKind.FOOT_STRIKE,
) -> ClipScore:
    """Match events to labels by frame: a strike belongs to the first frame at or after it
    (the labels' "first frame touching"), a toe-off to the last frame at or before it."""
    tolerance = CLIP_TOLERANCE.get(clip, DEFAULT_TOLERANCE)
    lab = [x for x in labels if x.kind is kind]
    all_frames = [x.frame for x in labels]
    lo, hi = min(all_frames) - tolerance, max(all_frames) + tolerance
    detected = []
    for e in events:
        if e.kind is not kind:
            continue
        position = float(np.interp(e.time, timestamps, frame_index))
        frame = int(np.ceil(position - 1e-6)) if kind is EventKind.FOOT_STRIKE else int(position)
        if lo <= frame <= hi:
            detected.append((frame, e.leg))
    used = [False] * len(detected)
    hits = same_leg = 0
    errors = []
    for label in lab:
        best, best_err = -1, tolerance + 1
        for j, (frame, _leg) in enumerate(detected):
            if not used[j] and abs(frame - label.frame) < best_err:
                best, best_err = j, abs(frame - label.frame)
        if best >= 0:
            used[best] = True
            hits += 1
            same_leg += detected[best][1] is label.leg
            errors.append(detected[best][0] - label.frame)
    times = sorted(np.interp([x.frame for x in lab], frame_index, timestamps))
    labelled = (
        60 * (len(times) - 1) / (times[-1] - times[0])
        if len(times) >= 2 and times[-1] > times[0]
        else float("nan")
    )
    return ClipScore(clip, kind, len(lab), len(detected), hits, same_leg, tuple(errors), labelled)


def print_clips(recordings: Path, labels_dir: Path) -> None:
    """Score every recording in ``recordings`` that has labels, batch and streaming."""
    from edge.recording import read_recording

    print(
        f"{'clip':<34}{'engine':<7}{'FS P/R (any leg)':>18}{'same leg':>9}"
        f"{'frame err':>10}{'cadence':>9}{'labelled':>9}{'TO P/R':>12}{'TO same':>9}"
        f"{'TO err':>7}"
    )
    for path in sorted(Path(recordings).glob("*.jsonl")):
        label_file = labels_dir / f"{path.stem}.events.csv"
        if not label_file.exists():
            continue
        rec = read_recording(path)
        labels = read_labels(label_file)
        analysis = analyse_arrays(rec.timestamps, rec.keypoints, stride_metrics=False)
        tracker = GaitTracker(stride_metrics=False)
        updates = [tracker.push(pose) for pose in rec.poses()] + [tracker.flush()]
        stream = [e for u in updates for e in u.events]
        # Cadence over the labelled span only (movup is labelled for its first 12.4 s).
        last = max(x.frame for x in labels) + 1
        end = float(np.interp(last, rec.frame_index, rec.timestamps))

        def labelled_span(steps: list, end: float = end) -> float:
            return overall_cadence([s for s in steps if s.next_foot_strike.time <= end]).value

        batch_cadence = labelled_span(analysis.steps)
        stream_cadence = labelled_span([s for u in updates for s in u.steps])
        for name, events, cadence in (
            ("batch", analysis.events, batch_cadence),
            ("stream", stream, stream_cadence),
        ):
            fs = score_clip(path.stem, rec.frame_index, rec.timestamps, events, labels)
            to = score_clip(
                path.stem, rec.frame_index, rec.timestamps, events, labels, EventKind.TOE_OFF
            )
            err = np.median(np.abs(fs.frame_errors)) if fs.frame_errors else float("nan")
            to_err = np.median(np.abs(to.frame_errors)) if to.frame_errors else float("nan")
            print(
                f"{path.stem:<34}{name:<7}{fs.precision:>9.2f}/{fs.recall:<8.2f}"
                f"{fs.hits_same_leg:>4}/{fs.hits:<4}{err:>10.1f}{cadence:>9.1f}"
                f"{fs.labelled_cadence:>9.1f}{to.precision:>7.2f}/{to.recall:<4.2f}"
                f"{to.hits_same_leg:>4}/{to.hits:<4}{to_err:>7.1f}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--groundtruth", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--fps", type=float, nargs="+", default=[30, 60, 120])
    parser.add_argument("--seeds", type=int, default=4, help="films per trial and frame rate")
    parser.add_argument("--trials", nargs="*", help="trial names (default: all)")
    parser.add_argument("--clean", action="store_true", help="no noise, dropouts or swaps")
    parser.add_argument(
        "--clips",
        type=Path,
        help="score the keypoint recordings (*.jsonl from `trackside replay`) in this folder "
        "against ../shared/media/labels instead",
    )
    parser.add_argument("--labels", type=Path, default=DEFAULT_ROOT.parent / "media" / "labels")
    args = parser.parse_args(argv)
    if args.clips:
        print_clips(args.clips, args.labels)
        return 0
    if not args.groundtruth.exists():
        print(f"error: ground-truth directory not found: {args.groundtruth}", file=sys.stderr)
        return 2
    spoil = None if args.clean else Spoiling()
    trials = [t for t in load_all(args.groundtruth) if not args.trials or t.name in args.trials]
    if spoil is not None:
        print(
            f"keypoint noise: white {spoil.noise_white:.3f} + slow {spoil.noise_slow:.3f} leg"
            f" lengths (tau {spoil.noise_tau * 1000:.0f} ms); dropouts {spoil.dropout:.0%},"
            f" dropped frames {spoil.frame_drop:.0%}, swaps {spoil.swap_rate}/s"
        )
    header = (
        f"{'data set':<15}{'fps':>4} {'engine':<7}"
        f"{'FS bias/med/p95':>31} {'TO bias/med/p95':>31}"
        f" {'FS miss/spur/n':>15} {'TO miss/spur/n':>15} {'contact med':>11}"
        f" {'cadence max':>11} {'knee med':>8} {'latency max':>11}"
    )
    print(header)
    print("-" * len(header))
    for trial in trials:
        for fps in args.fps:
            batch, stream = evaluate(trial, fps, range(args.seeds), spoil=spoil)
            for name, tally in (("batch", batch), ("stream", stream)):
                s = summary(tally)
                print(
                    f"{trial.name:<15}{fps:>4.0f} {name:<7}"
                    f"{_stats(tally.fs_errors, 1 / fps):>31} {_stats(tally.to_errors, 1 / fps):>31}"
                    f" {tally.fs_missed:>4}/{tally.fs_spurious:>3}/{tally.fs_true:>4}"
                    f"   {tally.to_missed:>4}/{tally.to_spurious:>3}/{tally.to_true:>4}"
                    f" {s['contact_median_ms']:>8.1f} ms {s['cadence_max_pct']:>9.2f} %"
                    f" {s['knee_median_deg']:>6.1f}°"
                    + (f" {s['latency_max_ms']:>8.0f} ms" if name == "stream" else "")
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
