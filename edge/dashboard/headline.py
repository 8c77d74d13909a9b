"""The one thing to say now about a runner: the headline of a device's card.

A coach glancing at the page needs who is running, whether the device is live, and one cue
("Hands to shoulder height — 8 of the last 10 strides"), not three equal red tiles.  The
raised alerts are ranked: the runner's focus cues first, then the cue bad on more of the
recent strides (persistence), then fault before warn.  With no alert raised, a cue bad on
some recent strides is named as one to watch; otherwise the form is said to be fine.  The
headline and the alert list come from the same ranked alerts, so they never disagree.
Pure functions over plain data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from edge.cues.catalogue import CUES_BY_ID
from edge.outputs.units import human_value

#: Strides the persistence count looks back over: the "8 of the last 10" a coach reads.
#: Longer than the rolling alert window (6, edge/cues/rolling.py) so a raised alert's count
#: shows how settled the fault is, short enough (~7 s of running) to be "now".
PERSISTENCE_WINDOW = 10
_BAD = ("warn", "fault")
_SEVERITY = {"fault": 0, "warn": 1}


def cue_title(cue_id: str | None) -> str:
    spec = CUES_BY_ID.get(cue_id or "")
    return spec.title if spec else str(cue_id or "")


def persistence(recent: Sequence[str]) -> tuple[int, int]:
    """``(bad, of)``: how many of the recent judged verdicts were warn or fault."""
    window = list(recent)[-PERSISTENCE_WINDOW:]
    return sum(v in _BAD for v in window), len(window)


def rank_alerts(
    alerts: Sequence[Mapping[str, Any]],
    *,
    focus: Sequence[str],
    recent: Mapping[str, Sequence[str]],
) -> list[dict[str, Any]]:
    """The raised alerts, most worth saying first, each with its persistence and title."""
    ranked = []
    for alert in alerts:
        cue_id = str(alert.get("cue_id") or "")
        bad, of = persistence(recent.get(cue_id, ()))
        ranked.append({**alert, "title": cue_title(cue_id), "bad": bad, "of": of})
    ranked.sort(
        key=lambda a: (
            a["cue_id"] not in focus,
            -a["bad"],
            _SEVERITY.get(str(a.get("verdict")), 2),
            a["cue_id"],
        )
    )
    return ranked


def _count_text(bad: int, of: int) -> str:
    return f"{bad} of the last {of} strides" if of else "now"


def headline(
    *,
    athlete: str | None,
    online: bool,
    session_id: str | None,
    ranked_alerts: Sequence[Mapping[str, Any]],
    recent: Mapping[str, Sequence[str]],
    focus: Sequence[str],
    tiles: Mapping[str, Mapping[str, Any]],
    height_cm: float | None,
    strides: int,
) -> dict[str, Any]:
    """The card's headline: ``athlete``, ``live``, ``state``, ``tone`` and one ``text``.

    ``tone`` is the colour: ``fault``/``warn`` for a raised alert, ``watch`` for a cue bad
    on some recent strides, ``ok`` when the form is fine, ``idle`` when nothing is judged.
    """
    base: dict[str, Any] = {
        "athlete": athlete or "No athlete selected",
        "live": online,
        "cue_id": None,
        "message": "",
        "value": "",
    }
    if not online:
        return {**base, "state": "offline", "tone": "idle", "text": "Device offline"}
    if session_id is None:
        text = "No session — start one to judge strides"
        return {**base, "state": "no session", "tone": "idle", "text": text}
    if ranked_alerts:
        top = ranked_alerts[0]
        tile = tiles.get(top["cue_id"], {})
        return {
            **base,
            "state": "live",
            "tone": str(top.get("verdict") or "warn"),
            "cue_id": top["cue_id"],
            "text": f"{top['title']} — {_count_text(top['bad'], top['of'])}",
            "message": str(top.get("message") or ""),
            "value": _tile_value(tile, height_cm),
        }
    watch = []
    for cue_id, verdicts in recent.items():
        bad, of = persistence(verdicts)
        if bad:
            watch.append((cue_id not in focus, -bad, cue_id, bad, of))
    if watch:
        _, _, cue_id, bad, of = min(watch)
        spec = CUES_BY_ID.get(cue_id)
        return {
            **base,
            "state": "live",
            "tone": "watch",
            "cue_id": cue_id,
            "text": f"Watch: {cue_title(cue_id)} — {_count_text(bad, of)}",
            "message": spec.message if spec else "",
            "value": _tile_value(tiles.get(cue_id, {}), height_cm),
        }
    if strides:
        return {**base, "state": "live", "tone": "ok", "text": "Form looks good"}
    return {**base, "state": "live", "tone": "idle", "text": "Waiting for the first strides"}


def _tile_value(tile: Mapping[str, Any], height_cm: float | None) -> str:
    if not tile or tile.get("value") is None:
        return ""
    return human_value(tile["value"], str(tile.get("unit") or ""), height_cm)
