"""MQTT test helpers that need the repository: the payload schemas in docs/, and a child
process to SIGKILL.

Runnable as a child process (``python tests/mqtt_helpers.py MODE CONFIG_JSON``) so a test can
SIGKILL a real Trackside publisher: ``online`` connects and idles, ``publish N`` publishes N
strides (broker down or not), prints their message ids, then idles.  The synthetic results
and the recording subscriber live in :mod:`edge.testing.mqtt`.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # when run as a child process
    sys.path.insert(0, str(REPO))

from edge.testing.mqtt import stride_report  # noqa: E402

SCHEMA_DIR = REPO / "docs" / "mqtt-schemas"


def load_schemas() -> dict[str, dict[str, Any]]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(SCHEMA_DIR.glob("*.json"))}


def validator(name: str) -> Any:
    """A jsonschema validator for ``docs/mqtt-schemas/<name>.json``, refs resolved."""
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    schemas = load_schemas()
    registry = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas.values()
    )
    return Draft202012Validator(schemas[name], registry=registry)


def _child(mode: str, config_json: str, *args: str) -> None:
    from edge.outputs.mqtt import MqttConfig, MqttPublisher

    publisher = MqttPublisher(MqttConfig(**json.loads(config_json)))
    publisher.start()
    if mode == "online":
        publisher.link.wait_connected(10)
        print("connected" if publisher.link.connected else "not-connected", flush=True)
    elif mode == "publish":
        ids = [publisher.publish_stride(stride_report(i)) for i in range(int(args[0]))]
        print(json.dumps(ids), flush=True)
    threading.Event().wait()  # idle until the test kills this process


if __name__ == "__main__":
    _child(*sys.argv[1:])
