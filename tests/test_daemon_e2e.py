"""`trackside run` as systemd runs it: a real Mosquitto, a paced real clip, SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from mqtt_helpers import validator

from edge.testing.mqtt import Subscriber, dedupe

REPO = Path(__file__).resolve().parent.parent


def write_config(tmp_path: Path, port: int, clip: Path) -> Path:
    config = tmp_path / "trackside.toml"
    config.write_text(
        f"""
[source]
input = "{clip}"
[mqtt]
host = "127.0.0.1"
port = {port}
device_id = "e2e"
keepalive = 5
outbox_path = "{tmp_path / "outbox.sqlite3"}"
homeassistant = false
[results]
path = "{tmp_path / "results.sqlite3"}"
[feedback]
pin_factory = "mock"
[service]
status_interval = 1.0
[cues]
athlete = "strict"
# A coach's own strict limits for this runner, so the first strides already warn and the
# test sees a keyframe (with the catalogue's limits this clip starts with ok strides).
[[athletes]]
name = "strict"
[athletes.overrides.posture.run_tall]
warn_low = -30.0
fault_low = -40.0
warn_high = 1.0
fault_high = 60.0
"""
    )
    return config


def test_daemon_publishes_strides_answers_commands_and_stops_on_sigterm(
    tmp_path, broker, media_dir, model_dir
):
    notify_path = tmp_path / "notify.sock"
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(notify_path))
    notify.settimeout(30)
    config = write_config(tmp_path, broker.port, media_dir / "movup_run_treadmill.mp4")
    subscriber = Subscriber(broker.port, ["trackside/e2e/#"])
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "TRACKSIDE_MODEL_DIR": str(model_dir),
        "NOTIFY_SOCKET": str(notify_path),
        "WATCHDOG_USEC": "2000000",
    }
    env.pop("WATCHDOG_PID", None)
    daemon = subprocess.Popen(
        # --loop: the clip (21.6 s, 10.8 s at --speed 2) must not run out while a loaded
        # machine works through the commands below.
        [sys.executable, "-m", "edge", "--config", str(config), "run", "--speed", "2", "--loop"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert notify.recv(4096).startswith(b"READY=1")
        subscriber.wait_for(
            lambda m: (
                ("trackside/e2e/availability", b"online", True) in m
                or any(t == "trackside/e2e/availability" and p == b"online" for t, p, _ in m)
            ),
            timeout=20,
        )
        subscriber.wait_for(
            lambda m: sum(t == "trackside/e2e/stride" for t, _, _ in m) >= 2, timeout=40
        )
        # A valid command is applied; a malformed one is refused and the daemon goes on.
        subscriber.publish(
            "trackside/e2e/cmd/set_cue",
            json.dumps({"cue_id": "legs.push_off", "enabled": False, "request_id": "r1"}),
        )
        subscriber.publish("trackside/e2e/cmd/set_cue", "{not json")
        results = subscriber.wait_for(
            lambda m: sum(t == "trackside/e2e/cmd/result" for t, _, _ in m) >= 2, timeout=20
        )
        replies = [json.loads(p) for t, p, _ in results if t == "trackside/e2e/cmd/result"]
        assert any(r.get("ok") is True and r.get("request_id") == "r1" for r in replies)
        assert any(r.get("ok") is False for r in replies)

        strides_before = sum(t == "trackside/e2e/stride" for t, _, _ in subscriber.messages)
        subscriber.wait_for(
            lambda m: sum(t == "trackside/e2e/stride" for t, _, _ in m) > strides_before,
            timeout=30,
        )
        watchdog = []
        while b"WATCHDOG=1" not in watchdog:
            watchdog.append(notify.recv(4096))

        stopping = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        output, _ = daemon.communicate(timeout=10)
        stop_seconds = time.monotonic() - stopping
        assert daemon.returncode == 0, output
        assert stop_seconds < 3.0, f"took {stop_seconds:.1f} s to stop"
        assert "Traceback" not in output

        subscriber.wait_for(
            lambda m: any(t == "trackside/e2e/availability" and p == b"offline" for t, p, _ in m),
            timeout=10,
        )
        strides = dedupe(subscriber.payloads("trackside/e2e/stride"))
        check = validator("stride")
        for payload in strides:
            check.validate(payload)
        assert [p["stride"]["index"] for p in strides] == sorted(
            p["stride"]["index"] for p in strides
        )
        assert len({p["session_id"] for p in strides}) == 1
        # The session summary is published (retained) when the daemon stops.
        session = subscriber.payloads("trackside/e2e/session")
        assert session and session[-1]["strides"] == len(strides)
        statuses = subscriber.payloads("trackside/e2e/status")
        assert statuses[-1]["state"] == "stopping"
        # A warn/fault stride's keyframe: a retained JPEG with its metadata beside it (only
        # warn/fault strides get one live; which strides warn depends on where in the
        # looped clip the daemon was when it stopped).
        pictures = [p for t, p, _ in subscriber.messages if t == "trackside/e2e/keyframe"]
        flagged = {p["stride"]["index"] for p in strides if p["grade"] in ("warn", "fault")}
        assert bool(pictures) == bool(flagged), (len(pictures), flagged)
        if pictures:
            assert pictures[0][:2] == b"\xff\xd8"
            meta = subscriber.payloads("trackside/e2e/keyframe/meta")[0]
            assert meta["stride_index"] in flagged
        # The results are also kept on the device, for reports.
        from edge.outputs.store import ResultStore

        store = ResultStore(tmp_path / "results.sqlite3")
        try:
            stored = store.strides(strides[0]["session_id"])
            assert len(stored) == len(strides)
        finally:
            store.close()
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
        subscriber.close()
        notify.close()
