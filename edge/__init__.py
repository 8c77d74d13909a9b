"""Trackside: running-form analysis on the edge (camera → pose → gait → cues → outputs)."""

__version__ = "0.1.0"
