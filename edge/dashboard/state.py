"""What the dashboard knows: the latest state of every device, built from its MQTT messages.

:class:`DashboardState` is fed ``(topic, payload)`` pairs (from any thread) and keeps, per
device prefix (``trackside/pi-track3``): availability, health, the active alerts and recent
alert changes, the latest verdict of every cue and their counts over the session, the last
``history`` strides as compact rows (the table and the charts), the latest keyframe and the
command replies.  Every change returns a small JSON-ready *event* that the web server pushes
to browsers; :meth:`DashboardState.snapshot` is what a browser gets when it connects.

Memory is bounded: ``history`` rows per device, ``max_devices`` devices (the one silent
longest is forgotten first), keyframes over :data:`MAX_KEYFRAME_BYTES` ignored.  No I/O and
no clock of its own (``clock`` is passed in), so it is tested without a broker.

Anyone who can publish on the broker can send anything, so a message is checked in full
before it changes anything: JSON with ``NaN`` or ``Infinity`` (which the browser's stream
could never carry), a payload of the wrong shape, a keyframe that is no JPEG are ignored
with the reason logged, and a message that makes no sense never creates a device nor
pushes another device out.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edge.cues.catalogue import CATALOGUE, CUES_BY_ID
from edge.dashboard.headline import PERSISTENCE_WINDOW, headline, rank_alerts
from edge.outputs.mqtt.payloads import decode
from edge.outputs.plots import metric_limits
from edge.outputs.units import human_value
from edge.types import Verdict

log = logging.getLogger(__name__)

MAX_KEYFRAME_BYTES = 2_000_000
VERDICTS = tuple(Verdict)
_RECENT_ALERTS = 20
_RECENT_RESULTS = 10

#: Columns of the strides table: (key, label, unit, decimals).  ``stride.`` keys are read
#: from the stride's timing block, the others from its metrics.
TABLE_COLUMNS: tuple[tuple[str, str, str, int], ...] = (
    ("stride.cadence_spm", "Cadence", "spm", 0),
    ("stride.ground_contact_ms", "Contact", "ms", 0),
    ("peak_shank_angle_before_strike_deg", "Shank reach", "°", 0),
    ("overstride_leg_length", "Foot ahead", "leg lengths", 2),
    ("trunk_lean_deg", "Trunk lean", "°", 1),
    ("knee_flexion_at_foot_strike_deg", "Knee at strike", "°", 0),
    ("peak_knee_flexion_swing_deg", "Knee swing", "°", 0),
    ("peak_thigh_angle_swing_deg", "Thigh drive", "°", 0),
    ("hip_extension_at_toe_off_deg", "Hip extension", "°", 0),
    ("elbow_behind_hip_leg_length", "Elbow back", "leg lengths", 2),
)
#: Metrics drawn as live trend charts (keys of :data:`TABLE_COLUMNS`).
CHART_KEYS: tuple[str, ...] = (
    "stride.cadence_spm",
    "stride.ground_contact_ms",
    "trunk_lean_deg",
    "peak_shank_angle_before_strike_deg",
)
#: Each chart's cue limits (value, "warn"/"fault") at an unknown speed (the most lenient).
CHART_LIMITS: dict[str, list[tuple[float, str]]] = {
    key: metric_limits(key) for key in CHART_KEYS if not key.startswith("stride.")
}
#: The cues a coach may pick as the runner's focus (validated ones), for the page's control.
FOCUSABLE: tuple[dict[str, str], ...] = tuple(
    {"cue_id": c.id, "title": c.title} for c in CATALOGUE if c.validated
)
# metric key -> the cue that judges it (for ok/warn/fault colouring of table cells)
_CUE_OF_METRIC = {c.metric: c.id for c in CATALOGUE if c.metric}
_SUFFIXES = (
    "availability",
    "status",
    "stride",
    "alert",
    "alerts/active",
    "pass",
    "session",
    "keyframe",
    "keyframe/meta",
    "cmd/result",
)


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def stride_row(payload: dict[str, Any]) -> dict[str, Any]:
    """The compact form of a ``…/stride`` payload kept for the table and charts.

    ``unreliable`` lists the columns whose value a plausibility gate flagged (every column
    of a stride that is unreliable as a whole): the page shows them marked, never plain,
    and leaves them out of the charts.
    """
    stride = payload["stride"]
    metrics = payload.get("metrics") or {}
    verdict_of_cue = {c["cue_id"]: c["verdict"] for c in payload.get("cues") or []}
    reliable = payload.get("reliable", True) is not False
    values: dict[str, float | None] = {}
    verdicts: dict[str, str] = {}
    unreliable: list[str] = []
    for key, *_ in TABLE_COLUMNS:
        if key.startswith("stride."):
            values[key] = _finite(stride.get(key[7:]))
            flagged = not reliable
        else:
            metric = metrics.get(key) or {}
            values[key] = _finite(metric.get("value"))
            flagged = not reliable or metric.get("reliable", True) is False
            cue_id = _CUE_OF_METRIC.get(key)
            if cue_id in verdict_of_cue:
                verdicts[key] = verdict_of_cue[cue_id]
        if flagged:
            unreliable.append(key)
    return {
        "message_id": payload.get("message_id"),
        "index": int(stride["index"]),
        "leg": stride.get("leg"),
        "side": stride.get("side"),
        "t": _finite(stride.get("foot_strike_s")),
        "grade": payload.get("grade"),
        "worst_cue": payload.get("worst_cue"),
        "reliable": reliable,
        "unreliable": unreliable,
        "gate_reasons": [str(g.get("reason", "")) for g in payload.get("gates") or []],
        "values": values,
        "verdicts": verdicts,
    }


#: Left/right comparisons on the card (keys of :data:`TABLE_COLUMNS`).
SIDE_KEYS: tuple[str, ...] = (
    "stride.ground_contact_ms",
    "peak_shank_angle_before_strike_deg",
    "knee_flexion_at_foot_strike_deg",
    "peak_knee_flexion_swing_deg",
)


def side_comparison(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Mean per side of the :data:`SIDE_KEYS` over ``rows`` (``left``/``right`` when the
    model told them apart, else the camera's ``near``/``far`` leg); ``None`` until both
    sides have a stride.  Values a gate flagged are left out."""
    by_side = {r.get("side") for r in rows} >= {"left", "right"}
    names = ("left", "right") if by_side else ("near", "far")
    field = "side" if by_side else "leg"
    labels = {k: (label, unit, d) for k, label, unit, d in TABLE_COLUMNS}
    out = []
    for key in SIDE_KEYS:
        means = []
        for name in names:
            values = [
                r["values"][key]
                for r in rows
                if r.get(field) == name
                and r["values"].get(key) is not None
                and key not in r.get("unreliable", [])
            ]
            means.append((sum(values) / len(values), len(values)) if values else None)
        if None in means:
            continue
        (a, na), (b, nb) = means  # type: ignore[misc]
        mean = (abs(a) + abs(b)) / 2
        label, unit, digits = labels[key]
        out.append(
            {
                "key": key,
                "label": label,
                "unit": unit,
                "digits": digits,
                "values": [a, b],
                "n": [na, nb],
                "difference_percent": None if mean == 0 else 100 * (a - b) / mean,
            }
        )
    return {"names": list(names), "rows": out} if out else None


def cue_tile(cue: dict[str, Any]) -> dict[str, Any]:
    spec = CUES_BY_ID.get(cue["cue_id"])
    return {
        "cue_id": cue["cue_id"],
        "title": spec.title if spec else cue["cue_id"],
        "verdict": cue["verdict"],
        "value": _finite(cue.get("value")),
        "unit": cue.get("unit", ""),
        "threshold": _finite(cue.get("threshold")),
        "message": cue.get("message", ""),
        "reason": cue.get("reason", ""),
        "information_only": bool(cue.get("information_only", False)),
    }


_TEXT_FIELDS = ("device_id", "session_id", "athlete", "message_id", "created_at")


def _check(suffix: str, data: Any) -> None:
    """Raise if a decoded message cannot be applied as it is (before anything changes)."""
    if suffix == "availability":
        if data not in ("online", "offline"):
            raise ValueError(f"availability {str(data)[:20]!r}")
        return
    if suffix == "keyframe":
        if not data or len(data) > MAX_KEYFRAME_BYTES or not data.startswith(b"\xff\xd8"):
            raise ValueError("not a JPEG of a sensible size")
        return
    for name in _TEXT_FIELDS:
        if data.get(name) is not None and not isinstance(data[name], str):
            raise TypeError(f"{name}: expected a string")
    if suffix == "cmd/result" and data.get("type") != "cmd_result":
        raise ValueError(f"type {str(data.get('type'))[:20]!r}")
    if suffix == "stride":
        stride_row(data)
        for cue in data.get("cues") or []:
            cue_tile(cue)
            if not (isinstance(cue["cue_id"], str) and isinstance(cue["verdict"], str)):
                raise TypeError("cue_id and verdict: expected strings")
    elif suffix == "alerts/active":
        for alert in data["alerts"]:
            alert.get("cue_id")


@dataclass
class DeviceState:
    """Everything known about one device prefix."""

    key: str
    history: int
    device_id: str = ""
    last_seen: float = 0.0
    availability: str | None = None
    status: dict[str, Any] | None = None
    session_id: str | None = None
    athlete: str | None = None
    focus: list[str] = field(default_factory=list)
    speed: dict[str, Any] | None = None
    strides: deque[dict[str, Any]] = field(default_factory=deque)
    cues: dict[str, dict[str, Any]] = field(default_factory=dict)
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    active_alerts: list[dict[str, Any]] = field(default_factory=list)
    recent_alerts: deque[dict[str, Any]] = field(
        default_factory=lambda: deque(maxlen=_RECENT_ALERTS)
    )
    keyframe: bytes | None = None
    keyframe_meta: dict[str, Any] | None = None
    keyframe_version: str = ""
    pass_summary: dict[str, Any] | None = None
    session_summary: dict[str, Any] | None = None
    cmd_results: deque[dict[str, Any]] = field(
        default_factory=lambda: deque(maxlen=_RECENT_RESULTS)
    )
    # cue id -> its judged verdicts (ok/warn/fault) on the latest strides of the session
    recent: dict[str, deque[str]] = field(default_factory=dict)
    # cue id -> wall-clock time the dashboard first saw its alert raised
    alert_since: dict[str, float] = field(default_factory=dict)
    session_seen: float | None = None  # wall-clock time the session was first seen
    height_cm: float | None = None  # the athlete's, from the dashboard's config

    def __post_init__(self) -> None:
        self.strides = deque(maxlen=self.history)

    @property
    def online(self) -> bool:
        """Live: the device said it is online (or, before any availability, sent a status)."""
        if self.availability is not None:
            return self.availability == "online"
        return self.status is not None

    def new_session(self) -> None:
        """What belonged to the previous session (or none) goes: counts, alerts, persistence,
        the strides of the table, charts and left/right comparison."""
        self.counts = {}
        self.strides.clear()
        self.recent = {}
        self.active_alerts = []
        self.alert_since = {}

    def view(self) -> dict[str, Any]:
        """What the card shows, made consistent: an offline device has no live status and
        no raised alert; alerts are ranked as the headline ranks them."""
        online = self.online
        recent = {k: list(v) for k, v in self.recent.items()}
        ranked = (
            rank_alerts(
                [
                    {**a, "since": self.alert_since.get(str(a.get("cue_id")))}
                    for a in self.active_alerts
                ],
                focus=self.focus,
                recent=recent,
            )
            if online
            else []
        )
        status = self.status if online else {"state": "offline"}
        return {
            "online": online,
            "status": status,
            "alerts": ranked,
            "session_seen": self.session_seen,
            "sides": side_comparison(list(self.strides)),
            "shown": {
                cue_id: human_value(t.get("value"), str(t.get("unit") or ""), self.height_cm)
                for cue_id, t in self.cues.items()
            },
            "headline": headline(
                athlete=self.athlete,
                online=online,
                session_id=self.session_id,
                ranked_alerts=ranked,
                recent=recent,
                focus=self.focus,
                tiles=self.cues,
                height_cm=self.height_cm,
                strides=len(self.strides),
            ),
        }

    def public(self) -> dict[str, Any]:
        """JSON-ready view for the browser (the keyframe as a URL version, not bytes)."""
        return {
            "key": self.key,
            "device_id": self.device_id or self.key.rsplit("/", 1)[-1],
            "last_seen": self.last_seen,
            "availability": self.availability,
            "status": self.status,
            "session_id": self.session_id,
            "athlete": self.athlete,
            "focus": self.focus,
            "speed": self.speed,
            "strides": list(self.strides),
            "cues": list(self.cues.values()),
            "counts": self.counts,
            "active_alerts": self.active_alerts,
            "recent_alerts": list(self.recent_alerts),
            "keyframe": self._keyframe_info(),
            "pass_summary": self.pass_summary,
            "session_summary": self.session_summary,
            "cmd_results": list(self.cmd_results),
            "view": self.view(),
        }

    def _keyframe_info(self) -> dict[str, Any] | None:
        if self.keyframe is None:
            return None
        return {"version": self.keyframe_version, "meta": self.keyframe_meta}


class DashboardState:
    """Thread-safe latest state of every device under ``topic_root`` (e.g. ``trackside/+``)."""

    def __init__(
        self,
        topic_root: str,
        *,
        history: int = 300,
        max_devices: int = 32,
        heights: dict[str, float] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.heights = dict(heights or {})  # athlete name -> height in cm (config)
        self.root_levels = topic_root.split("/")
        self.history = history
        self.max_devices = max_devices
        self._clock = clock
        self._lock = threading.Lock()
        self._devices: dict[str, DeviceState] = {}
        self.ignored = 0  # malformed or unexpected messages, for the log and tests
        self._warned: set[str] = set()  # topics whose ignored message was logged as a warning

    @property
    def subscription(self) -> str:
        """The MQTT filter covering every topic of every device."""
        return "/".join(self.root_levels) + "/#"

    def split(self, topic: str) -> tuple[str, str] | None:
        """``(device prefix, suffix)`` of a topic under the root, else ``None``."""
        levels = topic.split("/")
        n = len(self.root_levels)
        if len(levels) <= n:
            return None
        for pattern, level in zip(self.root_levels, levels[:n], strict=True):
            if pattern not in ("+", level):
                return None
        suffix = "/".join(levels[n:])
        if suffix not in _SUFFIXES:
            return None
        return "/".join(levels[:n]), suffix

    def knows(self, key: str) -> bool:
        with self._lock:
            return key in self._devices

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            devices = [d.public() for d in self._devices.values()]
        return {
            "devices": sorted(devices, key=lambda d: d["key"]),
            "columns": [
                {"key": k, "label": label, "unit": u, "digits": d}
                for k, label, u, d in TABLE_COLUMNS
            ],
            "charts": list(CHART_KEYS),
            "chart_limits": CHART_LIMITS,
            "focusable": list(FOCUSABLE),
        }

    def keyframe(self, key: str) -> bytes | None:
        with self._lock:
            device = self._devices.get(key)
            return None if device is None else device.keyframe

    # --- feeding ---------------------------------------------------------------------------

    def apply(self, topic: str, payload: bytes) -> list[dict[str, Any]]:
        """Take one MQTT message; returns the events to push (possibly none)."""
        where = self.split(topic)
        if where is None:
            return []
        key, suffix = where
        try:
            if suffix == "keyframe":
                data: Any = payload
            elif suffix == "availability":
                data = payload.decode("utf-8", "replace").strip()
            else:
                data = decode(payload) if payload else None
                if data is not None and not isinstance(data, dict):
                    raise ValueError("not a JSON object")
            if data is None and suffix not in ("availability", "keyframe"):
                return []  # a retained message being cleared
            _check(suffix, data)
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            self._ignore(topic, exc)
            return []
        with self._lock:
            events: list[dict[str, Any]] = []
            device = self._devices.get(key)
            if device is None:  # admitted only now that the message made sense
                device = self._admit(key, events)
            device.last_seen = self._clock()
            event = self._apply(device, suffix, data)
            event["view"] = device.view()  # every change may change what the card says
            events.append(event)
            return events

    def _ignore(self, topic: str, exc: BaseException) -> None:
        """Count and log a message that was not used: the first of each topic as a warning
        (a broken device or a hostile client is worth knowing about), repeats at debug."""
        self.ignored += 1
        level = logging.DEBUG if topic in self._warned else logging.WARNING
        if len(self._warned) < 1000:
            self._warned.add(topic)
        log.log(level, "dashboard: ignored a message on %s: %s", topic[:200], str(exc)[:200])

    def _admit(self, key: str, events: list[dict[str, Any]]) -> DeviceState:
        if len(self._devices) >= self.max_devices:
            oldest = min(self._devices.values(), key=lambda d: d.last_seen)
            del self._devices[oldest.key]
            events.append({"type": "forget", "key": oldest.key})
        device = self._devices[key] = DeviceState(key, self.history)
        events.append({"type": "device", "key": key})
        return device

    def _envelope(self, device: DeviceState, data: dict[str, Any]) -> None:
        device.device_id = str(data.get("device_id") or device.device_id)
        if "session_id" in data:
            if data["session_id"] != device.session_id:
                device.new_session()
                device.session_seen = self._clock() if data["session_id"] else None
            device.session_id = data["session_id"]
        if "athlete" in data:
            device.athlete = data["athlete"]
            device.height_cm = self.heights.get(device.athlete or "")

    def _apply(self, device: DeviceState, suffix: str, data: Any) -> dict[str, Any]:
        key = device.key
        if suffix == "availability":
            device.availability = data
            if data == "offline":  # nothing it raised is still true of the runner
                device.active_alerts, device.alert_since = [], {}
            return {"type": "availability", "key": key, "value": data}
        if suffix == "keyframe":
            device.keyframe = bytes(data)
            device.keyframe_version = f"k{int(self._clock() * 1000)}-{len(data)}"
            return {"type": "keyframe", "key": key, "keyframe": device._keyframe_info()}
        if suffix == "keyframe/meta":
            device.keyframe_meta = data
            if device.keyframe is not None and data.get("message_id"):
                device.keyframe_version = str(data["message_id"])
            return {"type": "keyframe", "key": key, "keyframe": device._keyframe_info()}
        if suffix == "cmd/result":
            result = {
                k: data.get(k) for k in ("command", "request_id", "ok", "reason", "created_at")
            }
            device.cmd_results.append(result)
            return {"type": "cmd_result", "key": key, "result": result}
        self._envelope(device, data)
        context = {
            "session_id": device.session_id,
            "athlete": device.athlete,
            "device_id": device.device_id,
        }
        if suffix == "status":
            device.status = {
                k: v for k, v in data.items() if k not in ("schema_version", "type", "message_id")
            }
            return {"type": "status", "key": key, "status": device.status, **context}
        if suffix == "stride":
            row = stride_row(data)
            device.strides.append(row)
            device.focus = [str(c) for c in data.get("focus") or []]
            speed = data.get("speed")
            device.speed = speed if isinstance(speed, dict) else None
            for cue in data.get("cues") or []:
                tile = cue_tile(cue)
                device.cues[tile["cue_id"]] = tile
                counts = device.counts.setdefault(tile["cue_id"], dict.fromkeys(VERDICTS, 0))
                if tile["verdict"] in counts:
                    counts[tile["verdict"]] += 1
                if tile["verdict"] in ("ok", "warn", "fault") and not tile["information_only"]:
                    device.recent.setdefault(
                        tile["cue_id"], deque(maxlen=PERSISTENCE_WINDOW)
                    ).append(tile["verdict"])
            return {
                "type": "stride",
                "key": key,
                "row": row,
                "cues": list(device.cues.values()),
                "counts": device.counts,
                "focus": device.focus,
                "speed": device.speed,
                **context,
            }
        if suffix == "alert":
            alert = {
                k: data.get(k)
                for k in (
                    "cue_id",
                    "active",
                    "state",
                    "verdict",
                    "time_s",
                    "stride_index",
                    "message",
                    "message_id",
                    "created_at",
                )
            }
            device.recent_alerts.append(alert)
            return {"type": "alert", "key": key, "alert": alert, **context}
        if suffix == "alerts/active":
            device.active_alerts = [
                {k: a.get(k) for k in ("cue_id", "group", "verdict", "since_s", "message")}
                for a in data["alerts"]
            ]
            raised = {str(a.get("cue_id")) for a in device.active_alerts}
            device.alert_since = {
                cue_id: device.alert_since.get(cue_id, self._clock()) for cue_id in raised
            }
            return {"type": "active_alerts", "key": key, "alerts": device.active_alerts, **context}
        # pass / session summaries
        summary = {k: v for k, v in data.items() if k not in ("schema_version", "message_id")}
        if suffix == "pass":
            device.pass_summary = summary
        else:
            device.session_summary = summary
            device.active_alerts, device.alert_since = [], {}  # the session ended
        return {"type": suffix, "key": key, "summary": summary, **context}
