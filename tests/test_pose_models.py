"""Model manifest, model-file lookup, verification and fetching (all offline, file:// URLs)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from edge.errors import ModelError
from edge.pose import models
from edge.pose.models import (
    DEFAULT_MODEL,
    ModelSpec,
    fetch_model,
    file_digests,
    load_manifest,
    resolve_model_path,
    verify_model_file,
)


def fake_tflite(size: int = 4096, seed: int = 0) -> bytes:
    """Bytes that look like a TFLite flatbuffer header (enough for the format checks)."""
    body = hashlib.sha256(str(seed).encode()).digest() * (size // 32 + 1)
    return (b"\x1c\x00\x00\x00TFL3" + body)[:size]


def spec_for(data: bytes, path: Path, name: str = "fake", **changes) -> ModelSpec:
    fields = dict(
        name=name,
        filename=path.name,
        url=path.as_uri(),
        sha256=hashlib.sha256(data).hexdigest(),
        git_blob_sha1=None,
        input_size=192,
        dtype="int8",
        variant="lightning",
        size=len(data),
    )
    fields.update(changes)
    return ModelSpec(**fields)


# --- manifest --------------------------------------------------------------------------------


def test_manifest_lists_the_four_official_movenet_models():
    manifest = load_manifest()
    assert set(manifest) == {
        "movenet_lightning_int8",
        "movenet_lightning_float16",
        "movenet_thunder_int8",
        "movenet_thunder_float16",
    }
    for spec in manifest.values():
        assert spec.url.startswith("https://tfhub.dev/google/lite-model/movenet/singlepose/")
        assert (
            spec.variant in spec.url
            and spec.dtype in spec.url
            and spec.filename.endswith(".tflite")
        )
        assert spec.input_size == {"lightning": 192, "thunder": 256}[spec.variant]
        assert spec.sha256 or spec.git_blob_sha1
    assert manifest[DEFAULT_MODEL].sha256 == (
        "cd7cc22fa946e5d146a7b98d496853e1923e22828d3972d579973f27f91bb105"
    )


def test_manifest_checksums_match_the_shared_sources_notes(shared_dir):
    """The ids in the manifest are the ones recorded beside the real model files."""
    sources = (shared_dir / "models" / "SOURCES.md").read_text(encoding="utf-8")
    for spec in load_manifest().values():
        assert spec.filename in sources
        for digest in (spec.sha256, spec.git_blob_sha1):
            if digest:
                assert digest in sources, f"{spec.name}: {digest} not in SOURCES.md"


def test_manifest_errors_name_the_file_and_key(tmp_path):
    bad = tmp_path / "manifest.toml"
    bad.write_text(
        '[models.x]\nfilename = "x.tflite"\nurl = "u"\ninput_size = "big"\n'
        'dtype = "int8"\nvariant = "lightning"\nsha256 = "00"\n'
    )
    with pytest.raises(
        ModelError, match=re.escape(f"{bad}: models.x.input_size: expected an integer")
    ):
        load_manifest(bad)
    bad.write_text(
        '[models.x]\nfilename = "x.tflite"\nurl = "u"\ninput_size = 192\n'
        'dtype = "int8"\nvariant = "lightning"\n'
    )
    with pytest.raises(ModelError, match=r"models\.x: expected sha256 or git_blob_sha1"):
        load_manifest(bad)
    bad.write_text("[models\n")
    with pytest.raises(ModelError, match="invalid TOML"):
        load_manifest(bad)
    with pytest.raises(ModelError, match="manifest not found"):
        load_manifest(tmp_path / "absent.toml")


# --- verification ----------------------------------------------------------------------------


def test_real_model_verifies_against_the_manifest(lightning_model):
    verify_model_file(lightning_model, load_manifest()[DEFAULT_MODEL])


def test_git_blob_id_matches_git_hash_object(lightning_model):
    _, blob = file_digests(lightning_model)
    assert blob == "67a2124a1935f304b3b282a475b9205822dc6274"


def test_missing_model_file(tmp_path):
    with pytest.raises(
        ModelError, match=re.escape(f"{tmp_path / 'none.tflite'}: model file does not exist")
    ):
        verify_model_file(tmp_path / "none.tflite")


def test_truncated_model_file(tmp_path, lightning_model):
    path = tmp_path / lightning_model.name
    path.write_bytes(lightning_model.read_bytes()[:100_000])
    spec = load_manifest()[DEFAULT_MODEL]
    with pytest.raises(
        ModelError,
        match=rf"{re.escape(str(path))}: truncated: expected 2894840 bytes"
        r".*got 100000",
    ):
        verify_model_file(path, spec)
    tiny = tmp_path / "tiny.tflite"
    tiny.write_bytes(lightning_model.read_bytes()[:200])
    with pytest.raises(ModelError, match="truncated or empty: 200 bytes"):
        verify_model_file(tiny)


def test_non_tflite_file(tmp_path):
    page = tmp_path / "model.tflite"
    page.write_text("<!DOCTYPE html><html>AccessDenied</html>" + " " * 2000)
    with pytest.raises(
        ModelError, match=r"model.tflite: not a TFLite model: expected 'TFL3' at byte 4"
    ):
        verify_model_file(page)


def test_sha256_mismatch(tmp_path):
    path = tmp_path / "m.tflite"
    data = fake_tflite()
    path.write_bytes(data)
    spec = spec_for(data, path, sha256="0" * 64)
    with pytest.raises(
        ModelError,
        match=rf"sha256 mismatch for fake: expected {'0' * 64}, got "
        + hashlib.sha256(data).hexdigest(),
    ):
        verify_model_file(path, spec)


def test_git_blob_only_spec_is_checked_by_blob_id(tmp_path):
    path = tmp_path / "m.tflite"
    data = fake_tflite()
    path.write_bytes(data)
    blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    verify_model_file(path, spec_for(data, path, sha256=None, git_blob_sha1=blob, size=None))
    with pytest.raises(ModelError, match="git blob sha1 mismatch for fake: expected 1111"):
        verify_model_file(
            path, spec_for(data, path, sha256=None, git_blob_sha1="1" * 40, size=None)
        )


# --- lookup ----------------------------------------------------------------------------------


def test_resolve_search_order(tmp_path, monkeypatch):
    filename = load_manifest()[DEFAULT_MODEL].filename
    config_dir, env_dir, cwd = tmp_path / "config", tmp_path / "env", tmp_path / "cwd"
    for directory in (config_dir, env_dir, cwd / "models"):
        directory.mkdir(parents=True)
        (directory / filename).write_bytes(b"x")
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("TRACKSIDE_MODEL_DIR", str(env_dir))
    assert resolve_model_path(DEFAULT_MODEL, model_dir=config_dir) == config_dir / filename
    assert resolve_model_path(DEFAULT_MODEL) == env_dir / filename
    monkeypatch.delenv("TRACKSIDE_MODEL_DIR")
    assert resolve_model_path(DEFAULT_MODEL) == cwd / "models" / filename
    explicit = tmp_path / "elsewhere.tflite"
    explicit.write_bytes(b"x")
    assert resolve_model_path(str(explicit), model_dir=config_dir) == explicit


def test_missing_model_lists_every_place_searched(tmp_path, monkeypatch):
    manifest = load_manifest()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRACKSIDE_MODEL_DIR", str(tmp_path / "env"))
    monkeypatch.setattr(models, "REPO_ROOT", tmp_path / "repo")
    with pytest.raises(ModelError) as info:
        resolve_model_path("movenet_thunder_int8", model_dir=tmp_path / "cfg", manifest=manifest)
    message = str(info.value)
    filename = "lite-model_movenet_singlepose_thunder_tflite_int8_4.tflite"
    for place in ("cfg", "env", "models", "repo/models"):
        assert str(tmp_path / place / filename) in message
    assert "trackside models fetch movenet_thunder_int8" in message


# --- fetching --------------------------------------------------------------------------------


def test_fetch_downloads_verifies_and_renames(tmp_path):
    origin = tmp_path / "origin" / "model.tflite"
    origin.parent.mkdir()
    data = fake_tflite(5000, seed=1)
    origin.write_bytes(data)
    spec = spec_for(data, origin)
    dest = tmp_path / "dest"
    path = fetch_model("fake", dest, manifest={"fake": spec})
    assert path == dest / "model.tflite" and path.read_bytes() == data
    assert sorted(p.name for p in dest.iterdir()) == ["model.tflite"]  # no temp file left

    # A verified existing copy is kept: the download is not even attempted.
    gone = spec_for(data, tmp_path / "origin" / "gone.tflite")
    kept = ModelSpec(**{**gone.__dict__, "filename": "model.tflite"})
    assert fetch_model("fake", dest, manifest={"fake": kept}) == path


def test_fetch_checksum_mismatch_leaves_nothing_behind(tmp_path):
    origin = tmp_path / "model.tflite"
    data = fake_tflite(5000, seed=2)
    origin.write_bytes(data)
    spec = spec_for(data, origin, sha256="f" * 64)
    dest = tmp_path / "dest"
    with pytest.raises(
        ModelError, match=r"download of fake from file://.* failed: .*sha256 mismatch"
    ):
        fetch_model("fake", dest, manifest={"fake": spec})
    assert list(dest.iterdir()) == []


def test_fetch_replaces_a_corrupt_existing_copy_and_force_refetches(tmp_path):
    origin = tmp_path / "origin" / "model.tflite"
    origin.parent.mkdir()
    data = fake_tflite(5000, seed=3)
    origin.write_bytes(data)
    spec = spec_for(data, origin)
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "model.tflite").write_bytes(data[:3000])  # an interrupted older download
    assert fetch_model("fake", dest, manifest={"fake": spec}).read_bytes() == data
    origin.unlink()
    with pytest.raises(ModelError, match="cannot download fake from file://"):
        fetch_model("fake", dest, manifest={"fake": spec}, force=True)
    assert (dest / "model.tflite").read_bytes() == data  # the good copy survives a failed fetch


def test_fetch_unknown_model_name(tmp_path):
    with pytest.raises(
        ModelError, match="unknown model 'movenet_huge'; the manifest lists: movenet_"
    ):
        fetch_model("movenet_huge", tmp_path)


def test_fetch_of_real_model_from_local_copy(tmp_path, lightning_model):
    """The real manifest entry's checksum logic, with the official URL swapped for a local one."""
    spec = load_manifest()[DEFAULT_MODEL]
    local = ModelSpec(**{**spec.__dict__, "url": lightning_model.resolve().as_uri()})
    path = fetch_model(DEFAULT_MODEL, tmp_path, manifest={DEFAULT_MODEL: local})
    assert path.name == spec.filename
    verify_model_file(path, spec)
