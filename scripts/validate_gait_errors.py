"""The force-plate validation with both keypoint error models, mirrored and at doubled noise.

    python scripts/validate_gait_errors.py [--fps 60] [--seeds 4] [--trials fukuchi_T25 ...]
                                           [--noise white movenet] [--variants plain mirrored x2]

Like ``scripts/validate_gait.py`` (whose scoring it reuses), but each film is spoiled by
either error model:

* ``white``: the original white + slow-drift noise, dropouts, dropped frames and 1-4-frame
  whole-leg swaps (:class:`edge.testing.groundtruth.Spoiling`);
* ``movenet``: the error model measured on the real clips
  (:mod:`movenet_error_model`: white jitter per joint and leg, blur on fast ankles,
  frequent short ankle or whole-leg label swaps, merged feet, displaced ankles, dropouts).

and each in four variants: ``plain``; ``mirrored`` (every film from the runner's other
side: the other leg is near, the runner crosses the image the other way); ``flipped`` (the
spoiled image flipped left-right: the runner faces the other way while MoveNet's names stay
anatomical); ``x2`` (every noise size and error rate doubled).

Events are matched to the force plate within 0.1 s *whatever their leg* for the timing
columns and the any-leg miss/spurious counts; "wrong leg" counts the matches that carry the
wrong near/far label (an identity error, separate from timing).

It also checks the ends of every film: a detected strike that matches no true strike in the
first/last 0.25 s (a *spurious first/last*; overground only up to the last force-plate
contact, since later steps land off the plates), and a true strike at least 0.12 s inside
the film (one smoothing half-window and a frame: enough data to see it) that was not
detected (*missing first/last*).  Four films per row; seeds alternate the camera side.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from movenet_error_model import MoveNetErrorModel, spoil_like_movenet
from validate_gait import DEFAULT_ROOT, MATCH_TOLERANCE, TREADMILL_DISTANCE, Tally, _stats

from edge.gait.batch import analyse_arrays
from edge.gait.events import EventParams
from edge.gait.streaming import GaitTracker, StreamingParams
from edge.testing.groundtruth import Camera, FilmedTrial, LabTrial, Spoiling, film, load_all
from edge.types import EventKind, GaitEvent, Leg, Pose

EDGE_SPAN = 0.25  # s at each end of a film where the regular scoring does not look
VISIBLE_MARGIN = 0.12  # s: a strike this far inside the film has data on both sides


def contact_masks(trial: LabTrial, t: np.ndarray) -> dict[str, np.ndarray]:
    """Per side, which of the times ``t`` the foot is on the force plate."""
    out = {"R": np.zeros(len(t), bool), "L": np.zeros(len(t), bool)}
    for e in trial.events:
        start = e.foot_strike if np.isfinite(e.foot_strike) else -np.inf
        end = e.toe_off if np.isfinite(e.toe_off) else np.inf
        out[e.side] |= (t >= start) & (t <= end)
    return out


VARIANTS = ("plain", "mirrored", "flipped", "x2")


def film_spoiled(
    trial: LabTrial,
    fps: float,
    seed: int,
    noise: str | None,
    variant: str,
    *,
    start: float = 0.0,
    duration: float | None = None,
) -> FilmedTrial:
    """One film of ``trial`` with the chosen error model (None: clean) and variant."""
    if variant not in VARIANTS:
        raise ValueError(f"variant: expected one of {VARIANTS}, got {variant!r}")
    side = "R" if (seed % 2 == 0) != (variant == "mirrored") else "L"
    pan = (not trial.treadmill) and seed % 2 == 0
    camera = Camera(side=side, pan=pan, distance=TREADMILL_DISTANCE if trial.treadmill else 6.0)
    factor = 2.0 if variant == "x2" else 1.0
    if noise is None:
        filmed = film(
            trial, fps, camera=camera, spoil=None, seed=seed, start=start, duration=duration
        )
    elif noise == "white":
        base = Spoiling()
        spoil = replace(
            base,
            noise_white=base.noise_white * factor,
            noise_slow=base.noise_slow * factor,
            dropout=base.dropout * factor,
            swap_rate=base.swap_rate * factor,
        )
        filmed = film(
            trial, fps, camera=camera, spoil=spoil, seed=seed, start=start, duration=duration
        )
    elif noise == "movenet":
        clean = film(
            trial, fps, camera=camera, spoil=None, seed=seed, start=start, duration=duration
        )
        model = MoveNetErrorModel().scaled(factor)
        rng = np.random.default_rng(10_000 + seed)
        contact = contact_masks(trial, clean.t)
        kp, t = spoil_like_movenet(
            clean.keypoints, clean.t, clean.leg_length_px, side, contact, model, rng
        )
        keep = np.isin(clean.t, t)
        filmed = replace(clean, t=t, keypoints=kp.astype(np.float32), clean=clean.clean[keep])
    else:
        raise ValueError(f"noise: expected 'white' or 'movenet', got {noise!r}")
    if variant == "flipped":
        width = filmed.image_size[0]
        filmed = replace(
            filmed, keypoints=_mirror(filmed.keypoints, width), clean=_mirror(filmed.clean, width)
        )
    return filmed


def _mirror(kp: np.ndarray, width: int) -> np.ndarray:
    out = kp.copy()
    seen = out[:, :, 2] > 0
    out[:, :, 0] = np.where(seen, width - 1 - out[:, :, 0], out[:, :, 0])
    return out


@dataclass
class EdgeTally:
    """Events at the two ends of the films (what the regular scoring leaves out)."""

    films: int = 0
    spurious_first: int = 0
    spurious_last: int = 0
    missing_first: int = 0
    missing_last: int = 0

    def add(self, other: EdgeTally) -> None:
        for name in ("films", "spurious_first", "spurious_last", "missing_first", "missing_last"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def __str__(self) -> str:
        return (
            f"spur {self.spurious_first}/{self.spurious_last} "
            f"miss {self.missing_first}/{self.missing_last} (first/last, {self.films} films)"
        )


def edge_check(filmed: FilmedTrial, events: list[GaitEvent]) -> EdgeTally:
    """Spurious and missing strikes at the start and end of one film (same side, 0.1 s)."""
    near, far = filmed.near_side, ("L" if filmed.near_side == "R" else "R")
    side_of = {Leg.NEAR: near, Leg.FAR: far}
    t0, t1 = float(filmed.t[0]), float(filmed.t[-1])
    strikes = [(side_of[e.leg], e.time) for e in events if e.kind is EventKind.FOOT_STRIKE]
    truth = [
        (e.side, e.foot_strike)
        for e in filmed.trial.events
        if np.isfinite(e.foot_strike) and t0 <= e.foot_strike <= t1
    ]

    def matched(side: str, time: float, pool: list[tuple[str, float]]) -> bool:
        return any(s == side and abs(x - time) <= MATCH_TOLERANCE for s, x in pool)

    out = EdgeTally(films=1)
    # Overground, the force plates cover a few steps only: a strike after the last plate
    # contact may be real (BMClab: the right foot lands again off the plates at ~0.75 s).
    covered = t1
    if not filmed.trial.treadmill:
        ends = [e.toe_off for e in filmed.trial.events if np.isfinite(e.toe_off)]
        covered = min(t1, max(ends)) if ends else t0
    for side, time in strikes:
        if matched(side, time, truth) or time > covered:
            continue
        out.spurious_first += t0 <= time <= t0 + EDGE_SPAN
        out.spurious_last += t1 - EDGE_SPAN <= time <= t1
    visible = [(s, x) for s, x in truth if t0 + VISIBLE_MARGIN <= x <= t1 - VISIBLE_MARGIN]
    if visible:
        first, last = visible[0], visible[-1]
        out.missing_first += not matched(*first, strikes)
        out.missing_last += (last is not first) and not matched(*last, strikes)
    return out


@dataclass
class Timing(Tally):
    """A :class:`validate_gait.Tally` whose events are matched whatever their leg, with the
    identity errors counted apart (only the timing and count fields are filled)."""

    fs_wrong_leg: int = 0


def match_any_leg(
    detected: list[tuple[str, float]], truth: list[tuple[str, float]], window: tuple[float, float]
) -> tuple[list[float], int, int, int, int]:
    """(errors, missed, spurious, true count, wrong-leg matches): nearest detection within
    ``MATCH_TOLERANCE`` of each true event, any leg."""
    lo, hi = window
    det = [(s, t) for s, t in detected if lo <= t <= hi]
    tru = [(s, t) for s, t in truth if np.isfinite(t) and lo <= t <= hi]
    used = [False] * len(det)
    errors, missed, wrong = [], 0, 0
    for side, t_true in tru:
        best, best_err = -1, MATCH_TOLERANCE
        for j, (_, t_det) in enumerate(det):
            if not used[j] and abs(t_det - t_true) <= best_err:
                best, best_err = j, abs(t_det - t_true)
        if best < 0:
            missed += 1
            continue
        used[best] = True
        errors.append(det[best][1] - t_true)
        wrong += det[best][0] != side
    return errors, missed, used.count(False), len(tru), wrong


def score_any_leg(filmed: FilmedTrial, events: list[GaitEvent], tally: Timing) -> None:
    near, far = filmed.near_side, ("L" if filmed.near_side == "R" else "R")
    side_of = {Leg.NEAR: near, Leg.FAR: far}
    window = (filmed.t[0] + EDGE_SPAN, filmed.t[-1] - EDGE_SPAN)
    for kind, attr in ((EventKind.FOOT_STRIKE, "foot_strike"), (EventKind.TOE_OFF, "toe_off")):
        det = [(side_of[e.leg], e.time) for e in events if e.kind is kind]
        tru = [(e.side, getattr(e, attr)) for e in filmed.trial.events]
        errors, missed, spurious, n, wrong = match_any_leg(det, tru, window)
        prefix = "fs" if kind is EventKind.FOOT_STRIKE else "to"
        getattr(tally, f"{prefix}_errors").extend(errors)
        setattr(tally, f"{prefix}_missed", getattr(tally, f"{prefix}_missed") + missed)
        setattr(tally, f"{prefix}_spurious", getattr(tally, f"{prefix}_spurious") + spurious)
        setattr(tally, f"{prefix}_true", getattr(tally, f"{prefix}_true") + n)
        if prefix == "fs":
            tally.fs_wrong_leg += wrong


def run_stream(filmed: FilmedTrial, params: EventParams | None = None) -> list[GaitEvent]:
    """The streaming engine over a film, one pose at a time."""
    tracker = GaitTracker(StreamingParams(events=params or EventParams()), stride_metrics=False)
    events: list[GaitEvent] = []
    for i, (t, kp) in enumerate(zip(filmed.t, filmed.keypoints, strict=True)):
        events.extend(tracker.push(Pose(float(t), i, kp, filmed.image_size)).events)
    events.extend(tracker.flush().events)  # the film ended
    return events


def evaluate(
    trial: LabTrial,
    fps: float,
    seeds: range,
    noise: str | None,
    variant: str,
    *,
    duration: float | None = None,
    params: EventParams | None = None,
) -> tuple[tuple[Timing, EdgeTally], tuple[Timing, EdgeTally]]:
    """(batch, streaming) × (timing tally, edge tally) over ``seeds`` films.

    ``noise`` None films the clean joint centres.  With ``duration``, each film is a window
    of that length starting at a seed-dependent time, so every film has its own first and
    last strike.  ``params`` tunes both engines' event detector."""
    batch, stream = (Timing(), EdgeTally()), (Timing(), EdgeTally())
    for seed in seeds:
        start = 0.0
        if duration is not None:
            rng = np.random.default_rng(500 + seed)
            start = float(rng.uniform(0, max(0.0, trial.duration - duration)))
        filmed = film_spoiled(trial, fps, seed, noise, variant, start=start, duration=duration)
        found = analyse_arrays(filmed.t, filmed.keypoints, params=params, stride_metrics=False)
        live = run_stream(filmed, params)
        for (tally, edges), events in ((batch, found.events), (stream, live)):
            score_any_leg(filmed, events, tally)
            edges.add(edge_check(filmed, events))
    return batch, stream


HEADER = (
    f"{'trial fps noise variant engine':<34}{'FS bias/med/p95':>31} {'TO bias/med/p95':>31}"
    f" {'FS miss/spur/n':>14} {'wrong':>5} {'TO miss/spur/n':>14}  ends"
)


def row(label: str, tally: Timing, edges: EdgeTally, fps: float) -> str:
    return (
        f"{label:<34}{_stats(tally.fs_errors, 1 / fps):>31} {_stats(tally.to_errors, 1 / fps):>31}"
        f" {tally.fs_missed:>4}/{tally.fs_spurious:>3}/{tally.fs_true:>4} {tally.fs_wrong_leg:>5}"
        f"  {tally.to_missed:>4}/{tally.to_spurious:>3}/{tally.to_true:>4}  {edges}"
    )


def print_engines(name: str, result, fps: float) -> None:
    """The batch and the streaming row of one :func:`evaluate` result."""
    (bt, be), (st, se) = result
    print(row(f"{name} batch", bt, be, fps))
    print(row(f"{name} stream", st, se, fps))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--groundtruth", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--fps", type=float, nargs="+", default=[60])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--trials", nargs="*", default=["fukuchi_T25", "fukuchi_T35", "bmclab_run"])
    parser.add_argument(
        "--noise", nargs="+", default=["white", "movenet"], choices=["white", "movenet"]
    )
    parser.add_argument(
        "--variants", nargs="+", default=["plain", "mirrored", "x2"], choices=VARIANTS
    )
    parser.add_argument(
        "--window",
        type=float,
        help="film windows of this many seconds (random start per seed) instead of whole trials",
    )
    args = parser.parse_args(argv)
    if not args.groundtruth.exists():
        print(f"error: ground-truth directory not found: {args.groundtruth}", file=sys.stderr)
        return 2
    trials = [t for t in load_all(args.groundtruth) if t.name in args.trials]
    header = HEADER
    print(header)
    print("-" * len(header))
    for trial in trials:
        for fps in args.fps:
            for noise in args.noise:
                for variant in args.variants:
                    result = evaluate(
                        trial, fps, range(args.seeds), noise, variant, duration=args.window
                    )
                    print_engines(f"{trial.name} {fps:.0f} {noise} {variant}", result, fps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
