"""trackside doctor: every check's ok and fail path, with a fake camera, mock pins and a real
Mosquitto; and the command's output and exit code."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from gpiozero import LED
from gpiozero.pins.mock import MockFactory, MockPWMPin
from test_cli import run_cli

from edge.config import Config
from edge.doctor import (
    CheckResult,
    Host,
    Status,
    check_broker,
    check_camera,
    check_clock,
    check_disk,
    check_model,
    check_pins,
    check_runtime,
    check_service,
    ntp_synchronised,
    pi_model,
)
from edge.outputs.mqtt.settings import MqttConfig
from edge.service.unit import UnitState
from edge.testing.mosquitto import Broker, free_port, make_tls_files
from edge.testing.picamera2 import FakeCameraFactory, FakeTransform

NO_UNIT = UnitState("trackside.service", systemd=False)
PI = Host("Raspberry Pi 4 Model B Rev 1.4", NO_UNIT)
LAPTOP = Host(None, NO_UNIT)


def unit(active: str = "active", enabled: str = "enabled", load: str = "loaded") -> UnitState:
    sub = {"active": "running", "failed": "failed"}.get(active, "dead")
    return UnitState("trackside.service", True, load, active, sub, enabled, "trackside")


def fake_camera(**kwargs):
    factory = FakeCameraFactory(**kwargs)
    return {
        "picamera2_factory": factory,
        "transform_factory": lambda h, v: FakeTransform(int(h), int(v)),
    }


def test_check_lines_name_the_status_the_check_and_what_to_do():
    line = CheckResult("broker", Status.FAIL, "x:1: refused", "check mqtt.host").line()
    assert line.split()[:2] == ["fail", "broker"] and line.endswith("→ check mqtt.host")


def test_pi_model_is_read_from_the_device_tree(tmp_path):
    model = tmp_path / "model"
    model.write_bytes(b"Raspberry Pi 5 Model B Rev 1.0\0")
    assert pi_model(model) == "Raspberry Pi 5 Model B Rev 1.0"
    model.write_bytes(b"Some other board\0")
    assert pi_model(model) is None
    assert pi_model(tmp_path / "absent") is None


# --- camera -------------------------------------------------------------------------------


def test_camera_ok_lists_the_sensor_modes_and_the_one_chosen():
    config = Config()  # picamera, 1280x720 at 30 fps
    result = check_camera(config, PI, **fake_camera())
    assert result.status is Status.OK, result
    assert "sensor mode 1536x864@120" in result.detail
    assert "modes: 1536x864@120, 2304x1296@56, 4608x2592@14" in result.detail


def test_camera_fails_when_none_is_attached_or_the_rate_is_out_of_reach():
    missing = check_camera(Config(), PI, **fake_camera(error=IndexError("no camera")))
    assert missing.status is Status.FAIL and "no camera attached" in missing.detail
    assert "rpicam-hello" in missing.fix
    config = Config()
    too_fast = replace(config, camera=replace(config.camera, fps=240.0))
    result = check_camera(too_fast, PI, **fake_camera())
    assert result.status is Status.FAIL and "faster than any sensor mode" in result.detail


def test_camera_off_a_pi_does_not_apply_and_a_clip_source_is_read(media_dir):
    # No picamera2 on this machine: the real factory is tried, and it is not a Pi.
    assert check_camera(Config(), LAPTOP).status is Status.NA
    clip = replace(
        Config(),
        source=replace(Config().source, input=str(media_dir / "jes_woods_nike_coach_1.gif")),
    )
    ok = check_camera(clip, LAPTOP)
    assert ok.status is Status.OK and "520x293" in ok.detail
    gone = replace(clip, source=replace(clip.source, input="/nonexistent/clip.mp4"))
    assert check_camera(gone, LAPTOP).status is Status.FAIL


def test_camera_in_use_by_the_running_service_is_not_opened():
    def must_not_open(_num):
        raise AssertionError("the camera was opened under the running service")

    host = Host(PI.pi_model, unit())
    result = check_camera(Config(), host, picamera2_factory=must_not_open)
    assert result.status is Status.OK and "in use by the running" in result.detail


# --- model and runtime --------------------------------------------------------------------


def test_model_ok_and_fail(tmp_path, model_dir, monkeypatch):
    monkeypatch.setenv("TRACKSIDE_MODEL_DIR", str(model_dir))
    ok, estimator = check_model(Config())
    assert ok.status is Status.OK and "checksum matches movenet_lightning_int8" in ok.detail
    assert estimator is not None
    truncated = tmp_path / "cut.tflite"
    truncated.write_bytes(next(model_dir.glob("*lightning*int8*.tflite")).read_bytes()[:50_000])
    config = replace(Config(), pose=replace(Config().pose, model=str(truncated)))
    bad, none = check_model(config)
    assert bad.status is Status.FAIL and none is None and str(truncated) in bad.detail
    # An official model never fetched here (only Lightning int8 is in the test set).
    absent = replace(Config(), pose=replace(Config().pose, model="movenet_thunder_float16"))
    missing, _ = check_model(absent)
    assert missing.status is Status.FAIL
    assert missing.fix == "trackside models fetch movenet_thunder_float16"


class Estimator:
    runtime_label = "ai-edge-litert 2.3.0"


def test_runtime_ok_when_live_mode_can_time_a_contact_and_warns_when_it_cannot():
    config = Config()  # camera 30 fps, live mode
    fast = check_runtime(config, Estimator(), measure=lambda _e: 0.010)
    assert fast.status is Status.OK and "10.0 ms a frame (100 fps)" in fast.detail
    assert "live mode: 30 fps" in fast.detail  # the camera, not the CPU, sets the rate
    slow = check_runtime(config, Estimator(), measure=lambda _e: 0.100)  # a Pi 4's ~10 fps
    assert slow.status is Status.WARN and "burst" in slow.fix
    assert "2.0 frames per 200 ms contact" in slow.detail
    burst = replace(config, service=replace(config.service, mode="burst"))
    assert check_runtime(burst, Estimator(), measure=lambda _e: 0.100).status is Status.OK
    slow_camera = replace(config, camera=replace(config.camera, fps=15.0))
    camera_bound = check_runtime(slow_camera, Estimator(), measure=lambda _e: 0.010)
    assert camera_bound.status is Status.WARN and camera_bound.fix == "raise camera.fps to 25+"
    assert check_runtime(config, None).status is Status.FAIL


def test_runtime_measures_the_real_interpreter(model_dir, monkeypatch):
    monkeypatch.setenv("TRACKSIDE_MODEL_DIR", str(model_dir))
    _, estimator = check_model(Config())
    result = check_runtime(Config(), estimator)
    assert result.status in (Status.OK, Status.WARN)  # which one depends on this CPU
    assert "ms a frame" in result.detail and estimator.runtime_label in result.detail


# --- broker -------------------------------------------------------------------------------


def mqtt(port: int, **kwargs) -> Config:
    return replace(
        Config(), mqtt=MqttConfig(host="127.0.0.1", port=port, device_id="doc-pi", **kwargs)
    )


def test_broker_ok_with_a_real_mosquitto(broker: Broker):
    result = check_broker(mqtt(broker.port))
    assert result.status is Status.OK and f"127.0.0.1:{broker.port}: connected" in result.detail


def test_broker_fails_clearly_when_nothing_listens():
    result = check_broker(mqtt(free_port()), timeout=2.0)
    assert result.status is Status.FAIL and "cannot connect" in result.detail
    assert "mqtt.host" in result.fix


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return make_tls_files(tmp_path_factory.mktemp("tls"), username="coach", password="right-7431")


def test_broker_with_tls_and_password_ok_refused_and_untrusted(tmp_path, tls):
    broker = Broker(tmp_path / "broker", tls=tls)
    broker.start()
    try:
        common = {"tls": True, "ca_file": str(tls.ca_file), "username": "coach"}
        ok = check_broker(replace(mqtt(broker.port, **common, password="right-7431")))
        assert ok.status is Status.OK and "(TLS): connected as coach" in ok.detail
        wrong = check_broker(mqtt(broker.port, **common, password="wrong-1111"))
        assert wrong.status is Status.FAIL and "refused" in wrong.detail
        assert "mqtt.username and the password" in wrong.fix
        assert "wrong-1111" not in wrong.line()
        other_ca = make_tls_files(tmp_path / "other", username="x", password="y").ca_file
        untrusted = check_broker(
            mqtt(broker.port, **{**common, "ca_file": str(other_ca)}, password="right-7431")
        )
        assert untrusted.status is Status.FAIL and "TLS handshake failed" in untrusted.detail
        assert "mqtt.ca_file" in untrusted.fix
    finally:
        broker.stop()


def test_broker_switched_off_does_not_apply():
    config = replace(Config(), mqtt=MqttConfig(enabled=False))
    assert check_broker(config).status is Status.NA


# --- pins ---------------------------------------------------------------------------------


def test_pins_are_claimed_and_released_on_mock_pins():
    factory = MockFactory(pin_class=MockPWMPin)
    result = check_pins(Config(), PI, pin_factory=factory)
    assert result.status is Status.OK and "amber, green, red, buzzer" in result.detail
    LED(17, pin_factory=factory).close()  # released: claimable again


def test_pins_fail_when_one_is_taken_and_do_not_apply_off_a_pi():
    factory = MockFactory(pin_class=MockPWMPin)
    taken = LED(22, pin_factory=factory)  # another program holds the red LED's pin
    try:
        result = check_pins(Config(), PI, pin_factory=factory)
    finally:
        taken.close()
    assert result.status is Status.FAIL and "red_pin" in result.detail
    assert check_pins(Config(), LAPTOP).status is Status.NA
    off = replace(Config(), feedback=replace(Config().feedback, enabled=False))
    assert check_pins(off, PI).status is Status.NA


# --- disk, clock, service -----------------------------------------------------------------


def test_disk_ok_warn_and_fail_by_free_space(tmp_path):
    paths = {"results": tmp_path / "state" / "results.sqlite3"}  # folder not made yet
    free = shutil.disk_usage(tmp_path).free
    ok = check_disk(paths, warn_below=1, fail_below=0)
    assert ok.status is Status.OK and "GB free)" in ok.detail
    assert check_disk(paths, warn_below=free * 2, fail_below=1).status is Status.WARN
    failed = check_disk(paths, warn_below=free * 4, fail_below=free * 2)
    assert failed.status is Status.FAIL and "results.path" in failed.fix
    assert str(paths["results"]) in failed.detail


def test_clock_ok_fail_before_install_and_warn_unsynchronised():
    installed = 1_767_258_000.0
    assert check_clock(installed + 60, not_before=installed, synchronised=True).status is Status.OK
    early = check_clock(0.0, not_before=installed, synchronised=None)
    assert early.status is Status.FAIL and "timedatectl" in early.fix
    drift = check_clock(installed + 60, not_before=installed, synchronised=False)
    assert drift.status is Status.WARN


def test_ntp_state_comes_from_timedatectl():
    def answer(value: str, code: int = 0):
        return lambda cmd, **_kw: subprocess.CompletedProcess(cmd, code, value + "\n", "")

    assert ntp_synchronised(answer("yes")) is True
    assert ntp_synchronised(answer("no")) is False
    assert ntp_synchronised(answer("", 1)) is None


def test_service_states():
    pi = PI.pi_model
    assert check_service(Host(pi, unit())).status is Status.OK
    failed = check_service(Host(pi, unit("failed")))
    assert failed.status is Status.FAIL and "journalctl" in failed.fix
    stopped = check_service(Host(pi, unit("inactive")))
    assert stopped.status is Status.WARN and "systemctl start" in stopped.fix
    assert check_service(Host(pi, unit(enabled="disabled"))).status is Status.WARN
    absent = check_service(Host(pi, unit("inactive", "", "not-found")))
    assert absent.status is Status.WARN and "install-pi.sh" in absent.fix
    assert check_service(LAPTOP).status is Status.NA


# --- the command --------------------------------------------------------------------------


def test_doctor_command_exits_zero_when_nothing_fails_and_one_on_a_failure(
    tmp_path, media_dir, model_dir
):
    good = tmp_path / "good.toml"
    good.write_text(
        f'[source]\ninput = "{media_dir / "jes_woods_nike_coach_1.gif"}"\n'
        f"[mqtt]\nenabled = false\n[feedback]\nenabled = false\n"
        f'[results]\npath = "{tmp_path / "results.sqlite3"}"\n'
    )
    env = {"TRACKSIDE_MODEL_DIR": str(model_dir)}
    result = run_cli("--config", str(good), "doctor", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert "not a Raspberry Pi" in lines[0]
    names = [line.split()[1] for line in lines[1:-1]]
    assert names == ["camera", "model", "runtime", "broker", "pins", "disk", "clock", "service"]
    assert all(line.split()[0] in ("ok", "warn", "n/a") for line in lines[1:-1])
    assert lines[-1].startswith("0 failed")

    bad = tmp_path / "bad.toml"
    bad.write_text(
        good.read_text().replace("[mqtt]\nenabled = false", f"[mqtt]\nport = {free_port()}")
    )
    failing = run_cli("--config", str(bad), "doctor", env=env)
    assert failing.returncode == 1
    assert any(line.startswith("fail  broker") for line in failing.stdout.splitlines())


def test_doctor_reports_a_broken_config_as_a_failure(tmp_path: Path):
    cfg = tmp_path / "broken.toml"
    cfg.write_text("[mqtt]\nport = 'x'\n")
    result = run_cli("--config", str(cfg), "doctor")
    assert result.returncode == 1 and result.stdout.startswith("fail  config")
