"""Issue 12, finding 7: `config check` passed configs that `run` and `dashboard` then
refused (and those said "config:" instead of the file); a garbage CA file was a traceback;
`run` retried an unreadable clip forever; a PNG named .mp4 was a one-frame video."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_cli import assert_clean_failure, run_cli

REPO = Path(__file__).resolve().parent.parent


def trackside(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, env={"TRACKSIDE_TEST_MQTT_PASSWORD": ""})


def one_clean_error(result: subprocess.CompletedProcess[str], *fragments: str) -> str:
    assert_clean_failure(result, *fragments)
    return result.stderr.strip()


# A daemon that touches nothing but the clip and the model.
QUIET = """
[mqtt]
enabled = false
[results]
enabled = false
[feedback]
enabled = false
[pose]
model_dir = "{model_dir}"
"""

# (name, TOML, the command that refuses it, the key its message names)
REFUSED = [
    ("ca-missing", '[mqtt]\ntls = true\nca_file = "{tmp}/nope.pem"\n', "run", "mqtt.ca_file"),
    ("ca-garbage", '[mqtt]\ntls = true\nca_file = "{tmp}/garbage.pem"\n', "run", "mqtt.ca_file"),
    (
        "cert-missing",
        '[mqtt]\ntls = true\ncert_file = "{tmp}/nope.crt"\nkey_file = "{tmp}/garbage.pem"\n',
        "run",
        "mqtt.cert_file",
    ),
    (
        "password-file-missing",
        '[mqtt]\nusername = "pi"\npassword_file = "{tmp}/nope"\n',
        "run",
        "mqtt.password_file",
    ),
    (
        "two-password-sources",
        '[mqtt]\nusername = "pi"\npassword = "a"\npassword_env = "X"\n',
        "run",
        "mqtt.password_env",
    ),
    (
        "password-env-unset",
        '[mqtt]\nusername = "pi"\npassword_env = "TRACKSIDE_TEST_MQTT_PASSWORD"\n',
        "run",
        "mqtt.password_env",
    ),
    ("password-without-user", '[mqtt]\npassword = "a"\n', "run", "mqtt.username"),
    (
        "network-bind-without-password",
        '[dashboard]\nbind = "0.0.0.0"\n',
        "dashboard",
        "dashboard.password",
    ),
    (
        "unresolvable-bind",
        '[dashboard]\nbind = "no-such-host.invalid"\npassword = "x"\n',
        "dashboard",
        "dashboard.bind",
    ),
    ("model-missing", '[pose]\nmodel = "{tmp}/nope.tflite"\n', "run", "pose.model"),
    ("results-path-a-folder", '[results]\npath = "{tmp}"\n', "run", "results.path"),
    ("outbox-path-a-folder", '[mqtt]\noutbox_path = "{tmp}"\n', "run", "mqtt.outbox_path"),
]


@pytest.mark.parametrize(("name", "text", "command", "key"), REFUSED, ids=[r[0] for r in REFUSED])
def test_config_check_refuses_what_run_and_dashboard_refuse_naming_the_file(
    tmp_path, media_dir, model_dir, name, text, command, key
):
    (tmp_path / "garbage.pem").write_bytes(os.urandom(300))
    config = tmp_path / f"{name}.toml"
    clip = media_dir / "jes_woods_nike_coach_1.gif"
    config.write_text(
        f'[source]\ninput = "{clip}"\n[feedback]\nenabled = false\n'
        f'[pose]\nmodel_dir = "{model_dir}"\n' * ("[pose]" not in text) + text.format(tmp=tmp_path)
    )
    checked = one_clean_error(trackside("config", "check", str(config)), f"{config}: {key}")
    refused = one_clean_error(trackside("--config", str(config), command), f"{config}: {key}")
    assert checked == refused  # the same check, the same words


def test_config_check_reports_every_problem_at_once(tmp_path):
    config = tmp_path / "t.toml"
    config.write_text('[mqtt]\npassword = "a"\n[dashboard]\nbind = "0.0.0.0"\n')
    result = trackside("config", "check", str(config))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "mqtt.username" in result.stderr and "dashboard.password" in result.stderr


def test_the_example_config_passes_every_check(model_dir):
    result = trackside("config", "check", str(REPO / "trackside.example.toml"))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("content", [b"", os.urandom(50_000)], ids=["zero-bytes", "random"])
def test_run_on_an_unreadable_clip_fails_cleanly_like_replay(tmp_path, model_dir, content):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(content)
    config = tmp_path / "t.toml"
    config.write_text(QUIET.format(model_dir=model_dir))
    ran = one_clean_error(
        trackside("--config", str(config), "run", "--source", str(clip)), "clip.mp4"
    )
    replayed = one_clean_error(
        trackside("replay", str(clip), "--out", str(tmp_path / "k.jsonl")), "clip.mp4"
    )
    assert "--source" in ran and replayed.endswith(ran.split("--source: ", 1)[1])


def test_a_still_image_is_refused_as_a_video_whatever_its_name(tmp_path, model_dir):
    image = np.full((120, 160, 3), 90, np.uint8)
    for suffix, ext in ((".png", "PNG"), (".jpg", "JPEG")):
        ok, data = cv2.imencode(suffix, image)
        assert ok
        clip = tmp_path / f"runner{suffix}.mp4"
        clip.write_bytes(data.tobytes())
        one_clean_error(
            trackside("replay", str(clip), "--out", str(tmp_path / "k.jsonl")),
            f"is a {ext} still image, not a video",
        )
    config = tmp_path / "t.toml"
    config.write_text(f'[source]\ninput = "{clip}"\n' + QUIET.format(model_dir=model_dir))
    one_clean_error(trackside("--config", str(config), "run"), "still image, not a video")
    one_clean_error(trackside("config", "check", str(config)), f"{config}: source.input")
