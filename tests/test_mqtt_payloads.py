"""Payloads, message ids and commands, checked against the JSON Schemas in docs/."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest
from jsonschema.exceptions import ValidationError
from mqtt_helpers import load_schemas, validator

from edge.outputs.mqtt import homeassistant
from edge.outputs.mqtt.commands import (
    CUE_ID_PATTERN,
    MAX_COMMAND_BYTES,
    CommandRejected,
    CommandRouter,
    SelectAthlete,
    SetCue,
    SetFocus,
    SetSpeed,
    StartSession,
    parse_command,
)
from edge.outputs.mqtt.ids import MessageIds
from edge.outputs.mqtt.payloads import (
    Envelope,
    active_alerts_payload,
    alert_payload,
    command_result_payload,
    encode,
    status_payload,
    stride_payload,
    summary_payload,
)
from edge.outputs.mqtt.topics import Topics
from edge.testing.mqtt import alert, stride_report
from edge.types import CueGroup, GateFailure, MetricValue, RunningSpeed, Verdict

ENV = Envelope("pi-1", "01HZX3K9Q4V6T8W2Y5A7C9E1G3", 1_746_091_800.125, "s1", "ana")


def roundtrip(payload: dict) -> dict:
    return json.loads(encode(payload))


def test_every_schema_is_a_valid_2020_12_schema() -> None:
    from jsonschema import Draft202012Validator

    schemas = load_schemas()
    assert {
        "stride",
        "alert",
        "active_alerts",
        "pass",
        "session",
        "status",
        "cmd_result",
        "cmd_start_session",
        "cmd_set_cue",
    } <= set(schemas)
    for schema in schemas.values():
        Draft202012Validator.check_schema(schema)


def _schema_nodes(node):
    """Every dict inside a JSON schema, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _schema_nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _schema_nodes(value)


def test_schemas_speak_the_code_s_vocabulary() -> None:
    """The documented cue groups, cue-id pattern and verdicts are the ones in edge.types."""
    groups = [g.value for g in CueGroup]
    verdicts = {v.value for v in Verdict}
    seen = {"group": 0, "cue_id": 0, "verdict": 0}
    for name, schema in load_schemas().items():
        for node in _schema_nodes(schema):
            props = node.get("properties", {})
            if "enum" in props.get("group", {}):
                seen["group"] += 1
                assert [g for g in props["group"]["enum"] if g is not None] == groups, name
            if "pattern" in props.get("cue_id", {}):
                seen["cue_id"] += 1
                pattern = props["cue_id"]["pattern"]
                documented = re.match(r"\^\((?:\?:)?([a-z|]+)\)", pattern)
                assert documented and documented.group(1).split("|") == groups, name
                assert pattern.endswith(CUE_ID_PATTERN.pattern.split(")", 1)[1] + "$"), name
            if "enum" in props.get("verdict", {}):
                seen["verdict"] += 1
                assert set(props["verdict"]["enum"]) - {None} <= verdicts, name
    assert all(seen.values()), seen  # the check looked at something


def test_stride_payload_validates_and_carries_units_and_timing() -> None:
    data = roundtrip(stride_payload(ENV, stride_report(3)))
    validator("stride").validate(data)
    assert data["created_at"] == "2025-05-01T09:30:00.125Z"
    assert (data["device_id"], data["session_id"], data["athlete"]) == ("pi-1", "s1", "ana")
    assert data["stride"]["cadence_spm"] == pytest.approx(120 / 0.7, abs=0.01)
    assert data["stride"]["ground_contact_ms"] == pytest.approx(250.0)
    assert data["metrics"]["trunk_lean_deg"] == {
        "value": 6.3,
        "unit": "deg",
        "quality": 0.9,
        "note": "",
        "reliable": True,
    }
    # NaN is not JSON: unmeasured values become null with the reason kept.
    assert data["metrics"]["overstride_cm"]["value"] is None
    assert data["metrics"]["overstride_cm"]["note"] == "no scale"
    overstride = data["cues"][1]
    assert overstride["verdict"] == "unknown" and overstride["value"] is None
    elbows = data["cues"][2]
    assert elbows["group"] == "arms" and elbows["verdict"] == "info"
    assert elbows["information_only"] is True and elbows["judged_value"] is None
    assert data["cues"][3]["judged_value"] == 4.0
    assert data["worst_cue"] == "legs.knee_drive"
    assert data["reliable"] is True and data["gates"] == [] and data["focus"] == []
    assert data["speed"] == {"mps": None, "source": "unknown"}


def test_unreliable_strides_and_metrics_are_flagged_with_their_reason() -> None:
    base = stride_report(1)
    metrics = {
        **base.stride.metrics,
        "knee_flexion_at_foot_strike_deg": MetricValue(85.3, "deg", 0.8),
        "shoulder_tilt_max_deg": MetricValue(84.0, "deg", 0.8),
    }
    front = GateFailure(
        "front view", "front view: 0 outside [0.5, 1]", frozenset({"shoulder_tilt_max_deg"})
    )
    knee = GateFailure("knee at strike", "knee at strike: 85.3 outside [-10, 50]")
    partial = dataclasses.replace(
        base,
        stride=dataclasses.replace(base.stride, metrics=metrics),
        gates=(front,),
        speed=RunningSpeed(3.4, "session"),
        focus=("posture.run_tall",),
    )
    data = roundtrip(stride_payload(ENV, partial))
    validator("stride").validate(data)
    assert data["reliable"] is True
    assert data["metrics"]["shoulder_tilt_max_deg"]["reliable"] is False
    assert data["metrics"]["knee_flexion_at_foot_strike_deg"]["reliable"] is True
    assert data["gates"] == [
        {"gate": "front view", "reason": front.reason, "metrics": ["shoulder_tilt_max_deg"]}
    ]
    assert data["speed"] == {"mps": 3.4, "source": "session"} and data["focus"] == [
        "posture.run_tall"
    ]
    whole = dataclasses.replace(partial, gates=(front, knee), grade=Verdict.UNRELIABLE)
    data = roundtrip(stride_payload(ENV, whole))
    validator("stride").validate(data)
    assert data["reliable"] is False and data["grade"] == "unreliable"
    assert not any(m["reliable"] for m in data["metrics"].values())
    assert data["gates"][1] == {"gate": "knee at strike", "reason": knee.reason, "metrics": None}


def test_schema_rejects_what_it_should() -> None:
    good = roundtrip(stride_payload(ENV, stride_report(0)))
    v = validator("stride")
    for broken in (
        {**good, "message_id": "not-a-ulid"},
        {**good, "extra": 1},
        {**good, "grade": "great"},
        {k: val for k, val in good.items() if k != "session_id"},
    ):
        with pytest.raises(ValidationError):
            v.validate(broken)


def test_alert_status_summary_and_result_payloads_validate() -> None:
    validator("alert").validate(roundtrip(alert_payload(ENV, alert(True))))
    cleared = roundtrip(alert_payload(ENV, alert(False)))
    validator("alert").validate(cleared)
    assert cleared["state"] == "cleared" and cleared["verdict"] == "ok"
    active = roundtrip(active_alerts_payload(ENV, [alert(True)]))
    validator("active_alerts").validate(active)
    assert active["count"] == 1
    status = roundtrip(
        status_payload(
            ENV,
            state="running",
            fps=9.7,
            inference_ms=93.456,
            dropped_frames=4,
            cpu_temp_c=float("nan"),
        )
    )
    validator("status").validate(status)
    assert status["inference_ms"] == 93.46 and status["cpu_temp_c"] is None
    summary = dict(
        start_s=1.0,
        end_s=9.4,
        strides=12,
        cues={"posture.run_tall": {"ok": 10, "warn": 2}},
        metrics={"trunk_lean_deg": {"unit": "deg", "mean": 6.2, "sd": 0.4, "n": 12}},
    )
    pass_data = roundtrip(summary_payload(ENV, "pass", pass_index=2, **summary))
    validator("pass").validate(pass_data)
    assert pass_data["cues"]["posture.run_tall"] == {
        "ok": 10,
        "warn": 2,
        "fault": 0,
        "unknown": 0,
        "info": 0,
        "unreliable": 0,
    }
    validator("session").validate(roundtrip(summary_payload(ENV, "session", passes=3, **summary)))
    validator("cmd_result").validate(
        roundtrip(
            command_result_payload(
                ENV, command="set_cue", request_id="r1", ok=False, reason="unknown cue"
            )
        )
    )
    with pytest.raises(ValueError, match="status state"):
        status_payload(ENV, state="sleepy")
    with pytest.raises(ValueError, match="unknown verdict"):
        summary_payload(
            ENV, "pass", start_s=0, end_s=1, strides=1, cues={"legs.x": {"great": 1}}, metrics={}
        )


def test_message_ids_are_unique_and_sort_in_creation_order() -> None:
    clock = iter([1.0] * 500 + [1.0005] * 500 + [2.0] * 10)  # many in the same millisecond
    ids = MessageIds(clock=lambda: next(clock))
    made = [ids.new() for _ in range(1010)]
    assert len(set(made)) == len(made)
    assert made == sorted(made)
    assert all(len(i) == 26 for i in made)
    v = validator("stride")
    v.validate(roundtrip(stride_payload(Envelope("d", made[-1], 2.0), stride_report(0))))


VALID_COMMANDS = [
    ("start_session", b"", StartSession()),
    (
        "start_session",
        b'{"athlete": "ana", "session_id": "am-1", "request_id": "r9"}',
        StartSession("ana", "am-1", "r9"),
    ),
    ("stop_session", b"{}", None),
    ("select_athlete", b'{"athlete": "ben"}', SelectAthlete("ben")),
    (
        "set_cue",
        b'{"cue_id": "posture.run_tall", "enabled": false}',
        SetCue("posture.run_tall", False),
    ),
    ("set_speed", b'{"speed_mps": 3.4}', SetSpeed(3.4)),
    ("set_speed", b'{"speed_mps": null, "request_id": "s1"}', SetSpeed(None, "s1")),
    ("set_focus", b'{"cue_ids": ["legs.overstride"]}', SetFocus(("legs.overstride",))),
    (
        "set_focus",
        b'{"cue_ids": ["posture.run_tall", "legs.overstride"]}',
        SetFocus(("posture.run_tall", "legs.overstride")),
    ),
    ("set_focus", b'{"cue_ids": []}', SetFocus(())),
    ("set_focus", b'{"cue_ids": null}', SetFocus(None)),
]
INVALID_COMMANDS = [
    ("start_session", b"{not json", "not valid JSON"),
    ("start_session", b"[1, 2]", "expected a JSON object"),
    ("start_session", b"\xff\xfe", "not UTF-8"),
    ("select_athlete", b'{"athlete": 5}', "athlete: expected"),
    ("select_athlete", b"{}", "athlete: missing"),
    ("select_athlete", b'{"athlete": "a/b"}', "athlete: expected"),
    ("set_cue", b'{"cue_id": "posture.run_tall", "enabled": "no"}', "enabled: expected true"),
    ("set_cue", b'{"cue_id": "feet.toes", "enabled": true}', "cue_id: expected"),
    ("set_speed", b'{"speed_mps": 40}', "speed_mps: expected a speed of 1-12 m/s"),
    ("set_speed", b'{"speed_mps": "fast"}', "speed_mps: expected a speed"),
    ("set_speed", b"{}", "speed_mps: missing"),
    ("set_focus", b'{"cue_ids": "legs.overstride"}', "cue_ids: expected a list"),
    ("set_focus", b'{"cue_ids": ["a.b", "c.d", "e.f"]}', "cue_ids: expected a list of at most 2"),
    ("set_focus", b'{"cue_ids": ["feet.toes"]}', r"cue_ids\[0\]: expected"),
    (
        "set_focus",
        b'{"cue_ids": ["legs.overstride", "legs.overstride"]}',
        "cue_ids: expected different cue ids",
    ),
    ("stop_session", b'{"now": true}', "unknown field 'now'"),
    ("reboot", b"{}", "unknown command 'reboot'"),
    ("start_session", b'{"athlete": "' + b"a" * MAX_COMMAND_BYTES + b'"}', "too large"),
]


@pytest.mark.parametrize(("name", "payload", "expected"), VALID_COMMANDS)
def test_valid_commands_parse_and_match_their_schema(name, payload, expected) -> None:
    command = parse_command(name, payload)
    if expected is not None:
        assert command == expected
    validator(f"cmd_{name}").validate(json.loads(payload or b"{}"))


@pytest.mark.parametrize(("name", "payload", "reason"), INVALID_COMMANDS)
def test_invalid_commands_are_rejected_with_a_reason(name, payload, reason) -> None:
    with pytest.raises(CommandRejected, match=reason):
        parse_command(name, payload)
    if name != "reboot" and len(payload) <= MAX_COMMAND_BYTES:
        try:
            data = json.loads(payload)
        except ValueError:
            return
        with pytest.raises(ValidationError):  # the schema agrees
            validator(f"cmd_{name}").validate(data)


def test_router_never_raises_and_reports_handler_outcomes(caplog) -> None:
    router = CommandRouter()
    seen = []

    def set_cue(cmd: SetCue) -> None:
        if cmd.cue_id != "posture.run_tall":
            raise CommandRejected(f"no cue {cmd.cue_id}")
        seen.append(cmd)

    router.on("set_cue", set_cue)
    router.on("stop_session", lambda _cmd: 1 / 0)
    ok = router.handle("set_cue", b'{"cue_id":"posture.run_tall","enabled":true,"request_id":"q1"}')
    assert (ok.ok, ok.request_id) == (True, "q1") and seen == [
        SetCue("posture.run_tall", True, "q1")
    ]
    refused = router.handle("set_cue", b'{"cue_id":"legs.moonwalk","enabled":true}')
    assert not refused.ok and refused.reason == "no cue legs.moonwalk"
    crashed = router.handle("stop_session", b"")
    assert not crashed.ok and "internal error" in crashed.reason
    unhandled = router.handle("select_athlete", b'{"athlete":"ana"}')
    assert not unhandled.ok and "not supported" in unhandled.reason
    bad = router.handle("set_cue", b'{"request_id": "q2", "enabled": 3}')
    assert (bad.ok, bad.request_id) == (False, "q2")
    assert any("rejected" in r.getMessage() for r in caplog.records)
    with pytest.raises(ValueError, match="unknown command"):
        router.on("reboot", print)


def test_topics_and_discovery_config() -> None:
    topics = Topics("trackside/pi-1")
    assert topics.command_name("trackside/pi-1/cmd/set_cue") == "set_cue"
    assert topics.command_name("trackside/pi-2/cmd/set_cue") is None
    assert topics.command_name("trackside/pi-1/cmd/a/b") is None
    config = homeassistant.discovery_payload("pi.1", topics, "0.1.0")
    assert homeassistant.discovery_topic("homeassistant", "pi.1") == (
        "homeassistant/device/trackside_pi_1/config"
    )
    assert config["availability_topic"] == "trackside/pi-1/availability"
    components = config["components"]
    assert {"cadence", "ground_contact", "alerts"} <= set(components)
    assert len({c["unique_id"] for c in components.values()}) == len(components)
    for component in components.values():
        assert component["state_topic"].startswith("trackside/pi-1/")
    # The templates read fields that the stride payload really has.
    stride = roundtrip(stride_payload(ENV, stride_report(0)))["stride"]
    assert "cadence_spm" in components["cadence"]["value_template"] and "cadence_spm" in stride
    assert "ground_contact_ms" in components["ground_contact"]["value_template"]
    assert "ground_contact_ms" in stride
