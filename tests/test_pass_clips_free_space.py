"""Pass clips leave ``results.min_free_megabytes`` free on the disk: the oldest clips go, or a
new clip is not written, and the log and the device status say so.  The free space is a
fake reading (no real disk is filled)."""

from __future__ import annotations

import logging
import os
from dataclasses import replace

import numpy as np
import pytest

from edge.config import Config
from edge.outputs.pass_clips import ClipStore, PassClipRecorder
from edge.service.daemon import Daemon
from edge.types import Frame, Pose

CLIP = 100_000  # bytes of each fake clip
SIDECAR = b"{}"


def _folder_of_clips(tmp_path, count: int = 6):
    folder = tmp_path / "clips"
    folder.mkdir()
    for i in range(count):
        clip = folder / f"s-p{i}-x.mp4"
        clip.write_bytes(b"\0" * CLIP)
        clip.with_suffix(".json").write_bytes(SIDECAR)
        os.utime(clip, (1000 + i, 1000 + i))  # clip i is the i-th oldest
    return folder


def _kept(folder) -> list[str]:
    return sorted(p.name for p in folder.glob("*.mp4"))


class FakeDisk:
    """A file system of ``capacity`` bytes where ``other`` bytes are not clips: its free
    space follows the clips folder as clips are written and deleted."""

    def __init__(self, capacity: int, other: int) -> None:
        self.capacity, self.other = capacity, other
        self.asked: list[str] = []

    def free(self, directory) -> int:
        self.asked.append(str(directory))
        used = sum(p.stat().st_size for p in directory.glob("*") if p.is_file())
        return self.capacity - self.other - used


def test_the_oldest_clips_go_until_the_disk_keeps_its_minimum_free(tmp_path, caplog):
    folder = _folder_of_clips(tmp_path)
    free = {"bytes": 1_150_000}
    store = ClipStore(
        folder, max_bytes=10**9, min_free_bytes=1_000_000, free_space=lambda d: free["bytes"]
    )
    assert store.enforce_budget() == [] and store.problems() == []  # 1.15 MB free: all kept
    free["bytes"] = 850_000  # 150 kB short: two clips (100 kB each) must go, oldest first
    with caplog.at_level(logging.INFO, "edge.outputs.pass_clips"):
        assert store.enforce_budget() == ["s-p0-x.mp4", "s-p1-x.mp4"]
    assert _kept(folder) == ["s-p2-x.mp4", "s-p3-x.mp4", "s-p4-x.mp4", "s-p5-x.mp4"]
    assert not (folder / "s-p0-x.json").exists()
    assert "1 MB free on the disk" in caplog.text and store.problems() == []
    # Less free than all the clips could give back: every clip goes, and the status says
    # clips are paused.
    free["bytes"] = 100_000
    caplog.clear()
    with caplog.at_level(logging.WARNING, "edge.outputs.pass_clips"):
        assert len(store.enforce_budget()) == 4
    assert _kept(folder) == []
    (problem,) = store.problems()
    assert problem.startswith("pass clips paused: 0.5 MB free on the disk, below the 1.0 MB")
    assert problem in caplog.text


def test_make_room_deletes_the_oldest_or_refuses_without_deleting(tmp_path, caplog):
    folder = _folder_of_clips(tmp_path)
    free = {"bytes": 1_050_000}
    store = ClipStore(
        folder, max_bytes=10**9, min_free_bytes=1_000_000, free_space=lambda d: free["bytes"]
    )
    assert store.newest_bytes() == CLIP + len(SIDECAR)
    # One more 100 kB clip would leave 950 kB: the oldest clip goes to make room for it.
    assert store.make_room(CLIP) is True
    assert _kept(folder)[0] == "s-p1-x.mp4" and len(_kept(folder)) == 5
    # 100 kB free: even deleting all five clips (500 kB) would not leave 1 MB after one
    # more: refused, and nothing deleted for nothing.
    free["bytes"] = 100_000
    with caplog.at_level(logging.WARNING, "edge.outputs.pass_clips"):
        assert store.make_room(CLIP) is False
    assert len(_kept(folder)) == 5
    assert store.problems() and "pass clips paused: 0.1 MB free" in caplog.text
    # An unknown free space (statvfs failed) does not stop clips.
    unknown = ClipStore(folder, max_bytes=10**9, min_free_bytes=10**12, free_space=lambda d: None)
    assert unknown.make_room(CLIP) is True and unknown.enforce_budget() == []


def test_limits_must_not_be_negative(tmp_path):
    with pytest.raises(ValueError, match="min_free_bytes=-1"):
        ClipStore(tmp_path, max_bytes=10, min_free_bytes=-1)


def _pass(recorder: PassClipRecorder, pass_index: int, start: float) -> None:
    keypoints = np.full((17, 3), 0.9, np.float32)
    keypoints[:, :2] = np.linspace(20, 100, 34).reshape(17, 2)
    for i in range(20):
        t = start + i / 10
        image = np.full((120, 160, 3), 40 + 8 * i, np.uint8)
        recorder.add(image, Pose(t, i, keypoints, (160, 120)))
    recorder.end_pass(pass_index, session_id="s1", athlete="ana")


def test_a_recorder_skips_a_clip_the_disk_has_no_room_for_then_resumes(tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    disk = FakeDisk(capacity=10_000_000, other=0)
    store = ClipStore(folder, max_bytes=10**9, min_free_bytes=5_000_000, free_space=disk.free)
    recorder = PassClipRecorder(store, device_id="pi", side=160, suffix=".webm")
    _pass(recorder, 1, 0.0)
    recorder.close()
    (first,) = store.list()
    assert first.pass_index == 1 and recorder.problems() == []
    # Other files fill the disk to within one clip of the minimum free: with the old clip
    # deleted a new one still does not fit, so it is not written, and nothing is deleted.
    disk.other = disk.capacity - 5_000_000 - first.bytes // 2
    recorder = PassClipRecorder(store, device_id="pi", side=160, suffix=".webm")
    _pass(recorder, 2, 10.0)
    recorder.close()
    assert [c.pass_index for c in store.list()] == [1]
    assert recorder.not_written == 1
    assert recorder.problems()[0].startswith("pass clips paused:")
    # Room again: the next pass is written and the status clears.
    disk.other = 0
    recorder = PassClipRecorder(store, device_id="pi", side=160, suffix=".webm")
    _pass(recorder, 3, 20.0)
    recorder.close()
    assert [c.pass_index for c in store.list()] == [3, 1]
    assert recorder.problems() == [] and recorder.not_written == 0
    assert disk.asked and all(a == str(folder) for a in disk.asked)


class _NoFrames:
    name, frame_count, nominal_fps = "none", None, 30.0

    def frames(self):
        return iter(())

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


class _Estimator:
    def estimate(self, frame: Frame) -> Pose:  # never called: no frame comes
        raise AssertionError("no frame expected")

    def reset_tracking(self):
        pass


def test_the_device_status_says_clips_are_paused(tmp_path):
    store = ClipStore(
        tmp_path / "clips", max_bytes=10**9, min_free_bytes=10**9, free_space=lambda d: 10**6
    )
    recorder = PassClipRecorder(store, device_id="pi", side=160, suffix=".webm")
    config = Config()
    config = replace(config, mqtt=replace(config.mqtt, enabled=False))
    config = replace(config, feedback=replace(config.feedback, enabled=False))
    daemon = Daemon(config, source_factory=_NoFrames, estimator_factory=_Estimator, clips=recorder)
    daemon.stats.state = "running"  # as once its analysis loop turns
    assert daemon.health.status().degraded == ()
    _pass(recorder, 1, 0.0)
    recorder.close()
    status = daemon.health.status()
    assert status.state == "degraded"
    (line,) = status.degraded
    assert line.startswith("pass clips paused: 1.0 MB free on the disk, below the 1000.0 MB")
    assert line in status.detail
