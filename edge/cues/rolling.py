"""Per-cue alert state across strides, with hysteresis so LEDs and alerts do not flicker.

A cue's alert is **raised** when it is bad (a fault, or warn-or-fault with
``level=Verdict.WARN``) in ``hold`` of its last ``window`` judged strides, and **cleared**
when it is back to *ok* in ``hold`` of them.  Two kinds of hysteresis keep LEDs steady:
over time, ``hold`` is more than half of ``window``, so raising and clearing cannot both
hold and input alternating good/bad reaches neither; over values, a fault alert does not
clear on warn strides, so the warn band is a dead band and a value hovering at the fault
limit does not toggle it (on the real clips this removed the re-raises).  Strides where
the cue was not judged (unknown, unreliable, or an information-only cue, which therefore
never alerts) are skipped: they neither raise nor clear, except a cue switched off, which
clears at once.

:func:`held_level` is the same k-of-n rule for a level that is always shown (the runner's
LED following the focus cues): it moves up or down only when ``hold`` of the last strides
agree.

The state is plain immutable data (:class:`RollingState`), so it can be snapshotted,
logged or restored; :func:`update` is pure.  :class:`RollingCues` wraps it for callers that
prefer an object::

    rolling = RollingCues(hold=4, window=6)
    for alert in rolling.update(report):
        publish(alert)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from edge.cues.catalogue import CUES_BY_ID
from edge.cues.profiles import REASON_OFF
from edge.types import CueAlert, StrideReport, Verdict

_SEVERITY = {Verdict.OK: 0, Verdict.WARN: 1, Verdict.FAULT: 2}


@dataclass(frozen=True, slots=True)
class RollingPolicy:
    """``hold`` (k) of the last ``window`` (n) judged strides; ``level``: what counts as bad."""

    hold: int = 4
    window: int = 6
    level: Verdict = Verdict.FAULT

    def __post_init__(self) -> None:
        if not 1 <= self.hold <= self.window or 2 * self.hold <= self.window:
            raise ValueError(
                f"need window/2 < hold <= window, got hold={self.hold}, window={self.window}"
            )
        if self.level not in (Verdict.WARN, Verdict.FAULT):
            raise ValueError(f"level must be warn or fault, got {self.level}")


@dataclass(frozen=True, slots=True)
class CueTrack:
    """One cue's recent judged verdicts (oldest first) and whether its alert is up."""

    recent: tuple[Verdict, ...] = ()
    active: bool = False


@dataclass(frozen=True, slots=True)
class RollingState:
    """Every cue's :class:`CueTrack`; cues never judged yet are simply absent."""

    tracks: Mapping[str, CueTrack] = field(default_factory=dict)

    @property
    def active(self) -> tuple[str, ...]:
        """Cue ids whose alert is raised now."""
        return tuple(cue_id for cue_id, t in self.tracks.items() if t.active)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready snapshot."""
        return {
            cue_id: {"recent": [str(v) for v in t.recent], "active": t.active}
            for cue_id, t in self.tracks.items()
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RollingState:
        """Restore a :meth:`to_dict` snapshot."""
        return cls(
            {
                cue_id: CueTrack(tuple(Verdict(v) for v in t["recent"]), bool(t["active"]))
                for cue_id, t in data.items()
            }
        )


def _message(cue_id: str, active: bool, fallback: str) -> str:
    cue = CUES_BY_ID.get(cue_id)
    if active:
        return fallback
    return f"Good: {cue.title.lower() if cue else cue_id} is back on track."


def update(
    state: RollingState, report: StrideReport, policy: RollingPolicy
) -> tuple[RollingState, tuple[CueAlert, ...]]:
    """Fold one stride's report in; returns the new state and the alerts raised or cleared."""
    bad_from = _SEVERITY[policy.level]
    time = report.stride.next_foot_strike.time
    tracks = dict(state.tracks)
    alerts: list[CueAlert] = []
    for result in report.cues:
        track = tracks.get(result.cue_id, CueTrack())
        if not result.verdict.judged:
            if result.reason == REASON_OFF and (track.active or track.recent):
                if track.active:
                    alerts.append(_cleared(result.cue_id, time, report.stride.index))
                tracks[result.cue_id] = CueTrack()
            continue
        recent = (*track.recent, result.verdict)[-policy.window :]
        bad = [v for v in recent if _SEVERITY[v] >= bad_from]
        good = sum(v is Verdict.OK for v in recent)
        active = track.active
        if not active and len(bad) >= policy.hold:
            active = True
            worst = max(bad, key=_SEVERITY.__getitem__)
            alerts.append(
                CueAlert(
                    result.cue_id,
                    True,
                    worst,
                    time,
                    _message(result.cue_id, True, result.message),
                    report.stride.index,
                )
            )
        elif active and good >= policy.hold:
            active = False
            alerts.append(_cleared(result.cue_id, time, report.stride.index))
        tracks[result.cue_id] = CueTrack(recent, active)
    return RollingState(tracks), tuple(alerts)


def held_level(current: Verdict | None, recent: Sequence[Verdict], hold: int) -> Verdict | None:
    """The level shown after ``recent`` judged verdicts (oldest first, at most a window),
    starting from ``current`` (``None``: nothing shown yet).

    The level rises to the worst verdict that ``hold`` of them reach or pass, and falls to
    the best verdict that ``hold`` of them stay at or under; otherwise it stays.  With
    ``hold`` more than half the window the two cannot disagree, so a verdict alternating
    stride by stride moves nothing: the hysteresis that keeps the LED steady.
    """
    levels = (Verdict.OK, Verdict.WARN, Verdict.FAULT)
    rank = [_SEVERITY[v] for v in recent if v in _SEVERITY]
    up = [v for v in levels if sum(r >= _SEVERITY[v] for r in rank) >= hold]
    down = [v for v in levels if sum(r <= _SEVERITY[v] for r in rank) >= hold]
    if current is None:
        return up[-1] if up else None  # the first level: the worst that holds
    if up and _SEVERITY[up[-1]] > _SEVERITY[current]:
        return up[-1]
    if down and _SEVERITY[down[0]] < _SEVERITY[current]:
        return down[0]
    return current


def clear_all(state: RollingState, time: float) -> tuple[RollingState, tuple[CueAlert, ...]]:
    """Forget every cue's history (new athlete, new pass) and clear the raised alerts."""
    return RollingState(), tuple(_cleared(cue_id, time) for cue_id in state.active)


def _cleared(cue_id: str, time: float, stride_index: int | None = None) -> CueAlert:
    return CueAlert(cue_id, False, Verdict.OK, time, _message(cue_id, False, ""), stride_index)


class RollingCues:
    """A :class:`RollingState` kept between calls (the thin stateful shell around it)."""

    def __init__(
        self,
        hold: int = 4,
        window: int = 6,
        level: Verdict | str = Verdict.FAULT,
        state: RollingState | None = None,
    ) -> None:
        self.policy = RollingPolicy(hold, window, Verdict(level))
        self.state = state or RollingState()

    @classmethod
    def from_config(cls, cues: Any) -> RollingCues:
        """From the ``[cues]`` section (:class:`edge.cues.settings.CuesConfig`)."""
        return cls(cues.hold_strides, cues.window_strides, cues.alert_level)

    def update(self, report: StrideReport) -> tuple[CueAlert, ...]:
        """Fold one stride in; returns the alerts raised or cleared by it."""
        self.state, alerts = update(self.state, report, self.policy)
        return alerts

    def reset(self, time: float) -> tuple[CueAlert, ...]:
        """Forget all history; returns clear alerts for the cues that were raised."""
        self.state, alerts = clear_all(self.state, time)
        return alerts

    def snapshot(self) -> RollingState:
        """The current state (immutable: safe to keep or serialise)."""
        return self.state
