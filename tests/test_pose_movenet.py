"""The MoveNet pose stage on the real model and the real clips."""

from __future__ import annotations

import json
import os
import subprocess
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.errors import ModelError
from edge.pose.movenet import PoseEstimator, check_signature
from edge.types import Frame, Keypoint

REPO_ROOT = Path(__file__).resolve().parent.parent
MIN_SCORE = 0.3
LEG_PAIRS = (
    (Keypoint.LEFT_HIP, Keypoint.RIGHT_HIP),
    (Keypoint.LEFT_KNEE, Keypoint.RIGHT_KNEE),
    (Keypoint.LEFT_ANKLE, Keypoint.RIGHT_ANKLE),
)


@cache
def read_frames(path: Path, step: int = 1) -> tuple[np.ndarray, ...]:
    """Every ``step``-th frame of a clip as RGB arrays (decoded once per test session)."""
    capture = cv2.VideoCapture(str(path))
    frames = []
    index = 0
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        if index % step == 0:
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        index += 1
    capture.release()
    assert frames, f"could not decode {path}"
    return tuple(frames)


def run_clip(estimator: PoseEstimator, frames, fps: float = 25.0) -> np.ndarray:
    """(frames, 17, 3) keypoints for a clip, tracking from a fresh start."""
    estimator.reset_tracking()
    poses = [estimator.estimate(Frame(img, i / fps, i)) for i, img in enumerate(frames)]
    return np.stack([p.keypoints for p in poses])


@pytest.fixture(scope="module")
def estimator(lightning_model) -> PoseEstimator:
    return PoseEstimator(lightning_model, num_threads=2)


def test_estimator_reads_variant_from_the_model(estimator, lightning_model):
    assert estimator.input_size == 192
    assert estimator.input_dtype == np.uint8
    assert estimator.variant == "lightning int8"
    assert estimator.runtime_label.split()[0] in {"ai-edge-litert", "tflite-runtime", "tensorflow"}
    assert estimator.model_path == lightning_model


# --- real clips -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clip", "step"), [("jes_woods_nike_coach_1.gif", 1), ("movup_run_treadmill.mp4", 3)]
)
def test_treadmill_legs_are_found_and_ordered(estimator, media_dir, clip, step):
    """Side view: hips, knees and ankles seen, ankles below knees below hips (image y down).

    In a side view the far leg is hidden behind the near one, so "detected" means each joint
    is seen on at least one side; the ordering is checked per side where that side's hip,
    knee and ankle are all confident.
    """
    frames = read_frames(media_dir / clip, step)
    kp = run_clip(estimator, frames)
    height, width = frames[0].shape[:2]
    assert (kp[:, :, 0] >= 0).all() and (kp[:, :, 0] <= width - 1).all()
    assert (kp[:, :, 1] >= 0).all() and (kp[:, :, 1] <= height - 1).all()

    seen = kp[:, :, 2] > MIN_SCORE
    joints_seen = np.stack([seen[:, list(pair)].any(axis=1) for pair in LEG_PAIRS], axis=1)
    detected_rate = joints_seen.all(axis=1).mean()
    assert detected_rate >= 0.9, f"{clip}: hips+knees+ankles seen in {detected_rate:.0%} of frames"

    ordered = confident = 0
    for hip, knee, ankle in zip(*LEG_PAIRS, strict=True):
        side = seen[:, hip] & seen[:, knee] & seen[:, ankle]
        y = kp[side][:, :, 1]
        confident += int(side.sum())
        ordered += int(((y[:, ankle] > y[:, knee]) & (y[:, knee] > y[:, hip])).sum())
    assert confident >= 0.5 * len(kp) * 2 * 0.5  # enough confident legs to mean something
    assert ordered / confident >= 0.9, f"{clip}: ordered in {ordered}/{confident} confident legs"


def crop_centres(poses) -> np.ndarray:
    """(frames, 3) crop centre x, y and size per pose; NaN where the frame was letterboxed."""
    out = np.full((len(poses), 3), np.nan)
    for i, pose in enumerate(poses):
        if pose.crop is not None:
            out[i] = (
                pose.crop.x0 + pose.crop.size / 2,
                pose.crop.y0 + pose.crop.size / 2,
                pose.crop.size,
            )
    return out


def track_clip(model, frames, fps: float):
    estimator = PoseEstimator(model, crop_tracking=True)
    return [estimator.estimate(Frame(img, i / fps, i)) for i, img in enumerate(frames)]


def test_crop_tracking_raises_scores_on_the_wide_track_clip(lightning_model, media_dir):
    """The runner is ~1/10 of a 1680×720 frame: cropping must beat letterboxing clearly.

    The clip opens on a distant cart that MoveNet takes for a person; the runner enters from
    the left a few frames later.  Crop tracking must find the runner, not stay on the cart.
    """
    frames = read_frames(media_dir / "simplehrnet_running_track_wide.mp4")
    tracked = run_clip(PoseEstimator(lightning_model, crop_tracking=True), frames, fps=30)
    letterboxed = run_clip(PoseEstimator(lightning_model, crop_tracking=False), frames, fps=30)
    mean_with, mean_without = tracked[:, :, 2].mean(), letterboxed[:, :, 2].mean()
    visible_with = (tracked[:, :, 2] > MIN_SCORE).mean()
    visible_without = (letterboxed[:, :, 2] > MIN_SCORE).mean()
    assert mean_with > mean_without + 0.2, (mean_with, mean_without)
    assert visible_with > visible_without + 0.15, (visible_with, visible_without)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_crop_tracking_is_stable_under_one_grey_level_of_noise(lightning_model, media_dir, seed):
    """±1 grey level on every pixel (what an OpenCV upgrade did to the warp) changes nothing
    that matters: the crop follows the same runner, and the keypoints stay where they were.

    The search cycles through 4 views every 5 frames, so a run may find the runner up to one
    cycle (20 frames) later than another: at least 85% of frames must agree.
    """
    frames = read_frames(media_dir / "simplehrnet_running_track_wide.mp4")
    rng = np.random.default_rng(seed)
    noisy = tuple(
        np.clip(f.astype(np.int16) + rng.integers(-1, 2, f.shape), 0, 255).astype(np.uint8)
        for f in frames
    )
    clean_poses = track_clip(lightning_model, frames, 30.0)
    noisy_poses = track_clip(lightning_model, noisy, 30.0)
    clean, perturbed = crop_centres(clean_poses), crop_centres(noisy_poses)
    both_letterboxed = np.isnan(clean[:, 0]) & np.isnan(perturbed[:, 0])
    apart = np.hypot(*(clean[:, :2] - perturbed[:, :2]).T)
    same_runner = apart < 0.25 * np.fmax(clean[:, 2], perturbed[:, 2])
    agree = (both_letterboxed | same_runner).mean()
    assert agree >= 0.85, f"crops agree on {agree:.0%} of frames"

    kp_clean = np.stack([p.keypoints for p in clean_poses])
    kp_noisy = np.stack([p.keypoints for p in noisy_poses])
    assert kp_noisy[:, :, 2].mean() > 0.5  # the runner, not the cart (~0.4)
    followed = (
        same_runner[:, None] & (kp_clean[:, :, 2] > MIN_SCORE) & (kp_noisy[:, :, 2] > MIN_SCORE)
    )
    error = np.linalg.norm(kp_clean[:, :, :2] - kp_noisy[:, :, :2], axis=2)[followed]
    # The runner is ~140 px tall; MoveNet's own jitter between the two inputs is a few px.
    assert np.median(error) < 4.0 and np.percentile(error, 95) < 15.0, (
        np.median(error),
        np.percentile(error, 95),
    )


def test_crop_box_is_reported_and_reset(estimator, media_dir):
    frames = read_frames(media_dir / "jes_woods_nike_coach_1.gif")
    estimator.reset_tracking()
    first = estimator.estimate(Frame(frames[0], 0.0, 0))
    second = estimator.estimate(Frame(frames[1], 0.05, 1))
    assert first.crop is None  # nothing known yet: whole frame
    assert second.crop is not None
    hips = second.keypoints[[Keypoint.LEFT_HIP, Keypoint.RIGHT_HIP], :2].mean(axis=0)
    assert second.crop.x0 < hips[0] < second.crop.x1 and second.crop.y0 < hips[1] < second.crop.y1
    estimator.reset_tracking()
    assert estimator.estimate(Frame(frames[2], 0.1, 2)).crop is None


def test_inference_image_keypoints_come_back_in_main_image_pixels(lightning_model, media_dir):
    """A lores view at half size gives nearly the same keypoints, in main-image pixels."""
    estimator = PoseEstimator(lightning_model, crop_tracking=False)
    frames = read_frames(media_dir / "movup_run_treadmill.mp4", 3)[:20]
    full, lores = [], []
    for i, img in enumerate(frames):
        small = cv2.resize(
            img, (img.shape[1] // 2, img.shape[0] // 2), interpolation=cv2.INTER_AREA
        )
        full.append(estimator.estimate(Frame(img, i, i)).keypoints)
        lores.append(estimator.estimate(Frame(img, i, i, inference_image=small)).keypoints)
    full, lores = np.stack(full), np.stack(lores)
    both = (full[:, :, 2] > MIN_SCORE) & (lores[:, :, 2] > MIN_SCORE)
    error = np.linalg.norm(full[:, :, :2] - lores[:, :, :2], axis=2)[both]
    # The two model inputs differ slightly (area-downscaled lores vs one bilinear warp), so
    # allow a few model-input pixels (1 input px = 5.3 source px here); a wrong scale would
    # be off by hundreds of pixels.
    assert np.median(error) < 0.02 * 1024


# --- bad models -------------------------------------------------------------------------------


def tiny_relu_model(shape=(1, 8, 8, 3)) -> bytes:
    """A valid TFLite model that is not MoveNet: one RELU from ``shape`` to ``shape``."""
    flatbuffers = pytest.importorskip("flatbuffers")
    schema = pytest.importorskip("ai_edge_litert.schema_py_generated")
    model = schema.ModelT()
    model.version = 3
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.RELU
    code.version = 1
    model.operatorCodes = [code]
    model.buffers = [schema.BufferT()]
    tensors = []
    for name in (b"input", b"output"):
        tensor = schema.TensorT()
        tensor.shape, tensor.type, tensor.buffer, tensor.name = list(shape), 0, 0, name
        tensors.append(tensor)
    graph = schema.SubGraphT()
    graph.tensors, graph.inputs, graph.outputs = tensors, [0], [1]
    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0], [1]
    graph.operators = [op]
    model.subgraphs = [graph]
    model.description = b"not movenet " * 200  # big enough to pass the size sanity check
    builder = flatbuffers.Builder(4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def test_valid_tflite_with_wrong_signature(tmp_path):
    path = tmp_path / "relu.tflite"
    path.write_bytes(tiny_relu_model())
    with pytest.raises(
        ModelError,
        match=rf"{path}: unexpected input/output signature: expected one "
        r"input \[1, N, N, 3\] uint8 or float32 and one output \[1, 1, 17, 3\] "
        r"float32, got inputs \[1, 8, 8, 3\] float32; outputs \[1, 8, 8, 3\] float32",
    ):
        PoseEstimator(path)


@pytest.mark.parametrize(
    ("inputs", "outputs"),
    [
        (
            [{"shape": [1, 192, 192, 3], "dtype": np.uint8}] * 2,
            [{"shape": [1, 1, 17, 3], "dtype": np.float32}],
        ),
        (
            [{"shape": [1, 192, 160, 3], "dtype": np.uint8}],
            [{"shape": [1, 1, 17, 3], "dtype": np.float32}],
        ),
        (
            [{"shape": [1, 192, 192, 3], "dtype": np.int16}],
            [{"shape": [1, 1, 17, 3], "dtype": np.float32}],
        ),
        (
            [{"shape": [1, 256, 256, 3], "dtype": np.float32}],
            [{"shape": [1, 6, 56], "dtype": np.float32}],
        ),
    ],
)
def test_signature_validator_rejects_non_singlepose(inputs, outputs):
    with pytest.raises(ModelError, match=r"m\.tflite: unexpected input/output signature"):
        check_signature("m.tflite", inputs, outputs)


def test_signature_validator_accepts_thunder_float16_shape():
    inputs = [{"shape": np.array([1, 256, 256, 3]), "dtype": np.float32}]
    outputs = [{"shape": np.array([1, 1, 17, 3]), "dtype": np.float32}]
    assert check_signature("thunder.tflite", inputs, outputs) == (256, np.dtype(np.float32))


def test_missing_and_corrupt_model_files(tmp_path, lightning_model):
    with pytest.raises(ModelError, match="model file does not exist"):
        PoseEstimator(tmp_path / "absent.tflite")
    truncated = tmp_path / lightning_model.name  # a manifest name: size and sha256 checked
    truncated.write_bytes(lightning_model.read_bytes()[:-1000])
    with pytest.raises(ModelError, match="truncated: expected 2894840 bytes"):
        PoseEstimator(truncated)


# --- tflite-runtime in its own NumPy 1 environment ----------------------------------------------

TFLITE_SCRIPT = """
import json, sys
import numpy as np
from edge.pose.movenet import PoseEstimator
from edge.types import Frame
model, frames_path, out_path = sys.argv[1:4]
estimator = PoseEstimator(model, runtime="tflite-runtime", num_threads=1)
frames = np.load(frames_path)
estimator.crop_tracking = False
poses = [estimator.estimate(Frame(f, i / 25, i)).keypoints for i, f in enumerate(frames)]
np.save(out_path, np.stack(poses))
print(json.dumps({"runtime": estimator.runtime_label, "numpy": np.__version__}))
"""


def test_tflite_runtime_matches_litert(lightning_model, media_dir, tmp_path):
    python = os.environ.get("TRACKSIDE_TFLITE_PYTHON")
    if not python:
        pytest.skip("TRACKSIDE_TFLITE_PYTHON not set (a Python with tflite-runtime and numpy<2)")
    pytest.importorskip("ai_edge_litert")
    frames = np.stack(read_frames(media_dir / "movup_run_treadmill.mp4", 3)[:12])
    np.save(tmp_path / "frames.npy", frames)
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(
        [
            python,
            "-c",
            TFLITE_SCRIPT,
            str(lightning_model),
            str(tmp_path / "frames.npy"),
            str(tmp_path / "tflite.npy"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    info = json.loads(done.stdout.strip().splitlines()[-1])
    assert info["runtime"].startswith("tflite-runtime 2.") and info["numpy"].startswith("1.")
    theirs = np.load(tmp_path / "tflite.npy")
    ours = run_clip(
        PoseEstimator(
            lightning_model, runtime="ai-edge-litert", num_threads=1, crop_tracking=False
        ),
        frames,
    )
    assert theirs.shape == ours.shape == (12, 17, 3)
    # Same model, same input, but different int8 kernels (XNNPACK in LiteRT, the builtin ones in
    # tflite-runtime): scores move by a quantisation step or two, positions by a pixel or two
    # of the 192-px input (1 input px = 5.3 source px on this 576x1024 clip).
    # Measured: mean |score difference| 0.10, position error median 9 px, 90th percentile 23 px.
    assert np.abs(theirs[:, :, 2] - ours[:, :, 2]).mean() < 0.15
    confident = (ours[:, :, 2] > MIN_SCORE) & (theirs[:, :, 2] > MIN_SCORE)
    error = np.linalg.norm(theirs[:, :, :2] - ours[:, :, :2], axis=2)[confident]
    assert confident.mean() > 0.5
    assert np.median(error) < 0.02 * 1024 and np.percentile(error, 90) < 0.05 * 1024
