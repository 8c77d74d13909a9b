"""Sessions and coaches' commands: start, stop, choose the athlete, switch a cue on or off,
set the running speed and the runner's focus cues.

Commands arrive on paho's network thread (:func:`route_commands`).  Their ``request_*``
handlers only validate and queue; the analysis thread calls :meth:`SessionControl.apply_commands`
between frames, so no lock guards the analysis state.  A refused command is answered at once
(the coach sees why); one that fails when applied is logged.
"""

from __future__ import annotations

import logging
import queue
import re
import time
from collections.abc import Callable

from edge.analysis import RunAnalyzer
from edge.config import Config
from edge.cues.catalogue import CUES_BY_ID
from edge.cues.settings import focus_problem
from edge.cues.summary import Summary
from edge.errors import ConfigError, TracksideError
from edge.outputs.mqtt.commands import (
    Command,
    CommandRejected,
    CommandRouter,
    Handler,
    SelectAthlete,
    SetCue,
    SetFocus,
    SetSpeed,
    StartSession,
    StopSession,
)
from edge.service.sinks import Outputs
from edge.service.status import Stats

log = logging.getLogger(__name__)


class SessionControl:
    """The session in progress and the queue of commands waiting to be applied.

    ``now`` is the source time of the newest analysed frame (alerts cleared by a session's
    end are stamped with it).  ``session_summary`` replaces the live session summary (burst
    mode: :meth:`~edge.service.burst.BurstWorker.take_session_summary`).
    """

    def __init__(
        self,
        config: Config,
        analyzer: RunAnalyzer,
        outputs: Outputs,
        stats: Stats,
        *,
        now: Callable[[], float],
        session_summary: Callable[[], Summary | None] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.auto_session = config.service.auto_session
        self.wall_clock = wall_clock
        self.athlete_names = [a.name for a in config.athletes]
        self.analyzer = analyzer
        self.outputs = outputs
        self.stats = stats
        self.now = now
        self.session_summary = session_summary
        self.session_id: str | None = None
        self.athlete: str | None = config.cues.athlete or None
        self.configured_speed_mps = config.cues.speed_mps or None
        self._passes_before = 0  # stats.passes when the session started
        self._commands: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()

    # --- requests (MQTT thread: validate, then queue) ----------------------------------------

    def request_start_session(self, athlete: str | None = None, session_id: str | None = None):
        self._check_athlete(athlete)
        self._commands.put(lambda: self.start(athlete, session_id))

    def request_stop_session(self) -> None:
        self._commands.put(self.stop)

    def request_select_athlete(self, athlete: str) -> None:
        self._check_athlete(athlete)
        self._commands.put(lambda: self.select_athlete(athlete))

    def request_set_cue(self, cue_id: str, enabled: bool) -> None:
        if cue_id not in CUES_BY_ID:  # refused now, so the coach is not told "ok"
            raise ConfigError(f'cue_id: no cue "{cue_id}" (see `trackside cues` for the list)')
        self._commands.put(lambda: self.analyzer.set_cue_enabled(cue_id, enabled))

    def request_set_speed(self, speed_mps: float | None) -> None:
        self._commands.put(lambda: self.analyzer.set_speed(speed_mps))

    def request_set_focus(self, cue_ids: tuple[str, ...] | None) -> None:
        problem = focus_problem(cue_ids) if cue_ids is not None else None
        if problem is not None:
            raise ConfigError(f"cue_ids: {problem}")
        self._commands.put(lambda: self.analyzer.set_focus(cue_ids))

    def _check_athlete(self, athlete: str | None) -> None:
        if athlete and athlete not in self.athlete_names:
            known = ", ".join(f'"{n}"' for n in self.athlete_names) or "none defined"
            raise ConfigError(f'athlete: no profile named "{athlete}" (known: {known})')

    @property
    def judging(self) -> bool:
        """Strides are judged (alerts, LEDs) only inside a session: Stop means stop."""
        return self.session_id is not None

    def start_automatically(self) -> None:
        """The session ``trackside run`` starts by itself, if ``service.auto_session`` says
        so: by default only for a named runner (``cues.athlete``), never an anonymous one."""
        if self.auto_session == "always" or (self.auto_session == "athlete" and self.athlete):
            self.start(self.athlete)
        else:
            log.info("no session started: waiting for a coach's Start session")

    def readable_id(self, athlete: str | None) -> str:
        """``ana-20261202-1435``: the athlete and the local start time, unique per second."""
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(self.wall_clock()))
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", athlete or "")[:40].strip("-.")
        return f"{name or 'session'}-{stamp}"

    # --- analysis thread ---------------------------------------------------------------------

    def apply_commands(self) -> None:
        while True:
            try:
                command = self._commands.get_nowait()
            except queue.Empty:
                return
            try:
                command()
            except TracksideError as exc:
                log.warning("command failed: %s", exc)

    def start(self, athlete: str | None, session_id: str | None = None) -> None:
        if self.session_id is not None:
            self.stop()
        else:  # what was measured outside a session (never shown as alerts) is forgotten
            self.analyzer.end_session(self.now())
        if athlete is not None:
            self.select_athlete(athlete)
        self.session_id = session_id or self.readable_id(self.athlete)
        self._passes_before = self.stats.passes
        self.outputs.results.set_session(self.session_id, athlete=self.athlete)
        log.info("session %s started (athlete: %s)", self.session_id, self.athlete or "none")

    def stop(self) -> None:
        if self.session_id is None:
            return
        summary, cleared = self.analyzer.end_session(self.now())
        if self.session_summary is not None:
            summary = self.session_summary()
        self.outputs.alerts(cleared)
        if summary is not None:
            self.outputs.results.publish_session_summary(
                summary, passes=self.stats.passes - self._passes_before
            )
        # What the coach set for the session ends with it.
        self.analyzer.set_speed(self.configured_speed_mps)
        self.analyzer.set_focus(None)
        log.info("session %s stopped", self.session_id)
        self.session_id = None
        self.outputs.results.set_session(None, athlete=self.athlete)

    def select_athlete(self, athlete: str) -> None:
        self.outputs.alerts(self.analyzer.select_athlete(athlete, self.now()))
        self.athlete = athlete
        if self.session_id:
            self.outputs.results.set_session(self.session_id, athlete=athlete)


def _refusing(apply: Handler) -> Handler:
    """A handler whose :class:`~edge.errors.TracksideError` becomes the coach's refusal."""

    def handler(command: Command) -> None:
        try:
            apply(command)
        except TracksideError as exc:
            raise CommandRejected(str(exc)) from None

    return handler


def route_commands(router: CommandRouter, sessions: SessionControl) -> None:
    """MQTT commands → the session requests (validated there, applied between frames)."""

    def start(c: StartSession) -> None:
        sessions.request_start_session(c.athlete, c.session_id)

    def stop(_c: StopSession) -> None:
        sessions.request_stop_session()

    def select(c: SelectAthlete) -> None:
        sessions.request_select_athlete(c.athlete)

    def set_cue(c: SetCue) -> None:
        sessions.request_set_cue(c.cue_id, c.enabled)

    router.on("start_session", _refusing(start))
    router.on("stop_session", _refusing(stop))
    router.on("select_athlete", _refusing(select))

    def set_speed(c: SetSpeed) -> None:
        sessions.request_set_speed(c.speed_mps)

    def set_focus(c: SetFocus) -> None:
        sessions.request_set_focus(c.cue_ids)

    router.on("set_cue", _refusing(set_cue))
    router.on("set_speed", _refusing(set_speed))
    router.on("set_focus", _refusing(set_focus))
