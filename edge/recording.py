"""Keypoint recordings: the JSON Lines files written by ``trackside replay``.

One header line, then one line per frame::

    {"trackside_keypoints": 1, "source": "clip.mp4", "image_size": [520, 293],
     "model": "movenet_lightning_int8", "runtime": "ai-edge-litert 2.3.0",
     "keypoint_names": ["nose", ...]}
    {"frame": 0, "t": 0.0, "keypoints": [[x, y, score], ... 17 rows], "crop": [x0, y0, x1, y1]}

``t`` is the source timestamp in seconds; ``x``/``y`` are source pixels; ``crop`` is
``null`` when the model saw the whole (letterboxed) frame.  Reading returns plain numpy
arrays so the gait engine can work on a whole recording at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from edge.errors import TracksideError
from edge.types import KEYPOINT_NAMES, NUM_KEYPOINTS, Pose

FORMAT_VERSION = 1


class RecordingError(TracksideError):
    """A keypoint recording is missing or malformed."""


@dataclass(frozen=True)
class Recording:
    """A whole keypoint recording as arrays (frames along the first axis)."""

    header: dict[str, Any]
    frame_index: np.ndarray  # (N,) int
    timestamps: np.ndarray  # (N,) float64 seconds
    keypoints: np.ndarray  # (N, 17, 3) float32: x, y, score
    image_size: tuple[int, int]

    def __len__(self) -> int:
        return len(self.timestamps)

    def poses(self) -> Iterator[Pose]:
        for i in range(len(self)):
            yield Pose(
                timestamp=float(self.timestamps[i]),
                frame_index=int(self.frame_index[i]),
                keypoints=self.keypoints[i],
                image_size=self.image_size,
            )


class RecordingWriter:
    """Streams poses to a JSON Lines file, flushing each line so a crash loses at most one."""

    def __init__(self, path: Path, *, source: str, image_size: tuple[int, int], **meta: Any):
        self.path = Path(path)
        self._file: IO[str] = self.path.open("w", encoding="utf-8")
        header = {
            "trackside_keypoints": FORMAT_VERSION,
            "source": source,
            "image_size": list(image_size),
            "keypoint_names": list(KEYPOINT_NAMES),
            **meta,
        }
        self._write(header)

    def _write(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self._file.flush()

    def write(self, pose: Pose) -> None:
        kp = [
            [round(float(x), 2), round(float(y), 2), round(float(s), 4)]
            for x, y, s in pose.keypoints
        ]
        self._write(
            {
                "frame": pose.frame_index,
                "t": round(pose.timestamp, 6),
                "keypoints": kp,
                "crop": pose.crop.as_list() if pose.crop else None,
            }
        )

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_recording(path: str | Path) -> Recording:
    """Load a recording; every problem names the file and line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise RecordingError(f"{path}: no such keypoint recording") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordingError(f"{path}: cannot read keypoint recording ({exc})") from None
    if not lines:
        raise RecordingError(f"{path}: empty file, expected a trackside keypoint recording")

    def parse(lineno: int, text: str) -> dict[str, Any]:
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RecordingError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
        if not isinstance(value, dict):
            raise RecordingError(f"{path}:{lineno}: expected a JSON object")
        return value

    header = parse(1, lines[0])
    if header.get("trackside_keypoints") != FORMAT_VERSION:
        raise RecordingError(
            f"{path}:1: not a trackside keypoint recording (expected "
            f'"trackside_keypoints": {FORMAT_VERSION} in the header line)'
        )
    size = header.get("image_size")
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) for v in size)):
        raise RecordingError(f"{path}:1: image_size: expected [width, height] integers")

    frames, times, keypoints = [], [], []
    for lineno, text in enumerate(lines[1:], start=2):
        if not text.strip():
            continue
        rec = parse(lineno, text)
        try:
            kp = np.asarray(rec["keypoints"], dtype=np.float32)
            t = float(rec["t"])
            frame = int(rec["frame"])
        except (KeyError, TypeError, ValueError) as exc:
            raise RecordingError(
                f"{path}:{lineno}: expected frame, t and keypoints fields ({exc})"
            ) from None
        if kp.shape != (NUM_KEYPOINTS, 3):
            raise RecordingError(
                f"{path}:{lineno}: keypoints: expected {NUM_KEYPOINTS}×3 values, "
                f"got shape {kp.shape}"
            )
        frames.append(frame)
        times.append(t)
        keypoints.append(kp)

    return Recording(
        header=header,
        frame_index=np.asarray(frames, dtype=np.int64),
        timestamps=np.asarray(times, dtype=np.float64),
        keypoints=np.stack(keypoints) if keypoints else np.zeros((0, NUM_KEYPOINTS, 3), np.float32),
        image_size=(size[0], size[1]),
    )
