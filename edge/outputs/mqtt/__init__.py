"""MQTT output: durable, in-order results for coaches, commands back, Home Assistant discovery.

The daemon uses :class:`MqttPublisher`; the ``[mqtt]`` config section is :class:`MqttConfig`.
Topics, payloads and behaviour are documented in ``docs/mqtt.md``.
"""

from edge.outputs.mqtt.client import LinkState
from edge.outputs.mqtt.commands import (
    COMMAND_NAMES,
    CommandRejected,
    SelectAthlete,
    SetCue,
    StartSession,
    StopSession,
)
from edge.outputs.mqtt.outbox import OutboxError
from edge.outputs.mqtt.publisher import MqttPublisher
from edge.outputs.mqtt.settings import MqttConfig, MqttTarget, resolve

__all__ = [
    "COMMAND_NAMES",
    "CommandRejected",
    "LinkState",
    "MqttConfig",
    "MqttPublisher",
    "MqttTarget",
    "OutboxError",
    "SelectAthlete",
    "SetCue",
    "StartSession",
    "StopSession",
    "resolve",
]
