"""Config loading: every error names the file, the dotted key and what was expected."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from edge.config import SECTIONS, Config, dump_config, load_config, parse_config, section_checks
from edge.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "trackside.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "trackside.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_gives_defaults(monkeypatch):
    monkeypatch.delenv("TRACKSIDE_CONFIG", raising=False)
    assert load_config(None) == Config()


def test_env_variable_names_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, "[pose]\nnum_threads = 4\n")
    monkeypatch.setenv("TRACKSIDE_CONFIG", str(path))
    config = load_config(None)
    assert config.pose.num_threads == 4
    assert config.path == path


def test_example_documents_every_key_with_its_default():
    """The annotated example is the documentation: it must list every key at its default."""
    config = load_config(EXAMPLE)
    assert config == Config()
    data = tomllib.loads(EXAMPLE.read_text())
    for section in SECTIONS:
        assert list(data[section]) == list(section_checks(section)), section


def test_values_are_typed(tmp_path):
    config = load_config(
        write(
            tmp_path,
            '[camera]\nfps = 120\nwidth = 1536\nheight = 864\n[pose]\nruntime = "tflite-runtime"\n',
        )
    )
    assert config.camera.fps == 120.0 and isinstance(config.camera.fps, float)
    assert (config.camera.width, config.camera.height) == (1536, 864)
    assert config.pose.runtime == "tflite-runtime"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[camera]\nfps = "fast"\n', 'camera.fps: expected a number between 1 and 240, got "fast"'),
        ("[camera]\nfps = 0\n", "camera.fps: expected a number between 1 and 240, got 0"),
        (
            "[camera]\nwidth = 12.5\n",
            "camera.width: expected an integer between 64 and 4608, got 12.5",
        ),
        ("[camera]\nhflip = 1\n", "camera.hflip: expected true or false, got 1"),
        (
            "[pose]\nnum_threads = true\n",
            "pose.num_threads: expected an integer between 1 and 16, got true",
        ),
        ('[pose]\nruntime = "onnx"\n', 'pose.runtime: expected one of "auto", "ai-edge-litert"'),
        ('[pose]\nmodel = ""\n', 'pose.model: expected a non-empty string, got ""'),
        (
            "[pose]\nmin_keypoint_score = 1.5\n",
            "pose.min_keypoint_score: expected a number between 0 and 1",
        ),
        ('[logging]\nlevel = "loud"\n', 'logging.level: expected one of "debug"'),
        ("[pose]\nthreads = 2\n", "pose.threads: unknown key (expected one of: model, model_dir"),
        ("[posee]\nmodel = 'x'\n", "posee: unknown section"),
        ('camera = "yes"\n', 'camera: expected a table ([camera]), got "yes"'),
        (
            "[camera]\nlores_width = 320\nlores_height = 0\n",
            "camera.lores_width/lores_height: expected both 0",
        ),
        (
            "[camera]\nwidth = 640\nheight = 480\nlores_width = 800\nlores_height = 600\n",
            "expected at most the main stream size 640×480",
        ),
    ],
)
def test_invalid_values_name_file_key_and_expectation(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


def test_toml_syntax_error_names_file_and_line(tmp_path):
    path = write(tmp_path, "[camera]\nfps = = 3\n")
    with pytest.raises(ConfigError, match=r"trackside\.toml: invalid TOML: .*line 2"):
        load_config(path)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "absent.toml")


def test_dump_round_trips(tmp_path):
    original = parse_config(
        {
            "camera": {"fps": 90.0, "hflip": True},
            "pose": {"delegate": 'C:\\x "q"', "num_threads": 3},
        }
    )
    for with_docs in (True, False):
        reloaded = load_config(write(tmp_path, dump_config(original, with_docs=with_docs)))
        assert reloaded == original
