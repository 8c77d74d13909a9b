"""Scoring helpers of scripts/validate_gait_errors.py and validate_gait_speeds.py."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from validate_gait_errors import contact_masks, edge_check, match_any_leg
from validate_gait_speeds import played_faster

from edge.testing.groundtruth import FilmedTrial, LabEvent, LabTrial
from edge.types import EventKind, GaitEvent, Leg


def trial(treadmill: bool = True) -> LabTrial:
    t = np.arange(0, 3.0, 0.01)
    strikes = [("R", 0.20), ("L", 0.55), ("R", 0.90), ("L", 1.25), ("R", 1.60), ("L", 1.95),
               ("R", 2.30), ("L", 2.65)]  # fmt: skip
    events = [LabEvent(side, fs, fs + 0.25) for side, fs in strikes]
    return LabTrial("synthetic", t, {}, events, treadmill)


def filmed(lab: LabTrial) -> FilmedTrial:
    t = np.arange(0, 3.0, 1 / 60)
    kp = np.zeros((len(t), 17, 3), np.float32)
    return FilmedTrial(lab, 60.0, t, kp, kp, (1280, 720), "R", 200.0)


def strike(leg: Leg, time: float) -> GaitEvent:
    return GaitEvent(EventKind.FOOT_STRIKE, leg, time)


def perfect(lab: LabTrial) -> list[GaitEvent]:
    return [strike(Leg.NEAR if e.side == "R" else Leg.FAR, e.foot_strike) for e in lab.events]


def test_edge_check_is_clean_for_perfect_detections():
    lab = trial()
    edges = edge_check(filmed(lab), perfect(lab))
    assert (edges.spurious_first, edges.spurious_last) == (0, 0)
    assert (edges.missing_first, edges.missing_last) == (0, 0)


def test_edge_check_finds_a_spurious_first_and_a_missing_last_strike():
    lab = trial()
    events = [*perfect(lab)[:-1], strike(Leg.FAR, 0.05)]  # the last strike lost, an early ghost
    edges = edge_check(filmed(lab), events)
    assert edges.spurious_first == 1
    assert edges.missing_last == 1
    # A strike on the wrong leg is spurious *and* leaves its truth missing.
    events = perfect(lab)
    events[0] = strike(Leg.FAR, events[0].time)
    edges = edge_check(filmed(lab), events)
    assert edges.spurious_first == 1 and edges.missing_first == 1


def test_overground_strikes_after_the_last_plate_contact_are_not_spurious():
    lab = trial(treadmill=False)
    late = strike(Leg.NEAR, 2.95)  # after the last toe-off at 2.90 s: no plate under it
    assert edge_check(filmed(lab), [*perfect(lab), late]).spurious_last == 0
    lab = trial(treadmill=True)
    assert edge_check(filmed(lab), [*perfect(lab), late]).spurious_last == 1


def test_match_any_leg_counts_identity_separately_from_timing():
    truth = [("R", 1.0), ("L", 1.4), ("R", 1.8)]
    detected = [("R", 1.01), ("R", 1.38), ("R", 2.5)]  # second has the wrong leg, third is off
    errors, missed, spurious, n, wrong = match_any_leg(detected, truth, (0.0, 3.0))
    assert errors == pytest.approx([0.01, -0.02])
    assert (missed, spurious, n, wrong) == (1, 1, 3, 1)


def test_contact_masks_and_played_faster():
    lab = trial()
    masks = contact_masks(lab, np.array([0.1, 0.3, 0.6, 0.9]))
    assert masks["R"].tolist() == [False, True, False, True]
    assert masks["L"].tolist() == [False, False, True, False]
    fast = played_faster(lab, 2.0)
    assert fast.t[-1] == pytest.approx(lab.t[-1] / 2)
    assert fast.events[0].foot_strike == pytest.approx(0.10)
    assert fast.events[0].toe_off - fast.events[0].foot_strike == pytest.approx(0.125)
    with pytest.raises(ValueError, match="factor must be > 0"):
        played_faster(lab, 0)
