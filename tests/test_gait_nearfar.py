"""Near and far limbs: the stream decides legs and arms over the whole pass as batch does
over a recording, and the leg-swap repair moves legs only."""

from __future__ import annotations

import numpy as np
import pytest
from test_gait_metrics import Runner

from edge.gait.batch import analyse_arrays, detect_repaired_events
from edge.gait.coco import sanitize_keypoints
from edge.gait.continuity import LimbContinuity
from edge.gait.nearfar import ARM_JOINTS, LEG_JOINTS, NearFarHistory, decide_near_far
from edge.gait.track import SideViewTrack
from edge.testing.groundtruth import Spoiling, film, load_fukuchi


@pytest.fixture(scope="module")
def filmed(groundtruth_dir):
    return film(load_fukuchi(groundtruth_dir, "T25"), 30, spoil=Spoiling(), seed=3, duration=8)


def limb_tracks(filmed):
    continuity = LimbContinuity()
    frames = zip(filmed.t, filmed.keypoints, strict=True)
    pairs = [continuity.assign(t, sanitize_keypoints(k)) for t, k in frames]
    return np.stack([a for a, _ in pairs]), np.stack([b for _, b in pairs])


def with_arms_exchanged(a, b):
    arms = list(ARM_JOINTS)
    a2, b2 = a.copy(), b.copy()
    a2[:, arms], b2[:, arms] = b[:, arms], a[:, arms]
    return a2, b2


@pytest.mark.parametrize("exchange_arms", [False, True])
def test_the_pass_history_decides_legs_and_arms_as_the_whole_recording(exchange_arms):
    # A synthetic runner (the lab markers have no wrists), leg A scored higher (MoveNet is
    # surer of the near leg); exchanging the arm tracks must exchange the arm decision.
    track = Runner().track(np.arange(0.0, 6.0, 1 / 30))
    a, b = track.near.copy(), track.far.copy()
    b[:, list(LEG_JOINTS), 2] -= 0.2
    plain = decide_near_far(a, b)
    if exchange_arms:
        a, b = with_arms_exchanged(a, b)
    history = NearFarHistory()
    for fa, fb in zip(a, b, strict=True):
        history.add(fa, fb)
    legs, arms = decide_near_far(a, b)
    assert legs and arms == (plain[1] != exchange_arms)
    assert history.decide() == (legs, arms)


def test_the_leg_swap_repair_moves_the_legs_and_leaves_the_arms(filmed):
    track = analyse_arrays(filmed.t, filmed.keypoints, stride_metrics=False).track
    # A leg-identity swap continuity missed, from 3 s on; the arms stay with their tracks.
    legs = list(LEG_JOINTS)
    later = np.ix_(filmed.t >= filmed.t[0] + 3.0, legs)
    near, far = track.near.copy(), track.far.copy()
    near[later], far[later] = track.far[later], track.near[later]
    swapped = SideViewTrack(track.t, near, far, track.head, track.direction, track.near_side)
    repaired, _ = detect_repaired_events(swapped)
    assert repaired is not swapped
    arms = list(ARM_JOINTS)
    np.testing.assert_array_equal(repaired.near[:, arms], track.near[:, arms])
    np.testing.assert_array_equal(repaired.far[:, arms], track.far[:, arms])
    # the legs are one consistent identity again (whichever leg the vote calls near)
    same = np.all(repaired.near[:, legs] == track.near[:, legs], axis=(1, 2))
    other = np.all(repaired.near[:, legs] == track.far[:, legs], axis=(1, 2))
    assert same.mean() >= 0.9 or other.mean() >= 0.9
