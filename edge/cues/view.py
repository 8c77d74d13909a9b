"""Which camera view a stride was seen from, in the cue catalogue's words ("side", "front").

The gait stage's classifier (:func:`edge.gait.frontview.classify_view`) answers side,
front-or-rear or unknown from the keypoint geometry; the config may force a view for a
fixed mount.  Cues compare the result with their own ``views``.
"""

from __future__ import annotations

import numpy as np

from edge.gait.frontview import CameraView, ViewEstimate, classify_view

#: Below this classifier confidence a view is treated as not recognised (3/4 views).
MIN_VIEW_CONFIDENCE = 0.2

_NAMES = {"side": "side", "front": "front", CameraView.FRONT_OR_REAR.value: "front"}


def view_name(
    estimate: ViewEstimate | CameraView | str | None, min_confidence: float = MIN_VIEW_CONFIDENCE
) -> str | None:
    """``"side"``, ``"front"`` or ``None`` (not recognised, or too uncertain)."""
    if estimate is None:
        return None
    if isinstance(estimate, ViewEstimate):
        if estimate.confidence < min_confidence:
            return None
        estimate = estimate.view
    return _NAMES.get(str(estimate))


def front_confidence_of(estimate: ViewEstimate | CameraView | str | None) -> float:
    """How sure the stride's own classifier answer is of a front/rear view (0: it saw a
    side view, or nothing); a view *name* is taken as certain.  The front-view gate of
    :mod:`edge.gait.gates` reads it."""
    if isinstance(estimate, ViewEstimate):
        return float(estimate.confidence) if estimate.view is CameraView.FRONT_OR_REAR else 0.0
    return 1.0 if view_name(estimate) == "front" else 0.0


def resolve_view(setting: str, detected: ViewEstimate | CameraView | str | None) -> str | None:
    """The view cues are judged in: a forced ``setting`` wins over what was ``detected``."""
    if setting in ("side", "front"):
        return setting
    return view_name(detected)


def detect_view(keypoints: np.ndarray, *, min_score: float = 0.3) -> str | None:
    """Classify ``(N, 17, 3)`` COCO keypoints (e.g. one stride's frames) as side or front."""
    return view_name(classify_view(keypoints, min_score=min_score))


class ViewTracker:
    """A steady view across strides: a fixed camera does not change view from stride to stride.

    Each stride's classifier answer goes to :meth:`update`.  The first confident answer sets
    the view; a different view takes over only after ``switch_after`` confident answers in a
    row (the runner really turned, or the camera was moved); unconfident or unknown answers
    (a stride where the runner was half hidden) keep the current view.  A forced ``setting``
    ("side"/"front") always wins.  Plain state, no clock.

    Trackside is mounted beside the track, so a side view is what to expect: a *first* answer
    of "front" sets the view at once only when it is confident (``front_confidence``);
    otherwise it must be seen ``switch_after`` times in a row like any other change.  (One
    stride seen half through a runner entering the frame must not make every side cue
    unknown and every front cue judged.)
    """

    def __init__(
        self,
        setting: str = "auto",
        *,
        switch_after: int = 2,
        min_confidence: float = MIN_VIEW_CONFIDENCE,
        front_confidence: float = 0.5,
    ) -> None:
        self.setting = setting
        self.switch_after = switch_after
        self.min_confidence = min_confidence
        self.front_confidence = front_confidence
        self.current: str | None = None
        self._candidate: str | None = None
        self._count = 0

    def update(self, estimate: ViewEstimate | CameraView | str | None) -> str | None:
        """Fold in one stride's estimate; returns the view to judge that stride in."""
        if self.setting in ("side", "front"):
            return self.setting
        seen = view_name(estimate, self.min_confidence)
        confidence = estimate.confidence if isinstance(estimate, ViewEstimate) else 1.0
        if seen is None or seen == self.current:
            self._candidate, self._count = None, 0
        elif self.current is None and (seen == "side" or confidence >= self.front_confidence):
            self.current, self._candidate, self._count = seen, None, 0
        else:
            self._count = self._count + 1 if seen == self._candidate else 1
            self._candidate = seen
            if self._count >= self.switch_after:
                self.current, self._candidate, self._count = seen, None, 0
        return self.current

    def reset(self) -> None:
        """Forget the view (a new session, or the camera was moved)."""
        self.current, self._candidate, self._count = None, None, 0
