"""Every topic Trackside uses, derived from one prefix (default ``trackside/<device_id>``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Topics:
    """The topic names under ``prefix``; see ``docs/mqtt.md`` for QoS and retained flags."""

    prefix: str

    @property
    def stride(self) -> str:
        return f"{self.prefix}/stride"

    @property
    def alert(self) -> str:
        return f"{self.prefix}/alert"

    @property
    def alerts_active(self) -> str:
        return f"{self.prefix}/alerts/active"

    @property
    def pass_summary(self) -> str:
        return f"{self.prefix}/pass"

    @property
    def session_summary(self) -> str:
        return f"{self.prefix}/session"

    @property
    def status(self) -> str:
        return f"{self.prefix}/status"

    @property
    def keyframe(self) -> str:
        """Retained JPEG of the latest foot strike worth seeing (binary payload)."""
        return f"{self.prefix}/keyframe"

    @property
    def keyframe_meta(self) -> str:
        """Retained JSON describing the picture on :attr:`keyframe`."""
        return f"{self.prefix}/keyframe/meta"

    @property
    def availability(self) -> str:
        return f"{self.prefix}/availability"

    @property
    def command_filter(self) -> str:
        return f"{self.prefix}/cmd/+"

    @property
    def command_result(self) -> str:
        return f"{self.prefix}/cmd/result"

    def command(self, name: str) -> str:
        return f"{self.prefix}/cmd/{name}"

    def command_name(self, topic: str) -> str | None:
        """The ``<name>`` of a ``…/cmd/<name>`` topic under this prefix, else ``None``."""
        head = f"{self.prefix}/cmd/"
        if not topic.startswith(head):
            return None
        name = topic[len(head) :]
        return name if name and "/" not in name else None
