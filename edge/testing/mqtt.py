"""MQTT test doubles: synthetic stride reports and alerts, and a recording subscriber.

:func:`stride_report` and :func:`alert` are plausible results of a steady run, for tests and
benchmarks that need something to publish; :class:`Subscriber` is a plain paho client that
records every message it gets, with bounded waits on a condition (never a sleep).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from edge.types import (
    CueAlert,
    CueResult,
    EventKind,
    GaitEvent,
    Leg,
    MetricValue,
    Side,
    Stride,
    StrideReport,
    Verdict,
)


def stride_report(index: int, *, period_s: float = 0.7) -> StrideReport:
    """A plausible stride ``index`` of a steady run (cadence 171 spm, contact ~0.25 s)."""
    start = 1.0 + index * period_s
    leg = Leg.NEAR if index % 2 == 0 else Leg.FAR
    stride = Stride(
        index=index,
        leg=leg,
        foot_strike=GaitEvent(EventKind.FOOT_STRIKE, leg, start),
        toe_off=GaitEvent(EventKind.TOE_OFF, leg, start + 0.25),
        next_foot_strike=GaitEvent(EventKind.FOOT_STRIKE, leg, start + period_s),
        side=Side.LEFT if leg is Leg.NEAR else None,
        metrics={
            "trunk_lean_deg": MetricValue(6.0 + 0.1 * index, "deg", 0.9),
            "overstride_cm": MetricValue(float("nan"), "cm", 0.0, "no scale"),
        },
        emitted_at=start + period_s + 0.1,
    )
    cues = (
        CueResult("posture.run_tall", Verdict.OK, 6.0 + 0.1 * index, "deg", "Run tall", 14.5),
        CueResult(
            "legs.overstride",
            Verdict.UNKNOWN,
            float("nan"),
            "deg",
            "Land under you",
            reason="not measured: shank unseen",
        ),
        CueResult(
            "arms.elbows_back",
            Verdict.INFO,
            0.31,
            "leg_length",
            "Elbows back",
            confidence=0.7,
            reason="information only: no published basis for a limit",
            information_only=True,
        ),
        CueResult(
            "legs.knee_drive",
            Verdict.FAULT,
            4.0,
            "deg",
            "Lift your knee",
            4.25,
            0.8,
            judged_value=4.0,
        ),
    )
    return StrideReport(stride, cues, Verdict.FAULT, "legs.knee_drive")


def alert(active: bool = True, cue_id: str = "legs.knee_drive") -> CueAlert:
    return CueAlert(
        cue_id,
        active,
        Verdict.FAULT if active else Verdict.OK,
        12.5,
        "Lift your knee in front.",
        7,
    )


class Subscriber:
    """A plain paho client recording every message; waits are bounded by a timeout."""

    def __init__(
        self,
        port: int,
        topics: list[str],
        *,
        client_id: str = "",
        persistent: bool = False,
        connect_kwargs: dict[str, Any] | None = None,
        setup: Callable[[paho.Client], None] | None = None,
    ) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []  # (topic, payload, retained)
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self._topics = topics
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=not persistent
        )
        if setup is not None:
            setup(self.client)
        self.client.reconnect_delay_set(1, 1)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *_a: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect_async("127.0.0.1", port, keepalive=5, **(connect_kwargs or {}))
        self.client.loop_start()
        if not self._subscribed.wait(10):
            self.close()
            raise TimeoutError("subscriber could not subscribe within 10 s")

    def _on_connect(self, client: paho.Client, *_args: Any) -> None:
        client.subscribe([(t, 1) for t in self._topics])

    def _on_message(self, _c: Any, _u: Any, message: paho.MQTTMessage) -> None:
        with self._cond:
            self.messages.append((message.topic, bytes(message.payload), bool(message.retain)))
            self._cond.notify_all()

    def wait_for(
        self, predicate: Callable[[list[tuple[str, bytes, bool]]], bool], timeout: float = 10.0
    ) -> list[tuple[str, bytes, bool]]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.messages):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"condition not met within {timeout} s; got {len(self.messages)} message(s)"
                    )
                self._cond.wait(remaining)
            return list(self.messages)

    def payloads(self, topic: str) -> list[dict[str, Any]]:
        with self._cond:
            return [json.loads(p) for t, p, _r in self.messages if t == topic]

    def publish(self, topic: str, payload: bytes | str) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def dedupe(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """First occurrence of each message_id, in arrival order (what a consumer should do)."""
    seen: set[str] = set()
    out = []
    for p in payloads:
        if p["message_id"] not in seen:
            seen.add(p["message_id"])
            out.append(p)
    return out
