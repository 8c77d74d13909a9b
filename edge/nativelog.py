"""Native libraries (the TFLite runtimes, FFmpeg inside OpenCV) print straight to file
descriptor 2, bypassing Python's logging.  While they open things we capture that output
and hand it to a logger at debug level, so users see our one clear message instead of
"INFO: Created TensorFlow Lite XNNPACK delegate" or "moov atom not found" noise."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def native_stderr_to(log: logging.Logger) -> Iterator[None]:
    """Redirect fd 2 for the duration of the block; its lines go to ``log.debug``."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            for line in sink.read().decode(errors="replace").splitlines():
                if line.strip():
                    log.debug("native: %s", line.strip())
