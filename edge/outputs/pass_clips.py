"""The pass on video: a short clip of each pass with the skeleton and the verdicts drawn in.

A coach wants to *see* the stride the page talks about, in slow motion, frame by frame.
:class:`PassClipRecorder` keeps the analysed frames of the pass in progress: small copies
(the longer side ``side`` px: ~44 MB for 8 s at 25 fps at 360 px), at most ``seconds`` of
them, so on a treadmill, where one pass lasts the whole session, the last ``seconds``.
When the pass ends a worker thread draws each frame's pose and its stride's verdicts
(:mod:`edge.outputs.annotate`) and encodes the clip (:class:`~edge.outputs.video.VideoWriter`:
H.264 MP4 where this machine has an encoder, else WebM), so the analysis thread never
waits for the encoder.  Beside each clip a small JSON file says what it shows (session,
athlete, pass, times, size).

:class:`ClipStore` is the clips folder: its listing for the dashboard, and the disk budget
(``max_megabytes``): after every new clip the oldest are deleted until the folder fits.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.outputs.annotate import draw_pose, draw_stride, stride_at
from edge.outputs.video import VideoError, VideoWriter, preferred_suffix
from edge.types import Pose, StrideReport

log = logging.getLogger(__name__)

CLIP_SUFFIXES = (".mp4", ".webm")
_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,120}")


@dataclass(frozen=True, slots=True)
class ClipInfo:
    """What one clip shows (its JSON sidecar)."""

    name: str  # file name in the clips folder
    session_id: str | None
    athlete: str | None
    device_id: str
    pass_index: int
    start_s: float  # source time of the first frame
    end_s: float
    frames: int
    bytes: int
    created: float  # wall-clock Unix time
    codec: str = ""

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


class ClipStore:
    """The clips folder, kept within ``max_bytes`` (oldest clips deleted first)."""

    def __init__(self, directory: Path, *, max_bytes: int) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes

    def _clips(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        clips = [p for p in self.directory.iterdir() if p.suffix in CLIP_SUFFIXES]
        return sorted(clips, key=lambda p: (p.stat().st_mtime, p.name))

    def used_bytes(self) -> int:
        return sum(p.stat().st_size + _sidecar_size(p) for p in self._clips())

    def enforce_budget(self) -> list[str]:
        """Delete the oldest clips (and their sidecars) until the folder fits the budget;
        returns the names deleted.  A newest clip larger than the whole budget goes too."""
        deleted = []
        clips = self._clips()
        used = sum(p.stat().st_size + _sidecar_size(p) for p in clips)
        while clips and used > self.max_bytes:
            oldest = clips.pop(0)
            used -= oldest.stat().st_size + _sidecar_size(oldest)
            oldest.unlink(missing_ok=True)
            oldest.with_suffix(".json").unlink(missing_ok=True)
            deleted.append(oldest.name)
        if deleted:
            log.info(
                "pass clips %s: over the %.0f MB budget: deleted %d oldest clip(s)",
                self.directory,
                self.max_bytes / 1e6,
                len(deleted),
            )
        return deleted

    def list(self, limit: int = 50) -> list[ClipInfo]:
        """The clips kept, newest first (those whose sidecar can be read)."""
        out = []
        for clip in reversed(self._clips()):
            try:
                data = json.loads(clip.with_suffix(".json").read_text())
                out.append(ClipInfo(**data))
            except (OSError, ValueError, TypeError):
                continue
            if len(out) >= limit:
                break
        return out

    def path_of(self, name: str) -> Path | None:
        """The file of a clip named in a request, only if it is one of ours."""
        if not _NAME.fullmatch(name) or Path(name).suffix not in CLIP_SUFFIXES:
            return None
        path = self.directory / name
        return path if path.is_file() else None


def _sidecar_size(clip: Path) -> int:
    try:
        return clip.with_suffix(".json").stat().st_size
    except OSError:
        return 0


@dataclass
class _Pass:
    frames: deque[tuple[np.ndarray, Pose]]
    reports: list[StrideReport] = field(default_factory=list)


def small_copy(image: np.ndarray, pose: Pose, side: int) -> tuple[np.ndarray, Pose]:
    """``image`` scaled so its longer side is ``side`` px (never up), its pose with it."""
    scale = side / max(image.shape[:2])
    if scale >= 1.0:
        return image.copy(), pose
    size = (max(2, round(image.shape[1] * scale)), max(2, round(image.shape[0] * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    keypoints = pose.keypoints.copy()
    keypoints[:, :2] *= scale
    return small, Pose(pose.timestamp, pose.frame_index, keypoints, size)


def render_clip(
    path: Path,
    frames: list[tuple[np.ndarray, Pose]],
    reports: list[StrideReport],
    *,
    min_score: float,
) -> VideoWriter:
    """Write ``frames`` with their pose and their stride's verdicts to ``path``."""
    times = [p.timestamp for _, p in frames]
    span = times[-1] - times[0]
    fps = (len(frames) - 1) / span if span > 0 else 10.0
    first = frames[0][0]
    with VideoWriter(path, fps=max(1.0, fps), size=(first.shape[1], first.shape[0])) as video:
        for image, pose in frames:
            drawn = draw_pose(image, pose, min_score=min_score)
            report = stride_at(reports, pose.timestamp)
            if report is not None:
                drawn = draw_stride(drawn, report)
            video.write(drawn, pose.timestamp)
    return video


class PassClipRecorder:
    """Records the pass in progress and writes its clip when it ends (see the module doc).

    Call :meth:`add` for every analysed frame while a runner is in view, :meth:`stride`
    for each judged stride, :meth:`end_pass` when the pass ends and :meth:`close` at the
    end.  ``on_clip`` is told of every clip written (from the worker thread).
    """

    def __init__(
        self,
        store: ClipStore,
        *,
        device_id: str,
        seconds: float = 8.0,
        side: int = 360,
        max_frames: int = 300,
        min_score: float = 0.3,
        suffix: str | None = None,
        on_clip: Callable[[ClipInfo], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.device_id = device_id
        self.seconds = seconds
        self.side = side
        self.max_frames = max_frames
        self.min_score = min_score
        self.suffix = suffix or preferred_suffix()
        self.on_clip = on_clip
        self.clock = clock
        self._pass: _Pass | None = None
        self._jobs: queue.Queue[tuple[Any, ...] | None] = queue.Queue(maxsize=2)
        self._worker = threading.Thread(target=self._work, name="pass-clips", daemon=True)
        self._worker.start()
        self.written: list[ClipInfo] = []
        self.skipped = 0  # passes not written because the worker was still busy

    def add(self, image: np.ndarray, pose: Pose) -> None:
        if self._pass is None:
            self._pass = _Pass(deque(maxlen=self.max_frames))
        frames = self._pass.frames
        frames.append(small_copy(image, pose, self.side))
        while frames and frames[0][1].timestamp < pose.timestamp - self.seconds:
            frames.popleft()

    def stride(self, report: StrideReport) -> None:
        if self._pass is not None:
            self._pass.reports.append(report)

    def end_pass(self, pass_index: int, *, session_id: str | None, athlete: str | None) -> None:
        """Hand the pass to the worker (dropped, and counted, if it is still busy)."""
        done, self._pass = self._pass, None
        if done is None or len(done.frames) < 2:
            return
        job = (list(done.frames), done.reports, pass_index, session_id, athlete)
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            self.skipped += 1
            log.warning("pass %d: clip not written (the encoder is still busy)", pass_index)

    def close(self, timeout: float = 30.0) -> None:
        """Finish the clips queued, then stop the worker."""
        self._jobs.put(None)
        self._worker.join(timeout)

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                self._write(*job)
            except (VideoError, OSError) as exc:
                log.warning("pass clip not written: %s", exc)
            except Exception:  # a clip is never worth the service
                log.exception("pass clip failed")

    def _write(
        self,
        frames: list[tuple[np.ndarray, Pose]],
        reports: list[StrideReport],
        pass_index: int,
        session_id: str | None,
        athlete: str | None,
    ) -> None:
        self.store.directory.mkdir(parents=True, exist_ok=True)
        created = self.clock()
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(created))
        session = re.sub(r"[^A-Za-z0-9_.-]", "-", session_id or "nosession")[:64]
        path = self.store.directory / f"{session}-p{pass_index}-{stamp}{self.suffix}"
        partial = path.with_name(path.stem + ".part" + self.suffix)
        video = render_clip(partial, frames, reports, min_score=self.min_score)
        partial.replace(path)  # a half-written clip is never listed
        info = ClipInfo(
            name=path.name,
            session_id=session_id,
            athlete=athlete,
            device_id=self.device_id,
            pass_index=pass_index,
            start_s=frames[0][1].timestamp,
            end_s=frames[-1][1].timestamp,
            frames=video.frames,
            bytes=path.stat().st_size,
            created=created,
            codec=video.format.describe(),
        )
        path.with_suffix(".json").write_text(json.dumps(asdict(info)))
        self.store.enforce_budget()
        if path.exists():
            self.written.append(info)
            if self.on_clip is not None:
                self.on_clip(info)
