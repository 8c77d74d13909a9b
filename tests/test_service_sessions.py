"""Coaches' commands through the router to the session: the running speed and the focus."""

from __future__ import annotations

import dataclasses

from edge.analysis import RunAnalyzer
from edge.config import Config
from edge.cues.profiles import AthleteProfile
from edge.outputs.mqtt.commands import CommandRouter
from edge.service.sessions import SessionControl, route_commands
from edge.service.sinks import FanOut, Outputs
from edge.service.status import Stats
from edge.types import RunningSpeed


def session(config: Config) -> tuple[CommandRouter, SessionControl, RunAnalyzer]:
    analyzer = RunAnalyzer(config.cues, config.athletes)
    control = SessionControl(config, analyzer, Outputs(FanOut({})), Stats(), now=lambda: 0.0)
    router = CommandRouter()
    route_commands(router, control)
    return router, control, analyzer


def test_set_speed_reaches_the_evaluator_and_ends_with_the_session():
    config = Config()
    config = dataclasses.replace(config, cues=dataclasses.replace(config.cues, speed_mps=2.8))
    router, control, analyzer = session(config)
    assert analyzer.evaluator.speed == RunningSpeed(2.8, "session")
    assert router.handle("start_session", b"{}").ok
    assert router.handle("set_speed", b'{"speed_mps": 3.6}').ok
    control.apply_commands()  # the analysis thread applies queued commands between frames
    assert analyzer.evaluator.speed == RunningSpeed(3.6, "session")
    assert router.handle("set_speed", b'{"speed_mps": null}').ok
    control.apply_commands()
    assert analyzer.evaluator.speed == RunningSpeed()
    assert router.handle("set_speed", b'{"speed_mps": 3.6}').ok
    assert router.handle("stop_session", b"{}").ok
    control.apply_commands()
    assert analyzer.evaluator.speed == RunningSpeed(2.8, "session")  # the config's again


def test_set_focus_is_validated_at_once_and_applied_between_frames():
    ana = AthleteProfile("ana", focus=("legs.overstride",))
    router, control, analyzer = session(dataclasses.replace(Config(), athletes=(ana,)))
    assert router.handle("select_athlete", b'{"athlete": "ana"}').ok
    control.apply_commands()
    assert analyzer.evaluator.focus == ("legs.overstride",)
    assert router.handle("set_focus", b'{"cue_ids": ["posture.run_tall"]}').ok
    assert analyzer.evaluator.focus == ("legs.overstride",)  # queued, not yet applied
    control.apply_commands()
    assert analyzer.evaluator.focus == ("posture.run_tall",)
    refused = router.handle("set_focus", b'{"cue_ids": ["head.look_ahead"]}')
    assert not refused.ok and "information only" in refused.reason
    control.apply_commands()
    assert analyzer.evaluator.focus == ("posture.run_tall",)
    assert router.handle("set_focus", b'{"cue_ids": null}').ok
    control.apply_commands()
    assert analyzer.evaluator.focus == ("legs.overstride",)  # the athlete's own
