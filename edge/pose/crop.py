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


# --- tracking --------------------------------------------------------------------------------


def torso_visible(keypoints: np.ndarray, min_score: float) -> bool:
    """True when at least one shoulder and one hip reach ``min_score``."""
    scores = keypoints[:, 2]
    return bool(
        scores[list(SHOULDERS)].max() >= min_score and scores[list(HIPS)].max() >= min_score
    )


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
    hips = keypoints[list(HIPS)]
    hips = hips[hips[:, 2] >= min_score]
    centre = hips[:, :2].mean(axis=0)
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


@dataclass
class CropTracker:
    """Follows the runner from frame to frame and says where the model should look next.

    Each confident pose gives a target crop (:func:`crop_from_pose`).  The crop centre follows
    it with an alpha-beta filter (smoothed position plus velocity, so a sprinter crossing the
    frame is not left behind), the size grows at once but shrinks slowly, so the crop neither
    jitters nor clips the runner.  When the runner is lost the tracker resets and the next
    frame is seen whole (letterboxed).
    """

    min_score: float = 0.3
    position_gain: float = 0.5  # alpha: how much of the measured centre to take
    velocity_gain: float = 0.1  # beta: how fast the velocity estimate adapts
    shrink_rate: float = 0.3  # fraction of a size decrease applied per frame
    _centre: np.ndarray | None = field(default=None, repr=False)
    _velocity: np.ndarray = field(default_factory=lambda: np.zeros(2), repr=False)
    _half: float = field(default=0.0, repr=False)

    def reset(self) -> None:
        self._centre = None
        self._velocity = np.zeros(2)
        self._half = 0.0

    def update(self, keypoints: np.ndarray, image_size: tuple[int, int]) -> CropBox | None:
        """Take the pose found in this frame; return the crop for the next frame (or None)."""
        target = crop_from_pose(keypoints, image_size, min_score=self.min_score)
        if target is None:
            self.reset()
            return None
        measured = np.array([target.x0 + target.size / 2, target.y0 + target.size / 2])
        measured_half = target.size / 2
        if self._centre is None:
            self._centre, self._half = measured, measured_half
        else:
            predicted = self._centre + self._velocity
            residual = measured - predicted
            self._centre = predicted + self.position_gain * residual
            self._velocity = self._velocity + self.velocity_gain * residual
            if measured_half >= self._half:
                self._half = measured_half
            else:
                self._half += self.shrink_rate * (measured_half - self._half)
        width, height = image_size
        if 2 * self._half >= max(width, height):
            self.reset()
            return None
        nxt = self._centre + self._velocity
        cx = float(np.clip(nxt[0], 0.0, width))
        cy = float(np.clip(nxt[1], 0.0, height))
        return CropBox(cx - self._half, cy - self._half, 2 * self._half)
