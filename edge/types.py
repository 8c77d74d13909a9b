"""Data types shared by every pipeline stage, defined once.

A frame flows  capture → pose → gait → cues → outputs.  Each stage takes and returns the
plain, immutable values below; none of them holds a device, a clock or a file.

Coordinates are always *source-image pixels* (x to the right, y downwards), whatever size
the model ran at, and timestamps are always *seconds on the source's own clock* (container
presentation time for files, sensor timestamp for the Pi camera), never the wall clock at
read time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

import numpy as np


class Keypoint(IntEnum):
    """The 17 COCO keypoints, in MoveNet's output order."""

    NOSE = 0
    LEFT_EYE = 1
    RIGHT_EYE = 2
    LEFT_EAR = 3
    RIGHT_EAR = 4
    LEFT_SHOULDER = 5
    RIGHT_SHOULDER = 6
    LEFT_ELBOW = 7
    RIGHT_ELBOW = 8
    LEFT_WRIST = 9
    RIGHT_WRIST = 10
    LEFT_HIP = 11
    RIGHT_HIP = 12
    LEFT_KNEE = 13
    RIGHT_KNEE = 14
    LEFT_ANKLE = 15
    RIGHT_ANKLE = 16


KEYPOINT_NAMES: tuple[str, ...] = tuple(k.name.lower() for k in Keypoint)
NUM_KEYPOINTS = len(Keypoint)

# Bones drawn in annotations and used for body-extent estimates (pairs of keypoints).
SKELETON_EDGES: tuple[tuple[Keypoint, Keypoint], ...] = (
    (Keypoint.NOSE, Keypoint.LEFT_EYE),
    (Keypoint.NOSE, Keypoint.RIGHT_EYE),
    (Keypoint.LEFT_EYE, Keypoint.LEFT_EAR),
    (Keypoint.RIGHT_EYE, Keypoint.RIGHT_EAR),
    (Keypoint.LEFT_SHOULDER, Keypoint.RIGHT_SHOULDER),
    (Keypoint.LEFT_SHOULDER, Keypoint.LEFT_ELBOW),
    (Keypoint.LEFT_ELBOW, Keypoint.LEFT_WRIST),
    (Keypoint.RIGHT_SHOULDER, Keypoint.RIGHT_ELBOW),
    (Keypoint.RIGHT_ELBOW, Keypoint.RIGHT_WRIST),
    (Keypoint.LEFT_SHOULDER, Keypoint.LEFT_HIP),
    (Keypoint.RIGHT_SHOULDER, Keypoint.RIGHT_HIP),
    (Keypoint.LEFT_HIP, Keypoint.RIGHT_HIP),
    (Keypoint.LEFT_HIP, Keypoint.LEFT_KNEE),
    (Keypoint.LEFT_KNEE, Keypoint.LEFT_ANKLE),
    (Keypoint.RIGHT_HIP, Keypoint.RIGHT_KNEE),
    (Keypoint.RIGHT_KNEE, Keypoint.RIGHT_ANKLE),
)


@dataclass(frozen=True, slots=True)
class Frame:
    """One picture from a source.

    ``image`` is an H×W×3 ``uint8`` array in **RGB** order.  ``inference_image`` is an
    optional second, smaller view of the same instant (the Pi camera's ISP-scaled "lores"
    stream); when present the pose stage runs on it and scales keypoints back to ``image``.
    """

    image: np.ndarray
    timestamp: float
    index: int
    inference_image: np.ndarray | None = None

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass(frozen=True, slots=True)
class CropBox:
    """A square region of the source image, in source pixels.

    It may extend past the image borders; the part outside is padded with black before the
    model sees it, so the model input always keeps the runner's aspect ratio.
    """

    x0: float
    y0: float
    size: float

    @property
    def x1(self) -> float:
        return self.x0 + self.size

    @property
    def y1(self) -> float:
        return self.y0 + self.size

    def contains(self, x: float, y: float) -> bool:
        return self.x0 <= x < self.x1 and self.y0 <= y < self.y1

    def as_list(self) -> list[float]:
        """``[x0, y0, x1, y1]``, the form written to keypoint files."""
        return [round(float(v), 2) for v in (self.x0, self.y0, self.x1, self.y1)]


@dataclass(frozen=True, slots=True)
class Pose:
    """The 17 keypoints found in one frame.

    ``keypoints`` is a (17, 3) ``float32`` array of ``x, y, score`` with x and y in source
    pixels.  ``crop`` is the region the model looked at (``None`` for the whole frame,
    letterboxed).
    """

    timestamp: float
    frame_index: int
    keypoints: np.ndarray
    image_size: tuple[int, int]  # (width, height) of the source image
    crop: CropBox | None = None

    @property
    def xy(self) -> np.ndarray:
        return self.keypoints[:, :2]

    @property
    def scores(self) -> np.ndarray:
        return self.keypoints[:, 2]

    @property
    def mean_score(self) -> float:
        return float(self.keypoints[:, 2].mean())

    def visible(self, min_score: float) -> np.ndarray:
        """Boolean mask of keypoints whose score reaches ``min_score``."""
        return self.keypoints[:, 2] >= min_score


# --- gait ----------------------------------------------------------------------------------


class Leg(StrEnum):
    """Legs as a side-view camera tells them apart: by depth, then kept by continuity."""

    NEAR = "near"
    FAR = "far"


class Side(StrEnum):
    """Anatomical side, when the facing direction makes it knowable."""

    LEFT = "left"
    RIGHT = "right"


class EventKind(StrEnum):
    FOOT_STRIKE = "foot_strike"
    TOE_OFF = "toe_off"


@dataclass(frozen=True, slots=True)
class GaitEvent:
    """A foot strike or toe-off.

    ``time`` is on the source clock and may fall between frames (sub-frame interpolation).
    ``emitted_at`` is the source time of the newest frame the streaming engine had seen when
    it decided the event (``None`` in batch analysis), so ``latency`` is how late it was.
    """

    kind: EventKind
    leg: Leg
    time: float
    side: Side | None = None
    confidence: float = 1.0
    emitted_at: float | None = None

    @property
    def latency(self) -> float | None:
        return None if self.emitted_at is None else self.emitted_at - self.time


@dataclass(frozen=True, slots=True)
class MetricValue:
    """One measured number with its unit and how far to trust it.

    ``value`` is ``nan`` when the metric could not be measured; ``note`` then says why.
    ``quality`` runs from 0 (unusable) to 1 (all keypoints confident).
    """

    value: float
    unit: str
    quality: float = 1.0
    note: str = ""

    @property
    def measured(self) -> bool:
        return self.value == self.value  # False only for nan


@dataclass(frozen=True, slots=True)
class Step:
    """From one leg's foot strike to the other leg's next foot strike."""

    index: int
    leg: Leg
    foot_strike: GaitEvent
    toe_off: GaitEvent | None
    next_foot_strike: GaitEvent
    metrics: Mapping[str, MetricValue] = field(default_factory=dict)
    emitted_at: float | None = None

    @property
    def duration(self) -> float:
        return self.next_foot_strike.time - self.foot_strike.time


@dataclass(frozen=True, slots=True)
class Stride:
    """From one leg's foot strike to the same leg's next foot strike (a full gait cycle)."""

    index: int
    leg: Leg
    foot_strike: GaitEvent
    toe_off: GaitEvent | None
    next_foot_strike: GaitEvent
    side: Side | None = None
    metrics: Mapping[str, MetricValue] = field(default_factory=dict)
    emitted_at: float | None = None

    @property
    def duration(self) -> float:
        return self.next_foot_strike.time - self.foot_strike.time

    @property
    def cadence_spm(self) -> float | None:
        """Steps per minute over this stride (two steps per stride); ``None`` if zero-length."""
        return 120.0 / self.duration if self.duration > 0 else None

    @property
    def ground_contact_ms(self) -> float | None:
        """Foot strike to toe-off of the stride's leg; ``None`` without a later toe-off."""
        if self.toe_off is None or self.toe_off.time <= self.foot_strike.time:
            return None
        return (self.toe_off.time - self.foot_strike.time) * 1000.0


# --- cues ----------------------------------------------------------------------------------


class CueGroup(StrEnum):
    """The coaching sheet's sections, in its order; a cue id is ``"<group>.<name>"``.

    Each group has an LED on the runner's panel and a buzzer code (see
    :mod:`edge.outputs.feedback.patterns`).
    """

    HEAD = "head"
    POSTURE = "posture"
    ARMS = "arms"
    LEGS = "legs"

    @classmethod
    def of(cls, cue_id: str | None) -> CueGroup | None:
        """The group a cue id names (``"arms.elbows_back"`` → ``ARMS``), else ``None``."""
        if not cue_id:
            return None
        try:
            return cls(cue_id.split(".", 1)[0])
        except ValueError:
            return None


class Verdict(StrEnum):
    """A cue's judgement, from best to worst, and the three ways of not judging.

    ``UNKNOWN``: the cue could not be judged (not measurable, switched off, another view
    needed, the metric missing or from keypoints too uncertain).  ``INFO``: the cue is
    *information only* (no validated basis for a threshold yet): its value is shown, never
    judged.  ``UNRELIABLE``: a plausibility gate found the stride's geometry or timing
    physically impossible for running (see :mod:`edge.gait.gates`); the value is published
    only with that flag and the reason, never judged.
    """

    OK = "ok"
    WARN = "warn"
    FAULT = "fault"
    UNKNOWN = "unknown"
    INFO = "info"
    UNRELIABLE = "unreliable"

    @property
    def judged(self) -> bool:
        """``True`` for ok, warn and fault: the cue was judged against a threshold."""
        return self in (Verdict.OK, Verdict.WARN, Verdict.FAULT)

    @property
    def flagged(self) -> bool:
        """``True`` for warn and fault: something for the runner to work on."""
        return self in (Verdict.WARN, Verdict.FAULT)


#: What a stride's grade can be: every verdict but ``INFO``, which only a cue gets.
GRADE_VERDICTS: tuple[Verdict, ...] = tuple(v for v in Verdict if v is not Verdict.INFO)


@dataclass(frozen=True, slots=True)
class GateFailure:
    """A plausibility gate a stride failed (:mod:`edge.gait.gates`).

    ``reason`` says which quantity was out of which bound; ``metrics`` are the metric keys
    it makes unreliable (``None``: the whole stride, its events or keypoints are wrong).
    """

    gate: str
    reason: str
    metrics: frozenset[str] | None = None

    def covers(self, metric: str) -> bool:
        """Whether this failure makes ``metric`` unreliable."""
        return self.metrics is None or metric in self.metrics


@dataclass(frozen=True, slots=True)
class RunningSpeed:
    """The running speed a stride's speed-scaled limits were drawn at.

    ``mps`` is ``None`` when unknown (the most lenient band is used); ``source`` says
    where it came from: ``"session"`` (set for the session or ``cues.speed_mps``, e.g. the
    treadmill belt), ``"athlete"`` (the profile's usual speed), ``"estimated"`` (stride
    length x stride rate, needs a centimetre scale) or ``"unknown"``.
    """

    mps: float | None = None
    source: str = "unknown"


#: The running speed when nothing says how fast the runner goes.
UNKNOWN_SPEED = RunningSpeed()


@dataclass(frozen=True, slots=True)
class CueResult:
    """One coaching cue judged on one stride.

    ``value`` is the stride's own reading of the metric (``nan`` when unknown) in ``unit``;
    ``judged_value`` is what the verdict was judged on (the running median of the cue's
    last few reliable readings, ``nan`` when not judged); ``threshold`` is the limit that
    was crossed (or, for ``OK``, the nearest one); ``reason`` explains a verdict that is
    not a judgement (``UNKNOWN``: e.g. "needs a front view"; ``UNRELIABLE``: the gate that
    failed; ``INFO``: why the cue is information only).  ``information_only`` marks a cue
    without a validated basis, whatever its verdict on this stride.
    """

    cue_id: str
    verdict: Verdict
    value: float
    unit: str
    message: str
    threshold: float | None = None
    confidence: float = 1.0
    reason: str = ""
    judged_value: float = float("nan")
    information_only: bool = False


@dataclass(frozen=True, slots=True)
class StrideReport:
    """A stride with every cue's verdict: what the LEDs flash and MQTT publishes.

    ``grade`` is the worst verdict of the confident, enabled, validated cues (information
    only cues never count), ``UNRELIABLE`` when a gate made the whole stride unreliable.
    ``gates`` are the plausibility gates it failed; ``speed`` is the running speed its
    limits were drawn at; ``focus`` the runner's focus cues when it was judged (what the
    LED and buzzer show).
    """

    stride: Stride
    cues: tuple[CueResult, ...]
    grade: Verdict
    worst_cue: str | None = None
    gates: tuple[GateFailure, ...] = ()
    speed: RunningSpeed = UNKNOWN_SPEED
    focus: tuple[str, ...] = ()

    @property
    def reliable(self) -> bool:
        """``False`` when a gate made the whole stride unreliable."""
        return all(g.metrics is not None for g in self.gates)

    def unreliable_reason(self, metric: str) -> str:
        """Why ``metric`` of this stride is unreliable ("" when it is not)."""
        return "; ".join(g.reason for g in self.gates if g.covers(metric))


@dataclass(frozen=True, slots=True)
class CueAlert:
    """A cue's rolling state changed: an alert was raised (``active``) or cleared."""

    cue_id: str
    active: bool
    verdict: Verdict
    time: float
    message: str
    stride_index: int | None = None
