"""The pass clips of the session in progress: :class:`~edge.outputs.pass_clips.PassClipRecorder`
told which session and athlete each pass belongs to."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from edge.outputs.pass_clips import PassClipRecorder
from edge.types import Pose, StrideReport


class SessionClips:
    """``session`` gives ``(session_id, athlete)`` now (the daemon's session control)."""

    def __init__(
        self, recorder: PassClipRecorder, session: Callable[[], tuple[str | None, str | None]]
    ) -> None:
        self.recorder = recorder
        self.session = session

    def add(self, image: np.ndarray, pose: Pose) -> None:
        self.recorder.add(image, pose)

    def stride(self, report: StrideReport) -> None:
        self.recorder.stride(report)

    def end_pass(self, pass_index: int) -> None:
        session_id, athlete = self.session()
        self.recorder.end_pass(pass_index, session_id=session_id, athlete=athlete)

    def close(self) -> None:
        self.recorder.close()
