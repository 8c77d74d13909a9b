"""The MoveNet-like error model used by scripts/validate_gait_errors.py."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from movenet_error_model import LEG, MoveNetErrorModel, episodes, spoil_like_movenet

from edge.types import NUM_KEYPOINTS, Keypoint


def still_runner(n: int = 3000, fps: float = 60.0):
    """Clean keypoints of a runner frozen in place (leg 200 px), feet 100 px apart."""
    t = np.arange(n) / fps
    kp = np.zeros((n, NUM_KEYPOINTS, 3))
    for side, x in (("R", 600.0), ("L", 500.0)):
        hip, knee, ankle = LEG[side]
        kp[:, hip] = (x, 200.0, 0.8)
        kp[:, knee] = (x, 300.0, 0.8)
        kp[:, ankle] = (x, 400.0, 0.8)
    # Alternating contacts: R down for the first half-second of every second, L the next.
    phase = (t % 1.0) < 0.5
    return kp, t, {"R": phase, "L": ~phase}


def test_episodes_keep_their_fraction_and_their_duration_in_time():
    rng = np.random.default_rng(0)
    fine = np.arange(400_000) / 1000.0  # sampled much faster than an episode lasts
    on = episodes(0.2, fine, 0.05, rng)
    assert on.mean() == pytest.approx(0.2, abs=0.01)
    starts = np.count_nonzero(on[1:] & ~on[:-1])
    assert on.sum() / 1000.0 / starts == pytest.approx(0.05, rel=0.1)  # seconds per episode
    # Sampled far slower than an episode lasts: independent draws, same fraction.
    coarse = np.arange(100_000) / 10.0
    on = episodes(0.2, coarse, 0.017, rng)
    assert on.mean() == pytest.approx(0.2, abs=0.01)
    assert on[1:][on[:-1]].mean() == pytest.approx(0.2, abs=0.02)


def test_same_seed_same_spoiling_and_input_untouched():
    kp, t, contact = still_runner(600)
    before = kp.copy()
    model = MoveNetErrorModel()
    a = spoil_like_movenet(kp, t, 200.0, "R", contact, model, np.random.default_rng(7))
    b = spoil_like_movenet(kp, t, 200.0, "R", contact, model, np.random.default_rng(7))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert np.array_equal(kp, before)


def test_swaps_follow_the_contacts_and_merges_land_on_the_stance_foot():
    kp, t, contact = still_runner()
    quiet = MoveNetErrorModel(
        hip_sd=0, knee_sd=0, ankle_sd_near=0, ankle_sd_far=0, arm_sd=0, displaced=0,
        ankle_dropout_near=0, ankle_dropout_far=0, knee_dropout_near=0, knee_dropout_far=0,
        arm_dropout=0, frame_drop=0, merge_onto_near=0, merge_onto_far=0,
    )  # fmt: skip
    out, times = spoil_like_movenet(kp, t, 200.0, "R", contact, quiet, np.random.default_rng(1))
    assert len(times) == len(t)
    swapped = out[:, Keypoint.RIGHT_ANKLE, 0] == 500.0
    assert swapped[contact["R"]].mean() == pytest.approx(quiet.swap_near_stance, abs=0.04)
    assert swapped[contact["L"]].mean() == pytest.approx(quiet.swap_far_stance, abs=0.04)
    knees = out[:, Keypoint.RIGHT_KNEE, 0] == 500.0
    assert knees[swapped].mean() == pytest.approx(quiet.swap_whole_leg, abs=0.05)
    assert not knees[~swapped].any()  # a knee is never renamed alone

    merging = replace(quiet, swap_near_stance=0, swap_far_stance=0, merge_onto_near=0.3)
    out, _ = spoil_like_movenet(kp, t, 200.0, "R", contact, merging, np.random.default_rng(2))
    far_on_near = out[:, Keypoint.LEFT_ANKLE, 0] == 600.0
    assert far_on_near[contact["R"]].mean() == pytest.approx(0.3, abs=0.04)
    assert not far_on_near[~contact["R"]].any()  # only while the near foot is down


def test_jitter_sizes_and_dropouts_match_the_model():
    kp, t, contact = still_runner(6000)
    model = MoveNetErrorModel(
        swap_near_stance=0, swap_far_stance=0, merge_onto_near=0, merge_onto_far=0,
        displaced=0, frame_drop=0,
    )  # fmt: skip
    out, _ = spoil_like_movenet(kp, t, 200.0, "R", contact, model, np.random.default_rng(3))
    seen = out[:, :, 2] >= 0.3
    knee = Keypoint.RIGHT_KNEE
    err = out[seen[:, knee], knee, 0] - 600.0
    assert np.std(err) == pytest.approx(model.knee_sd * 200.0, rel=0.1)
    ankle = Keypoint.RIGHT_ANKLE
    assert (~seen[:, ankle]).mean() == pytest.approx(model.ankle_dropout_near, abs=0.015)
    assert (~seen[:, Keypoint.LEFT_ANKLE]).mean() == pytest.approx(
        model.ankle_dropout_far, abs=0.015
    )
    assert (~seen[:, Keypoint.RIGHT_HIP]).mean() == 0.0


def test_fast_ankles_are_noisier():
    n, fps = 4000, 60.0
    t = np.arange(n) / fps
    kp = np.zeros((n, NUM_KEYPOINTS, 3))
    for side in "RL":
        for k in LEG[side]:
            kp[:, k] = (500.0, 300.0, 0.8)
    fast = (t % 2.0) < 1.0
    # The right ankle sweeps at 4 leg lengths/s half of the time, stands still otherwise.
    x = np.cumsum(np.where(fast, 4 * 200.0 / fps, 0.0))
    kp[:, Keypoint.RIGHT_ANKLE, 0] = 500.0 + x
    contact = {"R": np.zeros(n, bool), "L": np.zeros(n, bool)}
    model = MoveNetErrorModel(
        swap_near_stance=0, swap_far_stance=0, displaced=0, ankle_dropout_near=0, frame_drop=0
    )
    out, _ = spoil_like_movenet(kp, t, 200.0, "R", contact, model, np.random.default_rng(4))
    err = out[:, Keypoint.RIGHT_ANKLE, 1] - 300.0
    inner = fast & np.roll(fast, 2) & np.roll(fast, -2)  # away from the speed changes
    ratio = np.std(err[inner]) / np.std(err[~fast])
    assert ratio == pytest.approx(model.fast_ankle_gain, rel=0.1)


def test_scaled_doubles_sizes_and_caps_the_swap_fraction():
    model = MoveNetErrorModel()
    double = model.scaled(2.0)
    assert double.knee_sd == pytest.approx(2 * model.knee_sd)
    assert double.ankle_dropout_near == pytest.approx(2 * model.ankle_dropout_near)
    assert double.swap_near_stance == 0.45  # 0.80 would just rename the legs
    assert double.episode == model.episode


def test_bad_arguments_say_what_was_expected():
    kp, t, contact = still_runner(10)
    rng = np.random.default_rng(0)
    model = MoveNetErrorModel()
    with pytest.raises(ValueError, match="near_side: expected 'R' or 'L'"):
        spoil_like_movenet(kp, t, 200.0, "near", contact, model, rng)
    with pytest.raises(ValueError, match=r"contact\['L'\]: expected a \(10,\) bool array"):
        spoil_like_movenet(kp, t, 200.0, "R", {"R": contact["R"]}, model, rng)
    with pytest.raises(ValueError, match=r"clean: expected \(10, 17, 3\)"):
        spoil_like_movenet(kp[:, :16], t, 200.0, "R", contact, model, rng)
