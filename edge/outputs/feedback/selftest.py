"""``trackside feedback test``: every light and every pattern on the real pins, narrated.

For the installer standing by the Pi: each step prints what should happen, then happens.
First each wired device alone (is the right LED on the right pin?), then each pattern the
runner will see.  The clock and sleep are injected so tests run it instantly::

    import sys, time
    run_feedback_test(config.feedback, clock=time.monotonic, sleep=time.sleep, out=sys.stdout)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO

from edge.outputs.feedback.driver import FeedbackDriver, describe_pin
from edge.outputs.feedback.patterns import OFF, Output
from edge.outputs.feedback.settings import LED_KEYS, FeedbackConfig
from edge.types import CueAlert, EventKind, GaitEvent, Leg, Stride, StrideReport, Verdict

STEP_TICK = 0.01
LIGHT_SECONDS = 1.0
PATTERN_SECONDS = 1.0
HOLD_SECONDS = 2.5

# One demo cue per group: only the group part of the id matters to the patterns.
DEMO_CUES: dict[str, tuple[str, Verdict]] = {
    "head": ("head.look_ahead", Verdict.WARN),
    "posture": ("posture.run_tall", Verdict.FAULT),
    "arms": ("arms.elbows_back", Verdict.WARN),
    "legs": ("legs.land_under_body", Verdict.FAULT),
}
CODES = {"head": "1 beep", "posture": "2 beeps", "arms": "3 beeps", "legs": "1 long beep"}
COLOURS = {Verdict.OK: "green", Verdict.WARN: "amber", Verdict.FAULT: "red"}

Action = Callable[[FeedbackDriver, float], None]


@dataclass(frozen=True)
class InstallerStep:
    """One narrated step: each ``(offset, action)`` fires ``offset`` seconds into the step,
    which lasts ``seconds``.  ``direct`` steps set the devices themselves (no pattern)."""

    description: str
    seconds: float
    actions: tuple[tuple[float, Action], ...] = ()
    direct: bool = False


def demo_report(grade: Verdict, worst_cue: str | None, index: int) -> StrideReport:
    """A made-up stride graded ``grade`` (no focus cues): the patterns then follow the grade
    and worst cue."""
    t = float(index)
    stride = Stride(
        index=index,
        leg=Leg.NEAR,
        foot_strike=GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, t),
        toe_off=GaitEvent(EventKind.TOE_OFF, Leg.NEAR, t + 0.25),
        next_foot_strike=GaitEvent(EventKind.FOOT_STRIKE, Leg.NEAR, t + 0.7),
    )
    return StrideReport(stride=stride, cues=(), grade=grade, worst_cue=worst_cue)


def demo_alert(group: str, active: bool) -> CueAlert:
    cue_id, verdict = DEMO_CUES[group]
    return CueAlert(cue_id, active, verdict, 0.0, f"demo {group} alert")


def _show(output: Output) -> Action:
    return lambda driver, now: driver.show(output)


def _stride(grade: Verdict, cue: str | None, index: int) -> Action:
    return lambda driver, now: driver.on_stride(demo_report(grade, cue, index), now)


def _alert(group: str, active: bool) -> Action:
    return lambda driver, now: driver.on_alert(demo_alert(group, active), now)


def _quiet(quiet: bool) -> Action:
    return lambda driver, now: driver.set_quiet(quiet, now)


def installer_steps(config: FeedbackConfig, driver: FeedbackDriver) -> list[InstallerStep]:
    """The steps of the installer test, for the devices ``driver`` has claimed."""
    step = InstallerStep
    steps: list[InstallerStep] = []
    for light, key in LED_KEYS.items():
        if light in driver.leds:
            pin = describe_pin(getattr(config, key))
            only = Output(frozenset({light}))
            steps.append(
                step(
                    f"{light} LED ({key} = {pin}) on alone",
                    LIGHT_SECONDS,
                    ((0.0, _show(only)),),
                    direct=True,
                )
            )
    if driver.buzzer is not None:
        pin = describe_pin(config.buzzer_pin)
        if config.quiet:
            steps.append(step(f"buzzer ({pin}) skipped: quiet = true", 0.0))
        else:
            beep = Output(tone=config.tone_hz)
            steps.append(
                step(f"buzzer ({pin}) sounds alone", 0.3, ((0.0, _show(beep)),), direct=True)
            )
    steps.append(step("all off", 0.5, ((0.0, _show(OFF)),), direct=True))

    # The stride light changes colour only after hold_strides strides agree (hysteresis),
    # so each colour is shown with that many strides in a row.
    flashes = [(Verdict.OK, None), (Verdict.WARN, "arms.demo"), (Verdict.FAULT, "legs.demo")]
    n = config.hold_strides
    for k, (grade, cue) in enumerate(flashes):
        group = cue.split(".")[0] if cue else ""
        extra = f" with the {group} LED" if group in driver.leds else ""
        text = f"{n} strides graded {grade}: {COLOURS[grade]} flashes {config.stride_flash_ms} ms"
        run = tuple((0.1 * i, _stride(grade, cue, k * n + i)) for i in range(n))
        steps.append(step(text + extra, PATTERN_SECONDS, run))
    steps.append(
        step(
            "stride not judged (unknown): nothing lights",
            PATTERN_SECONDS,
            ((0.0, _stride(Verdict.UNKNOWN, None, 3 * n)),),
        )
    )

    sound = "no sound (quiet = true)" if config.quiet else "the buzzer plays {code}"
    for group, (_, verdict) in DEMO_CUES.items():
        lights = COLOURS[verdict] + (f" and the {group} LED" if group in driver.leds else "")
        text = f"{group} alert raised ({verdict}): {lights} on while it lasts"
        steps.append(
            step(
                f"{text}, {sound.format(code=CODES[group])}",
                HOLD_SECONDS,
                ((0.0, _alert(group, True)),),
            )
        )
        steps.append(
            step(
                f"{group} alert cleared: green blinks twice",
                PATTERN_SECONDS,
                ((0.0, _alert(group, False)),),
            )
        )

    strides = tuple((0.6 + 0.7 * k, _stride(Verdict.OK, None, 10 + k)) for k in range(3))
    steps.append(
        step(
            "posture alert raised, then 3 strides graded ok: red stays on "
            "(an alert outranks stride flashes)",
            HOLD_SECONDS,
            ((0.0, _alert("posture", True)), *strides),
        )
    )
    steps.append(
        step(
            "posture alert cleared: green blinks twice",
            PATTERN_SECONDS,
            ((0.0, _alert("posture", False)),),
        )
    )
    steps.append(
        step(
            "quiet mode on, arms alert raised: amber holds, no sound",
            HOLD_SECONDS,
            ((0.0, _quiet(True)), (0.0, _alert("arms", True))),
        )
    )
    steps.append(
        step(
            "arms alert cleared, quiet mode back as configured",
            PATTERN_SECONDS,
            ((0.0, _alert("arms", False)), (0.0, _quiet(config.quiet))),
        )
    )
    return steps


def run_feedback_test(
    config: FeedbackConfig,
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    out: TextIO,
    pin_factory: Any = None,
) -> int:
    """Walk through every light and pattern on the configured pins, printing each step.

    Returns the number of steps shown.  Raises
    :class:`~edge.outputs.feedback.driver.FeedbackError` when a pin cannot be claimed.
    The devices are always switched off and released at the end.
    """
    if not config.enabled:
        out.write("feedback.enabled = false: nothing to test\n")
        return 0
    with FeedbackDriver(config, pin_factory=pin_factory, clock=clock) as driver:
        steps = installer_steps(config, driver)
        for number, current in enumerate(steps, 1):
            out.write(f"[{number}/{len(steps)}] {current.description}\n")
            out.flush()
            start = clock()
            pending = list(current.actions)
            while True:
                now = clock()
                while pending and now - start >= pending[0][0]:
                    pending.pop(0)[1](driver, now)
                if not current.direct:
                    driver.tick(now)
                if now - start >= current.seconds:
                    break
                sleep(STEP_TICK)
        out.write("done: all lights and the buzzer are off\n")
    return len(steps)
