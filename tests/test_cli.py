"""The command line: expected failures are one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from edge.cli import main

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None):
    """Run ``python -m edge`` in a child process, as a user would."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    full_env.pop("TRACKSIDE_CONFIG", None)
    return subprocess.run(
        [sys.executable, "-m", "edge", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_clean_failure(result, *fragments: str) -> None:
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("trackside: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_config_check_accepts_the_example(capsys):
    assert main(["config", "check", str(REPO / "trackside.example.toml")]) == 0
    assert capsys.readouterr().out.strip().endswith("trackside.example.toml: OK")


def test_config_check_ignores_a_broken_configured_file(tmp_path, monkeypatch, capsys):
    """`config check GOOD` checks GOOD, whatever $TRACKSIDE_CONFIG points at."""
    broken = tmp_path / "broken.toml"
    broken.write_text("[camera\n")
    monkeypatch.setenv("TRACKSIDE_CONFIG", str(broken))
    assert main(["config", "check", str(REPO / "trackside.example.toml")]) == 0
    assert main(["config", "check", str(broken)]) == 2  # and still checks what it is given
    assert "invalid TOML" in capsys.readouterr().err


def test_config_check_reports_file_key_and_expectation(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[camera]\nfps = "fast"\n')
    assert main(["config", "check", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        f'trackside: error: {bad}: camera.fps: expected a number between 1 and 240, got "fast"'
    )


def test_config_show_prints_effective_values_that_reload(tmp_path, capsys):
    cfg = tmp_path / "t.toml"
    cfg.write_text("[pose]\nnum_threads = 3\n")
    assert main(["--config", str(cfg), "config", "show"]) == 0
    shown = capsys.readouterr().out
    assert "num_threads = 3" in shown
    assert 'model = "movenet_lightning_int8"' in shown  # a default, filled in
    again = tmp_path / "shown.toml"
    again.write_text(shown)
    assert main(["config", "check", str(again)]) == 0


def test_models_fetch_from_a_local_mirror_verifies_the_copy(tmp_path, model_dir, capsys):
    dest = tmp_path / "models"
    assert main(["models", "fetch", "--from", str(model_dir), "--dir", str(dest)]) == 0
    copied = dest / "lite-model_movenet_singlepose_lightning_tflite_int8_4.tflite"
    assert copied.read_bytes() == (model_dir / copied.name).read_bytes()
    # A corrupted mirror copy is refused and leaves nothing behind.
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    data = bytearray(copied.read_bytes())
    data[5000] ^= 0xFF
    (mirror / copied.name).write_bytes(bytes(data))
    assert main(["models", "fetch", "--from", str(mirror), "--dir", str(tmp_path / "m2")]) == 2
    assert "sha256 mismatch" in capsys.readouterr().err
    assert not list((tmp_path / "m2").glob("*"))


def test_models_fetch_rejects_unknown_names(capsys):
    assert main(["models", "fetch", "movenet_multipose"]) == 2
    assert "unknown model 'movenet_multipose'" in capsys.readouterr().err


def test_replay_missing_clip(tmp_path, model_dir):
    result = run_cli(
        "replay", str(tmp_path / "nope.mp4"), env={"TRACKSIDE_MODEL_DIR": str(model_dir)}
    )
    assert_clean_failure(result, "nope.mp4", "no such file")


def test_replay_corrupt_clip(tmp_path, model_dir):
    clip = tmp_path / "corrupt.mp4"
    clip.write_bytes(b"this is not a video\n" * 100)
    result = run_cli("replay", str(clip), env={"TRACKSIDE_MODEL_DIR": str(model_dir)})
    assert_clean_failure(result, "corrupt.mp4")


def test_replay_missing_model(tmp_path, media_dir):
    result = run_cli(
        "replay",
        str(media_dir / "sports2d_demo3_running_side.mp4"),
        "--model",
        "movenet_thunder_int8",
        cwd=tmp_path,
        env={"TRACKSIDE_MODEL_DIR": str(tmp_path)},
    )
    assert_clean_failure(result, "movenet_thunder_int8", "not found", "trackside models fetch")


def test_replay_wrong_model_file(tmp_path, media_dir):
    fake = tmp_path / "model.tflite"
    fake.write_text("<html>AccessDenied</html>" * 100)
    result = run_cli(
        "replay", str(media_dir / "sports2d_demo3_running_side.mp4"), "--model", str(fake)
    )
    assert_clean_failure(result, "model.tflite", "not a TFLite model")


def test_replay_bad_delegate(tmp_path, media_dir, model_dir):
    result = run_cli(
        "replay",
        str(media_dir / "sports2d_demo3_running_side.mp4"),
        "--delegate",
        "/nonexistent/libedgetpu.so.1",
        cwd=tmp_path,
        env={"TRACKSIDE_MODEL_DIR": str(model_dir)},
    )
    assert_clean_failure(result, "delegate", "/nonexistent/libedgetpu.so.1")


def test_replay_gif_writes_keypoints_and_annotated_video(tmp_path, media_dir, model_dir):
    """The README's first command, end to end on a real clip."""
    clip = tmp_path / "run.gif"
    shutil.copy(media_dir / "jes_woods_nike_coach_1.gif", clip)
    result = run_cli(
        "replay",
        str(clip),
        "--annotate",
        "out.mp4",
        cwd=tmp_path,
        env={"TRACKSIDE_MODEL_DIR": str(model_dir)},
    )
    assert result.returncode == 0, result.stderr
    assert "90 frames" in result.stdout and "ai-edge-litert" in result.stdout

    lines = (tmp_path / "run.keypoints.jsonl").read_text().splitlines()
    header = json.loads(lines[0])
    assert header["image_size"] == [520, 293] and header["trackside_keypoints"] == 1
    records = [json.loads(line) for line in lines[1:]]
    assert [r["frame"] for r in records] == list(range(90))
    times = [r["t"] for r in records]
    assert times[:4] == [0.0, 0.06, 0.11, 0.17]  # the GIF's own 60/50 ms frame delays
    assert all(len(r["keypoints"]) == 17 for r in records)
    # The runner is tracked: most frames use a crop around her, and her hips are found.
    assert sum(r["crop"] is not None for r in records) >= 80
    assert sum(r["keypoints"][11][2] > 0.3 for r in records) >= 80

    video = cv2.VideoCapture(str(tmp_path / "out.mp4"))
    assert video.isOpened()
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 90
    assert (
        int(video.get(cv2.CAP_PROP_FRAME_WIDTH)),
        int(video.get(cv2.CAP_PROP_FRAME_HEIGHT)),
    ) == (520, 294)  # 293 padded to even
    video.release()


@pytest.mark.parametrize("argv", [["--version"], ["replay", "--help"]])
def test_help_and_version_exit_zero(argv):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 0


def test_feedback_test_without_gpio_is_one_clear_error(tmp_path):
    cfg = tmp_path / "t.toml"
    cfg.write_text('[feedback]\npin_factory = "lgpio"\n')
    result = run_cli("--config", str(cfg), "feedback", "test")
    assert_clean_failure(result, "feedback.pin_factory")


def test_replay_strides_prints_verdicts_beside_metric_values(tmp_path, media_dir, model_dir):
    result = run_cli(
        "replay",
        str(media_dir / "movup_run_treadmill.mp4"),
        "--strides",
        "--quiet",
        "--max-frames",
        "250",
        cwd=tmp_path,
        env={"TRACKSIDE_MODEL_DIR": str(model_dir)},
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    count = int(out.split(" strides, cadence ")[0].rsplit("\n", 1)[-1])
    assert count >= 5
    rows = [line for line in out.splitlines() if line[:6].strip().isdigit() and "|" in line]
    assert len(rows) == count
    assert all(any(v in row for v in (" ok", " W", " F", " ?", " i", " !")) for row in rows)
    assert "posture.run_tall" in out and "steps/min" in out
