"""A MoveNet-like error model for projected lab joint centres (validation tooling).

:func:`spoil_like_movenet` is a pure function: clean COCO keypoints of a filmed lab trial
in, keypoints spoiled the way MoveNet Lightning int8 spoils real running footage out.
``scripts/movenet_errors.py`` measures these errors on the labelled real clips (method and
tables in docs/live-timing-notes.md):

* **Jitter** is white frame to frame (consecutive stance residuals correlate at -0.14 /
  -0.03, what a white process gives through that estimator): the stance ankle scatters
  0.016-0.025 leg lengths about its stance line; the 5-point local-quadratic residual over
  the whole cycle is hip 0.022, knee 0.031, ankle 0.027 (near) / 0.041 (far) leg lengths
  (the far figure includes merged and swapped frames), 1.4x larger on an ankle moving
  faster than 2.5 leg lengths/s in the image (0.042 against 0.028-0.030: motion blur).
* **Left/right label swaps** are frequent and short: in early stance the stance foot
  carries the other side's ankle name in 30 % (near foot) / 14 % (far foot) of frames, in
  runs of 1-2 frames at 25 fps; 43 % of them rename the whole leg (knee too), the rest the
  ankle only.
* **Merged feet**: both ankle keypoints on the stance foot (the swinging foot has none) in
  14 % of near-stance and 6 % of far-stance frames.
* **Displaced** ankles: confident (score above threshold) but 0.1-0.55 leg lengths off the
  foot (median 0.17-0.37) in 10-12 % of stance frames.
* **Dropouts** (score < 0.3): ankle 12.8 % (near) / 9.6 % (far), knee 4.0 / 3.4 %, hip 0.
* **No lag**: the stance ankle's offset from its stance line at the labelled strike is
  within 0.012 leg lengths of the true ankle's (Fukuchi, same estimator), and the batch
  engine's strike bias on the clips has no consistent sign (+12 +- 5 ms movup, -14 +- 13
  jes_woods, -3 +- 4 sports2d, -10 +- 17 kipchoge), so no delay term is modelled.

Those are *observed* shares: a frame can only be seen as one thing (a swapped ankle that is
also displaced looks "displaced").  The model's *latent* rates below are therefore fitted so
that the same measurement on spoiled lab films (Fukuchi T25 at 25 fps, movup's rate)
gives back the real clips' shares, jitter and swap runs (``movenet_errors.py`` prints both;
the dropout rates and the whole-leg share are used as measured).

The clips run at 14-30 fps, where these errors are nearly independent from image to image
(runs of 1.0-1.4 frames).  At higher frame rates consecutive images look more alike, so
the model keeps each episode's *duration in time* (:attr:`MoveNetErrorModel.episode`):
at 60 fps an error then lasts ~1.7 frames on average.  That is an assumption (no real
60 fps clip is labelled) and the harsher one for an event detector, whose smoothing
averages independent errors away but not correlated ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from edge.types import NUM_KEYPOINTS, Keypoint

LEG = {
    "R": (Keypoint.RIGHT_HIP, Keypoint.RIGHT_KNEE, Keypoint.RIGHT_ANKLE),
    "L": (Keypoint.LEFT_HIP, Keypoint.LEFT_KNEE, Keypoint.LEFT_ANKLE),
}
ARMS = (
    Keypoint.LEFT_SHOULDER,
    Keypoint.RIGHT_SHOULDER,
    Keypoint.LEFT_ELBOW,
    Keypoint.RIGHT_ELBOW,
    Keypoint.LEFT_WRIST,
    Keypoint.RIGHT_WRIST,
)


@dataclass(frozen=True)
class MoveNetErrorModel:
    """Error rates and sizes (sizes in leg lengths: hip-knee + knee-ankle in the image)."""

    hip_sd: float = 0.022
    knee_sd: float = 0.031
    ankle_sd_near: float = 0.020  # latent; gives the measured 0.019/0.022 stance scatter
    ankle_sd_far: float = 0.020
    arm_sd: float = 0.025  # not measurable with these labels: the old white level
    fast_ankle_speed: float = 2.5  # leg lengths/s in the image
    fast_ankle_gain: float = 1.4
    swap_near_stance: float = 0.40  # latent label-swap fraction while the near foot is down
    swap_far_stance: float = 0.20  # ... while the far foot is down (flight: the mean)
    swap_whole_leg: float = 0.43  # the knee (and hip) renamed with the ankle
    merge_onto_near: float = 0.22  # far ankle keypoint on the near stance foot (latent)
    merge_onto_far: float = 0.08  # near ankle keypoint on the far stance foot (latent)
    displaced: float = 0.08  # per ankle keypoint and frame (latent)
    displaced_range: tuple[float, float] = (0.1, 0.55)
    ankle_dropout_near: float = 0.128
    ankle_dropout_far: float = 0.096
    knee_dropout_near: float = 0.040
    knee_dropout_far: float = 0.034
    arm_dropout: float = 0.02  # not measured (old model)
    frame_drop: float = 0.01  # frames that never arrive (old model)
    episode: float = (
        0.017  # s: mean duration of one error episode (runs of 1.0-1.4 frames at 25 fps)
    )
    score_mean: float = 0.72  # mean score of a seen leg keypoint (0.71-0.78 on the clips)
    score_sd: float = 0.12

    def scaled(self, factor: float) -> MoveNetErrorModel:
        """Every jitter SD and every error rate times ``factor`` (rates capped: a swap
        fraction beyond 0.45 would simply rename the legs)."""

        def rate(p: float, cap: float = 0.9) -> float:
            return min(cap, p * factor)

        return replace(
            self,
            hip_sd=self.hip_sd * factor,
            knee_sd=self.knee_sd * factor,
            ankle_sd_near=self.ankle_sd_near * factor,
            ankle_sd_far=self.ankle_sd_far * factor,
            arm_sd=self.arm_sd * factor,
            swap_near_stance=rate(self.swap_near_stance, 0.45),
            swap_far_stance=rate(self.swap_far_stance, 0.45),
            merge_onto_near=rate(self.merge_onto_near),
            merge_onto_far=rate(self.merge_onto_far),
            displaced=rate(self.displaced),
            ankle_dropout_near=rate(self.ankle_dropout_near),
            ankle_dropout_far=rate(self.ankle_dropout_far),
            knee_dropout_near=rate(self.knee_dropout_near),
            knee_dropout_far=rate(self.knee_dropout_far),
            arm_dropout=rate(self.arm_dropout),
        )


def episodes(
    fraction: float | np.ndarray, t: np.ndarray, mean_duration: float, rng: np.random.Generator
) -> np.ndarray:
    """A two-state (off/on) Markov process sampled at times ``t``.

    ``fraction`` (per sample, or a scalar) is the stationary probability of "on"; episodes
    last ``mean_duration`` seconds on average, whatever the sampling rate.  With samples
    further apart than the duration it is an independent draw per sample.
    """
    n = len(t)
    p = np.broadcast_to(np.clip(np.asarray(fraction, float), 0.0, 0.999), (n,))
    out = np.zeros(n, bool)
    if n == 0:
        return out
    u = rng.random(n)
    out[0] = u[0] < p[0]
    dt = np.diff(t, prepend=t[0])
    for i in range(1, n):
        # Rates: leave "on" at 1/d; enter it at p/(1-p)/d (stationary fraction p).
        total = 1.0 / (mean_duration * (1.0 - p[i])) if mean_duration > 0 else np.inf
        keep = np.exp(-total * dt[i]) if np.isfinite(total) else 0.0
        on_prob = p[i] + (1.0 - p[i]) * keep if out[i - 1] else p[i] * (1.0 - keep)
        out[i] = u[i] < on_prob
    return out


def spoil_like_movenet(
    clean: np.ndarray,
    t: np.ndarray,
    leg_px: float,
    near_side: str,
    contact: dict[str, np.ndarray],
    model: MoveNetErrorModel,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Spoil clean projected keypoints like MoveNet; returns (keypoints, timestamps).

    ``clean`` is (M, 17, 3) (score 0 = not in the picture), ``t`` (M,) seconds, ``leg_px``
    the near leg's projected length, ``near_side`` "R" or "L" (the side facing the camera),
    ``contact`` per side ("R"/"L") a (M,) bool array: that foot on the ground (from the
    force plate).  Frames may be dropped (``model.frame_drop``), so the timestamps come back.
    """
    clean = np.asarray(clean, float)
    t = np.asarray(t, float)
    if clean.shape != (len(t), NUM_KEYPOINTS, 3):
        raise ValueError(f"clean: expected ({len(t)}, 17, 3), got {clean.shape}")
    if near_side not in LEG:
        raise ValueError(f"near_side: expected 'R' or 'L', got {near_side!r}")
    far_side = "L" if near_side == "R" else "R"
    for side in LEG:
        if np.asarray(contact.get(side, ())).shape != (len(t),):
            raise ValueError(f"contact[{side!r}]: expected a ({len(t)},) bool array")
    n = len(t)
    kp = clean.copy()
    present = clean[:, :, 2] > 0
    sd = np.zeros((n, NUM_KEYPOINTS))
    sd[:, list(ARMS)] = model.arm_sd
    for side, ankle_sd in ((near_side, model.ankle_sd_near), (far_side, model.ankle_sd_far)):
        hip, knee, ankle = LEG[side]
        sd[:, hip] = model.hip_sd
        sd[:, knee] = model.knee_sd
        speed = _image_speed(clean[:, ankle, :2], t) / leg_px
        sd[:, ankle] = (
            np.where(speed > model.fast_ankle_speed, model.fast_ankle_gain, 1.0) * ankle_sd
        )
    kp[:, :, :2] += rng.normal(size=(n, NUM_KEYPOINTS, 2)) * (sd * leg_px)[:, :, None]
    truth = kp.copy()  # jittered, before any identity error: where each foot "is" to MoveNet

    # Displaced ankles: confident, but somewhere else near the legs.
    for side in LEG:
        ankle = LEG[side][2]
        off = episodes(model.displaced, t, model.episode, rng)
        distance = rng.uniform(*model.displaced_range, size=n) * leg_px
        angle = rng.uniform(0, 2 * np.pi, size=n)
        kp[off, ankle, 0] += distance[off] * np.cos(angle[off])
        kp[off, ankle, 1] += distance[off] * np.sin(angle[off])

    # Merged feet: the other foot's ankle keypoint lands on the foot that is in stance.
    near_ankle, far_ankle = LEG[near_side][2], LEG[far_side][2]
    down_near, down_far = (np.asarray(contact[s], bool) for s in (near_side, far_side))
    onto_near = episodes(model.merge_onto_near * down_near, t, model.episode, rng) & down_near
    onto_far = (
        episodes(model.merge_onto_far * down_far, t, model.episode, rng) & down_far & ~onto_near
    )
    kp[onto_near, far_ankle, :2] = truth[onto_near, near_ankle, :2] + _jitter(
        rng, onto_near.sum(), model.ankle_sd_far * leg_px
    )
    kp[onto_far, near_ankle, :2] = truth[onto_far, far_ankle, :2] + _jitter(
        rng, onto_far.sum(), model.ankle_sd_near * leg_px
    )

    # Left/right label swaps: ankles only, or the whole leg.
    flight = (model.swap_near_stance + model.swap_far_stance) / 2  # not measurable: the mean
    fraction = np.where(
        down_near, model.swap_near_stance, np.where(down_far, model.swap_far_stance, flight)
    )
    swapped = episodes(fraction, t, model.episode, rng)
    whole = rng.random(n) < model.swap_whole_leg
    for joints, rows in ((slice(2, 3), swapped & ~whole), (slice(0, 3), swapped & whole)):
        for a, b in zip(LEG["L"][joints], LEG["R"][joints], strict=True):
            kp[np.ix_(rows, [a, b])] = kp[np.ix_(rows, [b, a])]

    # Scores, then dropouts (low score, position garbage).
    scores = np.clip(rng.normal(model.score_mean, model.score_sd, (n, NUM_KEYPOINTS)), 0.31, 0.95)
    kp[:, :, 2] = np.where(present, scores, 0.0)
    rate = np.zeros(NUM_KEYPOINTS)
    rate[list(ARMS)] = model.arm_dropout
    for side, ankle_rate, knee_rate in (
        (near_side, model.ankle_dropout_near, model.knee_dropout_near),
        (far_side, model.ankle_dropout_far, model.knee_dropout_far),
    ):
        rate[LEG[side][1]] = knee_rate
        rate[LEG[side][2]] = ankle_rate
    drop = np.zeros((n, NUM_KEYPOINTS), bool)
    for k in np.flatnonzero(rate):
        drop[:, k] = episodes(rate[k], t, model.episode, rng)
    drop &= present
    kp[drop, 2] = rng.uniform(0.0, 0.3, size=int(drop.sum()))
    kp[drop, :2] += rng.normal(0, 0.3 * leg_px, size=(int(drop.sum()), 2))

    keep = rng.random(n) >= model.frame_drop
    return kp[keep], t[keep]


def _jitter(rng: np.random.Generator, count: int, sd: float) -> np.ndarray:
    return rng.normal(0, sd, size=(int(count), 2))


def _image_speed(xy: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Speed (px/s) of a clean trajectory, central differences."""
    if len(t) < 2:
        return np.zeros(len(t))
    vx = np.gradient(xy[:, 0], t)
    vy = np.gradient(xy[:, 1], t)
    return np.hypot(vx, vy)
