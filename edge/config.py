"""Configuration: one TOML file validated into typed, immutable sections.

Every section is a frozen dataclass whose fields carry their own rule (a :class:`Check`) and
a one-line description.  Loading walks the file against those dataclasses, so an error can
always say *which file, which dotted key, what was expected and what it got*::

    trackside.toml: camera.fps: expected a number between 1 and 240, got "fast"

Unknown sections and keys are errors too: a typo must never be silently ignored.
Defaults are built in, so an empty file (or none at all) is a valid configuration; the
annotated ``trackside.example.toml`` at the top of the repository documents every key.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edge.capture.base import CameraSettings
from edge.cues.profiles import AthleteProfile
from edge.cues.settings import CuesConfig, check_cues_settings, parse_athletes
from edge.dashboard.settings import DashboardConfig
from edge.errors import ConfigError
from edge.outputs.feedback.settings import FeedbackConfig, check_feedback
from edge.outputs.mqtt.settings import MqttConfig
from edge.outputs.store import ResultsConfig
from edge.settings import Bool, Check, Choice, Int, Invalid, Number, Text, setting, show_value

CONFIG_ENV = "TRACKSIDE_CONFIG"


# --- sections ------------------------------------------------------------------------------

RUNTIMES = ("auto", "ai-edge-litert", "tflite-runtime", "tensorflow")
LOG_LEVELS = ("debug", "info", "warning", "error")
SERVICE_MODES = ("live", "burst")


@dataclass(frozen=True)
class SourceConfig:
    input: str = setting(
        "picamera",
        Text(allow_empty=False),
        'Where frames come from: "picamera", "webcam:0", or a video/GIF file path.',
    )


@dataclass(frozen=True)
class PoseConfig:
    model: str = setting(
        "movenet_lightning_int8",
        Text(allow_empty=False),
        "A model name from models/manifest.toml, or a path to a .tflite file.",
    )
    model_dir: str = setting(
        "", Text(), "Extra directory searched first for model files (empty: not used)."
    )
    runtime: str = setting("auto", Choice(RUNTIMES), "TFLite interpreter to use.")
    num_threads: int = setting(2, Int(1, 16), "Interpreter threads (a Pi 4/5 has 4 cores).")
    delegate: str = setting(
        "", Text(), "Path to a TFLite delegate library, e.g. libedgetpu.so.1 (empty: none)."
    )
    crop_tracking: bool = setting(
        True, Bool(), "Crop around the runner after a confident detection (small runners)."
    )
    min_keypoint_score: float = setting(
        0.3, Number(0.0, 1.0), "A keypoint scoring below this counts as not seen."
    )
    inbetween: bool = setting(
        True,
        Bool(),
        "Live mode: track the legs with optical flow through the frames that arrive while "
        "the model is busy, so gait timing keeps the camera's rate on a slow CPU.",
    )


@dataclass(frozen=True)
class PresenceSettings:
    """When the daemon deems a runner in view (the ``[presence]`` section)."""

    min_body_score: float = setting(
        0.35,
        Number(0.05, 0.95),
        "Mean body keypoint score that counts as a runner in view (empty scenes score ~0.2).",
    )
    enter_frames: int = setting(
        3, Int(1, 100), "Consecutive confident frames before a pass starts."
    )
    leave_after: float = setting(
        1.0, Number(0.1, 30), "Seconds without a confident frame before a pass ends."
    )
    idle_fps: float = setting(
        2.0, Number(0.1, 60), "Model runs per second while nobody is in view (saves power)."
    )
    motion_threshold: float = setting(
        4.0,
        Number(0, 255),
        "Mean grey-level change between frames that wakes the model at once while idle.",
    )


#: When ``trackside run`` starts a session on its own (``service.auto_session``).
AUTO_SESSION_MODES = ("athlete", "always", "never")


@dataclass(frozen=True)
class ServiceConfig:
    """How the live daemon runs (the ``[service]`` section)."""

    mode: str = setting(
        "live",
        Choice(SERVICE_MODES),
        '"live": analyse the newest frame, instant LED feedback.  "burst": also keep every '
        "frame of a pass and analyse them all after it, for accurate timing on a slow CPU.",
    )
    burst_max_megabytes: float = setting(
        256.0,
        Number(8, 4096),
        "Memory for the frames of one pass in burst mode; the oldest are dropped beyond it.",
    )
    burst_window: float = setting(
        5.0,
        Number(2, 60),
        "Burst mode: seconds of a pass analysed together (rolling windows, so a treadmill "
        "session gets accurate strides every few seconds); strides arrive within about "
        "window + overlap/2 seconds plus the analysis time.",
    )
    burst_overlap: float = setting(
        2.0,
        Number(1, 10),
        "Burst mode: seconds each window also re-analyses before its start; at least two "
        "strides' worth, so every stride has a full stride of context on both sides.",
    )
    status_interval: float = setting(
        5.0, Number(0.5, 300), "Seconds between health messages (MQTT status, systemd STATUS)."
    )
    source_retry_max: float = setting(
        30.0, Number(1, 600), "Longest wait, in seconds, between attempts to reopen a camera."
    )
    auto_session: str = setting(
        "athlete",
        Choice(AUTO_SESSION_MODES),
        'When the daemon starts a session by itself: "athlete" (only when cues.athlete names '
        'the runner), "always" (also anonymous) or "never" (the coach presses Start).',
    )


@dataclass(frozen=True)
class LoggingConfig:
    level: str = setting("info", Choice(LOG_LEVELS), "Log level for stdout / journald.")


@dataclass(frozen=True)
class Config:
    """The whole validated configuration."""

    source: SourceConfig = field(default_factory=SourceConfig)
    camera: CameraSettings = field(default_factory=CameraSettings)
    pose: PoseConfig = field(default_factory=PoseConfig)
    cues: CuesConfig = field(default_factory=CuesConfig)
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)
    results: ResultsConfig = field(default_factory=ResultsConfig)
    dashboard: DashboardConfig = field(default_factory=DashboardConfig)
    presence: PresenceSettings = field(default_factory=PresenceSettings)
    service: ServiceConfig = field(default_factory=ServiceConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    athletes: tuple[AthleteProfile, ...] = ()
    path: Path | None = field(default=None, compare=False)


SECTIONS: dict[str, type] = {
    "source": SourceConfig,
    "camera": CameraSettings,  # the capture stage's own settings type
    "pose": PoseConfig,
    "cues": CuesConfig,
    "mqtt": MqttConfig,
    "feedback": FeedbackConfig,
    "results": ResultsConfig,
    "dashboard": DashboardConfig,
    "presence": PresenceSettings,
    "service": ServiceConfig,
    "logging": LoggingConfig,
}
# Arrays of tables, each validated as a whole by its stage.
ARRAYS = ("athletes",)


def section_checks(section: str) -> dict[str, tuple[Check, str]]:
    """``{key: (check, doc)}`` for one section, in declaration order."""
    fields = dataclasses.fields(SECTIONS[section])
    return {f.name: (f.metadata["check"], f.metadata["doc"]) for f in fields}


# --- loading -------------------------------------------------------------------------------


def parse_config(data: Mapping[str, Any], *, origin: str = "<config>") -> Config:
    """Validate a parsed TOML document; ``origin`` names it in error messages."""
    unknown = sorted(set(data) - set(SECTIONS) - set(ARRAYS))
    if unknown:
        known = ", ".join([*SECTIONS, *ARRAYS])
        raise ConfigError(f"{origin}: {unknown[0]}: unknown section (expected one of: {known})")
    sections: dict[str, Any] = {}
    try:
        sections["athletes"] = parse_athletes(data.get("athletes", []))
    except Invalid as exc:  # the message already starts with the full path
        raise ConfigError(f"{origin}: {exc}") from None
    for name, cls in SECTIONS.items():
        raw = data.get(name, {})
        if not isinstance(raw, dict):
            raise ConfigError(
                f"{origin}: {name}: expected a table ([{name}]), got {show_value(raw)}"
            )
        checks = section_checks(name)
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if key not in checks:
                raise ConfigError(
                    f"{origin}: {name}.{key}: unknown key (expected one of: {', '.join(checks)})"
                )
            try:
                values[key] = checks[key][0](value)
            except Invalid as exc:
                raise ConfigError(f"{origin}: {name}.{key}: {exc}") from None
        sections[name] = cls(**values)
    config = Config(**sections)
    _check_consistency(config, origin)
    return config


def _check_consistency(config: Config, origin: str) -> None:
    check_feedback(config.feedback, origin)
    try:
        check_cues_settings(config.cues, config.athletes)
    except Invalid as exc:
        raise ConfigError(f"{origin}: {exc}") from None
    cam = config.camera
    if (cam.lores_width == 0) != (cam.lores_height == 0):
        raise ConfigError(
            f"{origin}: camera.lores_width/lores_height: expected both 0 (no lores stream) "
            f"or both set, got {cam.lores_width}×{cam.lores_height}"
        )
    if cam.lores_width > cam.width or cam.lores_height > cam.height:
        raise ConfigError(
            f"{origin}: camera.lores_width/lores_height: expected at most the main stream "
            f"size {cam.width}×{cam.height}, got {cam.lores_width}×{cam.lores_height}"
        )


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Load and validate a config file; ``None`` uses ``$TRACKSIDE_CONFIG`` or the defaults."""
    if path is None:
        path = os.environ.get(CONFIG_ENV) or None
    if path is None:
        return Config()
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    return dataclasses.replace(parse_config(data, origin=str(path)), path=path)


# --- showing -------------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Sequence):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return str(value)


def dump_config(config: Config, *, with_docs: bool = True) -> str:
    """The effective configuration as TOML (defaults filled in), readable by ``load_config``.

    Secrets (fields marked ``secret``) are never printed, only whether they are set.
    """
    lines: list[str] = []
    for name in SECTIONS:
        section = getattr(config, name)
        lines.append(f"[{name}]")
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            if with_docs:
                lines.append(f"# {f.metadata['doc']}")
            if f.metadata.get("secret"):
                lines.append(f"# {f.name}: {'set (hidden)' if value else 'not set'}")
                continue
            lines.append(f"{f.name} = {_toml_value(value)}")
        lines.append("")
    for athlete in config.athletes:
        lines += _dump_athlete(athlete)
    return "\n".join(lines)


def _dump_athlete(athlete: AthleteProfile) -> list[str]:
    lines = ["[[athletes]]", f"name = {_toml_value(athlete.name)}"]
    if athlete.height_cm is not None:
        lines.append(f"height_cm = {_toml_value(athlete.height_cm)}")
    if athlete.disabled:
        lines.append(f"disabled = {_toml_value(sorted(athlete.disabled))}")
    for cue_id, limits in athlete.overrides.items():
        lines.append(f"[athletes.overrides.{cue_id}]")
        lines += [f"{key} = {_toml_value(value)}" for key, value in limits.items()]
    lines.append("")
    return lines
