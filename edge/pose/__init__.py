"""The pose stage: MoveNet SinglePose on each frame, keypoints in source pixels.

:class:`PoseEstimator` is the one object the pipeline needs; :mod:`edge.pose.models` finds,
checks and fetches model files; :mod:`edge.pose.runtime` picks the TFLite interpreter;
:mod:`edge.pose.crop` decides where the model looks.
"""

from edge.pose.crop import CropTracker, crop_from_pose, letterbox_box
from edge.pose.models import (
    DEFAULT_MODEL,
    ModelSpec,
    fetch_model,
    load_manifest,
    resolve_model_path,
    verify_model_file,
)
from edge.pose.movenet import PoseEstimator
from edge.pose.runtime import available_runtimes, load_interpreter

__all__ = [
    "DEFAULT_MODEL",
    "CropTracker",
    "ModelSpec",
    "PoseEstimator",
    "available_runtimes",
    "crop_from_pose",
    "fetch_model",
    "letterbox_box",
    "load_interpreter",
    "load_manifest",
    "resolve_model_path",
    "verify_model_file",
]
