"""The feedback driver: owns the gpiozero LEDs and buzzer and plays the patterns on them.

The pipeline hands it events with methods that only swap an immutable
:class:`~edge.outputs.feedback.patterns.FeedbackPlan` under a lock, so they never wait for
a pin; a small ticker thread turns the plan into pin writes::

    from edge.outputs.feedback import FeedbackDriver

    with FeedbackDriver(config.feedback) as feedback:
        feedback.start()                  # ticker thread, every 10 ms and on each event
        feedback.on_stride(report)        # returns in microseconds
        feedback.on_alert(alert)
        feedback.set_quiet(True)

Tests do not start the thread: they call :meth:`FeedbackDriver.tick` with explicit times
and read the (mock) pins, so every assertion is about a known instant.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Callable
from importlib.metadata import entry_points
from types import TracebackType
from typing import Any, Self

from gpiozero import LED, Buzzer, Device, TonalBuzzer
from gpiozero.exc import PinPWMUnsupported
from gpiozero.pins.mock import MockFactory, MockPWMPin
from gpiozero.tones import Tone

from edge.errors import TracksideError
from edge.outputs.feedback.patterns import OFF, FeedbackPlan, Output, Timings
from edge.outputs.feedback.settings import (
    LED_KEYS,
    SECTION,
    FeedbackConfig,
    check_feedback,
    gpio_number,
)
from edge.settings import show_value
from edge.types import CueAlert, StrideReport

log = logging.getLogger(__name__)

TICK_INTERVAL = 0.01


class FeedbackError(TracksideError):
    """The LEDs or buzzer cannot be driven (no GPIO library, pin busy or invalid)."""


def make_pin_factory(name: str) -> Any:
    """A gpiozero pin factory for the ``feedback.pin_factory`` setting.

    ``"mock"`` simulates pins (with PWM, so a tonal buzzer works too); ``"auto"`` lets
    gpiozero choose, as it does for any device; other names load that library.
    """
    if name == "mock":
        return MockFactory(pin_class=MockPWMPin)
    if name == "auto":
        with warnings.catch_warnings(record=True) as tried:
            warnings.simplefilter("always")
            try:
                Device.ensure_pin_factory()
            except Exception as exc:  # gpiozero raises whatever the pin library raised
                reasons = "; ".join(str(w.message) for w in tried) or str(exc)
                raise FeedbackError(
                    f"{SECTION}.pin_factory: no GPIO library can drive the pins here "
                    f'({reasons}); use pin_factory = "mock" for a dry run, or enabled = false'
                ) from None
        return Device.pin_factory
    for entry in entry_points(group="gpiozero_pin_factories"):
        if entry.name == name:
            try:
                return entry.load()()
            except Exception as exc:  # an import or hardware error of that library
                raise FeedbackError(
                    f'{SECTION}.pin_factory: "{name}" cannot be used here '
                    f"({type(exc).__name__}: {exc})"
                ) from None
    raise FeedbackError(f'{SECTION}.pin_factory: gpiozero has no pin factory "{name}"')


def describe_pin(pin: int | str) -> str:
    """``GPIO17``, or ``GPIO17 ("BOARD11")`` when the config spelled it another way."""
    name = f"GPIO{gpio_number(pin)}"
    if isinstance(pin, int) or pin.strip().upper() == name:
        return name
    return f"{name} ({show_value(pin)})"


class FeedbackDriver:
    """Drives the runner's traffic light, group LEDs and buzzer from pipeline events.

    :param config: the ``[feedback]`` section; with ``enabled = false`` no pin is touched
        and every method still works (the events are simply not shown).
    :param pin_factory: a gpiozero pin factory to use instead of ``config.pin_factory``
        (tests pass a ``MockFactory``).
    :param clock: the time base for ``now`` arguments left out and for the ticker;
        monotonic seconds.

    Raises :class:`FeedbackError` naming the config key and pin when a device cannot be
    claimed.  Event methods are safe to call from any thread.
    """

    def __init__(
        self,
        config: FeedbackConfig,
        *,
        pin_factory: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        check_feedback(config, origin="feedback settings")
        self.config = config
        self._clock = clock
        self._plan = FeedbackPlan(
            timings=Timings.from_config(config),
            quiet=config.quiet,
            hold=config.hold_strides,
            window=config.window_strides,
        )
        self._plan_lock = threading.Lock()
        self._pin_lock = threading.Lock()
        self._applied = OFF
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False
        self.leds: dict[str, LED] = {}
        self.buzzer: Buzzer | TonalBuzzer | None = None
        self.pin_factory: Any = None
        if not config.enabled:
            return
        self.pin_factory = (
            pin_factory if pin_factory is not None else make_pin_factory(config.pin_factory)
        )
        try:
            for light, key in LED_KEYS.items():
                pin = getattr(config, key)
                if pin != "":
                    self.leds[light] = self._claim(key, LED, active_high=config.active_high)
            if config.buzzer_pin != "":
                if config.buzzer_kind == "tonal":
                    self.buzzer = self._claim(
                        "buzzer_pin", TonalBuzzer, mid_tone=Tone(frequency=config.tone_hz)
                    )
                else:
                    self.buzzer = self._claim(
                        "buzzer_pin", Buzzer, active_high=config.buzzer_active_high
                    )
        except FeedbackError:
            self._close_devices()
            raise

    def _claim(self, key: str, kind: type, **options: Any) -> Any:
        pin = getattr(self.config, key)
        try:
            return kind(gpio_number(pin), pin_factory=self.pin_factory, **options)
        except Exception as exc:  # pin libraries raise their own types (lgpio.error, ...)
            reason = type(exc).__name__ + (f": {exc}" if str(exc) else "")
            if isinstance(exc, PinPWMUnsupported):
                reason += ' (this pin library has no PWM here; use buzzer_kind = "buzzer")'
            raise FeedbackError(
                f"{SECTION}.{key}: cannot drive {kind.__name__} on {describe_pin(pin)}: {reason}"
            ) from None

    # --- events (never block on a pin) ----------------------------------------------------

    def on_stride(self, report: StrideReport, now: float | None = None) -> None:
        """Flash the held level of the stride's focus cues, or of its grade (unless an
        alert holds the light)."""
        self._update(lambda plan, t: plan.with_stride(report, t), now)

    def on_alert(self, alert: CueAlert, now: float | None = None) -> None:
        """Hold the colour of a raised alert and sound its group's code; blink on clear."""
        self._update(lambda plan, t: plan.with_alert(alert, t), now)

    def set_quiet(self, quiet: bool, now: float | None = None) -> None:
        """Quiet mode: lights only; the buzzer goes silent at the next tick."""
        self._update(lambda plan, _: plan.with_quiet(quiet), now)

    def _update(self, change: Callable[[FeedbackPlan, float], FeedbackPlan], now: float | None):
        when = self._clock() if now is None else now
        with self._plan_lock:
            self._plan = change(self._plan, when)
        self._wake.set()

    @property
    def plan(self) -> FeedbackPlan:
        """The current plan (immutable)."""
        return self._plan

    @property
    def quiet(self) -> bool:
        return self._plan.quiet

    @property
    def output(self) -> Output:
        """What the devices were last set to."""
        return self._applied

    # --- applying --------------------------------------------------------------------------

    def tick(self, now: float | None = None) -> Output:
        """Set every device to the plan's output at ``now`` and return that output.

        Only devices whose state changes are written.
        """
        out = self._plan.output(self._clock() if now is None else now)
        with self._pin_lock:
            self._apply(out)
        return out

    def show(self, out: Output) -> None:
        """Set the devices to ``out`` directly, bypassing the plan (the installer's wiring
        check).  The next :meth:`tick` goes back to the plan."""
        with self._pin_lock:
            self._apply(out)

    def _apply(self, out: Output) -> None:
        before = self._applied
        for light, led in self.leds.items():
            on = light in out.lit
            if on != (light in before.lit):
                led.value = on
        if self.buzzer is not None and out.tone != before.tone:
            if isinstance(self.buzzer, TonalBuzzer):
                if out.tone is None:
                    self.buzzer.stop()
                else:
                    self.buzzer.play(Tone(frequency=out.tone))
            else:
                self.buzzer.value = out.tone is not None
        self._applied = out

    # --- ticker thread ---------------------------------------------------------------------

    def start(self, interval: float = TICK_INTERVAL) -> None:
        """Start the background ticker: every ``interval`` seconds, and at once on an event."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, args=(interval,), name="trackside-feedback", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop the ticker thread (the devices keep their state)."""
        if self._thread is None:
            return
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=2)
        self._thread = None

    def _run(self, interval: float) -> None:
        while not self._stop.is_set():
            # Clear before ticking: an event arriving during the tick wakes the next one.
            self._wake.clear()
            try:
                self.tick()
                self._failing = False
            except Exception:
                if not self._failing:  # one log line per outage, not one per tick
                    log.exception("feedback: cannot set the LEDs/buzzer; retrying")
                self._failing = True
            self._wake.wait(interval)

    # --- shutdown --------------------------------------------------------------------------

    def close(self) -> None:
        """Stop the ticker, turn every device off and release the pins."""
        self.stop()
        with self._pin_lock:
            try:
                self._apply(OFF)
            finally:
                self._close_devices()

    def _close_devices(self) -> None:
        devices: list[Any] = [*self.leds.values(), self.buzzer]
        for device in devices:
            if device is not None:
                device.close()
        self.leds = {}
        self.buzzer = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
