"""The ``[feedback]`` config section: which pins the runner's lights and buzzer are on.

Pins are written the way gpiozero accepts them: a BCM GPIO number (``17``) or a name
(``"GPIO17"``, ``"BCM17"``, ``"BOARD11"``, ``"J8:11"``); ``""`` means "not wired".  They
are checked here against the 40-pin header every Pi since the B+ shares, without touching
any hardware, so a typo or a power pin is reported when the config loads::

    trackside.toml: feedback.red_pin: expected a BCM GPIO number 0-27, ..., got "BOARD1"
    (physical pin 1 is 3V3 power, not a GPIO)

This module imports nothing from gpiozero: loading a config must stay cheap and work on any
machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from edge.errors import ConfigError
from edge.settings import Bool, Check, Choice, Int, Invalid, Number, setting, show_value

SECTION = "feedback"

# Pin factories gpiozero ships; "auto" lets gpiozero pick (and honours GPIOZERO_PIN_FACTORY).
PIN_FACTORIES = ("auto", "mock", "lgpio", "rpigpio", "pigpio", "native")
BUZZER_KINDS = ("buzzer", "tonal")

# Physical pin -> BCM GPIO on the 40-pin header (identical from the Pi 1 B+ to the Pi 5).
BOARD_TO_GPIO: dict[int, int] = {
    3: 2, 5: 3, 7: 4, 8: 14, 10: 15, 11: 17, 12: 18, 13: 27, 15: 22, 16: 23, 18: 24,
    19: 10, 21: 9, 22: 25, 23: 11, 24: 8, 26: 7, 27: 0, 28: 1, 29: 5, 31: 6, 32: 12,
    33: 13, 35: 19, 36: 16, 37: 26, 38: 20, 40: 21,
}  # fmt: skip
BOARD_POWER: dict[int, str] = {
    1: "3V3", 17: "3V3", 2: "5V", 4: "5V",
    **dict.fromkeys((6, 9, 14, 20, 25, 30, 34, 39), "GND"),
}  # fmt: skip
MAX_GPIO = 27

_PIN_NAME = re.compile(r"^(?:(GPIO|BCM)|(BOARD|J8:))?(\d+)$")


@dataclass(frozen=True)
class Pin(Check):
    """A GPIO pin as gpiozero names it, or ``""`` for a device that is not wired."""

    expected = 'a BCM GPIO number 0-27, a pin name like "GPIO17" or "BOARD11", or "" (not wired)'

    def __call__(self, value: Any) -> int | str:
        if isinstance(value, str) and not value.strip():
            return ""
        if isinstance(value, bool) or not isinstance(value, int | str):
            self.fail(value)
        try:
            gpio_number(value)
        except ValueError as exc:
            raise Invalid(f"expected {self.expected}, got {show_value(value)} ({exc})") from None
        return value.strip() if isinstance(value, str) else value


def gpio_number(pin: int | str) -> int | None:
    """The BCM GPIO number a pin setting names; ``None`` for ``""`` (not wired).

    Raises :exc:`ValueError` saying what is wrong with anything else::

        >>> gpio_number("BOARD11"), gpio_number("GPIO17"), gpio_number(17)
        (17, 17, 17)
    """
    if isinstance(pin, str) and not pin.strip():
        return None
    if isinstance(pin, int) and not isinstance(pin, bool):
        if 0 <= pin <= MAX_GPIO:
            return pin
        raise ValueError(f"GPIO{pin} is not on the 40-pin header")
    match = _PIN_NAME.match(str(pin).strip().upper())
    if match is None:
        raise ValueError("not a pin name gpiozero understands")
    number = int(match.group(3))
    if match.group(2):  # physical numbering
        if number in BOARD_POWER:
            raise ValueError(f"physical pin {number} is {BOARD_POWER[number]} power, not a GPIO")
        if number not in BOARD_TO_GPIO:
            raise ValueError(f"the header has no physical pin {number}")
        return BOARD_TO_GPIO[number]
    if number > MAX_GPIO:
        raise ValueError(f"GPIO{number} is not on the 40-pin header")
    return number


@dataclass(frozen=True)
class FeedbackConfig:
    """The runner's lights and buzzer (the ``[feedback]`` section).

    A traffic light shows each stride's grade and holds an alert's colour; optional LEDs
    per cue group say *which* part of the form an alert is about; the buzzer sounds a short
    code per cue group when an alert is raised.  Durations are in milliseconds.
    """

    enabled: bool = setting(True, Bool(), "Drive the LEDs and buzzer (false: no GPIO at all).")
    quiet: bool = setting(False, Bool(), "Start in quiet mode: lights only, the buzzer stays off.")
    pin_factory: str = setting(
        "auto",
        Choice(PIN_FACTORIES),
        'gpiozero pin library; "auto" picks one, "mock" drives simulated pins (dry run).',
    )
    active_high: bool = setting(
        True, Bool(), "LEDs light when their pin is high (false: wired to 3V3, lit when low)."
    )
    green_pin: int | str = setting(17, Pin(), 'Traffic light green LED (BCM number, name or "").')
    amber_pin: int | str = setting(27, Pin(), "Traffic light amber LED.")
    red_pin: int | str = setting(22, Pin(), "Traffic light red LED.")
    head_pin: int | str = setting("", Pin(), 'LED lit by a head alert ("": not wired).')
    posture_pin: int | str = setting("", Pin(), "LED lit by a posture alert.")
    arms_pin: int | str = setting("", Pin(), "LED lit by an arms alert.")
    legs_pin: int | str = setting("", Pin(), "LED lit by a legs alert.")
    buzzer_pin: int | str = setting(18, Pin(), 'Buzzer ("": no buzzer).')
    buzzer_kind: str = setting(
        "buzzer",
        Choice(BUZZER_KINDS),
        '"buzzer": active buzzer (on/off); "tonal": passive piezo driven with PWM at tone_hz.',
    )
    buzzer_active_high: bool = setting(
        True, Bool(), "The buzzer sounds when its pin is high (many modules are active-low)."
    )
    tone_hz: float = setting(
        2000.0, Number(100, 4000), "Pitch of a tonal buzzer in Hz (piezos are loudest 2-4 kHz)."
    )
    stride_flash_ms: int = setting(150, Int(20, 1000), "How long each stride's grade flashes.")
    clear_blink_ms: int = setting(
        100, Int(20, 1000), "Each of the two green blinks when an alert clears."
    )
    beep_ms: int = setting(80, Int(20, 1000), "A short beep of an alert code.")
    beep_gap_ms: int = setting(120, Int(20, 1000), "Silence between the beeps of one code.")
    long_beep_ms: int = setting(500, Int(20, 2000), "The long beep (legs) of an alert code.")
    code_gap_ms: int = setting(
        400, Int(20, 5000), "Silence between two alert codes raised at the same time."
    )
    # 3 of 4: a colour change needs three strides (~2 s of running) that agree, one odd
    # stride never changes it, and the first colour shows after three judged strides.
    hold_strides: int = setting(
        3,
        Int(1, 20),
        "The stride light's colour (the focus cues' level, or the stride grade) changes only "
        "when this many of the last window_strides judged strides agree.",
    )
    window_strides: int = setting(
        4, Int(1, 20), "How many recent judged strides the stride light looks at."
    )


# Config key of each light, in the order the installer test walks through them.
LED_KEYS: dict[str, str] = {
    "green": "green_pin",
    "amber": "amber_pin",
    "red": "red_pin",
    "head": "head_pin",
    "posture": "posture_pin",
    "arms": "arms_pin",
    "legs": "legs_pin",
}
PIN_KEYS: tuple[str, ...] = (*LED_KEYS.values(), "buzzer_pin")


def check_feedback(config: FeedbackConfig, origin: str = "<config>") -> None:
    """Cross-field checks :mod:`edge.config` cannot do key by key: the stride light's
    hysteresis (hold more than half the window), and no two devices may share a pin,
    however each one spells it.

    Raises :class:`~edge.errors.ConfigError` naming both keys::

        trackside.toml: feedback.green_pin/buzzer_pin: expected different pins, both are
        GPIO17 (17 and "BOARD11")
    """
    if not config.window_strides >= config.hold_strides > config.window_strides / 2:
        raise ConfigError(
            f"{origin}: {SECTION}.hold_strides: expected more than half of window_strides "
            f"({config.window_strides}) and at most it, got {config.hold_strides}"
        )
    seen: dict[int, str] = {}
    for key in PIN_KEYS:
        value = getattr(config, key)
        try:
            number = gpio_number(value)
        except ValueError as exc:  # only reachable for a FeedbackConfig built in code
            raise ConfigError(
                f"{origin}: {SECTION}.{key}: {exc}, got {show_value(value)}"
            ) from None
        if number is None:
            continue
        if number in seen:
            first = seen[number]
            raise ConfigError(
                f"{origin}: {SECTION}.{first}/{key}: expected different pins, both are "
                f"GPIO{number} ({show_value(getattr(config, first))} and {show_value(value)})"
            )
        seen[number] = key
