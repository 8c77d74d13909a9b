"""The operator's and coach's commands: sessions, report paths, models verify, cues, replay
options, feedback --mock, and the systemd unit queries behind them."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import UTC
from pathlib import Path

import pytest
from test_cli import REPO, assert_clean_failure, run_cli

from edge.cli import main
from edge.cli.replay import Progress
from edge.cues.catalogue import CATALOGUE
from edge.cues.summary import summarize
from edge.outputs.sessions_list import format_sessions, session_lines
from edge.outputs.store import ResultStore
from edge.pose.models import load_manifest
from edge.service.unit import UnitState, service_environ, unit_state
from edge.testing.mqtt import stride_report

LIGHTNING = load_manifest()["movenet_lightning_int8"].filename
DEVICE = {"device_id": "pi-track3"}


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def record_sessions(path: Path) -> None:
    """Two sessions: "am" (ana, 3 strides, 2 passes, ended) and then "pm" (4 strides, open)."""
    clock = Clock(1_767_258_000.0)  # 2026-01-01 09:00 UTC
    store = ResultStore(path, clock=clock)
    store.start_session("am", athlete="ana", **DEVICE)
    reports = [stride_report(i) for i in range(3)]
    for r in reports:
        store.record_stride(r, session_id="am", athlete="ana", **DEVICE)
    for index in (1, 2):
        store.record_pass(summarize(reports), pass_index=index, session_id="am", **DEVICE)
    clock.t += 1800
    store.record_session(summarize(reports), passes=2, session_id="am", athlete="ana", **DEVICE)
    clock.t += 3600
    store.start_session("pm", athlete=None, **DEVICE)
    for i in range(4):
        store.record_stride(stride_report(i), session_id="pm", athlete=None, **DEVICE)
    store.close()


@pytest.fixture
def results_config(tmp_path: Path) -> Path:
    record_sessions(tmp_path / "results.sqlite3")
    cfg = tmp_path / "trackside.toml"
    cfg.write_text(f'[results]\npath = "{tmp_path / "results.sqlite3"}"\n')
    return cfg


# --- sessions and report ------------------------------------------------------------------


def test_session_list_shows_athlete_date_strides_and_passes(tmp_path):
    record_sessions(tmp_path / "r.sqlite3")
    store = ResultStore(tmp_path / "r.sqlite3", readonly=True)
    try:
        lines = session_lines(store)
    finally:
        store.close()
    text = format_sessions(lines, tz=UTC).splitlines()
    assert text[0].split() == [
        "session", "athlete", "started", "ended", "strides", "passes", "device"
    ]  # fmt: skip
    # Newest first; the open session says so.
    assert text[1].split() == ["pm", "-", "2026-01-01", "10:30", "open", "4", "0", "pi-track3"]
    assert text[2].split() == ["am", "ana", "2026-01-01", "09:00", "09:30", "3", "2", "pi-track3"]


def test_sessions_command_lists_the_store_and_names_the_latest(results_config):
    result = run_cli("--config", str(results_config), "sessions")
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()
    assert [r.split()[0] for r in rows[1:3]] == ["pm", "am"]
    assert "2 sessions in " in result.stdout and "latest: pm" in result.stdout
    limited = run_cli("--config", str(results_config), "sessions", "--limit", "1")
    assert [r.split()[0] for r in limited.stdout.splitlines()[1:2]] == ["pm"]
    assert "1 older session not shown" in limited.stdout


def test_report_defaults_to_the_latest_session_writes_both_files_and_prints_them(
    results_config, tmp_path
):
    out = tmp_path / "out"
    out.mkdir()
    result = run_cli("--config", str(results_config), "report", "--csv", "strides.csv", cwd=out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["wrote report-pm.html", "wrote strides.csv"]
    assert 'id="stride-count">4<' in (out / "report-pm.html").read_text()
    assert len((out / "strides.csv").read_text().splitlines()) == 1 + 4

    named = run_cli(
        "--config", str(results_config), "report", "am", "--out", "am.html", cwd=out
    )  # fmt: skip
    assert named.stdout.splitlines() == ["wrote am.html"]
    assert 'id="athlete">ana<' in (out / "am.html").read_text()


def test_report_without_any_session_is_one_clear_error(tmp_path):
    ResultStore(tmp_path / "empty.sqlite3").close()
    cfg = tmp_path / "t.toml"
    cfg.write_text(f'[results]\npath = "{tmp_path / "empty.sqlite3"}"\n')
    assert_clean_failure(run_cli("--config", str(cfg), "report", cwd=tmp_path), "no session")
    listed = run_cli("--config", str(cfg), "sessions")
    assert listed.returncode == 0 and "no session recorded" in listed.stdout


# --- the systemd unit ---------------------------------------------------------------------


def systemctl(stdout: str, returncode: int = 0):
    def run(command, **_kwargs):
        assert command[:3] == ["systemctl", "show", "trackside.service"]
        return subprocess.CompletedProcess(command, returncode, stdout, "")

    return run


def test_unit_state_reads_systemctl_and_finds_the_service_state_directory():
    unit = unit_state(
        run=systemctl(
            "LoadState=loaded\nActiveState=active\nSubState=running\n"
            "UnitFileState=enabled\nStateDirectory=trackside\n"
        )
    )
    assert unit.installed and unit.running and unit.enabled == "enabled"
    env = service_environ({"HOME": "/home/pi"}, unit)
    assert env["STATE_DIRECTORY"] == "/var/lib/trackside"
    # systemd's own value wins (the service itself), and nothing is made up without a unit.
    assert service_environ({"STATE_DIRECTORY": "/x"}, unit)["STATE_DIRECTORY"] == "/x"
    absent = unit_state(run=systemctl("LoadState=not-found\nActiveState=inactive\n"))
    assert not absent.installed and "STATE_DIRECTORY" not in service_environ({}, absent)


def test_unit_state_without_systemd_says_so():
    booted_without = unit_state(run=systemctl("", returncode=1))
    assert booted_without == UnitState("trackside.service", systemd=False)

    def missing(command, **_kwargs):
        raise FileNotFoundError("systemctl")

    assert not unit_state(run=missing).systemd


# --- models verify ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["my-model.tflite", LIGHTNING])
def test_models_verify_fails_on_a_truncated_file_under_any_name(tmp_path, model_dir, name):
    truncated = tmp_path / name
    truncated.write_bytes((model_dir / LIGHTNING).read_bytes()[:100_000])
    result = run_cli("models", "verify", str(truncated), cwd=tmp_path)
    assert_clean_failure(result, str(truncated))


def test_models_verify_loads_a_complete_file_under_another_name(tmp_path, model_dir):
    copy = tmp_path / "renamed.tflite"
    shutil.copy(model_dir / LIGHTNING, copy)
    result = run_cli("models", "verify", str(copy), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "not in the manifest" in result.stdout
    assert "loads it as MoveNet lightning int8, 192x192 input" in result.stdout


# --- replay options, progress, cues -------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_max_frames_must_be_a_positive_whole_number(value, tmp_path):
    result = run_cli("replay", "clip.gif", "--max-frames", value, cwd=tmp_path)
    assert result.returncode == 2
    assert "argument --max-frames" in result.stderr and "Traceback" not in result.stderr


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_ends_at_the_frames_really_decoded(monkeypatch):
    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    # The container said 541 frames; 538 decode (movup_run_treadmill.mp4 does this).
    with Progress(541, enabled=True) as progress:
        progress.update(10)
        progress.finish(538)
    last = screen.getvalue().rstrip("\n").split("\r")[-1]
    assert "538/538 frames" in last and "[" + "#" * 30 + "]" in last


def test_cues_prints_wrapped_plain_text_and_markdown_only_when_asked():
    result = run_cli("cues", env={"COLUMNS": "80"})
    assert result.returncode == 0
    text = result.stdout
    assert max(len(line) for line in text.splitlines()) <= 80
    for junk in ("<br>", "<!--", "**", "`", "|---"):
        assert junk not in text, junk
    for rank, cue in enumerate(CATALOGUE, start=1):
        assert f"{rank:>2}. {cue.title}  ({cue.id})" in text
    markdown = run_cli("cues", "--markdown")
    assert markdown.stdout == (REPO / "docs" / "cues.md").read_text()


# --- feedback test ------------------------------------------------------------------------


class FakeTime:
    """The CLI's clock: ``sleep`` moves it on, so a 30 s walk-through takes no time."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def run_feedback_test(monkeypatch, capsys, tmp_path, *args: str, unit: UnitState) -> str:
    import edge.service.unit

    monkeypatch.setattr("edge.cli.commands.time", FakeTime())
    monkeypatch.setattr(edge.service.unit, "unit_state", lambda: unit)
    cfg = tmp_path / "t.toml"
    cfg.write_text(
        '[feedback]\npin_factory = "auto"\n'
        if "--mock" in args
        else '[feedback]\npin_factory = "mock"\n'
    )
    assert main(["--config", str(cfg), "feedback", "test", *args]) == 0
    return capsys.readouterr().out


RUNNING = UnitState("trackside.service", True, "loaded", "active", "running", "enabled")
NO_SYSTEMD = UnitState("trackside.service", systemd=False)


def test_feedback_test_mock_runs_every_step_on_simulated_pins(monkeypatch, capsys, tmp_path):
    """pin_factory "auto" finds no GPIO here; --mock needs no config change."""
    out = run_feedback_test(monkeypatch, capsys, tmp_path, "--mock", unit=RUNNING)
    lines = out.splitlines()
    assert lines[0].startswith("simulated pins")
    steps = [line for line in lines if line.startswith("[")]
    total = int(steps[0].split("/")[1].split("]")[0])
    assert len(steps) == total > 10 and lines[-1].startswith("done")
    assert "systemctl stop" not in out  # simulated pins clash with nothing


def test_feedback_test_asks_to_stop_the_service_only_when_it_runs(monkeypatch, capsys, tmp_path):
    assert "systemctl stop" in run_feedback_test(monkeypatch, capsys, tmp_path, unit=RUNNING)
    assert "systemctl stop" not in run_feedback_test(monkeypatch, capsys, tmp_path, unit=NO_SYSTEMD)
