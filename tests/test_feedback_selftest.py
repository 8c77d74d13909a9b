"""`trackside feedback test`: every wired device and pattern shown, narrated, then all off."""

from __future__ import annotations

import io

from gpiozero.pins.mock import MockFactory, MockPWMPin

from edge.outputs.feedback import FeedbackConfig, run_feedback_test

PINS = {"green": 17, "amber": 27, "red": 22, "head": 5, "legs": 19, "buzzer": 18}


class FakeTime:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def run(config: FeedbackConfig, factory: MockFactory) -> tuple[int, list[str], FakeTime]:
    fake, out = FakeTime(), io.StringIO()
    steps = run_feedback_test(
        config, clock=fake.clock, sleep=fake.sleep, out=out, pin_factory=factory
    )
    return steps, out.getvalue().splitlines(), fake


def test_walks_every_device_and_pattern_then_turns_all_off():
    factory = MockFactory(pin_class=MockPWMPin)
    config = FeedbackConfig(head_pin=5, legs_pin="BOARD35", buzzer_kind="tonal")
    steps, lines, fake = run(config, factory)
    assert len(lines) == steps + 1 and lines[-1].startswith("done")
    assert lines[0] == f"[1/{steps}] green LED (green_pin = GPIO17) on alone"
    assert any('legs LED (legs_pin = GPIO19 ("BOARD35")) on alone' in line for line in lines)
    for group, code in [("head", "1 beep"), ("posture", "2 beeps"), ("arms", "3 beeps"),
                        ("legs", "1 long beep")]:  # fmt: skip
        assert any(f"{group} alert raised" in line and code in line for line in lines), group
    for name, number in PINS.items():
        levels = [s.state for s in factory.pin(number).states]
        assert any(levels), f"{name} never switched on"
        assert not levels[-1], f"{name} left on"
    assert factory.pin(18).frequency is None
    assert 20 < fake.now < 60  # about half a minute at installer pace


def test_quiet_config_never_sounds_the_buzzer():
    factory = MockFactory()
    _, lines, _ = run(FeedbackConfig(quiet=True), factory)
    assert any("skipped: quiet = true" in line for line in lines)
    assert [s.state for s in factory.pin(18).states] == [False]
    assert any(s.state for s in factory.pin(22).states)


def test_disabled_feedback_says_so():
    factory = MockFactory()
    steps, lines, _ = run(FeedbackConfig(enabled=False), factory)
    assert steps == 0 and lines == ["feedback.enabled = false: nothing to test"]
    assert factory.pins == {}
