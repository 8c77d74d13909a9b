"""What the commands share: the configuration with the command line's overrides."""

from __future__ import annotations

import argparse
import dataclasses

from edge.config import Config, load_config


def config_from(args: argparse.Namespace) -> Config:
    config = load_config(args.config)
    pose_overrides = {
        key: value
        for key, value in {
            "model": getattr(args, "model", None),
            "runtime": getattr(args, "runtime", None),
            "num_threads": getattr(args, "threads", None),
            "delegate": getattr(args, "delegate", None),
        }.items()
        if value is not None
    }
    if getattr(args, "no_crop", False):
        pose_overrides["crop_tracking"] = False
    if pose_overrides:
        config = dataclasses.replace(
            config, pose=dataclasses.replace(config.pose, **pose_overrides)
        )
    return config


def results_as_the_service_keeps_them(config: Config):  # -> ResultsConfig
    """The results settings with the path the installed service writes (see unit.py)."""
    import os

    from edge.outputs.store import default_results_path
    from edge.service.unit import service_environ, unit_state

    environ = service_environ(os.environ, unit_state())
    path = default_results_path(config.results.path, environ)
    return dataclasses.replace(config.results, path=str(path))
