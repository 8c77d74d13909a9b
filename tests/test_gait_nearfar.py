"""Near and far limbs: the stream decides legs and arms over the whole pass as batch does
over a recording, and the leg-swap repair moves legs only."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from test_gait_metrics import Runner

from edge.gait.batch import (
    SEGMENT_MIN_DURATION,
    analyse_arrays,
    detect_repaired_events,
    near_far_per_segment,
)
from edge.gait.coco import sanitize_keypoints
from edge.gait.continuity import LimbContinuity
from edge.gait.nearfar import ARM_JOINTS, LEG_JOINTS, NearFarHistory, decide_near_far
from edge.gait.track import SideViewTrack
from edge.testing.groundtruth import Spoiling, film, load_fukuchi
from edge.types import EventKind, Leg


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
    for t, fa, fb in zip(track.t, a, b, strict=True):
        history.add(fa, fb, t)
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
    repaired, _, swaps = detect_repaired_events(swapped)
    assert swaps
    assert repaired is not swapped
    arms = list(ARM_JOINTS)
    np.testing.assert_array_equal(repaired.near[:, arms], track.near[:, arms])
    np.testing.assert_array_equal(repaired.far[:, arms], track.far[:, arms])
    # the legs are one consistent identity again (whichever leg the vote calls near)
    same = np.all(repaired.near[:, legs] == track.near[:, legs], axis=(1, 2))
    other = np.all(repaired.near[:, legs] == track.far[:, legs], axis=(1, 2))
    assert same.mean() >= 0.9 or other.mean() >= 0.9


def test_a_swap_hidden_by_a_missed_strike_is_undone_by_each_stretch_s_own_vote(filmed):
    """Legs swapped at a strike that was missed still alternate, so the rhythm repair cannot
    see it; the stretch before the missed strike decides its near/far on its own cues."""
    analysis = analyse_arrays(filmed.t, filmed.keypoints, stride_metrics=False)
    track, events = analysis.track, analysis.events
    strikes = [e for e in events if e.kind is EventKind.FOOT_STRIKE]
    missed = strikes[len(strikes) // 2]  # mid-film: both stretches last > 2 s
    before, after = strikes[len(strikes) // 2 - 1], strikes[len(strikes) // 2 + 1]
    assert missed.time - filmed.t[0] > SEGMENT_MIN_DURATION
    assert filmed.t[-1] - missed.time > SEGMENT_MIN_DURATION
    legs = list(LEG_JOINTS)
    early = np.ix_(track.t < missed.time, legs)
    near, far = track.near.copy(), track.far.copy()
    near[early], far[early] = track.far[early], track.near[early]
    swapped = SideViewTrack(track.t, near, far, track.head, track.direction, track.near_side)

    def other(leg):
        return Leg.FAR if leg is Leg.NEAR else Leg.NEAR

    seen = [e for e in events if e is not missed]
    named = [dataclasses.replace(e, leg=other(e.leg)) if e.time < missed.time else e for e in seen]
    fixed, renamed = near_far_per_segment(swapped, named)
    assert [e.leg for e in renamed] == [e.leg for e in seen]
    assert [e.time for e in renamed] == [e.time for e in seen]  # renamed, not re-detected
    away = (track.t < before.time) | (track.t > after.time)
    np.testing.assert_array_equal(fixed.near[away][:, legs], track.near[away][:, legs])
    # With the legs named right throughout, nothing changes.
    unchanged, same_events = near_far_per_segment(track, seen)
    assert unchanged is track and same_events == seen


def test_exchanging_the_legs_since_a_time_exchanges_their_cues_from_then_on():
    track = Runner().track(np.arange(0.0, 6.0, 1 / 30))
    a, b = track.near.copy(), track.far.copy()
    b[:, list(LEG_JOINTS), 2] -= 0.2  # leg A is the surer one: A near
    # the same frames with the legs (only) on each other's tracks from 2 s on
    legs = list(LEG_JOINTS)
    later = np.ix_(track.t >= 2.0, legs)
    a2, b2 = a.copy(), b.copy()
    a2[later], b2[later] = b[later], a[later]
    history, exchanged = NearFarHistory(), NearFarHistory()
    for t, fa, fb, fa2, fb2 in zip(track.t, a, b, a2, b2, strict=True):
        history.add(fa, fb, t)
        exchanged.add(fa2, fb2, t)
    assert history.legs_vote() > 0
    assert exchanged.legs_vote() != pytest.approx(history.legs_vote())
    # undoing the exchange from 2 s on gives the plain cues (and arm decision) back
    exchanged.exchange_legs_since(2.0)
    assert exchanged.legs_vote() == pytest.approx(history.legs_vote())
    assert exchanged.decide() == history.decide()
    history.exchange_legs_since(0.0)  # all of them: the other leg is near
    assert history.legs_vote() < 0


def test_continuity_follows_the_other_legs_after_exchange_legs(filmed):
    continuity = LimbContinuity()
    frames = list(zip(filmed.t, filmed.keypoints, strict=True))
    half = len(frames) // 2
    for t, k in frames[:half]:
        continuity.assign(t, sanitize_keypoints(k))
    before = LimbContinuity()  # the same frames, not exchanged
    for t, k in frames[:half]:
        before.assign(t, sanitize_keypoints(k))
    continuity.exchange_legs()
    legs, arms = list(LEG_JOINTS), list(ARM_JOINTS)
    for t, k in frames[half : half + 30]:
        a, b = continuity.assign(t, sanitize_keypoints(k))
        a0, b0 = before.assign(t, sanitize_keypoints(k))
        np.testing.assert_array_equal(a[legs], b0[legs])
        np.testing.assert_array_equal(b[legs], a0[legs])
        np.testing.assert_array_equal(a[arms], a0[arms])
