"""Finding a TFLite interpreter: ai-edge-litert, tflite-runtime or full TensorFlow.

The three packages expose the same ``Interpreter`` and ``load_delegate`` API under different
module names, so this module is the only place that knows which one is installed::

    interpreter, label = load_interpreter("movenet.tflite", runtime="auto", num_threads=2)
    print(label)  # "ai-edge-litert 2.3.0"

``runtime="auto"`` tries them in order of preference (LiteRT is Google's maintained
successor of tflite-runtime).  Naming one explicitly fails with
:class:`~edge.errors.RuntimeUnavailable` saying how to install it.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import io
import logging
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from edge.errors import ConfigError, ModelError, RuntimeUnavailable
from edge.nativelog import native_stderr_to

AUTO = "auto"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _RuntimeInfo:
    module: str  # module that provides Interpreter and load_delegate
    distribution: str  # pip name, for the version label and install hint
    install_hint: str


_RUNTIMES: dict[str, _RuntimeInfo] = {
    "ai-edge-litert": _RuntimeInfo(
        "ai_edge_litert.interpreter", "ai-edge-litert", "pip install ai-edge-litert"
    ),
    "tflite-runtime": _RuntimeInfo(
        "tflite_runtime.interpreter",
        "tflite-runtime",
        'pip install tflite-runtime "numpy<2"  (tflite-runtime 2.14 is built for NumPy 1.x)',
    ),
    "tensorflow": _RuntimeInfo("tensorflow.lite", "tensorflow", "pip install tensorflow"),
}

RUNTIME_NAMES: tuple[str, ...] = (AUTO, *_RUNTIMES)


def _import_runtime(name: str) -> Any:  # the runtime's module, or tf.lite wrapped
    """Import one runtime's module or raise RuntimeUnavailable naming it and the fix."""
    info = _RUNTIMES[name]
    # A NumPy-ABI mismatch (tflite-runtime under NumPy 2) prints a page of advice to stderr
    # before raising; keep only the short reason for our own message.
    with contextlib.redirect_stderr(io.StringIO()):
        try:
            module: Any = importlib.import_module(info.module)
        except Exception as exc:  # ImportError, or AttributeError from a broken ABI
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RuntimeUnavailable(
                f"pose.runtime: {name} is not usable ({reason}); install it with: "
                f"{info.install_hint}"
            ) from None
    if name == "tflite-runtime" and _numpy_major() >= 2 and _built_for_numpy1(info):
        # It imports, but every interpreter call then fails inside the C extension.
        raise RuntimeUnavailable(
            f"pose.runtime: tflite-runtime {metadata.version(info.distribution)} is built for "
            f"NumPy 1.x but this Python has NumPy {_numpy_version()}; use it in an environment "
            f"with: {info.install_hint}"
        )
    if name == "tensorflow":
        # tf.lite keeps load_delegate under tf.lite.experimental.
        module = _TensorflowLite(module)
    return module


def _numpy_version() -> str:
    import numpy

    return numpy.__version__


def _numpy_major() -> int:
    return int(_numpy_version().split(".")[0])


def _built_for_numpy1(info: _RuntimeInfo) -> bool:
    """tflite-runtime's last release (2.14) predates NumPy 2."""
    try:
        major, minor = (int(v) for v in metadata.version(info.distribution).split(".")[:2])
    except (metadata.PackageNotFoundError, ValueError):
        return True
    return (major, minor) <= (2, 14)


class _TensorflowLite:
    """Gives ``tensorflow.lite`` the same two names the other runtimes export."""

    def __init__(self, lite: Any):
        self.Interpreter = lite.Interpreter
        self.load_delegate = lite.experimental.load_delegate


def _version_label(name: str) -> str:
    try:
        return f"{name} {metadata.version(_RUNTIMES[name].distribution)}"
    except metadata.PackageNotFoundError:
        return name


def available_runtimes() -> list[str]:
    """Names of the runtimes that import in this Python, in order of preference."""
    usable = []
    for name in _RUNTIMES:
        try:
            _import_runtime(name)
        except RuntimeUnavailable:
            continue
        usable.append(name)
    return usable


def _select_runtime(runtime: str) -> tuple[str, Any]:
    if runtime not in RUNTIME_NAMES:
        raise ConfigError(
            f"pose.runtime: expected one of {', '.join(RUNTIME_NAMES)}, got {runtime!r}"
        )
    if runtime != AUTO:
        return runtime, _import_runtime(runtime)
    reasons = []
    for name in _RUNTIMES:
        try:
            return name, _import_runtime(name)
        except RuntimeUnavailable as exc:
            reasons.append(str(exc))
    raise RuntimeUnavailable(
        "pose.runtime: no TFLite runtime is installed; install one with: pip install "
        "ai-edge-litert  (tried: " + "; ".join(reasons) + ")"
    )


def _load_delegate(module: Any, delegate: str | os.PathLike[str]) -> Any:
    path = os.fspath(delegate)
    try:
        # Check the library first: the runtimes' own Delegate objects, when the library is
        # missing or is not a delegate, fail in __init__ and then again noisily in __del__.
        library = ctypes.CDLL(path)
        if not hasattr(library, "tflite_plugin_create_delegate"):
            raise ValueError("not a TFLite delegate (no tflite_plugin_create_delegate symbol)")
        return module.load_delegate(path)
    except (ValueError, OSError, RuntimeError, AttributeError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise RuntimeUnavailable(
            f"pose.delegate: cannot load delegate '{path}': {reason}"
        ) from None


def load_interpreter(
    model_path: str | os.PathLike[str],
    *,
    runtime: str = AUTO,
    num_threads: int = 2,
    delegate: str | os.PathLike[str] | None = None,
) -> tuple[Any, str]:
    """Create and allocate a TFLite interpreter for ``model_path``.

    Returns ``(interpreter, runtime_label)``, the label being e.g. ``"ai-edge-litert 2.3.0"``.
    ``delegate`` is a shared library such as ``libedgetpu.so.1`` handed to the runtime's
    ``load_delegate``.  Expected failures raise :class:`~edge.errors.RuntimeUnavailable`
    (runtime or delegate), :class:`~edge.errors.ConfigError` (bad option) or
    :class:`~edge.errors.ModelError` (the runtime rejects the file).
    """
    if isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1:
        raise ConfigError(f"pose.num_threads: expected an integer >= 1, got {num_threads!r}")
    name, module = _select_runtime(runtime)
    delegates = [_load_delegate(module, delegate)] if delegate else None
    path = Path(model_path)
    try:
        with native_stderr_to(log):
            interpreter = module.Interpreter(
                model_path=str(path), num_threads=num_threads, experimental_delegates=delegates
            )
            interpreter.allocate_tensors()
    except (ValueError, RuntimeError, SystemError) as exc:  # SystemError: corrupt flatbuffer
        reason = " ".join(str(exc).split())
        raise ModelError(
            f"{path}: {name} cannot load this model ({reason}); is it a complete, "
            "uncorrupted TFLite file?"
        ) from None
    return interpreter, _version_label(name)
