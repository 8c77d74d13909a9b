"""Typed settings: the rules a config value must follow, and how to say it when it does not.

Each stage declares its config section as a frozen dataclass whose fields are made with
:func:`setting`, pairing a default with a :class:`Check` and one line of documentation.
:mod:`edge.config` assembles the sections and turns a failed check into an error that names
the file and the dotted key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.errors import ConfigError


class Check:
    """Validates and normalises one raw TOML value; ``expected`` is said in errors."""

    expected = "a value"

    def __call__(self, value: Any) -> Any:
        raise NotImplementedError

    def fail(self, value: Any) -> None:
        raise Invalid(f"expected {self.expected}, got {show_value(value)}")


class Invalid(Exception):
    """Raised by a check; turned into a ConfigError carrying the file and dotted key."""


def show_value(value: Any) -> str:
    """A raw TOML value as it would appear in the file."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    return repr(value)


@dataclass(frozen=True)
class Int(Check):
    low: int
    high: int

    @property
    def expected(self) -> str:  # type: ignore[override]
        return f"an integer between {self.low} and {self.high}"

    def __call__(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(value)
        if not self.low <= value <= self.high:
            self.fail(value)
        return value


@dataclass(frozen=True)
class Number(Check):
    low: float
    high: float

    @property
    def expected(self) -> str:  # type: ignore[override]
        return f"a number between {self.low:g} and {self.high:g}"

    def __call__(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(value)
        if not (math.isfinite(value) and self.low <= value <= self.high):
            self.fail(value)
        return float(value)


@dataclass(frozen=True)
class Bool(Check):
    expected = "true or false"

    def __call__(self, value: Any) -> bool:
        if not isinstance(value, bool):
            self.fail(value)
        return value


@dataclass(frozen=True)
class Choice(Check):
    options: tuple[str, ...]

    @property
    def expected(self) -> str:  # type: ignore[override]
        return "one of " + ", ".join(f'"{o}"' for o in self.options)

    def __call__(self, value: Any) -> str:
        if value not in self.options:
            self.fail(value)
        return value


@dataclass(frozen=True)
class Text(Check):
    """A string; ``allow_empty`` for optional settings where "" means "not set"."""

    allow_empty: bool = True

    @property
    def expected(self) -> str:  # type: ignore[override]
        return "a string" if self.allow_empty else "a non-empty string"

    def __call__(self, value: Any) -> str:
        if not isinstance(value, str) or (not self.allow_empty and not value.strip()):
            self.fail(value)
        return value


def setting(default: Any, check: Check, doc: str) -> Any:
    """A dataclass field with its validation rule and its one-line documentation."""
    return field(default=default, metadata={"check": check, "doc": doc})


def secret_setting(doc: str) -> Any:
    """A string setting holding a secret: ``repr=False`` keeps it out of printed config
    objects, and ``secret`` makes ``config show`` say only whether it is set."""
    return field(default="", repr=False, metadata={"check": Text(), "doc": doc, "secret": True})


def read_secret_file(path: str, key: str, origin: str) -> str:
    """The first line of a password file named by the setting ``key`` (e.g. a systemd
    credential); a missing, unreadable or empty file is a ``ConfigError`` naming the key."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"{origin}: {key}: cannot read {path} ({exc.strerror or exc.__class__.__name__})"
        ) from None
    lines = text.splitlines()
    if not lines or not lines[0]:
        raise ConfigError(
            f"{origin}: {key}: {path} is empty (expected the password on its first line)"
        )
    return lines[0]


def state_file(configured: str, filename: str, environ: Mapping[str, str]) -> Path:
    """A configured data file, else ``filename`` under systemd's ``$STATE_DIRECTORY``, else
    under ``./state``.  systemd may list several state directories separated by ':'; the
    first is ours."""
    if configured:
        return Path(configured)
    state_dir = environ.get("STATE_DIRECTORY", "").split(":")[0]
    return Path(state_dir or "state") / filename
