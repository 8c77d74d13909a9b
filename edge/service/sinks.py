"""Where the daemon's results go: the :class:`ResultSink` protocol, and one fan-out to them all.

A sink is the MQTT publisher (:class:`~edge.outputs.mqtt.MqttPublisher`), the on-device
results store (:class:`~edge.outputs.store.StoreSink`) or a test double.  The daemon talks
only to a :class:`FanOut`, which calls every sink in turn and keeps going when one raises:
a full SD card must not silence MQTT, and no sink may stop the analysis thread.  The runner's
own feedback (LEDs, buzzer) is not a sink: :class:`Outputs` calls it first, so it never waits
for a result to be written.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from edge.cues.summary import Summary
from edge.outputs.mqtt.payloads import DeviceStatus, Keyframe
from edge.types import CueAlert, StrideReport

log = logging.getLogger(__name__)


class ResultSink(Protocol):
    """What the daemon publishes.  A sink may return a message id; the fan-out ignores it."""

    def set_session(self, session_id: str | None, *, athlete: str | None = None) -> object: ...

    def publish_stride(self, report: StrideReport) -> object: ...

    def publish_alert(self, alert: CueAlert) -> object: ...

    def publish_pass_summary(self, summary: Summary, *, pass_index: int) -> object: ...

    def publish_session_summary(self, summary: Summary, *, passes: int) -> object: ...

    def publish_status(self, status: DeviceStatus) -> object: ...

    def publish_keyframe(self, keyframe: Keyframe) -> object: ...


@runtime_checkable
class ReportsProblems(Protocol):
    """A sink that can say what is degraded in it (a full disk, a file moved aside...)."""

    def problems(self) -> list[str]: ...


class FanOut:
    """Every named sink behind one; a sink that raises is logged and counted, never passed on.

    Called from the analysis, burst and health threads; the sinks themselves are thread-safe.
    """

    def __init__(self, sinks: Mapping[str, ResultSink] | None = None) -> None:
        self.sinks = dict(sinks or {})
        self._failures = dict.fromkeys(self.sinks, 0)
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self.sinks)

    def failures(self) -> dict[str, int]:
        """Calls that raised so far, per sink that had any."""
        with self._lock:
            return {name: n for name, n in self._failures.items() if n}

    def problems(self) -> list[str]:
        """What the sinks say is degraded now, one line each (never raises)."""
        found: list[str] = []
        for name, sink in self.sinks.items():
            if isinstance(sink, ReportsProblems):
                try:
                    found += sink.problems()
                except Exception as exc:
                    found.append(f"{name}: cannot tell its state ({type(exc).__name__})")
        return found

    def _each(self, what: str, call: Callable[[ResultSink], object]) -> None:
        for name, sink in self.sinks.items():
            try:
                call(sink)
            except Exception as exc:  # one sink's trouble is not the others' or the runner's
                with self._lock:
                    self._failures[name] += 1
                    first = self._failures[name] == 1
                # The first failure of a sink keeps its traceback; repeats (a full disk fails
                # every stride) are one line each.
                log.warning(
                    "result sink %s: %s failed: %s: %s",
                    name,
                    what,
                    type(exc).__name__,
                    exc,
                    exc_info=first,
                )

    def set_session(self, session_id: str | None, *, athlete: str | None = None) -> None:
        self._each("set_session", lambda sink: sink.set_session(session_id, athlete=athlete))

    def publish_stride(self, report: StrideReport) -> None:
        self._each("publish_stride", lambda sink: sink.publish_stride(report))

    def publish_alert(self, alert: CueAlert) -> None:
        self._each("publish_alert", lambda sink: sink.publish_alert(alert))

    def publish_pass_summary(self, summary: Summary, *, pass_index: int) -> None:
        self._each(
            "publish_pass_summary",
            lambda sink: sink.publish_pass_summary(summary, pass_index=pass_index),
        )

    def publish_session_summary(self, summary: Summary, *, passes: int) -> None:
        self._each(
            "publish_session_summary",
            lambda sink: sink.publish_session_summary(summary, passes=passes),
        )

    def publish_status(self, status: DeviceStatus) -> None:
        self._each("publish_status", lambda sink: sink.publish_status(status))

    def publish_keyframe(self, keyframe: Keyframe) -> None:
        self._each("publish_keyframe", lambda sink: sink.publish_keyframe(keyframe))


class Feedback(Protocol):
    """The runner's LEDs and buzzer (:class:`~edge.outputs.feedback.FeedbackDriver`)."""

    def on_stride(self, report: StrideReport) -> None: ...

    def on_alert(self, alert: CueAlert) -> None: ...


@dataclass
class Outputs:
    """The result sinks and the runner's feedback, as the daemon hands results to them."""

    results: FanOut
    feedback: Feedback | None = None

    def alerts(self, alerts: Iterable[CueAlert]) -> None:
        for alert in alerts:
            log.info("alert %s %s", alert.cue_id, "raised" if alert.active else "cleared")
            if self.feedback:
                self.feedback.on_alert(alert)
            self.results.publish_alert(alert)
