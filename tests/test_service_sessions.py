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


class _Recorder:
    """The result-sink calls the session makes."""

    def __init__(self):
        self.sessions: list[tuple[str | None, str | None]] = []

    def set_session(self, session_id, *, athlete=None):
        self.sessions.append((session_id, athlete))

    def publish_session_summary(self, summary, *, passes):
        pass

    def publish_alert(self, alert):
        pass


def _control(config: Config, sink: _Recorder) -> SessionControl:
    analyzer = RunAnalyzer(config.cues, config.athletes)
    return SessionControl(
        config,
        analyzer,
        Outputs(FanOut({"rec": sink})),
        Stats(),
        now=lambda: 0.0,
        wall_clock=lambda: 1_796_236_800.0,  # a fixed instant: the id's time is checked
    )


def test_no_anonymous_session_at_start_unless_configured():
    sink = _Recorder()
    control = _control(Config(), sink)
    control.start_automatically()
    assert control.session_id is None and not control.judging and sink.sessions == []
    always = dataclasses.replace(
        Config(), service=dataclasses.replace(Config().service, auto_session="always")
    )
    control = _control(always, sink)
    control.start_automatically()
    assert control.judging and control.session_id.startswith("session-")


def test_a_named_runner_gets_a_session_with_a_readable_id_and_stop_stops_judging():
    import time

    ana = AthleteProfile("ana")
    config = dataclasses.replace(
        Config(),
        athletes=(ana,),
        cues=dataclasses.replace(Config().cues, athlete="ana"),
    )
    sink = _Recorder()
    control = _control(config, sink)
    control.start_automatically()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(1_796_236_800.0))
    assert control.session_id == f"ana-{stamp}" and control.judging
    assert sink.sessions[-1] == (control.session_id, "ana")
    router = CommandRouter()
    route_commands(router, control)
    assert router.handle("stop_session", b"{}").ok
    control.apply_commands()
    assert control.session_id is None and not control.judging
    assert sink.sessions[-1] == (None, "ana")
