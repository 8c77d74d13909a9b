"""Model files: the manifest of official MoveNet models, finding, checking and fetching them.

The manifest ``models/manifest.toml`` (one file, at the repository root) lists each official
model with its download URL and checksum.  A model is named either by its manifest name
(``movenet_lightning_int8``) or by a path to a ``.tflite`` file::

    path = resolve_model_path("movenet_lightning_int8", model_dir=config.pose.model_dir)
    verify_model_file(path, load_manifest()["movenet_lightning_int8"])

Every check failure is a :class:`~edge.errors.ModelError` naming the file and what was
expected, so the operator knows whether to re-download or fix a path.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import tomllib
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.errors import ModelError

DEFAULT_MODEL = "movenet_lightning_int8"
MODEL_DIR_ENV = "TRACKSIDE_MODEL_DIR"
REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST_RELATIVE = Path("models") / "manifest.toml"
TFLITE_MAGIC = b"TFL3"  # flatbuffer file identifier, bytes 4..8 of every TFLite model
MIN_MODEL_BYTES = 1024  # anything smaller cannot hold a network
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelSpec:
    """One official model as listed in the manifest.

    ``sha256`` is the preferred checksum; ``git_blob_sha1`` (what ``git hash-object`` prints)
    is used when only that is known.  ``size`` is the exact byte count, when known.
    """

    name: str
    filename: str
    url: str
    sha256: str | None
    git_blob_sha1: str | None
    input_size: int
    dtype: str  # weight precision: "int8" or "float16"
    variant: str  # "lightning" or "thunder"
    description: str = ""
    page: str = ""
    size: int | None = None


# --- manifest --------------------------------------------------------------------------------


def manifest_candidates() -> list[Path]:
    """Where :func:`load_manifest` looks when given no path.

    The repository's ``models/manifest.toml`` first (a checkout or editable install), then
    the copy packaged as ``edge/data/models.toml`` (a symlink in the repository, a real
    file in a wheel), then ``models/manifest.toml`` under the working directory.
    """
    packaged = Path(__file__).resolve().parent.parent / "data" / "models.toml"
    candidates = [REPO_ROOT / MANIFEST_RELATIVE, packaged, Path.cwd() / MANIFEST_RELATIVE]
    return list(dict.fromkeys(candidates))


def _field(
    path: Path, name: str, entry: Mapping[str, Any], key: str, kind: type, *, required: bool = True
) -> Any:
    value = entry.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ModelError(
            f"{path}: models.{name}.{key}: expected {'an integer' if kind is int else 'a string'}"
            f", got {value!r}"
        )
    return value


_SPEC_KEYS = {
    "filename",
    "url",
    "sha256",
    "git_blob_sha1",
    "input_size",
    "dtype",
    "variant",
    "description",
    "page",
    "size",
}


def parse_manifest(data: Mapping[str, Any], path: Path) -> dict[str, ModelSpec]:
    """Validate a parsed manifest (``path`` is only used in messages)."""
    models = data.get("models")
    if not isinstance(models, dict) or not models:
        raise ModelError(f"{path}: expected a [models.NAME] table for each model")
    specs = {}
    for name, entry in models.items():
        if not isinstance(entry, dict):
            raise ModelError(f"{path}: models.{name}: expected a table")
        unknown = sorted(set(entry) - _SPEC_KEYS)
        if unknown:
            raise ModelError(f"{path}: models.{name}.{unknown[0]}: unknown key")
        spec = ModelSpec(
            name=name,
            filename=_field(path, name, entry, "filename", str),
            url=_field(path, name, entry, "url", str),
            sha256=_field(path, name, entry, "sha256", str, required=False),
            git_blob_sha1=_field(path, name, entry, "git_blob_sha1", str, required=False),
            input_size=_field(path, name, entry, "input_size", int),
            dtype=_field(path, name, entry, "dtype", str),
            variant=_field(path, name, entry, "variant", str),
            description=_field(path, name, entry, "description", str, required=False) or "",
            page=_field(path, name, entry, "page", str, required=False) or "",
            size=_field(path, name, entry, "size", int, required=False),
        )
        if not (spec.sha256 or spec.git_blob_sha1):
            raise ModelError(
                f"{path}: models.{name}: expected sha256 or git_blob_sha1 so the file can be "
                "verified"
            )
        specs[name] = spec
    return specs


def load_manifest(path: str | os.PathLike[str] | None = None) -> dict[str, ModelSpec]:
    """Read the model manifest: ``path`` if given, else ``models/manifest.toml``."""
    candidates = [Path(path)] if path is not None else manifest_candidates()
    for candidate in candidates:
        try:
            data = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except FileNotFoundError:
            continue
        except tomllib.TOMLDecodeError as exc:
            raise ModelError(f"{candidate}: invalid TOML ({exc})") from None
        return parse_manifest(data, candidate)
    raise ModelError(
        "model manifest not found; looked in: " + ", ".join(str(c) for c in candidates)
    )


def spec_for_file(
    path: str | os.PathLike[str], manifest: Mapping[str, ModelSpec]
) -> ModelSpec | None:
    """The manifest entry whose file name matches ``path``, if any."""
    name = Path(path).name
    return next((s for s in manifest.values() if s.filename == name), None)


# --- finding ---------------------------------------------------------------------------------


def model_search_dirs(model_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Directories searched for a model, in order: config, ``$TRACKSIDE_MODEL_DIR``, models/."""
    dirs = []
    if model_dir:
        dirs.append(Path(model_dir))
    if os.environ.get(MODEL_DIR_ENV):
        dirs.append(Path(os.environ[MODEL_DIR_ENV]))
    dirs += [Path.cwd() / "models", REPO_ROOT / "models"]
    return list(dict.fromkeys(dirs))


def resolve_model_path(
    model: str | os.PathLike[str],
    *,
    model_dir: str | os.PathLike[str] | None = None,
    manifest: Mapping[str, ModelSpec] | None = None,
) -> Path:
    """Find a model by manifest name or file path.

    Search order: ``model`` as a path, then ``model_dir`` (config ``pose.model_dir``), then
    ``$TRACKSIDE_MODEL_DIR``, then ``models/`` in the working directory and in the repository.
    """
    text = os.fspath(model)
    if manifest is None:
        try:
            manifest = load_manifest()
        except ModelError:
            manifest = {}
    spec = manifest.get(text)
    filename = spec.filename if spec else Path(text).name
    searched: list[Path] = []
    if spec is None:
        explicit = Path(text).expanduser()
        if explicit.is_file():
            return explicit
        searched.append(explicit)
    for directory in model_search_dirs(model_dir):
        candidate = directory / filename
        if candidate.is_file():
            return candidate
        searched.append(candidate)
    fetch = spec.name if spec else DEFAULT_MODEL
    raise ModelError(
        f"model {text!r} not found; searched: {', '.join(str(p) for p in searched)}. "
        f"Fetch it with: trackside models fetch {fetch}  (or set {MODEL_DIR_ENV})"
    )


# --- checking --------------------------------------------------------------------------------


def file_digests(path: Path) -> tuple[str, str]:
    """``(sha256, git blob sha1)`` of a file, read once."""
    sha256 = hashlib.sha256()
    blob = hashlib.sha1(f"blob {path.stat().st_size}\0".encode())
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            sha256.update(chunk)
            blob.update(chunk)
    return sha256.hexdigest(), blob.hexdigest()


def verify_model_file(path: str | os.PathLike[str], spec: ModelSpec | None = None) -> None:
    """Check that ``path`` is a complete TFLite model and, with ``spec``, the expected one.

    Raises :class:`~edge.errors.ModelError` for a missing file, a truncated file, a file that
    is not a TFLite flatbuffer, or a checksum mismatch, each saying what was expected.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file does not exist")
    size = path.stat().st_size
    if spec is not None and spec.size is not None and size != spec.size:
        problem = "truncated" if size < spec.size else "wrong size"
        raise ModelError(
            f"{path}: {problem}: expected {spec.size} bytes for {spec.name}, got {size}; "
            f"fetch it again with: trackside models fetch {spec.name} --force"
        )
    if size < MIN_MODEL_BYTES:
        raise ModelError(
            f"{path}: truncated or empty: {size} bytes is too small for a TFLite model"
        )
    with path.open("rb") as stream:
        head = stream.read(8)
    if head[4:8] != TFLITE_MAGIC:
        raise ModelError(
            f"{path}: not a TFLite model: expected {TFLITE_MAGIC.decode()!r} at byte 4, "
            f"got {head[4:8]!r} (an HTML error page or a Git LFS pointer?)"
        )
    if spec is None:
        return
    sha256, blob_sha1 = file_digests(path)
    if spec.sha256:
        if sha256 != spec.sha256:
            raise ModelError(
                f"{path}: sha256 mismatch for {spec.name}: expected {spec.sha256}, got {sha256}"
            )
    elif spec.git_blob_sha1 and blob_sha1 != spec.git_blob_sha1:
        raise ModelError(
            f"{path}: git blob sha1 mismatch for {spec.name}: expected {spec.git_blob_sha1}, "
            f"got {blob_sha1}"
        )


# --- fetching --------------------------------------------------------------------------------


def default_fetch_dir() -> Path:
    """``$TRACKSIDE_MODEL_DIR`` if set, else ``models/`` in the repository."""
    env = os.environ.get(MODEL_DIR_ENV)
    return Path(env) if env else REPO_ROOT / "models"


def fetch_model(
    name: str,
    dest_dir: str | os.PathLike[str],
    *,
    manifest: Mapping[str, ModelSpec] | None = None,
    force: bool = False,
    timeout: float = 60.0,
) -> Path:
    """Download model ``name`` from its official URL into ``dest_dir`` and verify it.

    An existing file that verifies is kept (unless ``force``).  The download goes to a
    temporary file beside the destination and is renamed into place only once its checksum
    matches, so an interrupted or wrong download never leaves a bad model behind.
    """
    manifest = load_manifest() if manifest is None else manifest
    spec = manifest.get(name)
    if spec is None:
        raise ModelError(f"unknown model {name!r}; the manifest lists: {', '.join(manifest)}")
    dest_dir = Path(dest_dir)
    dest = dest_dir / spec.filename
    if dest.exists() and not force:
        try:
            verify_model_file(dest, spec)
            return dest
        except ModelError:
            pass  # a bad existing copy is replaced below
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"{dest_dir}: cannot create model directory ({exc})") from None
    handle, temp_name = tempfile.mkstemp(dir=dest_dir, prefix=f".{spec.filename}.", suffix=".part")
    temp = Path(temp_name)
    try:
        request = urllib.request.Request(spec.url, headers={"User-Agent": "trackside"})
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as r:
            while chunk := r.read(_CHUNK):
                out.write(chunk)
        try:
            verify_model_file(temp, spec)
        except ModelError as exc:
            raise ModelError(f"download of {spec.name} from {spec.url} failed: {exc}") from None
        os.replace(temp, dest)
    except OSError as exc:  # URLError is an OSError
        raise ModelError(f"cannot download {spec.name} from {spec.url}: {exc}") from None
    finally:
        temp.unlink(missing_ok=True)
    return dest
