"""The MQTT output stage as the daemon sees it: one object, a few ``publish_*`` calls.

::

    from edge.outputs.mqtt import MqttPublisher

    publisher = MqttPublisher(config.mqtt)
    publisher.commands.on("start_session", lambda cmd: requests.put(cmd))
    publisher.start()                       # returns at once, connects in the background
    publisher.set_session("2025-05-01-am", athlete="ana")
    publisher.publish_stride(report)        # durable: outbox first, broker when reachable
    publisher.publish_alert(alert)
    publisher.publish_pass_summary(summary, pass_index=3)   # an edge.cues.summary.Summary
    publisher.publish_status(DeviceStatus("running", fps=9.8, inference_ms=92.0))
    publisher.publish_keyframe(Keyframe(jpeg, 41, "posture.run_tall", time_s=29.7))
    publisher.stop()                        # flushes what it can, says "offline"

Results (strides, alerts, summaries) go through the durable outbox and are delivered in
order, at least once; ``publish_*`` returns the result's ``message_id``.  Status, the
active-alerts list and Home Assistant discovery are retained "latest value" messages: they
are not queued while offline but re-sent on connect.  Every ``publish_*`` is thread-safe
and never blocks on the network (only on the outbox's disk write).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from importlib import metadata
from typing import Any

from edge.cues.summary import Summary
from edge.outputs.mqtt import homeassistant
from edge.outputs.mqtt.client import LinkState, MqttLink
from edge.outputs.mqtt.commands import CommandRouter
from edge.outputs.mqtt.forwarder import OutboxForwarder
from edge.outputs.mqtt.ids import MessageIds
from edge.outputs.mqtt.outbox import Outbox
from edge.outputs.mqtt.payloads import (
    DeviceStatus,
    Envelope,
    Keyframe,
    active_alerts_payload,
    alert_payload,
    command_result_payload,
    encode,
    keyframe_meta_payload,
    status_payload,
    stride_payload,
    summary_fields,
    summary_payload,
)
from edge.outputs.mqtt.settings import MqttConfig, MqttTarget, resolve
from edge.types import CueAlert, StrideReport

log = logging.getLogger(__name__)


def _version() -> str:
    try:
        return metadata.version("trackside")
    except metadata.PackageNotFoundError:
        return "0+unknown"


class MqttPublisher:
    """Publishes Trackside's results and health, and receives coaches' commands.

    ``config`` is the ``[mqtt]`` section, or an already resolved
    :class:`~edge.outputs.mqtt.settings.MqttTarget`.  Construction opens the outbox (raising
    :class:`~edge.outputs.mqtt.outbox.OutboxError` if it cannot) but does not connect.
    """

    def __init__(
        self, config: MqttConfig | MqttTarget, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.target = config if isinstance(config, MqttTarget) else resolve(config)
        self._clock = clock
        self._ids = MessageIds(clock)
        self.link = MqttLink(self.target)
        self.topics = self.link.topics
        self.commands = CommandRouter()
        self.outbox = Outbox(
            self.target.outbox_path,
            max_messages=self.target.outbox_max_messages,
            max_age_s=self.target.outbox_max_age_s,
            clock=clock,
        )
        self._forwarder = OutboxForwarder(
            self.outbox, self.link, max_inflight=self.target.max_inflight
        )
        self._lock = threading.Lock()
        self._session_id: str | None = None
        self._athlete: str | None = None
        self._active_alerts: dict[str, CueAlert] = {}
        self._last_status: bytes | None = None
        self._last_keyframe: tuple[bytes, bytes] | None = None  # (jpeg, meta json)
        self._started = False
        self.link.on_connected.append(self._on_connected)
        self.link.subscribe(self.topics.command_filter, self._on_command)
        if self.target.homeassistant:
            self.link.subscribe(
                homeassistant.birth_topic(self.target.discovery_prefix), self._on_ha_birth
            )

    # --- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Start delivering (undelivered results from a previous run go first)."""
        if self._started:
            return
        self._started = True
        backlog = len(self.outbox)
        if backlog:
            log.info(
                "MQTT outbox: %d undelivered result(s) from before; sending them first", backlog
            )
        self._forwarder.start()
        self.link.start()

    def stop(self, timeout: float = 1.5) -> None:
        """Deliver what can be delivered within ``timeout`` s, say ``offline``, disconnect.

        Whatever is not acknowledged by then stays in the outbox for the next start.  The
        whole call takes at most about ``timeout`` + 0.5 s, within systemd's patience.
        Publish a last ``status`` with ``state="stopping"`` first if consumers should see it.
        """
        if not self._started:
            self.outbox.close()
            return
        self._started = False
        flushed = self._forwarder.flush(timeout)
        self._forwarder.stop()
        self.link.stop(timeout=0.5)
        left = len(self.outbox)
        if left or not flushed:
            log.info("MQTT: stopped with %d result(s) kept in the outbox for next time", left)
        self.outbox.close()

    def __enter__(self) -> MqttPublisher:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def state(self) -> LinkState:
        return self.link.state

    @property
    def last_error(self) -> str:
        return self.link.last_error

    @property
    def outbox_depth(self) -> int:
        return len(self.outbox)

    def problems(self) -> list[str]:
        """What is degraded in delivery now (the outbox's file), for the device status."""
        return self.outbox.problems()

    # --- context ---------------------------------------------------------------------------

    def set_session(self, session_id: str | None, *, athlete: str | None = None) -> None:
        """The session and athlete stamped on every following payload (``None``: none)."""
        with self._lock:
            self._session_id = session_id
            self._athlete = athlete

    def set_athlete(self, athlete: str | None) -> None:
        with self._lock:
            self._athlete = athlete

    # --- results (durable) -----------------------------------------------------------------

    def publish_stride(self, report: StrideReport) -> str:
        envelope = self._envelope()
        self._enqueue(self.topics.stride, stride_payload(envelope, report), retain=False)
        return envelope.message_id

    def publish_alert(self, alert: CueAlert) -> str:
        """Publish a raised/cleared alert, and the updated retained list of active alerts."""
        envelope = self._envelope()
        self._enqueue(self.topics.alert, alert_payload(envelope, alert), retain=False)
        with self._lock:
            if alert.active:
                self._active_alerts[alert.cue_id] = alert
            else:
                self._active_alerts.pop(alert.cue_id, None)
        self._publish_active_alerts()
        return envelope.message_id

    def publish_pass_summary(self, summary: Summary, *, pass_index: int) -> str:
        """The summary of pass ``pass_index`` (counted from 1 since the daemon started)."""
        envelope = self._envelope()
        payload = summary_payload(
            envelope, "pass", **summary_fields(summary), pass_index=pass_index
        )
        self._enqueue(self.topics.pass_summary, payload, retain=False)
        return envelope.message_id

    def publish_session_summary(self, summary: Summary, *, passes: int) -> str:
        """The session summary, retained so a late subscriber still gets the last one."""
        envelope = self._envelope()
        payload = summary_payload(envelope, "session", **summary_fields(summary), passes=passes)
        self._enqueue(self.topics.session_summary, payload, retain=True)
        return envelope.message_id

    # --- latest-value messages (not queued) ------------------------------------------------

    def publish_status(self, status: DeviceStatus) -> None:
        """Retained health, with this publisher's ``outbox_depth`` added.

        Only the newest status matters, so it is not queued while offline; the last one is
        re-sent on reconnect.
        """
        payload = encode(
            status_payload(
                self._envelope(),
                state=status.state,
                fps=status.fps,
                inference_ms=status.inference_ms,
                dropped_frames=status.dropped_frames,
                queue_depth=status.queue_depth,
                outbox_depth=len(self.outbox),
                cpu_temp_c=status.cpu_temp_c,
                throttled=status.throttled,
                uptime_s=status.uptime_s,
                detail=status.detail,
                degraded=status.degraded,
            )
        )
        with self._lock:
            self._last_status = payload
        if self.link.connected:
            self.link.publish(self.topics.status, payload, qos=1, retain=True)

    def publish_keyframe(self, keyframe: Keyframe) -> str:
        """The picture of a stride worth seeing: retained JPEG on ``…/keyframe``, then JSON.

        The metadata (``…/keyframe/meta``, retained) follows the picture, so a consumer that
        sees new metadata already has the picture it describes.  A latest-value message: not
        queued while offline, the last one re-sent on connect.  Returns the metadata's
        message id; ``""`` for a picture kept for history only (never published).
        """
        if keyframe.history_only:
            return ""
        envelope = self._envelope()
        jpeg = bytes(keyframe.jpeg)
        meta = encode(
            keyframe_meta_payload(
                envelope,
                stride_index=keyframe.stride_index,
                cue_id=keyframe.cue_id,
                time_s=keyframe.time_s,
                size_bytes=len(jpeg),
                verdict=keyframe.verdict,
                message=keyframe.message,
            )
        )
        with self._lock:
            self._last_keyframe = (jpeg, meta)
        if self.link.connected:
            self._send_keyframe(jpeg, meta)
        return envelope.message_id

    # --- internals -------------------------------------------------------------------------

    def _envelope(self) -> Envelope:
        with self._lock:
            return Envelope(
                device_id=self.target.device_id,
                message_id=self._ids.new(),
                created_at=self._clock(),
                session_id=self._session_id,
                athlete=self._athlete,
            )

    def _enqueue(self, topic: str, payload: Mapping[str, Any], *, retain: bool) -> None:
        self.outbox.enqueue(topic, encode(payload), qos=self.target.qos, retain=retain)
        self._forwarder.wake()

    def _publish_active_alerts(self) -> None:
        with self._lock:
            alerts = list(self._active_alerts.values())
        payload = encode(active_alerts_payload(self._envelope(), alerts))
        if self.link.connected:
            self.link.publish(self.topics.alerts_active, payload, qos=1, retain=True)

    def _on_connected(self) -> None:
        # paho's network thread: publish() only queues, so this is quick.
        with self._lock:
            status = self._last_status
            keyframe = self._last_keyframe
        if status is not None:
            self.link.publish(self.topics.status, status, qos=1, retain=True)
        if keyframe is not None:
            self._send_keyframe(*keyframe)
        self._publish_active_alerts()
        if self.target.homeassistant:
            self._send_discovery()

    def _send_keyframe(self, jpeg: bytes, meta: bytes) -> None:
        self.link.publish(self.topics.keyframe, jpeg, qos=1, retain=True)
        self.link.publish(self.topics.keyframe_meta, meta, qos=1, retain=True)

    def _send_discovery(self) -> None:
        payload = homeassistant.discovery_payload(self.target.device_id, self.topics, _version())
        topic = homeassistant.discovery_topic(self.target.discovery_prefix, self.target.device_id)
        self.link.publish(topic, encode(payload), qos=1, retain=True)

    def _on_ha_birth(self, _topic: str, payload: bytes) -> None:
        if payload.strip() == b"online":
            log.info("MQTT: Home Assistant came online; sending discovery again")
            self._send_discovery()

    def _on_command(self, topic: str, payload: bytes) -> None:
        name = self.topics.command_name(topic)
        if name is None or name == "result":
            return  # our own replies come back on the same filter
        outcome = self.commands.handle(name, payload)
        reply = command_result_payload(
            self._envelope(),
            command=outcome.command,
            request_id=outcome.request_id,
            ok=outcome.ok,
            reason=outcome.reason,
        )
        self.link.publish(self.topics.command_result, encode(reply), qos=1, retain=False)
