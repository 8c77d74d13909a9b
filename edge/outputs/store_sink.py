"""The results store behind the daemon's result-sink calls (the MQTT publisher's)."""

from __future__ import annotations

from edge.cues.summary import Summary
from edge.outputs.mqtt.payloads import DeviceStatus, Keyframe
from edge.outputs.store import ResultStore
from edge.types import CueAlert, StrideReport


class StoreSink:
    """The store behind the daemon's result-sink calls (the same ones as the MQTT publisher).

    Status is not history and is ignored.  A full disk pauses history (see
    :meth:`problems`); any other write that fails raises :class:`StoreError`, which the
    daemon's fan-out logs and counts before carrying on with the other sinks.
    """

    def __init__(self, store: ResultStore, device_id: str) -> None:
        self.store = store
        self.device_id = device_id
        self._session_id: str | None = None
        self._athlete: str | None = None

    def set_session(self, session_id: str | None, *, athlete: str | None = None) -> None:
        self._session_id, self._athlete = session_id, athlete
        if session_id is not None:
            self.store.start_session(session_id, athlete=athlete, device_id=self.device_id)

    def publish_stride(self, report: StrideReport) -> None:
        self.store.record_stride(
            report, session_id=self._session_id, athlete=self._athlete, device_id=self.device_id
        )

    def publish_alert(self, alert: CueAlert) -> None:
        self.store.record_alert(
            alert, session_id=self._session_id, athlete=self._athlete, device_id=self.device_id
        )

    def publish_pass_summary(self, summary: Summary, *, pass_index: int) -> None:
        self.store.record_pass(
            summary, pass_index=pass_index, session_id=self._session_id, device_id=self.device_id
        )

    def publish_session_summary(self, summary: Summary, *, passes: int) -> None:
        if self._session_id is None:
            return
        self.store.record_session(
            summary,
            passes=passes,
            session_id=self._session_id,
            athlete=self._athlete,
            device_id=self.device_id,
        )

    def publish_status(self, status: DeviceStatus) -> None:
        return None

    def problems(self) -> list[str]:
        return self.store.problems()

    def publish_keyframe(self, keyframe: Keyframe) -> None:
        self.store.record_keyframe(
            keyframe.jpeg,
            session_id=self._session_id,
            device_id=self.device_id,
            stride_index=keyframe.stride_index,
            cue_id=keyframe.cue_id,
            time_s=keyframe.time_s,
            verdict=keyframe.verdict,
            message=keyframe.message,
            severity=keyframe.severity,
        )
