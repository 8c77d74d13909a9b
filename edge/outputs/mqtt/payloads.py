"""JSON payloads for every MQTT topic, built from the pipeline's plain values.

Pure functions: no clock, no randomness, no I/O.  The caller passes an :class:`Envelope`
(device, session, message id, creation time) and the builders return ``dict`` objects
that :func:`encode` turns into bytes.  Every payload carries ``schema_version``,
``type``, ``device_id``, ``session_id``, ``athlete``, ``message_id`` and ``created_at``;
the JSON Schemas in ``docs/mqtt-schemas/`` describe each one.

Units are explicit: a time on the source clock ends in ``_s`` (seconds since the source
started), durations say ``_s`` or ``_ms``, and every metric carries its own ``unit``.
A value that could not be measured is ``null`` (JSON has no NaN).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from edge.cues.summary import Summary
from edge.types import (
    CueAlert,
    CueGroup,
    CueResult,
    GateFailure,
    MetricValue,
    StrideReport,
    Verdict,
)

SCHEMA_VERSION = 1

STATUS_STATES = ("starting", "idle", "running", "degraded", "stopping", "error")
VERDICT_COUNTS = tuple(v.value for v in Verdict)


@dataclass(frozen=True, slots=True)
class Envelope:
    """What every payload says about where and when it came from.

    ``created_at`` is wall-clock Unix time (seconds) when the result was made, which may be
    long before it is delivered if the broker was unreachable.
    """

    device_id: str
    message_id: str
    created_at: float
    session_id: str | None = None
    athlete: str | None = None


def encode(payload: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON; refuses NaN and infinity (builders turn them into ``null``)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode(
        "utf-8"
    )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name} (JSON has no NaN or Infinity)")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as infinity
        raise ValueError(f"number {text[:20]} out of range (not a finite double)")
    return value


def decode(payload: bytes | str) -> Any:
    """Parse JSON as strictly as :func:`encode` writes it: ``NaN``, ``Infinity`` and numbers
    too large for a double are a ``ValueError`` saying so (Python's parser accepts them).

    Every JSON that comes in (MQTT messages, commands, the dashboard's requests) goes
    through here, so a non-finite number never gets as far as an encoder that refuses it.
    """
    return json.loads(payload, parse_constant=_refuse_constant, parse_float=_finite_float)


def iso_utc(unix_time: float) -> str:
    """``2025-05-01T09:30:00.123Z``: wall-clock time in UTC, millisecond precision."""
    text = datetime.fromtimestamp(unix_time, UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def _number(value: float | None, digits: int = 4) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def _header(kind: str, envelope: Envelope) -> dict[str, Any]:
    return {
        "schema_version": SCHEMA_VERSION,
        "type": kind,
        "device_id": envelope.device_id,
        "session_id": envelope.session_id,
        "athlete": envelope.athlete,
        "message_id": envelope.message_id,
        "created_at": iso_utc(envelope.created_at),
    }


def metric_json(metric: MetricValue, unreliable: str = "") -> dict[str, Any]:
    """One metric; ``unreliable`` is why a plausibility gate flagged it ("" when it did not):
    a flagged value is still published, never without ``reliable: false``."""
    return {
        "value": _number(metric.value),
        "unit": metric.unit,
        "quality": _number(metric.quality, 3),
        "note": metric.note,
        "reliable": not unreliable,
    }


def cue_json(cue: CueResult) -> dict[str, Any]:
    return {
        "cue_id": cue.cue_id,
        "group": CueGroup.of(cue.cue_id),
        "verdict": cue.verdict.value,
        "value": _number(cue.value),
        "judged_value": _number(cue.judged_value),
        "unit": cue.unit,
        "threshold": _number(cue.threshold),
        "confidence": _number(cue.confidence, 3),
        "message": cue.message,
        "reason": cue.reason,
        "information_only": cue.information_only,
    }


def gate_json(failure: GateFailure) -> dict[str, Any]:
    return {
        "gate": failure.gate,
        "reason": failure.reason,
        "metrics": None if failure.metrics is None else sorted(failure.metrics),
    }


def stride_payload(envelope: Envelope, report: StrideReport) -> dict[str, Any]:
    """One stride with its metrics and every cue's verdict (topic ``…/stride``).

    ``cadence_spm`` (steps per minute: two steps per stride) and ``ground_contact_ms`` (foot
    strike to toe-off of the stride's leg) come straight from the stride's gait events.
    ``reliable`` is false when a plausibility gate made the whole stride unreliable;
    ``gates`` lists every gate it failed, and each metric says whether it is ``reliable``.
    ``speed`` is the running speed the limits were drawn at, ``focus`` the runner's focus
    cues.
    """
    stride = report.stride
    payload = _header("stride", envelope)
    payload.update(
        stride={
            "index": stride.index,
            "leg": stride.leg.value,
            "side": None if stride.side is None else stride.side.value,
            "foot_strike_s": _number(stride.foot_strike.time),
            "toe_off_s": None if stride.toe_off is None else _number(stride.toe_off.time),
            "next_foot_strike_s": _number(stride.next_foot_strike.time),
            "duration_s": _number(stride.duration),
            "cadence_spm": _number(stride.cadence_spm, 2),
            "ground_contact_ms": _number(stride.ground_contact_ms, 1),
            "emitted_at_s": _number(stride.emitted_at),
        },
        grade=report.grade.value,
        worst_cue=report.worst_cue,
        reliable=report.reliable,
        gates=[gate_json(g) for g in report.gates],
        speed={"mps": _number(report.speed.mps, 2), "source": report.speed.source},
        focus=list(report.focus),
        metrics={
            key: metric_json(m, report.unreliable_reason(key)) for key, m in stride.metrics.items()
        },
        cues=[cue_json(c) for c in report.cues],
    )
    return payload


def alert_payload(envelope: Envelope, alert: CueAlert) -> dict[str, Any]:
    """A cue's rolling state was raised or cleared (topic ``…/alert``)."""
    payload = _header("alert", envelope)
    payload.update(
        cue_id=alert.cue_id,
        group=CueGroup.of(alert.cue_id),
        active=alert.active,
        state="raised" if alert.active else "cleared",
        verdict=alert.verdict.value,
        time_s=_number(alert.time),
        stride_index=alert.stride_index,
        message=alert.message,
    )
    return payload


def active_alerts_payload(envelope: Envelope, alerts: Iterable[CueAlert]) -> dict[str, Any]:
    """The alerts raised now, in the order they were raised (retained ``…/alerts/active``)."""
    items = [
        {
            "cue_id": a.cue_id,
            "group": CueGroup.of(a.cue_id),
            "verdict": a.verdict.value,
            "since_s": _number(a.time),
            "message": a.message,
        }
        for a in alerts
    ]
    payload = _header("active_alerts", envelope)
    payload.update(count=len(items), alerts=items)
    return payload


def summary_payload(
    envelope: Envelope,
    kind: Literal["pass", "session"],
    *,
    start_s: float,
    end_s: float,
    strides: int,
    cues: Mapping[str, Mapping[str, int]],
    metrics: Mapping[str, Mapping[str, Any]],
    pass_index: int | None = None,
    passes: int | None = None,
) -> dict[str, Any]:
    """A pass or session summary (topics ``…/pass`` and, retained, ``…/session``).

    ``cues`` maps a cue id to stride counts per verdict (``{"ok": 12, "warn": 3, ...}``;
    missing verdicts count 0).  ``metrics`` maps a metric key to ``{"unit", "mean", "sd",
    "n"}`` over the strides where it was measured.
    """
    payload = _header(kind, envelope)
    cue_counts = {}
    for cue_id, counts in cues.items():
        unknown = set(counts) - set(VERDICT_COUNTS)
        if unknown:
            raise ValueError(f"cue {cue_id}: unknown verdict(s) {sorted(unknown)}")
        cue_counts[cue_id] = {v: int(counts.get(v, 0)) for v in VERDICT_COUNTS}
    payload.update(
        start_s=_number(start_s),
        end_s=_number(end_s),
        duration_s=_number(end_s - start_s),
        strides=strides,
        cues=cue_counts,
        metrics={
            key: {
                "unit": str(m["unit"]),
                "mean": _number(m.get("mean")),
                "sd": _number(m.get("sd")),
                "n": int(m.get("n", 0)),
            }
            for key, m in metrics.items()
        },
    )
    if kind == "pass":
        payload["pass_index"] = pass_index
    else:
        payload["passes"] = passes
    return payload


def summary_fields(summary: Summary) -> dict[str, Any]:
    """A cue :class:`~edge.cues.summary.Summary` as the keywords of :func:`summary_payload`.

    An empty summary (no stride) spans 0–0 s; the payload needs numbers there.
    """
    return {
        "start_s": summary.start if summary.start is not None else 0.0,
        "end_s": summary.end if summary.end is not None else 0.0,
        "strides": summary.strides,
        "cues": {c.cue_id: dict(c.counts) for c in summary.cues},
        "metrics": {
            m.key: {"unit": m.unit, "mean": m.mean, "sd": m.spread, "n": m.count}
            for m in summary.metrics
        },
    }


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """The daemon's health as :func:`status_payload` reports it (``None``: not known here).

    ``outbox_depth`` is not part of it: the MQTT publisher, which owns the outbox, adds it.
    """

    state: str
    fps: float | None = None
    inference_ms: float | None = None
    dropped_frames: int = 0
    queue_depth: int = 0
    cpu_temp_c: float | None = None
    throttled: bool | None = None
    uptime_s: float | None = None
    detail: str = ""
    degraded: tuple[str, ...] = ()  # what is not working as it should, one line each


def status_payload(
    envelope: Envelope,
    *,
    state: str,
    fps: float | None = None,
    inference_ms: float | None = None,
    dropped_frames: int = 0,
    queue_depth: int = 0,
    outbox_depth: int = 0,
    cpu_temp_c: float | None = None,
    throttled: bool | None = None,
    uptime_s: float | None = None,
    detail: str = "",
    degraded: Iterable[str] = (),
) -> dict[str, Any]:
    """Health of the device (retained ``…/status``); ``None`` means not known here.

    ``degraded`` lists what is not working as it should (a full disk, a file moved aside),
    one sentence each; ``state`` is then ``"degraded"``.
    """
    if state not in STATUS_STATES:
        raise ValueError(f"status state {state!r}: expected one of {', '.join(STATUS_STATES)}")
    payload = _header("status", envelope)
    payload.update(
        state=state,
        fps=_number(fps, 2),
        inference_ms=_number(inference_ms, 2),
        dropped_frames=int(dropped_frames),
        queue_depth=int(queue_depth),
        outbox_depth=int(outbox_depth),
        cpu_temp_c=_number(cpu_temp_c, 1),
        throttled=throttled,
        uptime_s=_number(uptime_s, 1),
        detail=detail,
        degraded=[str(line) for line in degraded],
    )
    return payload


@dataclass(frozen=True, slots=True)
class Keyframe:
    """A stride's picture (:func:`edge.outputs.keyframe.render_keyframe`'s JPEG) and what it
    shows, as :func:`keyframe_meta_payload` describes it."""

    jpeg: bytes
    stride_index: int | None
    cue_id: str | None
    time_s: float | None
    verdict: str | None = None
    message: str = ""
    #: the stride's badness (faults weigh 3, warnings 1): the results store keeps the
    #: pictures of a session's worst and best strides by it
    severity: int | None = None
    #: a picture kept for history only (a clean stride for the report), not published live
    history_only: bool = False


def keyframe_meta_payload(
    envelope: Envelope,
    *,
    stride_index: int | None,
    cue_id: str | None,
    time_s: float | None,
    size_bytes: int,
    verdict: str | None = None,
    message: str = "",
) -> dict[str, Any]:
    """What the retained ``…/keyframe`` JPEG shows (retained ``…/keyframe/meta``).

    ``message_id`` doubles as the picture's version: a consumer that sees a new one fetches
    (or has just received) the new JPEG.
    """
    if verdict is not None and verdict not in VERDICT_COUNTS:
        raise ValueError(f"keyframe verdict {verdict!r}: expected one of {VERDICT_COUNTS}")
    payload = _header("keyframe_meta", envelope)
    payload.update(
        stride_index=stride_index,
        cue_id=cue_id,
        group=CueGroup.of(cue_id),
        verdict=verdict,
        message=message,
        time_s=_number(time_s),
        content_type="image/jpeg",
        size_bytes=int(size_bytes),
    )
    return payload


def command_result_payload(
    envelope: Envelope,
    *,
    command: str | None,
    request_id: str | None,
    ok: bool,
    reason: str = "",
) -> dict[str, Any]:
    """The reply to a command (``…/cmd/result``); ``reason`` says why when ``ok`` is false."""
    payload = _header("cmd_result", envelope)
    payload.update(command=command, request_id=request_id, ok=ok, reason=reason)
    return payload
