"""Commands from coaches on ``…/cmd/<name>``, validated strictly, answered on ``…/cmd/result``.

A command is a JSON object (an empty payload counts as ``{}``).  Known commands::

    start_session   {"athlete": "ana"?, "session_id": "track-2025-05-01"?}
    stop_session    {}
    select_athlete  {"athlete": "ana"}
    set_cue         {"cue_id": "posture.run_tall", "enabled": false}
    set_speed       {"speed_mps": 3.4}               (null: not known)
    set_focus       {"cue_ids": ["legs.overstride"]} ([]: none, null: the athlete's)

Each may also carry ``"request_id": "<string>"``, echoed in the reply so a sender can match
it.  Anything else — bad JSON, a non-object, an unknown field, a wrong type, an unknown
command, a payload over :data:`MAX_COMMAND_BYTES` — is rejected with ``ok: false`` and a
``reason``, and logged; it never raises into the MQTT thread.

The daemon registers one handler per command with :meth:`CommandRouter.on`; a handler
receives the typed command and returns normally to accept it, or raises
:class:`CommandRejected` with a reason for the coach.  Handlers run on the MQTT network
thread, so they should only hand the request over (e.g. put it on a queue).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from edge.cues.settings import MAX_FOCUS_CUES, SPEED_LIMITS_MPS
from edge.outputs.mqtt.payloads import decode
from edge.types import CueGroup

log = logging.getLogger(__name__)

MAX_COMMAND_BYTES = 4096
CUE_ID_PATTERN = re.compile(rf"(?:{'|'.join(CueGroup)})\.[a-z][a-z0-9_]{{0,63}}")
_NAME_PATTERN = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_TEXT_LIMIT = 128


class CommandRejected(Exception):
    """Raised by a handler (or the parser) to refuse a command; the message is the reason."""


@dataclass(frozen=True, slots=True)
class StartSession:
    athlete: str | None = None
    session_id: str | None = None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class StopSession:
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class SelectAthlete:
    athlete: str
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class SetCue:
    cue_id: str
    enabled: bool
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class SetSpeed:
    speed_mps: float | None
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class SetFocus:
    cue_ids: tuple[str, ...] | None
    request_id: str | None = None


Command = StartSession | StopSession | SelectAthlete | SetCue | SetSpeed | SetFocus
Handler = Callable[[Any], None]

# name -> (type, {field: (required, validator)})
_Field = tuple[bool, Callable[[str, Any], Any]]


def _text(field: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > _TEXT_LIMIT:
        raise CommandRejected(
            f"{field}: expected a non-empty string of at most {_TEXT_LIMIT} characters"
        )
    return value


def _name(field: str, value: Any) -> str:
    if not isinstance(value, str) or not _NAME_PATTERN.fullmatch(value):
        raise CommandRejected(f"{field}: expected 1-64 letters, digits, '-', '_' or '.'")
    return value


def _cue_id(field: str, value: Any) -> str:
    if not isinstance(value, str) or not CUE_ID_PATTERN.fullmatch(value):
        raise CommandRejected(
            f'{field}: expected "<group>.<name>" with group one of {", ".join(CueGroup)}'
        )
    return value


def _bool(field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise CommandRejected(f"{field}: expected true or false")
    return value


def _speed(field: str, value: Any) -> float | None:
    if value is None:
        return None
    low, high = SPEED_LIMITS_MPS
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise CommandRejected(f"{field}: expected a speed of {low:g}-{high:g} m/s, or null")
    return float(value)


def _cue_ids(field: str, value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_FOCUS_CUES:
        raise CommandRejected(f"{field}: expected a list of at most {MAX_FOCUS_CUES} cue ids")
    ids = tuple(_cue_id(f"{field}[{i}]", item) for i, item in enumerate(value))
    if len(set(ids)) != len(ids):
        raise CommandRejected(f"{field}: expected different cue ids, got a repeat")
    return ids


_SPECS: dict[str, tuple[type, dict[str, _Field]]] = {
    "start_session": (StartSession, {"athlete": (False, _name), "session_id": (False, _name)}),
    "stop_session": (StopSession, {}),
    "select_athlete": (SelectAthlete, {"athlete": (True, _name)}),
    "set_cue": (SetCue, {"cue_id": (True, _cue_id), "enabled": (True, _bool)}),
    "set_speed": (SetSpeed, {"speed_mps": (True, _speed)}),
    "set_focus": (SetFocus, {"cue_ids": (True, _cue_ids)}),
}
COMMAND_NAMES = tuple(_SPECS)


def parse_command(name: str, payload: bytes) -> Command:
    """The typed command for ``…/cmd/<name>`` with ``payload``; raises :class:`CommandRejected`."""
    if name not in _SPECS:
        raise CommandRejected(f"unknown command {name!r} (known: {', '.join(COMMAND_NAMES)})")
    if len(payload) > MAX_COMMAND_BYTES:
        raise CommandRejected(
            f"payload too large: {len(payload)} bytes (limit {MAX_COMMAND_BYTES})"
        )
    data = _decode(payload)
    cls, fields = _SPECS[name]
    allowed = {**fields, "request_id": (False, _text)}
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise CommandRejected(
            f"unknown field {unknown[0]!r} (expected: {', '.join(allowed) or 'none'})"
        )
    values = {}
    for field, (required, check) in allowed.items():
        if field not in data:
            if required:
                raise CommandRejected(f"{field}: missing")
            continue
        values[field] = check(field, data[field])
    return cls(**values)


def request_id_of(payload: bytes) -> str | None:
    """The ``request_id`` of a payload, if it is readable at all (for replies to rejects)."""
    if len(payload) > MAX_COMMAND_BYTES:
        return None
    try:
        data = decode(payload)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    value = data.get("request_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) and len(value) <= _TEXT_LIMIT else None


def _decode(payload: bytes) -> Mapping[str, Any]:
    if not payload.strip():
        return {}
    try:
        data = decode(payload.decode("utf-8"))
    except UnicodeDecodeError:
        raise CommandRejected("payload is not UTF-8 text") from None
    except (ValueError, RecursionError) as exc:
        raise CommandRejected(f"payload is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise CommandRejected(f"expected a JSON object, got {type(data).__name__}")
    return data


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    command: str | None
    request_id: str | None
    ok: bool
    reason: str = ""


class CommandRouter:
    """Validates incoming commands and calls the handler registered for each."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}

    def on(self, name: str, handler: Handler) -> None:
        """Register ``handler`` for command ``name`` (one of :data:`COMMAND_NAMES`)."""
        if name not in _SPECS:
            raise ValueError(f"unknown command {name!r} (known: {', '.join(COMMAND_NAMES)})")
        self._handlers[name] = handler

    def handle(self, name: str, payload: bytes) -> CommandOutcome:
        """Validate and dispatch one command; never raises."""
        shown = name if len(name) <= 64 else name[:64] + "…"
        try:
            command = parse_command(name, payload)
        except CommandRejected as exc:
            log.warning("MQTT command %s rejected: %s", shown, exc)
            return CommandOutcome(shown, request_id_of(payload), False, str(exc))
        request_id = command.request_id
        handler = self._handlers.get(name)
        if handler is None:
            log.warning("MQTT command %s rejected: not supported by this device", name)
            return CommandOutcome(name, request_id, False, "not supported by this device")
        try:
            handler(command)
        except CommandRejected as exc:
            log.warning("MQTT command %s refused: %s", name, exc)
            return CommandOutcome(name, request_id, False, str(exc))
        except Exception:
            log.exception("MQTT command %s: handler failed", name)
            return CommandOutcome(name, request_id, False, "internal error (see the device log)")
        log.info("MQTT command %s accepted", name)
        return CommandOutcome(name, request_id, True)
