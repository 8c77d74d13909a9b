"""Feedback patterns: what the runner's lights and buzzer do, as pure timelines.

A *timeline* is a tuple of :class:`Segment` (a duration and the :class:`Output` to show for
it).  Played from a start time, it answers "what should every device do now?" for any
``now``; nothing here reads a clock, sleeps or starts a thread, so the same events and
times always give the same output::

    >>> flash = stride_flash(Verdict.WARN, "arms.elbows_back", Timings())
    >>> sorted(play(flash, start=10.0, now=10.1).lit)
    ['amber', 'arms']
    >>> play(flash, start=10.0, now=10.2) is None  # finished
    True

:class:`FeedbackPlan` combines the events of a run (stride reports, alerts raised and
cleared, quiet mode) into one immutable value whose :meth:`~FeedbackPlan.output` the driver
applies to the pins.

**The runner acts on one thing at a time.**  When the coach picked focus cues (one or two;
:attr:`~edge.types.StrideReport.focus`), the lights and buzzer follow only them: each
stride flashes the focus cues' *held* level, and only their alerts hold the light and
sound.  Without focus cues they follow the stride grade (the worst validated cue).  The
held level changes only when ``hold`` of the last ``window`` strides that judged it agree
(:func:`edge.cues.rolling.held_level`), so one odd stride never changes the colour;
a stride that judged nothing (unknown, unreliable) flashes nothing.  Precedence, from
strongest:

1. **A raised alert holds the light.**  While any (focus) alert is active the traffic
   light shows the worst active alert's colour (red for a fault, amber otherwise) and each
   active alert's group LED is lit; stride flashes and clear blinks are not shown, so the
   held colour never flickers.
2. **Otherwise the newest flash wins**: a stride's held-level flash, or the double green
   blink of an alert that cleared (only when it was the last active alert).
3. Otherwise everything is off.

The buzzer is independent of the lights: each raised alert (or a change of its verdict)
queues its group's code, codes play one after another, and quiet mode silences it at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from edge.cues.rolling import held_level
from edge.outputs.feedback.settings import FeedbackConfig
from edge.types import CueAlert, CueGroup, StrideReport, Verdict

TRAFFIC_LIGHT = ("green", "amber", "red")
#: Every light by name: the traffic light, then one LED per cue group (named by its value).
LIGHTS: tuple[str, ...] = (*TRAFFIC_LIGHT, *CueGroup)

# Short beeps per group; 0 means one long beep.  Head is the first cue on the sheet, so it
# gets the simplest code.
GROUP_BEEPS: dict[CueGroup, int] = {
    CueGroup.HEAD: 1,
    CueGroup.POSTURE: 2,
    CueGroup.ARMS: 3,
    CueGroup.LEGS: 0,
}


@dataclass(frozen=True, slots=True)
class Output:
    """The state of every device at one instant.

    ``lit`` names the lights that are on (see :data:`LIGHTS`); ``tone`` is the buzzer's
    pitch in Hz, or ``None`` when silent (an on/off buzzer just sounds).
    """

    lit: frozenset[str] = frozenset()
    tone: float | None = None


OFF = Output()


@dataclass(frozen=True, slots=True)
class Segment:
    """Show ``output`` for ``duration`` seconds."""

    duration: float
    output: Output


Timeline = tuple[Segment, ...]


@dataclass(frozen=True, slots=True)
class Timings:
    """Pattern durations in seconds, and the buzzer pitch."""

    stride_flash: float = 0.15
    clear_blink: float = 0.1
    beep: float = 0.08
    beep_gap: float = 0.12
    long_beep: float = 0.5
    code_gap: float = 0.4
    tone_hz: float = 2000.0

    @classmethod
    def from_config(cls, config: FeedbackConfig) -> Timings:
        return cls(
            stride_flash=config.stride_flash_ms / 1000,
            clear_blink=config.clear_blink_ms / 1000,
            beep=config.beep_ms / 1000,
            beep_gap=config.beep_gap_ms / 1000,
            long_beep=config.long_beep_ms / 1000,
            code_gap=config.code_gap_ms / 1000,
            tone_hz=config.tone_hz,
        )


def length(timeline: Timeline) -> float:
    """How long a timeline lasts, in seconds."""
    return sum(segment.duration for segment in timeline)


def play(timeline: Timeline, start: float, now: float) -> Output | None:
    """The output of ``timeline`` started at ``start``, at time ``now``.

    ``None`` before the start and once it has finished (each segment covers
    ``[its start, its end)``), so callers can tell "finished" from "showing nothing".
    """
    elapsed = now - start
    if elapsed < 0:
        return None
    for segment in timeline:
        if elapsed < segment.duration:
            return segment.output
        elapsed -= segment.duration
    return None


def grade_colour(verdict: Verdict) -> str | None:
    """The traffic-light colour of a verdict; ``None`` when nothing was judged (unknown,
    information only, unreliable: nothing to say)."""
    return {Verdict.OK: "green", Verdict.WARN: "amber", Verdict.FAULT: "red"}.get(verdict)


def hold_colour(verdict: Verdict) -> str:
    """The colour an active alert holds: red for a fault, amber for anything milder."""
    return "red" if verdict is Verdict.FAULT else "amber"


def stride_flash(grade: Verdict, worst_cue: str | None, timings: Timings) -> Timeline:
    """One flash of a grade's colour; a warn or fault also lights the worst cue's group
    LED.  A verdict that is no judgement shows nothing (empty timeline)."""
    colour = grade_colour(grade)
    if colour is None:
        return ()
    lit = {colour}
    group = CueGroup.of(worst_cue)
    if grade in (Verdict.WARN, Verdict.FAULT) and group is not None:
        lit.add(group)
    return (Segment(timings.stride_flash, Output(frozenset(lit))),)


def clear_blink(timings: Timings) -> Timeline:
    """Two short green blinks: the last active alert has cleared."""
    on = Segment(timings.clear_blink, Output(frozenset({"green"})))
    return (on, Segment(timings.clear_blink, OFF), on)


def buzzer_code(group: CueGroup, timings: Timings) -> Timeline:
    """The beep code naming a cue group: head 1 beep, posture 2, arms 3, legs one long."""
    tone = Output(tone=timings.tone_hz)
    beeps = GROUP_BEEPS[group]
    if beeps == 0:
        return (Segment(timings.long_beep, tone),)
    code: list[Segment] = []
    for i in range(beeps):
        if i:
            code.append(Segment(timings.beep_gap, OFF))
        code.append(Segment(timings.beep, tone))
    return tuple(code)


@dataclass(frozen=True, slots=True)
class Scheduled:
    """A timeline with the time it starts."""

    start: float
    timeline: Timeline

    @property
    def end(self) -> float:
        return self.start + length(self.timeline)


#: The held-level track of the stride grade (no focus cues chosen).
GRADE = "grade"


@dataclass(frozen=True, slots=True)
class LevelTrack:
    """One followed signal (a focus cue, or the stride grade): its recent judged verdicts
    (oldest first), the level the light holds for it, and the cue it names."""

    recent: tuple[Verdict, ...] = ()
    level: Verdict | None = None
    cue_id: str | None = None


@dataclass(frozen=True, slots=True)
class FeedbackPlan:
    """Everything the lights and buzzer should be doing, built from events.

    Immutable: each event returns a new plan, so a driver can swap it in atomically while
    another thread reads the current one.  ``alerts`` holds the active ``(cue_id, verdict)``
    pairs in the order they were raised; ``focus`` the focus cues of the latest stride and
    ``tracks`` the held level of each followed signal; ``hold`` of ``window`` strides move a
    level.
    """

    timings: Timings = Timings()
    quiet: bool = False
    alerts: tuple[tuple[str, Verdict], ...] = ()
    flash: Scheduled | None = None
    sounds: tuple[Scheduled, ...] = ()
    focus: tuple[str, ...] = ()
    tracks: tuple[tuple[str, LevelTrack], ...] = ()
    hold: int = 3
    window: int = 4

    def with_stride(self, report: StrideReport, now: float) -> FeedbackPlan:
        """Fold the stride into the followed levels and flash the held colour from ``now``
        (hidden while an alert holds the light).  A change of focus starts the levels
        afresh and drops the held alerts of cues no longer in focus."""
        plan = self if report.focus == self.focus else self._refocused(report.focus)
        tracks = dict(plan.tracks)
        verdicts = {c.cue_id: c.verdict for c in report.cues}
        judged = False
        for key in report.focus or (GRADE,):
            verdict = report.grade if key == GRADE else verdicts.get(key, Verdict.UNKNOWN)
            track = tracks.get(key, LevelTrack(cue_id=None if key == GRADE else key))
            if not verdict.judged:
                continue
            judged = True
            recent = (*track.recent, verdict)[-plan.window :]
            cue_id = report.worst_cue if key == GRADE and verdict.flagged else track.cue_id
            level = held_level(track.level, recent, plan.hold)
            tracks[key] = LevelTrack(recent, level, cue_id)
        timeline: Timeline = ()
        held = [(t.level, t.cue_id) for t in tracks.values() if t.level is not None]
        if judged and held:
            level, cue_id = max(held, key=lambda lc: _SEVERITY[lc[0]])
            timeline = stride_flash(level, cue_id, plan.timings)
        return replace(
            plan,
            tracks=tuple(tracks.items()),
            flash=Scheduled(now, timeline),
            sounds=plan._live_sounds(now),
        )

    def _refocused(self, focus: tuple[str, ...]) -> FeedbackPlan:
        kept = tuple((c, v) for c, v in self.alerts if not focus or c in focus)
        return replace(self, focus=focus, tracks=(), alerts=kept)

    def with_alert(self, alert: CueAlert, now: float) -> FeedbackPlan:
        """Raise or clear an alert at ``now``.

        With focus cues, an alert of another cue is not the runner's business: ignored.
        Raising a cue already active with the same verdict changes nothing (no second code);
        a changed verdict updates the colour and sounds the code again.  Clearing the last
        active alert blinks green twice.
        """
        active = dict(self.alerts)
        sounds = self._live_sounds(now)
        if alert.active:
            if self.focus and alert.cue_id not in self.focus:
                return self
            if active.get(alert.cue_id) == alert.verdict:
                return self
            active[alert.cue_id] = alert.verdict
            group = CueGroup.of(alert.cue_id)
            if group is not None and not self.quiet:
                start = max([now, *(s.end + self.timings.code_gap for s in sounds)])
                sounds = (*sounds, Scheduled(start, buzzer_code(group, self.timings)))
            return replace(self, alerts=tuple(active.items()), sounds=sounds)
        if alert.cue_id not in active:
            return self
        del active[alert.cue_id]
        flash = self.flash if active else Scheduled(now, clear_blink(self.timings))
        return replace(self, alerts=tuple(active.items()), flash=flash, sounds=sounds)

    def with_quiet(self, quiet: bool) -> FeedbackPlan:
        """Quiet mode: lights only.  Entering it also drops any codes still queued."""
        return replace(self, quiet=quiet, sounds=() if quiet else self.sounds)

    def output(self, now: float) -> Output:
        """What every device should do at ``now``."""
        if self.alerts:
            lit = {hold_colour(worst(v for _, v in self.alerts))}
            lit.update(g for cue, _ in self.alerts if (g := CueGroup.of(cue)) is not None)
            lights = frozenset(lit)
        elif self.flash is not None:
            shown = play(self.flash.timeline, self.flash.start, now)
            lights = shown.lit if shown is not None else frozenset()
        else:
            lights = frozenset()
        tone = None
        if not self.quiet:
            for sound in self.sounds:
                playing = play(sound.timeline, sound.start, now)
                if playing is not None:
                    tone = playing.tone
                    break
        return Output(lights, tone)

    def busy_until(self) -> float:
        """When the last flash or queued code ends (an active alert holds on beyond it)."""
        ends = [s.end for s in self.sounds]
        if self.flash is not None:
            ends.append(self.flash.end)
        return max(ends, default=float("-inf"))

    def _live_sounds(self, now: float) -> tuple[Scheduled, ...]:
        return tuple(s for s in self.sounds if s.end > now)


_SEVERITY = {
    Verdict.OK: 0,
    Verdict.INFO: 1,
    Verdict.UNKNOWN: 1,
    Verdict.UNRELIABLE: 1,
    Verdict.WARN: 2,
    Verdict.FAULT: 3,
}


def worst(verdicts: Iterable[Verdict]) -> Verdict:
    """The most severe of some verdicts (fault > warn > not judged > ok)."""
    return max(verdicts, key=_SEVERITY.__getitem__)
