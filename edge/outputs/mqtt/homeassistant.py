"""Home Assistant MQTT discovery: one device with Trackside's sensors, no manual setup.

Uses device-based discovery (one retained config message per device on
``<discovery_prefix>/device/trackside_<device_id>/config``).  Home Assistant builds these
entities from it, all marked unavailable while ``…/availability`` says ``offline``:

* *Cadence* (steps/min) and *Ground contact* (ms), from each ``…/stride``;
* *Stride grade* (ok / warn / fault / unknown), from each ``…/stride``;
* *Active alerts*: how many cue alerts are raised now, with the list as attributes;
* *State* (diagnostic), from the retained ``…/status``.

The publisher sends the config on every connect and again whenever Home Assistant
announces itself with ``online`` on ``<discovery_prefix>/status`` (its birth message), so a
restarted Home Assistant picks the device up again.
"""

from __future__ import annotations

import re
from typing import Any

from edge.outputs.mqtt.topics import Topics
from edge.types import GRADE_VERDICTS

ORIGIN_URL = "https://github.com/trackside-run/trackside"


def object_id(device_id: str) -> str:
    """The discovery object id: ``trackside_`` plus the device id, in allowed characters."""
    return "trackside_" + re.sub(r"[^A-Za-z0-9_\-]", "_", device_id)


def discovery_topic(discovery_prefix: str, device_id: str) -> str:
    return f"{discovery_prefix}/device/{object_id(device_id)}/config"


def birth_topic(discovery_prefix: str) -> str:
    """Where Home Assistant says ``online`` when it (re)starts."""
    return f"{discovery_prefix}/status"


def discovery_payload(device_id: str, topics: Topics, version: str) -> dict[str, Any]:
    """The device-based discovery config for one Trackside device (pure)."""
    uid = object_id(device_id)

    def sensor(name: str, key: str, state_topic: str, template: str, **extra: Any) -> dict:
        return {
            "platform": "sensor",
            "name": name,
            "unique_id": f"{uid}_{key}",
            "state_topic": state_topic,
            "value_template": template,
            **extra,
        }

    return {
        "device": {
            "identifiers": [uid],
            "name": f"Trackside {device_id}",
            "manufacturer": "Trackside",
            "model": "Running-form analyser",
            "sw_version": version,
        },
        "origin": {"name": "trackside", "sw_version": version, "support_url": ORIGIN_URL},
        "availability_topic": topics.availability,
        "payload_available": "online",
        "payload_not_available": "offline",
        "qos": 1,
        "components": {
            "cadence": sensor(
                "Cadence",
                "cadence",
                topics.stride,
                "{{ value_json.stride.cadence_spm }}",
                unit_of_measurement="steps/min",
                state_class="measurement",
                icon="mdi:run",
            ),
            "ground_contact": sensor(
                "Ground contact",
                "ground_contact",
                topics.stride,
                "{{ value_json.stride.ground_contact_ms }}",
                unit_of_measurement="ms",
                device_class="duration",
                state_class="measurement",
            ),
            "grade": sensor(
                "Stride grade",
                "grade",
                topics.stride,
                "{{ value_json.grade }}",
                device_class="enum",
                options=[v.value for v in GRADE_VERDICTS],
            ),
            "alerts": sensor(
                "Active alerts",
                "alerts",
                topics.alerts_active,
                "{{ value_json.count }}",
                json_attributes_topic=topics.alerts_active,
                json_attributes_template="{{ {'alerts': value_json.alerts} | tojson }}",
                icon="mdi:alert",
            ),
            "state": sensor(
                "State",
                "state",
                topics.status,
                "{{ value_json.state }}",
                entity_category="diagnostic",
            ),
        },
    }
