"""Rolling alert state: k-of-n hysteresis up and down, no flicker, snapshots, switch-off."""

from __future__ import annotations

import json

import pytest

from edge.cues.profiles import REASON_OFF
from edge.cues.rolling import RollingCues, RollingPolicy, RollingState, held_level, update
from edge.types import CueResult, EventKind, GaitEvent, Leg, Stride, StrideReport, Verdict

CUE = "legs.overstride"
V = {
    "o": Verdict.OK,
    "w": Verdict.WARN,
    "f": Verdict.FAULT,
    "u": Verdict.UNKNOWN,
    "x": Verdict.UNRELIABLE,
    "i": Verdict.INFO,
}


def report(verdict: Verdict, index: int, reason: str = "") -> StrideReport:
    fs = GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, 0.7 * index)
    nfs = GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, 0.7 * (index + 1))
    stride = Stride(index, Leg.NEAR, fs, None, nfs)
    cue = CueResult(CUE, verdict, 0.3, "leg_length", "Land under your body", reason=reason)
    return StrideReport(stride, (cue,), verdict)


def run(sequence: str, **policy) -> list[tuple[int, bool]]:
    """Feed a verdict string ("ooffo...") and list (stride index, active) of every alert."""
    rolling = RollingCues(**policy)
    flips = []
    for i, ch in enumerate(sequence):
        for alert in rolling.update(report(V[ch], i)):
            assert alert.cue_id == CUE and alert.stride_index == i
            flips.append((i, alert.active))
    return flips


def test_raise_needs_k_bad_of_the_last_n():
    assert run("ooff", hold=3, window=4) == []
    assert run("ooffof", hold=3, window=4) == [(5, True)]  # f at 2,3,5: 3 of the last 4
    assert run("fff", hold=3, window=4) == [(2, True)]


def test_clear_needs_k_good_of_the_last_n():
    flips = run("fff" + "oo" + "o", hold=3, window=4)
    assert flips == [(2, True), (5, False)]
    # One good stride among faults does not clear.
    assert run("fffoff", hold=3, window=4) == [(2, True)]


def test_alternating_input_never_flickers():
    assert run("of" * 50, hold=3, window=4) == []
    assert run("fff" + "of" * 50, hold=3, window=4) == [(2, True)]  # stays raised, no flips
    assert run("fo" * 50, hold=4, window=6) == []


def test_unreliable_and_information_only_strides_neither_raise_nor_clear():
    assert run("fxfxxf", hold=3, window=4) == [(5, True)]  # the x strides are skipped
    assert run("fff" + "xxxxxx" + "ooo", hold=3, window=4) == [(2, True), (11, False)]
    assert run("iiiiii", hold=3, window=4) == []  # an information-only cue never alerts


def test_held_level_moves_only_when_hold_strides_agree():
    ok, warn, fault = Verdict.OK, Verdict.WARN, Verdict.FAULT
    assert held_level(None, [fault, fault], 3) is None  # not enough strides yet
    assert held_level(None, [ok, fault, ok], 3) is ok
    assert held_level(ok, [ok, fault, fault, fault], 3) is fault
    assert held_level(ok, [ok, warn, ok, warn], 3) is ok  # alternating: no change
    assert held_level(warn, [ok, warn, ok, warn], 3) is warn
    assert held_level(fault, [warn, warn, fault, warn], 3) is warn  # down one level
    assert held_level(fault, [ok, ok, ok, warn], 3) is ok
    assert held_level(ok, [Verdict.UNRELIABLE] * 4, 3) is ok  # nothing judged: it stays


def test_warn_level_counts_warnings_as_bad():
    assert run("www", hold=3, window=4) == []
    assert run("www", hold=3, window=4, level="warn") == [(2, True)]
    rolling = RollingCues(hold=2, window=3, level="warn")
    alerts = [a for i, ch in enumerate("wf") for a in rolling.update(report(V[ch], i))]
    assert alerts[0].verdict is Verdict.FAULT  # the worst in the window


def test_unknown_strides_are_skipped_not_counted():
    assert run("ffuuuf", hold=3, window=4) == [(5, True)]
    assert run("fffuuuuuuoooo", hold=3, window=4) == [(2, True), (11, False)]


def test_switching_a_cue_off_clears_its_alert_at_once():
    rolling = RollingCues(hold=2, window=3)
    for i in range(2):
        rolling.update(report(Verdict.FAULT, i))
    assert rolling.state.active == (CUE,)
    alerts = rolling.update(report(Verdict.UNKNOWN, 2, REASON_OFF))
    assert [(a.active, a.verdict) for a in alerts] == [(False, Verdict.OK)]
    assert rolling.state.active == ()
    # and it starts from scratch when switched back on
    assert rolling.update(report(Verdict.FAULT, 3)) == ()


def test_reset_clears_raised_alerts():
    rolling = RollingCues(hold=2, window=3)
    for i in range(3):
        rolling.update(report(Verdict.FAULT, i))
    alerts = rolling.reset(time=9.0)
    assert [(a.cue_id, a.active, a.time) for a in alerts] == [(CUE, False, 9.0)]
    assert rolling.reset(time=10.0) == ()


def test_state_is_plain_data_that_round_trips_through_json():
    policy = RollingPolicy(3, 4)
    state = RollingState()
    for i, ch in enumerate("ffwf"):
        state, _ = update(state, report(V[ch], i), policy)
    restored = RollingState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert restored == state and restored.active == (CUE,)
    # The pure update did not touch the snapshot it was given.
    before = state
    update(state, report(Verdict.OK, 9), policy)
    assert state == before


def test_alert_carries_time_and_message():
    rolling = RollingCues(hold=1, window=1)
    (alert,) = rolling.update(report(Verdict.FAULT, 4))
    assert alert.active and alert.time == pytest.approx(3.5)
    assert alert.message == "Land under your body"
    (cleared,) = rolling.update(report(Verdict.OK, 5))
    assert not cleared.active and "land under the body" in cleared.message


@pytest.mark.parametrize(("hold", "window"), [(2, 4), (5, 4), (0, 1)])
def test_policy_refuses_rules_that_could_flicker(hold, window):
    with pytest.raises(ValueError, match="hold"):
        RollingPolicy(hold, window)


def test_a_fault_alert_clears_only_on_ok_strides_not_on_warnings():
    # Hovering at the fault limit (fault/warn alternating) keeps the alert up...
    assert run("fff" + "wf" * 20, hold=3, window=4) == [(2, True)]
    # ...and so do warnings alone: the warn band is a dead band.
    assert run("fff" + "w" * 10, hold=3, window=4) == [(2, True)]
    assert run("fff" + "w" * 10 + "ooo", hold=3, window=4) == [(2, True), (15, False)]


def test_defaults_match_the_config_defaults():
    from edge.cues.settings import CuesConfig

    cues = CuesConfig()
    policy = RollingCues.from_config(cues).policy
    assert (policy.hold, policy.window, policy.level) == (4, 6, Verdict.FAULT)
    assert run("ffff") == [(3, True)] and run("fff") == []
