"""Letterbox / crop geometry (exact round trips through the real warp) and crop tracking."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.pose.crop import (
    CropTracker,
    crop_from_pose,
    input_matrix,
    letterbox_box,
    model_output_to_source,
    prefer_challenger,
    search_views,
    source_to_normalised,
)
from edge.types import CropBox, Keypoint

N = 192


def warp(image: np.ndarray, box: CropBox, scale=(1.0, 1.0), n: int = N) -> np.ndarray:
    """The same single resample the estimator does."""
    return cv2.warpAffine(
        image,
        input_matrix(box, n, scale),
        (n, n),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )


def bright_pixel(shape: tuple[int, int], x: int, y: int) -> np.ndarray:
    image = np.zeros((*shape, 3), np.uint8)
    image[y, x] = 255
    return image


def test_letterbox_box_is_centred_square_for_both_orientations():
    assert letterbox_box(1680, 720) == CropBox(0.0, -480.0, 1680.0)
    assert letterbox_box(576, 1024) == CropBox(-224.0, 0.0, 1024.0)
    assert letterbox_box(300, 300) == CropBox(0.0, 0.0, 300.0)


@pytest.mark.parametrize(
    ("shape", "box", "source_px", "input_px"),
    [
        # Wide 384×192 image letterboxed at scale 0.5, 96 px of black above and below:
        # pixel (101, 51) covers [101, 102) → centre 101.5 → input 50.75, i.e. index 50.25.
        ((192, 384), letterbox_box(384, 192), (101, 51), (50.25, 73.25)),
        # Tall 192×384 image: the padding is left and right this time.
        ((384, 192), letterbox_box(192, 384), (51, 101), (73.25, 50.25)),
        # 1:1 crop partly outside the image (top-left corner at -40, -20).
        ((300, 400), CropBox(-40.0, -20.0, 192.0), (60, 45), (100.0, 65.0)),
        # 2× magnifying crop of a small runner: centre 90.5 → 2 * (90.5 - 50) = 81 → index 80.5.
        ((300, 400), CropBox(50.0, 80.0, 96.0), (90, 120), (80.5, 80.5)),
    ],
)
def test_known_source_point_lands_on_expected_input_pixel(shape, box, source_px, input_px):
    x, y = source_px
    # A smooth blob (not a single pixel) so its centroid survives bilinear down-sampling.
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]]
    blob = np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * 4.0**2)).astype(np.float32)
    warped = warp(np.dstack([blob] * 3), box)[:, :, 0].astype(np.float64)
    iy, ix = np.mgrid[0:N, 0:N]
    total = warped.sum()
    centroid = (float((ix * warped).sum() / total), float((iy * warped).sum() / total))
    assert centroid == pytest.approx(input_px, abs=0.02)
    # Same point through the pure maths (continuous coords: pixel index + 0.5).
    normalised = source_to_normalised(np.array([[x + 0.5, y + 0.5]]), box)[0]
    assert tuple(normalised * N - 0.5) == pytest.approx(input_px, abs=1e-9)


@pytest.mark.parametrize(
    ("size", "box"),
    [
        ((1680, 720), letterbox_box(1680, 720)),
        ((576, 1024), letterbox_box(576, 1024)),
        ((1680, 720), CropBox(1500.0, 500.0, 400.0)),  # runs past right and bottom edges
        ((520, 293), CropBox(-60.0, -30.0, 250.0)),  # runs past left and top edges
    ],
)
def test_source_to_model_output_round_trip_is_exact(size, box):
    rng = np.random.default_rng(7)
    width, height = size
    points = rng.uniform([0, 0], [width - 1, height - 1], size=(17, 2))
    # Keep points inside the box so nothing is clipped to the image.
    points = np.clip(
        points, [max(box.x0, 0), max(box.y0, 0)], [min(box.x1, width - 1), min(box.y1, height - 1)]
    )
    normalised = source_to_normalised(points, box)
    raw = np.column_stack([normalised[:, 1], normalised[:, 0], np.linspace(0, 1, 17)])
    back = model_output_to_source(raw.astype(np.float32), box, size)
    np.testing.assert_allclose(back[:, :2], points, atol=2e-4 * box.size)
    np.testing.assert_allclose(back[:, 2], np.linspace(0, 1, 17), atol=1e-6)


def test_padding_is_black_and_image_content_is_kept():
    image = np.full((100, 300, 3), 200, np.uint8)
    warped = warp(image, letterbox_box(300, 100), n=96)  # image occupies rows 32..63
    assert warped[:31].max() == 0 and warped[65:].max() == 0
    assert warped[33:63].min() == 200
    crop = warp(image, CropBox(250.0, 50.0, 100.0), n=96)  # right half outside the image
    assert crop[:46, :46].min() == 200  # only the top-left quarter is image
    assert crop[:, 50:].max() == 0 and crop[50:, :].max() == 0


def test_lores_image_maps_to_the_same_input_as_the_main_image():
    """An inference image half the size of the source gives the same model input."""
    source = np.zeros((400, 600, 3), np.uint8)
    cv2.rectangle(source, (200, 100), (299, 299), (255, 255, 255), -1)
    lores = cv2.resize(source, (300, 200), interpolation=cv2.INTER_AREA)
    box = CropBox(150.0, 50.0, 300.0)
    full = warp(source, box).astype(int)
    half = warp(lores, box, scale=(0.5, 0.5)).astype(int)
    assert np.abs(full - half).mean() < 2.0
    assert np.abs(full - half).max() <= 128  # only the rectangle's edge pixels differ


def test_keypoints_outside_the_image_are_clipped_into_it():
    raw = np.array([[-0.2, 1.9, 0.1]] * 17, np.float32)  # y above, x right of the input
    out = model_output_to_source(raw, CropBox(-100.0, -100.0, 500.0), (640, 360))
    assert out[0, 0] == 639 and out[0, 1] == 0


# --- tracking --------------------------------------------------------------------------------


def runner(cx: float, cy: float, height: float, score: float = 0.8) -> np.ndarray:
    """A standing figure: 17 keypoints spread over ``height`` pixels around hips at (cx, cy)."""
    offsets = {
        Keypoint.NOSE: (0.05, -0.5),
        Keypoint.LEFT_EYE: (0.06, -0.52),
        Keypoint.RIGHT_EYE: (0.04, -0.52),
        Keypoint.LEFT_EAR: (0.0, -0.5),
        Keypoint.RIGHT_EAR: (0.0, -0.5),
        Keypoint.LEFT_SHOULDER: (0.0, -0.32),
        Keypoint.RIGHT_SHOULDER: (0.01, -0.32),
        Keypoint.LEFT_ELBOW: (-0.1, -0.15),
        Keypoint.RIGHT_ELBOW: (0.1, -0.15),
        Keypoint.LEFT_WRIST: (-0.05, -0.02),
        Keypoint.RIGHT_WRIST: (0.15, -0.1),
        Keypoint.LEFT_HIP: (0.0, 0.0),
        Keypoint.RIGHT_HIP: (0.01, 0.0),
        Keypoint.LEFT_KNEE: (0.12, 0.22),
        Keypoint.RIGHT_KNEE: (-0.08, 0.24),
        Keypoint.LEFT_ANKLE: (0.05, 0.48),
        Keypoint.RIGHT_ANKLE: (-0.2, 0.42),
    }
    kp = np.zeros((17, 3), np.float32)
    for joint, (dx, dy) in offsets.items():
        kp[joint] = (cx + dx * height, cy + dy * height, score)
    return kp


def test_crop_frames_the_whole_runner_with_margin():
    kp = runner(800, 400, 80)
    box = crop_from_pose(kp, (1680, 720))
    assert box is not None
    assert box.x0 <= kp[:, 0].min() - 5 and box.x1 >= kp[:, 0].max() + 5
    assert box.y0 <= kp[:, 1].min() - 5 and box.y1 >= kp[:, 1].max() + 5
    assert box.size < 200  # a small runner is magnified, not letterboxed (1680 px)
    assert (box.x0 + box.x1) / 2 == pytest.approx(800.4, abs=0.01)  # centred on the hips


def test_no_crop_without_a_confident_torso_or_when_runner_fills_frame():
    kp = runner(800, 400, 80)
    kp[[Keypoint.LEFT_HIP, Keypoint.RIGHT_HIP], 2] = 0.1
    assert crop_from_pose(kp, (1680, 720)) is None
    assert crop_from_pose(runner(150, 150, 260), (300, 300)) is None  # would be ≥ 300 px


def test_crop_at_the_image_edge_extends_past_it():
    box = crop_from_pose(runner(10, 400, 120), (1680, 720))
    assert box is not None and box.x0 < 0  # padded with black rather than shifted off the runner


def test_tracker_follows_a_moving_runner_smoothly_and_predicts_motion():
    tracker = CropTracker()
    size = (1680, 720)
    boxes = [tracker.update(runner(200 + 25 * i, 400, 80), size) for i in range(40)]
    assert all(b is not None for b in boxes)
    centres = np.array([b.x0 + b.size / 2 for b in boxes])
    # After settling, the crop is centred where the runner will be next frame.
    expected_next = 200 + 25 * np.arange(1, 41) + 0.4
    assert np.abs(centres[-10:] - expected_next[-10:]).max() < 1.0
    sizes = np.array([b.size for b in boxes])
    assert np.ptp(sizes[5:]) < 1e-6  # constant runner size → constant crop size


def test_tracker_damps_jitter():
    rng = np.random.default_rng(3)
    tracker = CropTracker()
    jitter = rng.normal(0, 6, size=(60, 2))
    centres = []
    for dx, dy in jitter:
        box = tracker.update(runner(800 + dx, 400 + dy, 80), (1680, 720))
        centres.append((box.x0 + box.size / 2, box.y0 + box.size / 2))
    spread = np.std(np.array(centres)[10:], axis=0)
    assert (spread < 0.8 * jitter[10:].std(axis=0)).all()


def test_tracker_grows_at_once_shrinks_slowly_and_resets_when_lost():
    tracker = CropTracker()
    size = (1680, 720)
    small = tracker.update(runner(800, 400, 150), size)
    big = tracker.update(runner(800, 400, 300), size)
    assert big.size == pytest.approx(crop_from_pose(runner(800, 400, 300), size).size)
    shrinking = tracker.update(runner(800, 400, 150), size)
    assert small.size < shrinking.size < big.size
    lost = runner(800, 400, 60, score=0.1)
    coasted = [tracker.update(lost, size) for _ in range(tracker.max_coast)]
    for box in coasted:  # a runner standing still: the crop holds (its velocity is ~0)
        assert box.size == shrinking.size and box.x0 == pytest.approx(shrinking.x0, abs=0.5)
    assert tracker.update(lost, size) is None  # lost for longer than max_coast: let go
    again = tracker.update(runner(300, 300, 60), size)
    assert (again.x0 + again.size / 2) == pytest.approx(300.3, abs=0.01)  # no stale velocity


def test_tracker_acquires_at_min_score_but_holds_down_to_hold_score():
    """Hysteresis: a torso score wobbling around 0.3 neither loses nor finds the runner."""
    tracker = CropTracker(min_score=0.3, hold_score=0.2)
    size = (1680, 720)
    assert tracker.update(runner(800, 400, 80, score=0.26), size) is None  # not enough to acquire
    assert tracker.update(runner(800, 400, 80, score=0.31), size) is not None
    for score in (0.26, 0.29, 0.22, 0.34, 0.21):
        assert tracker.update(runner(800, 400, 80, score=score), size) is not None
    assert tracker._coasted == 0  # every one of those frames was a real measurement


def test_tracker_coasts_a_moving_runner_along_its_velocity():
    tracker = CropTracker()
    size = (1680, 720)
    for i in range(30):
        box = tracker.update(runner(200 + 20 * i, 400, 80), size)
    before = box.x0
    coasted = tracker.update(runner(0, 0, 80, score=0.0), size)
    assert coasted.x0 - before == pytest.approx(20, abs=1.0)  # keeps moving at ~20 px/frame


def test_recheck_is_due_only_while_the_lock_is_poor():
    size = (1680, 720)
    good, poor = CropTracker(), CropTracker()
    for _ in range(3 * good.recheck_interval):
        good.update(runner(800, 400, 80, score=0.7), size)
        poor.update(runner(800, 400, 80, score=0.35), size)
    assert good.quality == pytest.approx(0.7, abs=1e-3) and not good.recheck_due
    assert poor.quality == pytest.approx(0.35, abs=1e-3) and poor.recheck_due
    current = poor.update(runner(800, 400, 80, score=0.35), size)
    # The search finds the same runner: nothing to compare, and the next check waits again.
    assert poor.challenger(runner(805, 400, 80), current, size) is None
    assert not poor.recheck_due
    assert CropTracker().recheck_due is False  # not tracking: every frame is a search anyway


def test_challenger_is_a_runner_found_elsewhere():
    size = (1680, 720)
    tracker = CropTracker()
    current = tracker.update(runner(1260, 480, 40, score=0.4), size)  # a far-away cart
    box = tracker.challenger(runner(300, 450, 140), current, size)
    assert box is not None and box.contains(300.0, 450.0) and not box.contains(1260.0, 480.0)
    assert tracker.challenger(runner(300, 450, 140, score=0.1), current, size) is None


def test_a_challenger_must_win_clearly():
    incumbent = runner(800, 400, 80, score=0.45)
    assert prefer_challenger(incumbent, runner(300, 400, 80, score=0.6), margin=0.1)
    assert not prefer_challenger(incumbent, runner(300, 400, 80, score=0.5), margin=0.1)
    assert not prefer_challenger(incumbent, runner(300, 400, 80, score=0.3), margin=0.1)


@pytest.mark.parametrize("size", [(1680, 720), (720, 1680), (1920, 1080), (640, 480)])
def test_search_views_cover_the_frame_with_overlapping_tiles(size):
    width, height = size
    views = search_views(width, height)
    assert views[0] == letterbox_box(width, height)
    tiles = views[1:]
    if max(size) < 1.5 * min(size):
        assert tiles == []
        return
    short = min(size)
    assert all(t.size == short for t in tiles)
    starts = sorted(t.x0 if width > height else t.y0 for t in tiles)
    assert starts[0] == 0 and starts[-1] == max(size) - short  # both ends covered
    steps = np.diff(starts)
    assert (steps <= short * 2 / 3 + 1e-6).all()  # neighbours overlap by at least a third
