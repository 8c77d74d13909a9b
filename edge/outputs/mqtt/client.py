"""The connection to the broker: a thin, thread-safe wrapper over a paho-mqtt v2 client.

:class:`MqttLink` connects in the background and keeps reconnecting with a doubling wait
(``reconnect_min_s`` up to ``reconnect_max_s``), so Trackside starts and runs whether or not
the broker is up.  It sets a retained Last Will of ``offline`` on ``…/availability`` (the
broker publishes it when the link dies without a goodbye: crash, power cut, network loss)
and publishes a retained ``online`` on every connect.  TLS and username/password come from
the :class:`~edge.outputs.mqtt.settings.MqttTarget`; the password is never logged.

Callbacks (``on_connected``, ``on_published``, message handlers) run on paho's network
thread: they must be quick and must not block on the link.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import threading
from collections.abc import Callable
from enum import StrEnum
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from edge.outputs.mqtt.settings import MqttTarget
from edge.outputs.mqtt.topics import Topics

log = logging.getLogger(__name__)

ONLINE = b"online"
OFFLINE = b"offline"


class LinkState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    REFUSED = "refused"  # the broker answered but said no (credentials, client id...)
    STOPPED = "stopped"


MessageHandler = Callable[[str, bytes], None]


def make_paho_client(target: MqttTarget, client_id: str) -> paho.Client:
    """A paho v2-API client for ``target``: clean session, credentials, TLS, backoff.

    The one place a broker connection is configured, for the device and the dashboard alike.
    """
    client = paho.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=True,
        reconnect_on_failure=True,
    )
    if target.username:
        client.username_pw_set(target.username, target.password)
    if target.tls:
        client.tls_set(
            ca_certs=target.ca_file,
            certfile=target.cert_file,
            keyfile=target.key_file,
            cert_reqs=ssl.CERT_REQUIRED,
        )
        client.tls_insecure_set(target.tls_insecure)
    client.reconnect_delay_set(target.reconnect_min_s, target.reconnect_max_s)
    return client


class MqttLink:
    """One MQTT connection that comes back by itself.

    ``generation`` counts successful connections; code that needs to know whether a message
    was sent on the current connection compares it with the value at publish time.
    """

    def __init__(self, target: MqttTarget) -> None:
        self.target = target
        self.topics = Topics(target.topic_prefix)
        self._state = LinkState.STOPPED
        self._last_error = ""
        self._generation = 0
        self._connected = threading.Event()
        self._subscribed = threading.Event()  # the broker acknowledged every subscription
        self._pending_subscriptions: set[int] = set()  # SUBSCRIBE message ids awaiting SUBACK
        self._lock = threading.Lock()
        self._subscriptions: dict[str, tuple[int, MessageHandler]] = {}
        self.on_connected: list[Callable[[], None]] = []
        self.on_disconnected: list[Callable[[], None]] = []
        self.on_published: Callable[[int], None] | None = None
        self._client = self._make_client()

    # --- state -----------------------------------------------------------------------------

    @property
    def state(self) -> LinkState:
        return self._state

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def last_error(self) -> str:
        """Why the last connection attempt failed or dropped ("" when all is well)."""
        return self._last_error

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def wait_subscribed(self, timeout: float) -> bool:
        """Wait until connected *and* every subscription is acknowledged by the broker.

        Until then a message published to a subscribed topic (a command) may never arrive:
        being connected is not enough.
        """
        return self._subscribed.wait(timeout)

    # --- life cycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background; returns at once, even if the broker is down."""
        if self._state is not LinkState.STOPPED:
            return
        t = self.target
        self._state = LinkState.CONNECTING
        log.info(
            "MQTT: connecting to %s:%d as %s%s (topics %s/…)",
            t.host,
            t.port,
            t.client_id,
            " over TLS" if t.tls else "",
            t.topic_prefix,
        )
        self._client.connect_async(t.host, t.port, keepalive=t.keepalive)
        self._client.loop_start()

    def stop(self, timeout: float = 1.0) -> None:
        """Say ``offline`` (retained), disconnect cleanly and stop the network thread."""
        if self._state is LinkState.STOPPED:
            return
        if self.connected:
            info = self._client.publish(self.topics.availability, OFFLINE, qos=1, retain=True)
            # If the connection is lost meanwhile, the broker publishes the Will instead.
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout)
        self._state = LinkState.STOPPED
        self._client.disconnect()
        self._client.loop_stop()
        self._connected.clear()
        self._subscribed.clear()

    # --- messages --------------------------------------------------------------------------

    def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool = False) -> int | None:
        """Hand a message to paho; returns its message id, or ``None`` if it was refused.

        QoS 1/2 messages accepted while the connection is down are kept by paho in memory
        and sent on reconnect.
        """
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            return info.mid
        log.warning("MQTT: publish to %s refused: %s", topic, paho.error_string(info.rc))
        return None

    def subscribe(self, topic_filter: str, handler: MessageHandler, *, qos: int = 1) -> None:
        """Call ``handler(topic, payload)`` for messages matching ``topic_filter``.

        The subscription is renewed on every reconnect.  Exceptions in the handler are
        logged and swallowed: a bad message must never kill the network thread.
        """
        with self._lock:
            self._subscriptions[topic_filter] = (qos, handler)

        def dispatch(_client: Any, _userdata: Any, message: paho.MQTTMessage) -> None:
            try:
                handler(message.topic, bytes(message.payload))
            except Exception:
                log.exception("MQTT: handler for %s failed", message.topic)

        self._client.message_callback_add(topic_filter, dispatch)
        if self.connected:
            self._send_subscribe(self._client, [(topic_filter, qos)])

    def _send_subscribe(self, client: paho.Client, subscriptions: list[tuple[str, int]]) -> None:
        with self._lock:
            rc, mid = client.subscribe(subscriptions)
            if rc == MQTTErrorCode.MQTT_ERR_SUCCESS and mid is not None:
                self._pending_subscriptions.add(mid)
                self._subscribed.clear()

    # --- paho wiring -----------------------------------------------------------------------

    def _make_client(self) -> paho.Client:
        t = self.target
        client = make_paho_client(t, t.client_id)
        client.will_set(self.topics.availability, OFFLINE, qos=1, retain=True)
        # The outbox forwarder keeps its own window; paho's limit just has to be above it
        # so that status, replies and discovery are never stuck behind results.
        client.max_inflight_messages_set(t.max_inflight + 20)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        return client

    def _on_connect(
        self, client: paho.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            message = f"broker refused the connection: {reason}"
            if reason.value in (4, 5, 134, 135):  # v3 bad credentials / not authorised, v5 too
                message += " (check mqtt.username and the password setting)"
            if self._last_error != message:
                log.error("MQTT: %s:%d %s", self.target.host, self.target.port, message)
            self._last_error = message
            self._state = LinkState.REFUSED
            return
        self._generation += 1
        self._last_error = ""
        self._state = LinkState.CONNECTED
        log.info("MQTT: connected to %s:%d", self.target.host, self.target.port)
        client.publish(self.topics.availability, ONLINE, qos=1, retain=True)
        with self._lock:
            subscriptions = [(f, q) for f, (q, _h) in self._subscriptions.items()]
            self._pending_subscriptions.clear()
        if subscriptions:
            self._send_subscribe(client, subscriptions)
        else:
            self._subscribed.set()
        self._connected.set()
        for callback in list(self.on_connected):
            try:
                callback()
            except Exception:
                log.exception("MQTT: on-connect callback failed")

    def _on_connect_fail(self, _client: paho.Client, _userdata: Any) -> None:
        message = f"cannot reach the broker at {self.target.host}:{self.target.port}"
        if self.target.tls:
            message += " (connection or TLS handshake failed: check host, port and ca_file)"
        if self._last_error != message:
            log.warning("MQTT: %s; retrying in the background", message)
        self._last_error = message
        if self._state is not LinkState.STOPPED:
            self._state = LinkState.DISCONNECTED

    def _on_disconnect(
        self, _client: paho.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        self._subscribed.clear()
        if self._state is LinkState.STOPPED:
            return
        if was_connected:
            self._last_error = f"connection lost ({reason})"
            log.warning("MQTT: %s; results wait in the outbox", self._last_error)
            self._state = LinkState.DISCONNECTED
        for callback in list(self.on_disconnected):
            try:
                callback()
            except Exception:
                log.exception("MQTT: on-disconnect callback failed")

    def _on_subscribe(
        self, _client: paho.Client, _userdata: Any, mid: int, reasons: Any, _props: Any
    ) -> None:
        refused = [r for r in reasons if getattr(r, "is_failure", False)]
        if refused:
            log.error("MQTT: the broker refused a subscription: %s (check its ACL)", refused[0])
            return
        with self._lock:
            self._pending_subscriptions.discard(mid)
            if not self._pending_subscriptions and self._connected.is_set():
                self._subscribed.set()

    def _on_publish(
        self, _client: paho.Client, _userdata: Any, mid: int, _reason: Any, _props: Any
    ) -> None:
        callback = self.on_published
        if callback is not None:
            callback(mid)
