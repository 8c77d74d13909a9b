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

:class:`ClipStore` is the clips folder: its listing for the dashboard, and two disk limits:
the folder's budget (``clips_max_megabytes``) and the free space the file system must keep
(``results.min_free_megabytes``, the room the MQTT outbox and the results file rely on).
Before a clip is encoded the oldest clips are deleted to make room for one more of the
last one's size; if even an empty folder would leave too little free, the clip is not
written.  After it is written the oldest go until both limits hold (the new clip itself
last).  Either way the log says so and :meth:`ClipStore.problems` tells the device status.
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
from edge.outputs.sqlite_files import free_bytes
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
    """The clips folder, kept within ``max_bytes`` and leaving ``min_free_bytes`` free on its
    file system (oldest clips deleted first).  ``free_space`` tells the free bytes of the
    folder's file system (``None``: unknown, so not limited); tests pass a fake."""

    def __init__(
        self,
        directory: Path,
        *,
        max_bytes: int,
        min_free_bytes: int = 0,
        free_space: Callable[[Path], int | None] = free_bytes,
    ) -> None:
        if max_bytes < 0 or min_free_bytes < 0:
            raise ValueError(
                f"clip limits must be >= 0 bytes, got max_bytes={max_bytes}, "
                f"min_free_bytes={min_free_bytes}"
            )
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.min_free_bytes = min_free_bytes
        self.free_space = free_space
        self.problem = ""  # why the last clip was not written or not kept ("" when it was)

    def _clips(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        clips = [p for p in self.directory.iterdir() if p.suffix in CLIP_SUFFIXES]
        return sorted(clips, key=lambda p: (p.stat().st_mtime, p.name))

    def used_bytes(self) -> int:
        return sum(_clip_bytes(p) for p in self._clips())

    def newest_bytes(self) -> int:
        """The size of the newest clip (and sidecar): what the next one will likely take."""
        clips = self._clips()
        return _clip_bytes(clips[-1]) if clips else 0

    def problems(self) -> list[str]:
        """What keeps clips from being written or kept now, for the device status."""
        return [self.problem] if self.problem else []

    def _free(self) -> int | None:
        return self.free_space(self.directory)

    def make_room(self, expected_bytes: int) -> bool:
        """Before a clip of about ``expected_bytes`` is written: delete the oldest clips
        until writing it leaves ``min_free_bytes`` free.  ``False`` (and nothing deleted)
        when even deleting every clip would not: the clip is then not to be written."""
        free = self._free()
        if free is None or free - expected_bytes >= self.min_free_bytes:
            return True
        clips = self._clips()
        if free + sum(_clip_bytes(p) for p in clips) - expected_bytes < self.min_free_bytes:
            self.problem = (
                f"pass clips paused: {free / 1e6:.1f} MB free on the disk, below the "
                f"{self.min_free_bytes / 1e6:.1f} MB kept free plus one clip "
                f"({expected_bytes / 1e6:.1f} MB)"
            )
            log.warning("%s: %s", self.directory, self.problem)
            return False
        deleted = []
        while clips and free - expected_bytes < self.min_free_bytes:
            oldest = clips.pop(0)
            free += _clip_bytes(oldest)
            _delete(oldest)
            deleted.append(oldest.name)
        log.info(
            "pass clips %s: %d oldest clip(s) deleted to keep %.0f MB free on the disk",
            self.directory,
            len(deleted),
            self.min_free_bytes / 1e6,
        )
        return True

    def enforce_budget(self) -> list[str]:
        """Delete the oldest clips (and their sidecars) until the folder fits its budget
        and the disk has ``min_free_bytes`` free; returns the names deleted.  A newest clip
        larger than the whole budget, or than all the free space there is, goes too."""
        deleted = []
        clips = self._clips()
        used = sum(_clip_bytes(p) for p in clips)
        free = self._free()
        # Deleting a clip frees its bytes: counted here, not asked again of the file system
        # (whose answer may lag, and is a fake in tests).
        short_of_free = self.min_free_bytes - free if free is not None else 0
        while clips and (used > self.max_bytes or short_of_free > 0):
            oldest = clips.pop(0)
            size = _clip_bytes(oldest)
            used -= size
            short_of_free -= size
            _delete(oldest)
            deleted.append(oldest.name)
        self.problem = ""
        if short_of_free > 0:
            self.problem = (
                f"pass clips paused: {(self.min_free_bytes - short_of_free) / 1e6:.1f} MB free "
                f"on the disk, below the {self.min_free_bytes / 1e6:.1f} MB kept free"
            )
            log.warning("%s: %s", self.directory, self.problem)
        elif deleted:
            log.info(
                "pass clips %s: deleted %d oldest clip(s) to keep within %.0f MB and "
                "%.0f MB free on the disk",
                self.directory,
                len(deleted),
                self.max_bytes / 1e6,
                self.min_free_bytes / 1e6,
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


def _clip_bytes(clip: Path) -> int:
    try:
        size = clip.stat().st_size
    except OSError:
        size = 0
    return size + _sidecar_size(clip)


def _delete(clip: Path) -> None:
    clip.unlink(missing_ok=True)
    clip.with_suffix(".json").unlink(missing_ok=True)


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
        self.not_written = 0  # passes not written for want of free disk space

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

    def problems(self) -> list[str]:
        """What keeps pass clips from being written now (the device status says it)."""
        return self.store.problems()

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
        if not self.store.make_room(self.store.newest_bytes()):
            self.not_written += 1
            return
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
