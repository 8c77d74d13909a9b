"""The sessions kept on the device, as ``trackside sessions`` lists them and as titles.

A session's title is what a coach reads instead of its id: the athlete and the local
start time (``ana — Wed 2 Dec 2026, 14:35``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from edge.outputs.store import ResultStore, SessionInfo


def local_time(unix_time: float, tz: tzinfo | None = None) -> datetime:
    """``unix_time`` in ``tz`` (default: this machine's zone)."""
    return datetime.fromtimestamp(unix_time, tz or UTC).astimezone(tz)


def session_title(info: SessionInfo, tz: tzinfo | None = None) -> str:
    """``ana — Wed 2 Dec 2026, 14:35``: who and when, in local time."""
    started = local_time(info.started, tz)
    when = f"{started:%a} {started.day} {started:%b %Y, %H:%M}"
    return f"{info.athlete or 'Anonymous runner'} — {when}"


@dataclass(frozen=True, slots=True)
class SessionLine:
    """One session as ``trackside sessions`` lists it."""

    info: SessionInfo
    passes: int


def session_lines(store: ResultStore) -> list[SessionLine]:
    """Every stored session, newest first, with its number of passes."""
    return [SessionLine(s, len(store.passes(s.session_id))) for s in store.sessions()]


def format_sessions(lines: Sequence[SessionLine], tz: tzinfo | None = None) -> str:
    """The session list as a text table; times in ``tz`` (default: this machine's zone)."""

    def local(unix_time: float) -> datetime:
        return local_time(unix_time, tz)

    id_width = max([len("session"), *(len(line.info.session_id) for line in lines)])
    who_width = max([len("athlete"), *(len(line.info.athlete or "-") for line in lines)])
    rows = [
        f"{'session':<{id_width}}  {'athlete':<{who_width}}  {'started':<16}  {'ended':<5}"
        f"  {'strides':>7}  {'passes':>6}  device"
    ]
    for line in lines:
        s = line.info
        started = local(s.started)
        if s.ended is None:
            ended = "open"
        else:
            end = local(s.ended)
            ended = end.strftime("%H:%M" if end.date() == started.date() else "%m-%d")
        rows.append(
            f"{s.session_id:<{id_width}}  {s.athlete or '-':<{who_width}}  "
            f"{started:%Y-%m-%d %H:%M}  {ended:<5}  {s.strides:>7}  {line.passes:>6}  {s.device_id}"
        )
    return "\n".join(rows)
