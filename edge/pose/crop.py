"""Where the model looks: letterbox and crop geometry, and crop-region tracking.

MoveNet sees a small square (192×192 for Lightning).  A runner who fills a tenth of a wide
trackside frame would be a few pixels tall in a letterboxed view, so after a confident
detection the next frame is cropped to a square around the runner and that square is scaled
to the model's input instead.  Everything here is pure arithmetic on numpy arrays and
:class:`~edge.types.CropBox` values.

Coordinate conventions: source coordinates are continuous pixels (pixel ``i`` covers
``[i, i+1)``); the model's outputs are normalised ``0..1`` over its square input, which shows
exactly the square ``box`` of the source.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from edge.types import CropBox, Keypoint

SHOULDERS = (Keypoint.LEFT_SHOULDER, Keypoint.RIGHT_SHOULDER)
HIPS = (Keypoint.LEFT_HIP, Keypoint.RIGHT_HIP)
TORSO = (*SHOULDERS, *HIPS)


# --- geometry --------------------------------------------------------------------------------


def letterbox_box(width: int, height: int) -> CropBox:
    """The square that holds the whole image, centred: the letterbox view, padded with black."""
    size = float(max(width, height))
    return CropBox((width - size) / 2.0, (height - size) / 2.0, size)


def input_matrix(
    box: CropBox, input_size: int, image_scale: tuple[float, float] = (1.0, 1.0)
) -> np.ndarray:
    """2×3 affine matrix (for ``cv2.warpAffine``) from image pixels to model-input pixels.

    The model input shows ``box`` (source pixels).  ``image_scale`` is (x, y) size of the image
    actually warped relative to the source, e.g. (0.25, 0.25) for a lores stream a quarter the
    size of the main one.  The matrix works on pixel *indices* (centre of pixel 0 at 0), as
    OpenCV does, so pixel areas line up exactly.
    """
    k = input_size / box.size
    sx, sy = image_scale
    kx, ky = k / sx, k / sy
    return np.array(
        [
            [kx, 0.0, 0.5 * kx - box.x0 * k - 0.5],
            [0.0, ky, 0.5 * ky - box.y0 * k - 0.5],
        ],
        dtype=np.float64,
    )


def source_to_normalised(xy: np.ndarray, box: CropBox) -> np.ndarray:
    """Source pixels (N×2, x y) → normalised model-input coordinates (N×2, x y)."""
    xy = np.asarray(xy, dtype=np.float64)
    return (xy - np.array([box.x0, box.y0])) / box.size


def model_output_to_source(
    raw: np.ndarray, box: CropBox, image_size: tuple[int, int]
) -> np.ndarray:
    """MoveNet's (17, 3) ``y, x, score`` (normalised) → (17, 3) ``x, y, score`` in source pixels.

    Coordinates are clipped to ``[0, width-1] × [0, height-1]`` so a keypoint guessed in the
    black padding still indexes a real pixel (its score is low anyway).
    """
    width, height = image_size
    out = np.empty((raw.shape[0], 3), dtype=np.float32)
    out[:, 0] = np.clip(box.x0 + raw[:, 1] * box.size, 0.0, width - 1)
    out[:, 1] = np.clip(box.y0 + raw[:, 0] * box.size, 0.0, height - 1)
    out[:, 2] = raw[:, 2]
    return out


def search_views(width: int, height: int) -> list[CropBox]:
    """The views a search for the runner cycles through: the letterbox, then square tiles.

    In a wide frame (a trackside camera is often 16:9 or wider) a runner is small in the
    letterboxed view and MoveNet may miss them; squares of the short side, overlapping by a
    third, show them 1.5-2.5× larger.  A frame closer to square gets the letterbox alone.
    """
    views = [letterbox_box(width, height)]
    short, long = min(width, height), max(width, height)
    if long < 1.5 * short:
        return views
    count = int(np.ceil((long - short) / (short * 2 / 3))) + 1
    for offset in np.linspace(0.0, long - short, count):
        x0, y0 = (float(offset), 0.0) if width >= height else (0.0, float(offset))
        views.append(CropBox(x0, y0, float(short)))
    return views


# --- tracking --------------------------------------------------------------------------------


def torso_visible(keypoints: np.ndarray, min_score: float) -> bool:
    """True when at least one shoulder and one hip reach ``min_score``."""
    scores = keypoints[:, 2]
    return bool(
        scores[list(SHOULDERS)].max() >= min_score and scores[list(HIPS)].max() >= min_score
    )


def hip_centre(keypoints: np.ndarray, min_score: float) -> np.ndarray | None:
    """Mean (x, y) of the hips that reach ``min_score``, or ``None`` when neither does."""
    hips = keypoints[list(HIPS)]
    hips = hips[hips[:, 2] >= min_score]
    return hips[:, :2].mean(axis=0) if len(hips) else None


def crop_from_pose(
    keypoints: np.ndarray,
    image_size: tuple[int, int],
    *,
    min_score: float = 0.3,
    torso_margin: float = 1.9,
    body_margin: float = 1.3,
    min_fraction: float = 0.05,
) -> CropBox | None:
    """The square crop that frames the runner in ``keypoints`` (17×3 x, y, score, source px).

    Centred on the hips; its half-size is the larger of ``torso_margin`` × the torso's reach
    from the hip centre and ``body_margin`` × the reach of every confident keypoint, so limbs
    the model missed still fit.  Returns ``None`` (use the whole frame) when the torso is not
    confident or the crop would be as large as the frame anyway.
    """
    if not torso_visible(keypoints, min_score):
        return None
    width, height = image_size
    longest = float(max(width, height))
    confident = keypoints[:, 2] >= min_score
    centre = hip_centre(keypoints, min_score)
    assert centre is not None  # torso_visible saw a confident hip
    torso = keypoints[list(TORSO)]
    torso = torso[torso[:, 2] >= min_score]
    torso_reach = np.abs(torso[:, :2] - centre).max()
    body_reach = np.abs(keypoints[confident, :2] - centre).max()
    half = float(
        max(torso_margin * torso_reach, body_margin * body_reach, min_fraction * longest / 2)
    )
    if 2 * half >= longest:
        return None
    cx = float(np.clip(centre[0], 0.0, width))
    cy = float(np.clip(centre[1], 0.0, height))
    return CropBox(cx - half, cy - half, 2 * half)


def prefer_challenger(incumbent: np.ndarray, challenger: np.ndarray, margin: float) -> bool:
    """True when a pose seen in a challenger crop clearly beats the one in the current crop.

    Both poses come from the *same* frame, each seen through its own crop, so their mean
    keypoint scores are comparable.  The margin keeps a near tie (a score moved a few hundredths
    by a grey level here and there) from ever switching the runner being followed.
    """
    return float(challenger[:, 2].mean()) > float(incumbent[:, 2].mean()) + margin


@dataclass
class CropTracker:
    """Follows the runner from frame to frame and says where the model should look next.

    Each confident pose gives a target crop (:func:`crop_from_pose`).  The crop centre follows
    it with an alpha-beta filter (smoothed position plus velocity, so a sprinter crossing the
    frame is not left behind), the size grows at once but shrinks slowly, so the crop neither
    jitters nor clips the runner.

    Decisions with hysteresis, so that a score moved by a few hundredths changes nothing:

    - a runner is *acquired* when the torso reaches ``min_score`` and *held* while it stays
      above the lower ``hold_score``; a frame below that is coasted through (the crop keeps
      its course) for up to ``max_coast`` frames before the tracker lets go and the next
      frame is seen whole (letterboxed);
    - while the lock is poor (the smoothed mean keypoint score is under ``good_quality``),
      the frame is searched again every ``recheck_interval`` frames, through the next of
      :func:`search_views` (:attr:`recheck_due`): a weak first detection (a far-away
      spectator, a cart) must not hold the crop while the real runner crosses the frame.
      The caller runs the model on the :meth:`challenger` crop of the same frame and
      switches with :meth:`switch` only when :func:`prefer_challenger` says it clearly wins.
    """

    min_score: float = 0.3
    hold_score: float = 0.2
    max_coast: int = 3
    position_gain: float = 0.5  # alpha: how much of the measured centre to take
    velocity_gain: float = 0.1  # beta: how fast the velocity estimate adapts
    shrink_rate: float = 0.3  # fraction of a size decrease applied per frame
    # Tuned on simplehrnet_running_track_wide.mp4 (a distant cart vs the runner): a runner
    # framed by the crop scores 0.55-0.75, a wrong lock 0.35-0.45, letterboxed runners 0.3-0.5.
    good_quality: float = 0.5
    quality_gain: float = 0.2  # EMA weight of each frame's mean score
    recheck_interval: int = 5  # frames between search looks, each at the next search view
    switch_margin: float = 0.1  # mean-score lead a challenger needs (10x a grey-level's effect)
    _centre: np.ndarray | None = field(default=None, repr=False)
    _velocity: np.ndarray = field(default_factory=lambda: np.zeros(2), repr=False)
    _half: float = field(default=0.0, repr=False)
    _coasted: int = field(default=0, repr=False)
    _quality: float = field(default=0.0, repr=False)
    _since_check: int = field(default=0, repr=False)
    _search_index: int = field(default=0, repr=False)

    def reset(self) -> None:
        """Forget the runner (the search cycle goes on where it was)."""
        self._centre = None
        self._velocity = np.zeros(2)
        self._half = 0.0
        self._coasted = 0
        self._quality = 0.0
        self._since_check = 0

    @property
    def tracking(self) -> bool:
        return self._centre is not None

    @property
    def quality(self) -> float:
        """Smoothed mean keypoint score of the poses seen through the crop (0 when searching)."""
        return self._quality if self.tracking else 0.0

    @property
    def recheck_due(self) -> bool:
        """True when the whole frame should be looked at again: the lock is poor and overdue."""
        return (
            self.tracking
            and self._quality < self.good_quality
            and self._since_check >= self.recheck_interval
        )

    def search_view(self, image_size: tuple[int, int]) -> CropBox:
        """The next of :func:`search_views` to look through (cycling, one per recheck)."""
        views = search_views(*image_size)
        self._search_index = (self._search_index + 1) % len(views)
        return views[self._search_index - 1]

    def challenger(
        self, searched: np.ndarray, current: CropBox, image_size: tuple[int, int]
    ) -> CropBox | None:
        """The crop around a runner found by a search view *elsewhere* than ``current``.

        Marks the recheck done.  ``None`` when the search view shows no confident torso or
        shows the same runner (hips inside the current crop): nothing to compare.
        """
        self._since_check = 0
        centre = hip_centre(searched, self.min_score)
        if centre is None or current.contains(float(centre[0]), float(centre[1])):
            return None
        return crop_from_pose(searched, image_size, min_score=self.min_score)

    def switch(self, keypoints: np.ndarray, image_size: tuple[int, int]) -> CropBox | None:
        """Follow the runner in ``keypoints`` from now on, forgetting the old one."""
        self.reset()
        return self.update(keypoints, image_size)

    def update(self, keypoints: np.ndarray, image_size: tuple[int, int]) -> CropBox | None:
        """Take the pose found in this frame; return the crop for the next frame (or None)."""
        target = crop_from_pose(keypoints, image_size, min_score=self.min_score)
        if target is None and self.tracking:  # a weak frame of a runner already followed
            target = crop_from_pose(keypoints, image_size, min_score=self.hold_score)
        if target is None:
            return self._coast(image_size)
        self._coasted = 0
        self._since_check += 1
        score = float(keypoints[:, 2].mean())
        measured = np.array([target.x0 + target.size / 2, target.y0 + target.size / 2])
        measured_half = target.size / 2
        if self._centre is None:
            self._centre, self._half, self._quality = measured, measured_half, score
        else:
            predicted = self._centre + self._velocity
            residual = measured - predicted
            self._centre = predicted + self.position_gain * residual
            self._velocity = self._velocity + self.velocity_gain * residual
            if measured_half >= self._half:
                self._half = measured_half
            else:
                self._half += self.shrink_rate * (measured_half - self._half)
            self._quality += self.quality_gain * (score - self._quality)
        return self._next_box(image_size)

    def _coast(self, image_size: tuple[int, int]) -> CropBox | None:
        """No confident torso this frame: keep the crop's course briefly, then let go."""
        if self._centre is None or self._coasted >= self.max_coast:
            self.reset()
            return None
        self._coasted += 1
        self._since_check += 1
        self._centre = self._centre + self._velocity
        return self._next_box(image_size)

    def _next_box(self, image_size: tuple[int, int]) -> CropBox | None:
        width, height = image_size
        if self._centre is None or 2 * self._half >= max(width, height):
            self.reset()
            return None
        nxt = self._centre + self._velocity
        cx = float(np.clip(nxt[0], 0.0, width))
        cy = float(np.clip(nxt[1], 0.0, height))
        return CropBox(cx - self._half, cy - self._half, 2 * self._half)
