"""Video files a browser plays: H.264 in MP4, or VP9/VP8 in WebM, from RGB frames.

One small writer for every video Trackside makes (``trackside replay --annotate``, and the
coach's pass clips): it knows nothing of poses or command lines.  The file name's suffix
picks the container; the best encoder this machine has for it is found once per process:

========  ==========================================================  ===================
suffix    encoders tried, best first                                   browsers play it
========  ==========================================================  ===================
``.mp4``  H.264: PyAV's ``libx264``, ``libopenh264``, ``h264_v4l2m2m``   yes (and QuickTime)
          (the Pi 4's hardware encoder), OpenCV's ``avc1``
          then MPEG-4 Part 2 (OpenCV ``mp4v``), with a warning          often not
``.webm`` VP9: PyAV's ``libvpx-vp9`` (real-time settings);               yes (not QuickTime)
          VP8: OpenCV's ``VP80``
========  ==========================================================  ===================

PyAV (``pip install "trackside[video]"``) brings FFmpeg with libx264; the opencv-python
wheels' FFmpeg has no H.264 encoder (only ``h264_v4l2m2m``, which needs the Pi 4's encoder
device).  Measured on a 520x294 clip (x86-64, 2 cores; ``scripts/bench_video.py``):
libx264 ``veryfast`` 3.3 ms a frame and 117 KiB for 90 frames; OpenCV ``mp4v`` 1.9 ms,
635 KiB; OpenCV VP8 39 ms, 1.5 MiB; OpenCV VP9 196 ms (far too slow for a Pi, so OpenCV's
VP9 is not used); PyAV VP9 real-time 6.3 ms, 229 KiB.

:func:`preferred_suffix` tells a caller that chooses the name (pass clips) which container
plays in a browser here.  Frames may carry their source timestamps, so a clip with dropped
or uneven frames (a GIF's 50/60 ms delays, a camera under load) keeps its real timing
(PyAV); OpenCV writes a constant rate.
"""

from __future__ import annotations

import functools
import logging
import math
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from edge.errors import TracksideError
from edge.nativelog import native_stderr_to

log = logging.getLogger(__name__)

_PTS_PER_SECOND = 1000  # PyAV frame timestamps in milliseconds


class VideoError(TracksideError):
    """A video file cannot be written (directory, name, or no encoder for the container)."""


@dataclass(frozen=True)
class VideoFormat:
    """What a writer produces: container, codec and the encoder behind it."""

    container: str  # "mp4" or "webm"
    codec: str  # "h264", "vp9", "vp8", "mpeg4"
    encoder: str  # e.g. "libx264", "avc1"
    backend: str  # "pyav" or "opencv"
    browser_playable: bool

    def describe(self) -> str:
        names = {"h264": "H.264", "vp9": "VP9", "vp8": "VP8", "mpeg4": "MPEG-4 Part 2"}
        return f"{names.get(self.codec, self.codec)} in {self.container.upper()}, {self.encoder}"


# (container, codec, encoder, options) in order of preference; options are PyAV's.
_PYAV_CANDIDATES: tuple[tuple[str, str, str, dict[str, str]], ...] = (
    ("mp4", "h264", "libx264", {"preset": "veryfast", "crf": "23"}),
    ("mp4", "h264", "libopenh264", {}),
    ("mp4", "h264", "h264_v4l2m2m", {}),
    ("webm", "vp9", "libvpx-vp9", {"deadline": "realtime", "cpu-used": "8", "crf": "32"}),
)
_OPENCV_CANDIDATES: tuple[tuple[str, str, str, bool], ...] = (
    ("mp4", "h264", "avc1", True),
    ("webm", "vp8", "VP80", True),
    ("mp4", "mpeg4", "mp4v", False),
)
_PYAV_OPTIONS = {encoder: options for _, _, encoder, options in _PYAV_CANDIDATES}


def _pyav() -> Any:
    try:
        import av
    except ImportError:
        return None
    return av


def _pyav_encoder_works(av: Any, encoder: str) -> bool:
    """Whether ``encoder`` opens and encodes a frame (a listed one may lack its device)."""
    try:
        context = av.CodecContext.create(encoder, "w")
        context.width, context.height, context.pix_fmt = 64, 64, "yuv420p"
        context.time_base = Fraction(1, 25)
        context.options = dict(_PYAV_OPTIONS.get(encoder, {}))
        with native_stderr_to(log):
            context.open()
            frame = av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")
            list(context.encode(frame.reformat(format="yuv420p")))
            list(context.encode(None))
        return True
    except Exception:  # unknown codec, no device, library refusal: not usable here
        return False


def _opencv_encoder_works(container: str, fourcc: str) -> bool:
    with tempfile.TemporaryDirectory() as tmp, native_stderr_to(log):
        writer = cv2.VideoWriter(
            str(Path(tmp) / f"probe.{container}"), cv2.VideoWriter.fourcc(*fourcc), 25.0, (64, 64)
        )
        ok = writer.isOpened()
        writer.release()
    return ok


@functools.cache
def available_formats() -> tuple[VideoFormat, ...]:
    """Every format this machine can write, best first (probed once per process)."""
    found = []
    av = _pyav()
    if av is not None:
        for container, codec, encoder, _ in _PYAV_CANDIDATES:
            if _pyav_encoder_works(av, encoder):
                found.append(VideoFormat(container, codec, encoder, "pyav", True))
    for container, codec, fourcc, playable in _OPENCV_CANDIDATES:
        if _opencv_encoder_works(container, fourcc):
            found.append(VideoFormat(container, codec, fourcc, "opencv", playable))
    return tuple(found)


def format_for(path: str | Path) -> VideoFormat:
    """The best format for ``path``'s container (its suffix), or :class:`VideoError`."""
    container = Path(path).suffix.lower().lstrip(".")
    if container not in ("mp4", "webm"):
        raise VideoError(f"{path}: expected a .mp4 or .webm file name, got {Path(path).suffix!r}")
    for fmt in available_formats():
        if fmt.container == container:
            return fmt
    raise VideoError(f"{path}: no {container.upper()} encoder on this machine")


def preferred_suffix() -> str:
    """``".mp4"`` when H.264 can be written here, else ``".webm"``: both play in browsers."""
    for fmt in available_formats():
        if fmt.browser_playable:
            return f".{fmt.container}"
    return ".mp4"


def check_video_path(path: str | Path) -> VideoFormat:
    """The format ``path`` will get, after checking its name and folder (:class:`VideoError`)."""
    path = Path(path)
    fmt = format_for(path)
    if not path.parent.is_dir():
        raise VideoError(f"{path}: cannot write video: {path.parent} is not a folder")
    return fmt


class _Encoder(Protocol):
    def write(self, bgr_or_rgb: np.ndarray, timestamp: float | None) -> None: ...

    def close(self) -> None: ...


class _PyAVEncoder:
    def __init__(self, path: Path, fmt: VideoFormat, fps: float, size: tuple[int, int]) -> None:
        av = _pyav()
        options = {"movflags": "+faststart"} if fmt.container == "mp4" else {}
        self._container = av.open(str(path), mode="w", options=options)
        rate = Fraction(fps).limit_denominator(1001)
        self._stream = self._container.add_stream(
            fmt.encoder, rate=rate, options=dict(_PYAV_OPTIONS.get(fmt.encoder, {}))
        )
        self._stream.width, self._stream.height = size
        self._stream.pix_fmt = "yuv420p"
        self._stream.codec_context.time_base = Fraction(1, _PTS_PER_SECOND)
        self._frame_ms = 1000.0 / fps
        self._origin: float | None = None
        self._last_pts = -1
        self._av = av

    def write(self, rgb: np.ndarray, timestamp: float | None) -> None:
        frame = self._av.VideoFrame.from_ndarray(rgb, format="rgb24")
        if timestamp is None:
            pts = self._last_pts + max(1, round(self._frame_ms))
        else:
            if self._origin is None:
                self._origin = timestamp
            pts = round((timestamp - self._origin) * _PTS_PER_SECOND)
        frame.pts = max(pts, self._last_pts + 1)  # strictly increasing, whatever came in
        frame.time_base = Fraction(1, _PTS_PER_SECOND)
        self._last_pts = frame.pts
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()


class _OpenCVEncoder:
    def __init__(self, path: Path, fmt: VideoFormat, fps: float, size: tuple[int, int]) -> None:
        with native_stderr_to(log):
            self._writer = cv2.VideoWriter(
                str(path), cv2.VideoWriter.fourcc(*fmt.encoder), float(fps), size
            )
        if not self._writer.isOpened():
            raise VideoError(f"{path}: cannot write video (is the directory writable?)")

    def write(self, rgb: np.ndarray, timestamp: float | None) -> None:
        self._writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        self._writer.release()


class VideoWriter:
    """Writes RGB frames of one size to ``path`` (``.mp4`` or ``.webm``; see the module doc).

    Video codecs need even dimensions, so an odd-sized frame gets one black row or column at
    the bottom or right rather than being rescaled.  ``fps`` is the nominal rate (used for
    frames written without a timestamp).  ``video_format`` (one of :func:`available_formats`)
    overrides the best one for the suffix (benchmarks, tests).  Raises :class:`VideoError`
    for a bad name, a directory that cannot be written, or a container no encoder here can
    write; warns when the result is a codec browsers may refuse.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        fps: float,
        size: tuple[int, int],
        video_format: VideoFormat | None = None,
    ) -> None:
        if not math.isfinite(fps) or fps <= 0:
            raise VideoError(f"{path}: frame rate must be positive, got {fps!r}")
        self.path = Path(path)
        self.size = size
        self.padded = (size[0] + size[0] % 2, size[1] + size[1] % 2)
        best = check_video_path(self.path)
        self.format = best if video_format is None else video_format
        self.frames = 0
        if not self.format.browser_playable:
            why = "no H.264 encoder here, so " if video_format is None else ""
            log.warning(
                "%s: %sthis is %s, which browsers and QuickTime often refuse; install PyAV "
                '(pip install "trackside[video]") for H.264, or write a .webm file instead',
                self.path,
                why,
                self.format.describe(),
            )
        encoder: _Encoder
        try:
            if self.format.backend == "pyav":
                encoder = _PyAVEncoder(self.path, self.format, fps, self.padded)
            else:
                encoder = _OpenCVEncoder(self.path, self.format, fps, self.padded)
        except OSError as exc:  # PyAV raises its errors as OSError subclasses
            raise VideoError(f"{self.path}: cannot write video ({exc})") from None
        self._encoder = encoder

    def write(self, image: np.ndarray, timestamp: float | None = None) -> None:
        """Add one RGB frame; ``timestamp`` (source seconds) keeps uneven timing (PyAV)."""
        if image.shape[1::-1] != self.size:
            raise VideoError(
                f"{self.path}: frame {self.frames} is {image.shape[1]}x{image.shape[0]}, "
                f"expected {self.size[0]}x{self.size[1]}"
            )
        pad_x, pad_y = self.padded[0] - image.shape[1], self.padded[1] - image.shape[0]
        if pad_x or pad_y:
            image = cv2.copyMakeBorder(image, 0, pad_y, 0, pad_x, cv2.BORDER_CONSTANT, value=0)
        self._encoder.write(np.ascontiguousarray(image), timestamp)
        self.frames += 1

    def close(self) -> None:
        self._encoder.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
