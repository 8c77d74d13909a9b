"""The [feedback] section: pin spellings, precise errors, and two devices on one pin."""

from __future__ import annotations

import dataclasses

import pytest

from edge.errors import ConfigError
from edge.outputs.feedback.settings import (
    PIN_KEYS,
    FeedbackConfig,
    Pin,
    check_feedback,
    gpio_number,
)
from edge.settings import Invalid


def load_section(raw: dict) -> FeedbackConfig:
    """Validate a raw [feedback] table key by key, the way edge.config does."""
    checks = {f.name: f.metadata["check"] for f in dataclasses.fields(FeedbackConfig)}
    section = FeedbackConfig(**{key: checks[key](value) for key, value in raw.items()})
    check_feedback(section, origin="trackside.toml")
    return section


def test_every_key_has_a_check_and_a_doc_line():
    for f in dataclasses.fields(FeedbackConfig):
        assert callable(f.metadata["check"]), f.name
        assert f.metadata["doc"].strip(), f.name


def test_defaults_are_valid_and_use_distinct_pins():
    check_feedback(FeedbackConfig())
    numbers = [gpio_number(getattr(FeedbackConfig(), key)) for key in PIN_KEYS]
    wired = [n for n in numbers if n is not None]
    assert len(wired) == len(set(wired)) == 4  # traffic light + buzzer


@pytest.mark.parametrize(
    ("value", "gpio"),
    [
        (17, 17),
        ("17", 17),
        ("GPIO17", 17),
        ("gpio17", 17),
        ("BCM17", 17),
        ("BOARD11", 17),
        ("J8:11", 17),
        (" BOARD40 ", 21),
        (0, 0),
        ("", None),
    ],
)
def test_pin_spellings_resolve_to_bcm_numbers(value, gpio):
    assert gpio_number(Pin()(value)) == gpio


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        (28, "GPIO28 is not on the 40-pin header"),
        (-1, "GPIO-1 is not on the 40-pin header"),
        ("GPIO40", "GPIO40 is not on the 40-pin header"),
        ("BOARD1", "physical pin 1 is 3V3 power, not a GPIO"),
        ("BOARD6", "physical pin 6 is GND power, not a GPIO"),
        ("J8:2", "physical pin 2 is 5V power, not a GPIO"),
        ("BOARD41", "the header has no physical pin 41"),
        ("LED1", "not a pin name gpiozero understands"),
    ],
)
def test_bad_pins_say_what_is_wrong(value, detail):
    with pytest.raises(Invalid) as caught:
        Pin()(value)
    message = str(caught.value)
    assert message.startswith('expected a BCM GPIO number 0-27, a pin name like "GPIO17"')
    assert message.endswith(f"({detail})")


@pytest.mark.parametrize("value", [True, 17.0, [17], {"pin": 17}])
def test_pins_of_the_wrong_type_are_rejected(value):
    with pytest.raises(Invalid, match="expected a BCM GPIO number"):
        Pin()(value)


def test_valid_section_loads_typed_values():
    section = load_section(
        {"green_pin": "BOARD11", "amber_pin": 27, "red_pin": "GPIO22", "legs_pin": "BCM5",
         "buzzer_kind": "tonal", "tone_hz": 2500, "quiet": True}
    )  # fmt: skip
    assert section.green_pin == "BOARD11" and section.tone_hz == 2500.0
    assert section.quiet is True and section.head_pin == ""


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"green_pin": 17, "buzzer_pin": "BOARD11"},
         'trackside.toml: feedback.green_pin/buzzer_pin: expected different pins, both are '
         'GPIO17 (17 and "BOARD11")'),
        ({"red_pin": "GPIO5", "arms_pin": 5},
         'trackside.toml: feedback.red_pin/arms_pin: expected different pins, both are '
         'GPIO5 ("GPIO5" and 5)'),
        ({"head_pin": "J8:29", "legs_pin": "BCM5"},
         'feedback.head_pin/legs_pin: expected different pins, both are GPIO5'),
    ],
)  # fmt: skip
def test_two_devices_on_one_pin_name_both_keys(raw, message):
    with pytest.raises(ConfigError) as caught:
        load_section(raw)
    assert message in str(caught.value)


def test_unwired_devices_never_conflict():
    section = load_section({"head_pin": "", "posture_pin": "", "buzzer_pin": ""})
    assert section.buzzer_pin == ""


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("pin_factory", "wiringpi", 'expected one of "auto", "mock", "lgpio"'),
        ("buzzer_kind", "piezo", 'expected one of "buzzer", "tonal"'),
        ("tone_hz", 20000, "expected a number between 100 and 4000"),
        ("stride_flash_ms", 0, "expected an integer between 20 and 1000"),
        ("active_high", "yes", "expected true or false"),
    ],
)
def test_other_settings_are_checked(key, value, expected):
    with pytest.raises(Invalid, match=expected):
        load_section({key: value})
