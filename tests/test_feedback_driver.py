"""The gpiozero driver on mock pins: real pin levels at explicit times, for every pattern.

Each test owns a fresh ``MockFactory`` passed to the driver (no global pin factory), calls
``tick(t)`` at chosen instants and reads the pins' levels.  Default wiring: green GPIO17,
amber GPIO27, red GPIO22, buzzer GPIO18; the tests add group LEDs on GPIO5/6/13/19.
"""

from __future__ import annotations

import threading

import pytest
from gpiozero import LED
from gpiozero.pins.mock import MockFactory, MockPin, MockPWMPin

from edge.errors import ConfigError
from edge.outputs.feedback import FeedbackConfig, FeedbackDriver, FeedbackError
from edge.outputs.feedback.selftest import demo_report
from edge.types import CueAlert, Verdict

GROUP_PINS = {"head_pin": 5, "posture_pin": 6, "arms_pin": 13, "legs_pin": 19}
PINS = {"green": 17, "amber": 27, "red": 22, "head": 5, "posture": 6, "arms": 13, "legs": 19,
        "buzzer": 18}  # fmt: skip


# One stride moves the stride light (no hysteresis), so a test sees each flash it sends;
# the hysteresis itself is tested with the patterns and in test_hysteresis_... below.
NO_HYSTERESIS = {"hold_strides": 1, "window_strides": 1}


def make(factory: MockFactory, **options) -> FeedbackDriver:
    settings = {**GROUP_PINS, **NO_HYSTERESIS, **options}
    return FeedbackDriver(FeedbackConfig(**settings), pin_factory=factory)


def high(factory: MockFactory) -> set[str]:
    """Names of the devices whose pin is at a high level."""
    return {name for name, number in PINS.items() if factory.pin(number).state}


def history(factory: MockFactory, name: str) -> list[bool]:
    """Every level a pin went through since it was set up."""
    return [bool(s.state) for s in factory.pin(PINS[name]).states]


def alert(cue: str, active: bool = True, verdict: Verdict = Verdict.FAULT) -> CueAlert:
    return CueAlert(cue, active, verdict, 0.0, "message")


def buzzer_spans(driver, factory, start: float, stop: float, step: float = 0.001) -> list:
    """``(onset, duration)`` of each buzzer-pin high period, ticking every ``step``."""
    pin = factory.pin(PINS["buzzer"])
    spans, since = [], None
    for i in range(round((stop - start) / step) + 1):
        t = start + i * step
        driver.tick(t)
        if pin.state and since is None:
            since = t
        if not pin.state and since is not None:
            spans.append((round(since - start, 2), round(t - since, 2)))
            since = None
    return spans


@pytest.fixture
def factory() -> MockFactory:
    return MockFactory()


@pytest.mark.parametrize(
    ("grade", "worst", "lights"),
    [
        (Verdict.OK, None, {"green"}),
        (Verdict.WARN, "arms.elbows_back", {"amber", "arms"}),
        (Verdict.FAULT, "legs.land_under_body", {"red", "legs"}),
    ],
)
def test_stride_flash_per_grade(factory, grade, worst, lights):
    driver = make(factory)
    assert high(factory) == set()
    driver.on_stride(demo_report(grade, worst, 1), now=10.0)
    assert high(factory) == set()  # events never touch a pin; the tick does
    for t, expected in [(10.0, lights), (10.075, lights), (10.149, lights), (10.151, set()),
                        (11.0, set())]:  # fmt: skip
        driver.tick(t)
        assert high(factory) == expected, t
    for name in lights:
        assert history(factory, name) == [False, True, False]
    driver.close()


def test_hysteresis_from_the_config_needs_hold_strides_that_agree(factory):
    driver = FeedbackDriver(FeedbackConfig(**GROUP_PINS), pin_factory=factory)  # 3 of 4
    for k in range(2):
        driver.on_stride(demo_report(Verdict.FAULT, "legs.x", k), now=float(k))
        assert driver.tick(k + 0.05).lit == frozenset(), k  # not yet three that agree
    driver.on_stride(demo_report(Verdict.FAULT, "legs.x", 2), now=2.0)
    assert driver.tick(2.05).lit == {"red", "legs"}
    driver.on_stride(demo_report(Verdict.OK, None, 3), now=3.0)  # one good stride
    assert driver.tick(3.05).lit == {"red", "legs"}
    driver.close()


def test_hold_must_be_more_than_half_the_window(factory):
    with pytest.raises(ConfigError, match=r"feedback\.hold_strides: expected more than half"):
        make(factory, hold_strides=2, window_strides=4)


def test_unknown_stride_lights_nothing(factory):
    driver = make(factory)
    driver.on_stride(demo_report(Verdict.UNKNOWN, None, 1), now=1.0)
    for t in (1.0, 1.05, 1.2):
        driver.tick(t)
    assert all(history(factory, name) == [False] for name in PINS)
    driver.close()


@pytest.mark.parametrize(
    ("cue", "verdict", "colour", "spans"),
    [
        ("head.look_ahead", Verdict.WARN, "amber", [(0.0, 0.08)]),
        ("posture.run_tall", Verdict.FAULT, "red", [(0.0, 0.08), (0.2, 0.08)]),
        ("arms.elbows_back", Verdict.WARN, "amber", [(0.0, 0.08), (0.2, 0.08), (0.4, 0.08)]),
        ("legs.midfoot_strike", Verdict.FAULT, "red", [(0.0, 0.5)]),
    ],
)
def test_alert_holds_colour_and_sounds_group_code(factory, cue, verdict, colour, spans):
    driver = make(factory)
    group = cue.split(".")[0]
    driver.on_alert(alert(cue, verdict=verdict), now=20.0)
    assert buzzer_spans(driver, factory, 20.0, 21.5) == spans
    for t in (21.5, 30.0, 600.0):  # held for as long as the alert is active
        driver.tick(t)
        assert high(factory) == {colour, group}
    assert history(factory, colour) == [False, True]
    driver.close()


def test_clear_blinks_green_twice_then_goes_dark(factory):
    driver = make(factory)
    driver.on_alert(alert("posture.run_tall"), now=0.0)
    driver.tick(1.0)
    driver.on_alert(alert("posture.run_tall", active=False), now=2.0)
    expected = [(2.05, {"green"}), (2.15, set()), (2.25, {"green"}), (2.35, set()), (5.0, set())]
    for t, lights in expected:
        driver.tick(t)
        assert high(factory) == lights, t
    assert history(factory, "green") == [False, True, False, True, False]
    assert history(factory, "red") == [False, True, False]
    driver.close()


def test_stride_during_alert_keeps_the_alert_colour(factory):
    """Precedence: an active alert owns the light; stride flashes are not shown."""
    driver = make(factory)
    driver.on_alert(alert("arms.elbows_back", verdict=Verdict.WARN), now=0.0)
    for k in range(4):
        t = 1.0 + 0.7 * k
        driver.on_stride(demo_report(Verdict.OK if k % 2 else Verdict.FAULT, "legs.x", k), t)
        for dt in (0.0, 0.05, 0.1, 0.2):
            driver.tick(t + dt)
            assert high(factory) == {"amber", "arms"}
    assert history(factory, "green") == [False]
    assert history(factory, "red") == [False]
    assert history(factory, "amber") == [False, True]
    driver.close()


def test_quiet_mode_never_raises_the_buzzer_pin(factory):
    driver = make(factory, quiet=True)
    assert driver.quiet
    for k, cue in enumerate(["head.a", "posture.b", "arms.c", "legs.d"]):
        driver.on_alert(alert(cue), now=float(k))
    for i in range(600):
        driver.tick(i * 0.01)
    assert history(factory, "buzzer") == [False]
    assert high(factory) == {"red", "head", "posture", "arms", "legs"}
    driver.close()


def test_set_quiet_silences_a_code_at_the_next_tick(factory):
    driver = make(factory)
    driver.on_alert(alert("legs.midfoot_strike"), now=0.0)
    driver.tick(0.1)
    assert "buzzer" in high(factory)
    driver.set_quiet(True, now=0.2)
    driver.tick(0.2)
    assert high(factory) == {"red", "legs"}
    driver.tick(0.3)
    assert history(factory, "buzzer") == [False, True, False]
    driver.close()


def test_active_low_wiring_inverts_every_level(factory):
    driver = make(factory, active_high=False, buzzer_active_high=False)
    assert high(factory) == set(PINS)  # idle: all off means all pins high
    driver.on_alert(alert("head.look_ahead", verdict=Verdict.WARN), now=0.0)
    driver.tick(0.04)
    assert set(PINS) - high(factory) == {"amber", "head", "buzzer"}
    driver.tick(0.09)
    assert set(PINS) - high(factory) == {"amber", "head"}
    driver.close()
    assert high(factory) == set(PINS)


def test_close_turns_everything_off_and_releases_the_pins(factory):
    driver = make(factory)
    driver.on_alert(alert("legs.midfoot_strike"), now=0.0)
    driver.tick(0.1)
    assert high(factory) == {"red", "legs", "buzzer"}
    driver.close()
    assert high(factory) == set()
    # Released: the same pins can be claimed again.
    again = make(factory)
    again.close()
    driver.close()  # closing twice is harmless


def test_tonal_buzzer_plays_the_configured_pitch():
    factory = MockFactory(pin_class=MockPWMPin)
    driver = make(factory, buzzer_kind="tonal", tone_hz=2500)
    pin = factory.pin(PINS["buzzer"])
    driver.on_alert(alert("posture.run_tall"), now=0.0)
    seen = []
    for i in range(40):
        driver.tick(i * 0.01)
        seen.append(pin.frequency)
    assert seen[:8] == [2500.0] * 8 and seen[8:20] == [None] * 12 and seen[20:28] == [2500] * 8
    assert seen[28:] == [None] * 12
    driver.close()
    assert pin.frequency is None


def test_disabled_feedback_claims_no_pin(factory):
    driver = make(factory, enabled=False)
    driver.on_stride(demo_report(Verdict.FAULT, None, 0), now=0.0)
    driver.tick(0.01)
    assert factory.pins == {} and driver.leds == {} and driver.buzzer is None
    driver.close()


def test_pin_in_use_names_key_and_pin_and_releases_what_it_claimed(factory):
    squatter = LED("GPIO22", pin_factory=factory)
    with pytest.raises(FeedbackError) as caught:
        make(factory, red_pin="BOARD15")
    message = str(caught.value)
    assert message.startswith('feedback.red_pin: cannot drive LED on GPIO22 ("BOARD15"): ')
    assert "GPIOPinInUse" in message
    # green and amber were claimed before red failed: they must have been released.
    LED(17, pin_factory=factory).close()
    LED(27, pin_factory=factory).close()
    squatter.close()


def test_pin_missing_on_this_board_is_reported(factory):
    old_pi = MockFactory(revision="0002")  # Pi 1 model B: 26-pin header, no GPIO5
    with pytest.raises(FeedbackError) as caught:
        make(old_pi)
    assert str(caught.value).startswith(
        "feedback.amber_pin: cannot drive LED on GPIO27: PinInvalidPin"
    )


def test_tonal_buzzer_needs_pwm(factory):
    with pytest.raises(FeedbackError) as caught:
        make(factory, buzzer_kind="tonal")
    assert str(caught.value).startswith(
        "feedback.buzzer_pin: cannot drive TonalBuzzer on GPIO18: PinPWMUnsupported"
    )
    assert 'use buzzer_kind = "buzzer"' in str(caught.value)


def test_no_pin_library_is_a_clear_error(monkeypatch):
    from gpiozero import Device

    monkeypatch.setattr(Device, "pin_factory", None)
    monkeypatch.setenv("GPIOZERO_PIN_FACTORY", "nonexistent")
    with pytest.raises(FeedbackError) as caught:
        FeedbackDriver(FeedbackConfig())
    assert str(caught.value).startswith(
        "feedback.pin_factory: no GPIO library can drive the pins here "
        "(Unable to find pin factory 'nonexistent')"
    )


def test_mock_pin_factory_from_config_drives_simulated_pins():
    config = FeedbackConfig(pin_factory="mock", buzzer_kind="tonal", **NO_HYSTERESIS)
    with FeedbackDriver(config) as driver:
        driver.on_stride(demo_report(Verdict.OK, None, 0), now=0.0)
        assert driver.tick(0.01).lit == {"green"}
        assert driver.pin_factory.pin(17).state == 1


def test_conflicting_config_built_in_code_is_rejected(factory):
    with pytest.raises(ConfigError, match=r"feedback\.green_pin/head_pin: expected different pins"):
        make(factory, head_pin=17)


class SignallingPin(MockPin):
    """A mock pin that tells a waiting test the moment its level changes."""

    changed = threading.Event()

    def _change_state(self, value):
        changed = super()._change_state(value)
        if changed:
            SignallingPin.changed.set()
        return changed


def test_ticker_thread_applies_events_without_explicit_ticks():
    factory = MockFactory(pin_class=SignallingPin)
    driver = make(factory, stride_flash_ms=50)
    driver.start(interval=0.01)
    try:
        SignallingPin.changed.clear()
        driver.on_stride(demo_report(Verdict.OK, None, 0))
        assert SignallingPin.changed.wait(2.0), "the ticker never lit the LED"
        SignallingPin.changed.clear()
        assert SignallingPin.changed.wait(2.0), "the ticker never ended the flash"
        assert history(factory, "green") == [False, True, False]
    finally:
        driver.close()
    assert driver._thread is None
