"""Errors that the command line reports as one clear line instead of a traceback.

Anything raised as a :class:`TracksideError` is an *expected* failure (bad config, missing
model, unreadable clip, device that will not open): the CLI prints its message and exits
non-zero.  Anything else is a bug and keeps its traceback.
"""


class TracksideError(Exception):
    """An expected failure with a message written for the operator."""

    exit_code = 2


class ConfigError(TracksideError):
    """The configuration file or a command-line value is invalid."""


class ModelError(TracksideError):
    """A model file is missing, corrupt, or not the model we expect."""


class RuntimeUnavailable(TracksideError):
    """No usable TFLite interpreter runtime (or delegate) could be loaded."""


class SourceError(TracksideError):
    """A frame source (clip, webcam, Pi camera) cannot be opened or read."""
