"""[cues] and [[athletes]] config: parsing, precise error paths, overrides applied."""

from __future__ import annotations

import dataclasses
import tomllib

import pytest

from edge.cues.evaluate import CueEvaluator
from edge.cues.profiles import build_rules
from edge.cues.settings import (
    AthleteList,
    CueIdList,
    CuesConfig,
    check_cues_settings,
    parse_athletes,
)
from edge.settings import Invalid

GOOD = """
[[athletes]]
name = "Ana"
height_cm = 168
speed_mps = 3.2
focus = ["posture.run_tall", "legs.overstride"]
disabled = ["arms.hands_shoulder_height"]
[athletes.overrides.legs.overstride]
warn = 16
fault = 23
[athletes.overrides.legs.heel_to_hamstring]
warn = 75
fault = 65
[athletes.overrides.posture.run_tall]
warn_high = 15

[[athletes]]
name = "Bo"
"""


def athletes_from(text: str):
    return parse_athletes(tomllib.loads(text)["athletes"])


def test_profiles_parse_and_apply():
    ana, bo = athletes_from(GOOD)
    assert ana.name == "Ana" and ana.height_cm == 168.0 and bo.height_cm is None
    assert ana.speed_mps == 3.2 and bo.speed_mps is None
    assert ana.focus == ("posture.run_tall", "legs.overstride") and bo.focus == ()
    assert ana.disabled == {"arms.hands_shoulder_height"}
    assert ana.overrides == {
        "legs.overstride": {"warn": 16.0, "fault": 23.0},
        "legs.heel_to_hamstring": {"warn": 75.0, "fault": 65.0},
        "posture.run_tall": {"warn_high": 15.0},
    }
    rules = {r.cue.id: r for r in build_rules(ana)}
    assert rules["legs.overstride"].thresholds.limits() == {"warn": 16.0, "fault": 23.0}
    assert rules["posture.run_tall"].thresholds.limits() == {
        "warn_low": 0.1,
        "fault_low": -3.5,
        "warn_high": 15.0,
        "fault_high": 18.1,
    }
    # An override is the runner's own: it no longer moves with speed.
    heel = rules["legs.heel_to_hamstring"]
    assert (
        heel.thresholds_at(4.5).limits()
        == heel.thresholds_at(None).limits()
        == {
            "warn": 75.0,
            "fault": 65.0,
        }
    )
    moving = {r.cue.id: r for r in build_rules(bo)}["legs.heel_to_hamstring"]
    assert moving.thresholds_at(4.5).low.warn > moving.thresholds_at(2.5).low.warn
    assert not rules["arms.hands_shoulder_height"].enabled
    assert rules["arms.elbows_back"].enabled
    assert AthleteList()(tomllib.loads(GOOD)["athletes"]) == (ana, bo)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (
            '[[athletes]]\nname = "A"\n[athletes.overrides.legs.overstride]\nfault = "high"',
            "athletes[0].overrides.legs.overstride.fault: expected a number between -180 and "
            '180 (deg), got "high"',
        ),
        (
            '[[athletes]]\nname = "A"\n[[athletes]]\nname = "B"\n'
            "[athletes.overrides.legs.overstride]\nfault = 10",
            "athletes[1].overrides.legs.overstride.fault: expected at least warn (18), got 10",
        ),
        (
            '[[athletes]]\nname = "A"\n[athletes.overrides.legs.overstrid]\nfault = 0.3',
            "athletes[0].overrides.legs.overstrid: unknown cue (expected one of: overstride, ",
        ),
        (
            '[[athletes]]\nname = "A"\n[athletes.overrides.feet.overstride]\nfault = 0.3',
            "athletes[0].overrides.feet: unknown cue group",
        ),
        (
            '[[athletes]]\nname = "A"\n[athletes.overrides.legs.overstride]\nfault_high = 0.3',
            "athletes[0].overrides.legs.overstride.fault_high: unknown limit (expected one of: "
            "warn, fault)",
        ),
        (
            '[[athletes]]\nname = "A"\n[athletes.overrides.posture.run_tall]\nwarn = 3',
            "athletes[0].overrides.posture.run_tall.warn: unknown limit "
            "(expected one of: warn_low,",
        ),
        (
            '[[athletes]]\nname = "A"\n[athletes.overrides.head.relaxed_face]\nwarn = 3',
            "athletes[0].overrides.head.relaxed_face: this cue is not measurable",
        ),
        (
            '[[athletes]]\nname = "A"\n[athletes.overrides.posture.run_tall]\nwarn_low = 15',
            "athletes[0].overrides.posture.run_tall.warn_high: expected more than warn_low (15)",
        ),
        (
            '[[athletes]]\nname = "A"\n[athletes.overrides.head.look_ahead]\nwarn = 3',
            "athletes[0].overrides.head.look_ahead: this cue is information only",
        ),
        (
            '[[athletes]]\nname = "A"\nfocus = ["arms.elbows_back"]',
            "athletes[0].focus: 'arms.elbows_back' cannot be a focus cue (information only)",
        ),
        (
            '[[athletes]]\nname = "A"\nfocus = ["legs.overstride", "legs.knee_drive", '
            '"posture.run_tall"]',
            "athletes[0].focus: expected at most 2 focus cues, got 3",
        ),
        (
            '[[athletes]]\nname = "A"\nspeed_mps = 30',
            "athletes[0].speed_mps: expected a number between 1 and 12, got 30",
        ),
        (
            '[[athletes]]\nname = "A"\n[athletes.overrides.legs]\noverstride = 0.3',
            "athletes[0].overrides.legs.overstride: expected a table of limits, got 0.3",
        ),
        ("[[athletes]]\nheight_cm = 170", "athletes[0].name: missing"),
        ('[[athletes]]\nname = ""', 'athletes[0].name: expected a non-empty string, got ""'),
        (
            '[[athletes]]\nname = "A"\nheight_cm = 17',
            "athletes[0].height_cm: expected a number between 50 and 250, got 17",
        ),
        ('[[athletes]]\nname = "A"\nheigth_cm = 170', "athletes[0].heigth_cm: unknown key"),
        (
            '[[athletes]]\nname = "A"\ndisabled = ["legs.bounce"]',
            "athletes[0].disabled: expected cue ids (one of: posture.run_tall, ",
        ),
        (
            '[[athletes]]\nname = "A"\n[[athletes]]\nname = "a"',
            'athletes[1].name: "a" is already the name of athletes[0]',
        ),
        ("athletes = 3", "athletes: expected an array of tables ([[athletes]]), got 3"),
    ],
)
def test_errors_name_the_exact_key(toml, message):
    with pytest.raises(Invalid) as exc:
        parse_athletes(tomllib.loads(toml)["athletes"])
    assert str(exc.value).startswith(message), str(exc.value)


def test_cues_section_fields_and_checks():
    fields = {f.name: f.metadata for f in dataclasses.fields(CuesConfig)}
    assert list(fields) == [
        "view",
        "hold_strides",
        "window_strides",
        "alert_level",
        "min_confidence",
        "athlete",
        "disabled",
        "speed_mps",
        "focus",
        "smooth_strides",
    ]
    assert all(m["doc"] for m in fields.values())
    assert fields["view"]["check"]("front") == "front"
    with pytest.raises(Invalid, match='expected one of "auto", "side", "front", got "top"'):
        fields["view"]["check"]("top")
    assert CueIdList()(["head.look_ahead"]) == ("head.look_ahead",)
    with pytest.raises(Invalid, match=r'got "head\.look"'):
        CueIdList()(["head.look"])


def test_cross_key_rules():
    athletes = athletes_from(GOOD)
    check_cues_settings(CuesConfig(athlete="Bo"), athletes)
    with pytest.raises(Invalid, match=r"^cues.hold_strides: expected at most window_strides"):
        check_cues_settings(CuesConfig(hold_strides=5, window_strides=4))
    with pytest.raises(Invalid, match=r"^cues.hold_strides: expected more than half"):
        check_cues_settings(CuesConfig(hold_strides=2, window_strides=4))
    with pytest.raises(Invalid, match=r'^cues.athlete: .*\("Ana", "Bo"\), got "Cy"'):
        check_cues_settings(CuesConfig(athlete="Cy"), athletes)
    with pytest.raises(Invalid, match=r"^cues.speed_mps: expected 0 \(not known\) or"):
        check_cues_settings(CuesConfig(speed_mps=0.5))
    check_cues_settings(CuesConfig(speed_mps=3.4))


def test_evaluator_from_config_starts_with_the_configured_athlete():
    athletes = athletes_from(GOOD)
    cues = CuesConfig(athlete="Ana", disabled=("head.look_ahead",), view="side")
    evaluator = CueEvaluator.from_config(cues, athletes)
    assert evaluator.athlete.name == "Ana" and evaluator.view == "side"
    assert evaluator.disabled == {"head.look_ahead", "arms.hands_shoulder_height"}
