"""Choosing the TFLite runtime and loading delegates: every failure is one clear error."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from edge.errors import ConfigError, ModelError, RuntimeUnavailable
from edge.pose.runtime import available_runtimes, load_interpreter


def test_auto_prefers_ai_edge_litert(lightning_model):
    pytest.importorskip("ai_edge_litert")
    interpreter, label = load_interpreter(lightning_model, num_threads=1)
    assert label.startswith("ai-edge-litert ")
    assert list(interpreter.get_input_details()[0]["shape"]) == [1, 192, 192, 3]
    assert available_runtimes()[0] == "ai-edge-litert"


def test_unknown_runtime_name(lightning_model):
    with pytest.raises(
        ConfigError,
        match=r"pose.runtime: expected one of auto, ai-edge-litert, "
        r"tflite-runtime, tensorflow, got 'tflite'",
    ):
        load_interpreter(lightning_model, runtime="tflite")


@pytest.mark.parametrize("threads", [0, -1, 1.5, "2", True])
def test_bad_thread_count(lightning_model, threads):
    with pytest.raises(ConfigError, match=r"pose\.num_threads: expected an integer >= 1"):
        load_interpreter(lightning_model, num_threads=threads)


def test_named_runtime_that_is_not_installed_says_how_to_install(lightning_model):
    if importlib.util.find_spec("tensorflow") is not None:
        pytest.skip("tensorflow is installed here")
    with pytest.raises(
        RuntimeUnavailable,
        match=r"pose.runtime: tensorflow is not usable .*"
        r"install it with: pip install tensorflow",
    ):
        load_interpreter(lightning_model, runtime="tensorflow")
    assert "tensorflow" not in available_runtimes()


def test_tflite_runtime_under_numpy2_is_reported_not_crashed(lightning_model):
    if importlib.util.find_spec("tflite_runtime") is None or np.__version__.startswith("1."):
        pytest.skip("needs tflite-runtime installed beside NumPy 2 (the ABI mismatch case)")
    with pytest.raises(
        RuntimeUnavailable,
        match=r"tflite-runtime .* is built for NumPy 1.x but "
        r'this Python has NumPy 2.*"numpy<2"',
    ):
        load_interpreter(lightning_model, runtime="tflite-runtime")
    assert "tflite-runtime" not in available_runtimes()


def test_delegate_that_does_not_exist(lightning_model):
    with pytest.raises(
        RuntimeUnavailable,
        match=r"pose.delegate: cannot load delegate "
        r"'/nonexistent/libedgetpu.so.1': .*",
    ):
        load_interpreter(lightning_model, delegate="/nonexistent/libedgetpu.so.1")


def test_delegate_that_is_not_a_shared_library(lightning_model, tmp_path):
    fake = tmp_path / "libedgetpu.so.1"
    fake.write_text("not an ELF file")
    with pytest.raises(
        RuntimeUnavailable, match=rf"pose.delegate: cannot load delegate '{fake}': "
    ):
        load_interpreter(lightning_model, delegate=fake)


def test_shared_library_that_is_not_a_delegate(lightning_model):
    """A real library lacking the TFLite delegate entry points is refused cleanly too."""
    with pytest.raises(
        RuntimeUnavailable,
        match=r"pose.delegate: cannot load delegate 'libm.so.6'"
        r".*tflite_plugin_create_delegate",
    ):
        load_interpreter(lightning_model, delegate="libm.so.6")


def test_runtime_rejecting_a_corrupt_model_is_a_model_error(tmp_path, lightning_model):
    corrupt = tmp_path / "corrupt.tflite"
    data = bytearray(lightning_model.read_bytes())
    data[8:] = bytes(len(data) - 8)  # keep the header, zero the flatbuffer body
    corrupt.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=rf"{corrupt}: ai-edge-litert cannot load this model"):
        load_interpreter(corrupt)
