"""Pixel → centimetre scale, from the athlete's height or a calibration distance.

A side-view camera sees the runner's limbs almost parallel to the image plane, so the
median length of a limb segment over many frames is a steady measure of the body in pixels.
Anthropometric ratios then turn a known standing height into centimetres per pixel.

Segment lengths as fractions of standing height H (Winter, *Biomechanics and Motor Control
of Human Movement*, 4th ed. 2009, fig. 4.1, after Drillis & Contini 1966):

=========================  ======  =========================================
segment                    × H     from the figure's landmark heights
=========================  ======  =========================================
thigh (hip → knee)         0.245   greater trochanter 0.530 − knee 0.285
shank (knee → ankle)       0.246   knee 0.285 − lateral malleolus 0.039
leg (hip → ankle)          0.491   (the often quoted 0.53 is hip height *from the floor*)
upper arm                  0.186
forearm (elbow → wrist)    0.146
=========================  ======  =========================================

Population ratios carry roughly ±3 % individual spread, and MoveNet's hip keypoint sits
near the hip joint rather than the trochanter, so a height-based scale is good to about
±5 %; a calibration distance (two marks a known distance apart at the runner's depth) is
better when it can be set up.

The leg length in pixels is measured by the gait stage's one leg-length rule
(:mod:`edge.gait.leg_length`).  Both engines pick their scale with :func:`resolve_scale`
(an explicit calibration wins over the athlete's height).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from edge.errors import ConfigError
from edge.gait.angles import masked_xy, robust_length, segment_lengths
from edge.gait.leg_length import leg_length
from edge.gait.track import LimbJoint, SideViewTrack

THIGH_PER_HEIGHT = 0.245
SHANK_PER_HEIGHT = 0.246
LEG_PER_HEIGHT = THIGH_PER_HEIGHT + SHANK_PER_HEIGHT
UPPER_ARM_PER_HEIGHT = 0.186
FOREARM_PER_HEIGHT = 0.146


@dataclass(frozen=True, slots=True)
class Scale:
    """How many centimetres one source pixel spans at the runner's depth.

    Build one with :meth:`from_calibration` (a measured distance) or
    :meth:`from_athlete_height`; ``source`` says which, for reports.
    """

    cm_per_px: float
    source: str = "calibration"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.cm_per_px) and self.cm_per_px > 0):
            raise ConfigError(f"scale: cm_per_px must be a positive number, got {self.cm_per_px}")

    def to_cm(self, pixels: float) -> float:
        """Convert a pixel distance to centimetres."""
        return pixels * self.cm_per_px

    @classmethod
    def from_calibration(cls, distance_cm: float, distance_px: float) -> Scale:
        """Two marks ``distance_cm`` apart appear ``distance_px`` apart in the image."""
        if not (distance_cm > 0 and distance_px > 0):
            raise ConfigError(
                "scale calibration: distance_cm and distance_px must both be positive, "
                f"got {distance_cm} cm and {distance_px} px"
            )
        return cls(distance_cm / distance_px, "calibration")

    @classmethod
    def from_athlete_height(
        cls, track: SideViewTrack, height_cm: float, *, min_score: float = 0.3
    ) -> Scale | None:
        """Scale from the athlete's standing height and the leg length seen in ``track``.

        ``None`` when the track does not show a leg well enough to measure.
        """
        if not 50.0 <= height_cm <= 250.0:
            raise ConfigError(f"athlete height must be 50..250 cm, got {height_cm}")
        leg_px = leg_length_px(track, min_score=min_score)
        if not math.isfinite(leg_px):
            return None
        return cls(LEG_PER_HEIGHT * height_cm / leg_px, "athlete_height")


def leg_length_px(track: SideViewTrack, *, min_score: float = 0.3) -> float:
    """The runner's leg length in pixels, by the one rule of :mod:`edge.gait.leg_length`.

    The near leg is used when it is measurable (it is the one the camera sees best), the far
    leg otherwise; ``nan`` when neither is.
    """
    for limb in (track.near, track.far):
        length = leg_length(limb, min_score=min_score)
        if math.isfinite(length):
            return length
    return float("nan")


def arm_length_px(limb: np.ndarray, *, min_score: float = 0.3) -> float:
    """Shoulder → wrist arm length (median upper arm + median forearm) in pixels."""
    xy = masked_xy(limb, min_score)
    upper = robust_length(segment_lengths(xy[:, LimbJoint.SHOULDER], xy[:, LimbJoint.ELBOW]))
    fore = robust_length(segment_lengths(xy[:, LimbJoint.ELBOW], xy[:, LimbJoint.WRIST]))
    return upper + fore


def check_scale_options(scale: Scale | None, athlete_height_cm: float | None) -> None:
    """Fail early, with a clear message, on a scale the engines cannot use."""
    if scale is not None and not isinstance(scale, Scale):
        raise TypeError(
            f"scale: expected an edge.gait.scale.Scale (e.g. Scale.from_calibration(...)) "
            f"or None, got {type(scale).__name__}; pass a height as athlete_height_cm"
        )
    if athlete_height_cm is not None and not 50.0 <= float(athlete_height_cm) <= 250.0:
        raise ConfigError(f"athlete_height_cm must be 50..250 cm, got {athlete_height_cm}")


def resolve_scale(
    track: SideViewTrack,
    scale: Scale | None,
    athlete_height_cm: float | None,
    min_score: float = 0.3,
) -> Scale | None:
    """The scale the stride metrics use: an explicit one (calibration) wins; otherwise the
    athlete's height against the leg length seen in ``track``; ``None`` when neither."""
    if scale is not None:
        return scale
    if athlete_height_cm is None or len(track) == 0:
        return None
    return Scale.from_athlete_height(track, float(athlete_height_cm), min_score=min_score)
