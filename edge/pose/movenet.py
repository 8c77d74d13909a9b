"""MoveNet SinglePose through a TFLite interpreter: one frame in, 17 keypoints out.

::

    estimator = PoseEstimator(resolve_model_path("movenet_lightning_int8"), num_threads=2)
    for frame in source.frames():
        pose = estimator.estimate(frame)  # keypoints in frame.image pixels

The variant (Lightning 192 px or Thunder 256 px; int8 with ``uint8`` input or float16 with
``float32`` input) is read from the model itself.  Each frame is resampled once, straight
from the source image to the model's square input, either letterboxed (whole frame, black
padding) or cropped around the runner found in the previous frame (see :mod:`edge.pose.crop`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.errors import ModelError
from edge.pose.crop import (
    CropTracker,
    input_matrix,
    letterbox_box,
    model_output_to_source,
    prefer_challenger,
)
from edge.pose.models import load_manifest, spec_for_file, verify_model_file
from edge.pose.runtime import load_interpreter
from edge.types import NUM_KEYPOINTS, CropBox, Frame, Pose

OUTPUT_SHAPE = (1, 1, NUM_KEYPOINTS, 3)
INPUT_DTYPES = (np.uint8, np.float32)
VARIANTS = {192: "lightning", 256: "thunder"}


def check_signature(
    path: str | os.PathLike[str],
    inputs: Sequence[dict[str, Any]],
    outputs: Sequence[dict[str, Any]],
) -> tuple[int, np.dtype]:
    """Check the interpreter's tensor details look like MoveNet SinglePose.

    Expects one input ``[1, N, N, 3]`` of ``uint8`` or ``float32`` and one ``float32`` output
    ``[1, 1, 17, 3]``.  Returns ``(N, input dtype)``; raises :class:`ModelError` otherwise.
    """

    def describe(details: Sequence[dict[str, Any]]) -> str:
        return (
            ", ".join(f"{list(map(int, d['shape']))} {np.dtype(d['dtype']).name}" for d in details)
            or "nothing"
        )

    expected = "one input [1, N, N, 3] uint8 or float32 and one output [1, 1, 17, 3] float32"
    problem = f"{path}: unexpected input/output signature: expected {expected}, got "
    got = f"inputs {describe(inputs)}; outputs {describe(outputs)}"
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelError(problem + got)
    shape = tuple(int(v) for v in inputs[0]["shape"])
    dtype = np.dtype(inputs[0]["dtype"])
    square = len(shape) == 4 and shape[0] == 1 and shape[1] == shape[2] > 0 and shape[3] == 3
    out_shape = tuple(int(v) for v in outputs[0]["shape"])
    if (
        not square
        or dtype not in INPUT_DTYPES
        or out_shape != OUTPUT_SHAPE
        or np.dtype(outputs[0]["dtype"]) != np.float32
    ):
        raise ModelError(problem + got)
    return shape[1], dtype


def variant_name(input_size: int, input_dtype: np.dtype) -> str:
    """E.g. ``"lightning int8"``: MoveNet's float16 files take float32 input, int8 ones uint8."""
    size = VARIANTS.get(input_size, f"{input_size}px")
    return f"{size} {'int8' if np.dtype(input_dtype) == np.uint8 else 'float16'}"


class PoseEstimator:
    """Runs MoveNet SinglePose on frames, optionally tracking a crop around the runner.

    :param model_path: the ``.tflite`` file (see :func:`edge.pose.models.resolve_model_path`).
    :param runtime: ``"auto"``, ``"ai-edge-litert"``, ``"tflite-runtime"`` or ``"tensorflow"``.
    :param num_threads: interpreter CPU threads.
    :param delegate: optional delegate library, e.g. ``"libedgetpu.so.1"`` for a Coral.
    :param crop_tracking: crop the next frame around a confidently detected runner.
    :param min_keypoint_score: score a torso keypoint needs for the crop to follow it.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str],
        *,
        runtime: str = "auto",
        num_threads: int = 2,
        delegate: str | os.PathLike[str] | None = None,
        crop_tracking: bool = True,
        min_keypoint_score: float = 0.3,
    ):
        self.model_path = Path(model_path)
        try:
            manifest = load_manifest()
        except ModelError:
            manifest = {}  # no manifest (e.g. installed elsewhere): check format only
        verify_model_file(self.model_path, spec_for_file(self.model_path, manifest))
        self._interpreter, self.runtime_label = load_interpreter(
            self.model_path, runtime=runtime, num_threads=num_threads, delegate=delegate
        )
        inputs = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        self.input_size, self.input_dtype = check_signature(self.model_path, inputs, outputs)
        self.variant = variant_name(self.input_size, self.input_dtype)
        self._input_index = inputs[0]["index"]
        self._output_index = outputs[0]["index"]
        n = self.input_size
        self._pixels = np.zeros((n, n, 3), dtype=np.uint8)
        self._input = np.zeros((1, n, n, 3), dtype=self.input_dtype)
        self.crop_tracking = crop_tracking
        self._tracker = CropTracker(min_score=min_keypoint_score)
        self._next_crop: CropBox | None = None
        # Counters for benchmarks and status: model runs, whole-frame rechecks, runner switches.
        self.inferences = self.rechecks = self.switches = 0

    def reset_tracking(self) -> None:
        """Forget the runner's position: the next frame is seen whole (new clip, new runner)."""
        self._tracker.reset()
        self._next_crop = None

    @property
    def next_crop(self) -> CropBox | None:
        """Where the next frame will be cropped (``None``: whole frame, letterboxed)."""
        return self._next_crop

    def prepare(self, image: np.ndarray, box: CropBox, image_scale=(1.0, 1.0)) -> np.ndarray:
        """Resample ``box`` (source pixels) of ``image`` to the model's input, in one warp."""
        n = self.input_size
        warped = cv2.warpAffine(
            image,
            input_matrix(box, n, image_scale),
            (n, n),
            dst=self._pixels,
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=(0, 0, 0),
        )
        self._input[0] = warped  # casts to float32 0..255 for float models
        return self._input

    def invoke(self, model_input: np.ndarray) -> np.ndarray:
        """Run the model on a prepared ``[1, N, N, 3]`` input; return raw (17, 3) y, x, score."""
        self._interpreter.set_tensor(self._input_index, model_input)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._output_index)[0, 0]

    def estimate(self, frame: Frame) -> Pose:
        """Find the runner's keypoints in ``frame`` (source pixels of ``frame.image``)."""
        size = (frame.width, frame.height)
        crop = self._next_crop if self.crop_tracking else None
        image = frame.image if frame.inference_image is None else frame.inference_image
        scale = (image.shape[1] / size[0], image.shape[0] / size[1])
        keypoints = self._look(image, scale, crop or letterbox_box(*size), size)
        if self.crop_tracking:
            if crop is not None and self._tracker.recheck_due:
                keypoints, crop = self._recheck(image, scale, crop, keypoints, size)
            else:
                self._next_crop = self._tracker.update(keypoints, size)
        return Pose(
            timestamp=frame.timestamp,
            frame_index=frame.index,
            keypoints=keypoints,
            image_size=size,
            crop=crop,
        )

    def _look(self, image: np.ndarray, scale, box: CropBox, size: tuple[int, int]) -> np.ndarray:
        """One inference on ``box`` of ``image``: (17, 3) keypoints in source pixels."""
        self.inferences += 1
        return model_output_to_source(self.invoke(self.prepare(image, box, scale)), box, size)

    def _recheck(self, image, scale, crop: CropBox, keypoints: np.ndarray, size):
        """The lock is poor: is a better runner elsewhere in this frame?  (Up to 2 more looks.)

        The model looks through the tracker's next search view (the letterbox or a tile of a
        wide frame); if that shows a runner outside the current crop, the model looks at them
        through a crop of their own, and the better-scoring of the two crops on this same
        frame is followed from now on.
        """
        self.rechecks += 1
        view = self._tracker.search_view(size)
        searched = self._look(image, scale, view, size)
        challenger = self._tracker.challenger(searched, crop, size)
        if challenger is not None:
            candidate = self._look(image, scale, challenger, size)
            if prefer_challenger(keypoints, candidate, self._tracker.switch_margin):
                self.switches += 1
                self._next_crop = self._tracker.switch(candidate, size)
                return candidate, challenger
        self._next_crop = self._tracker.update(keypoints, size)
        return keypoints, crop
