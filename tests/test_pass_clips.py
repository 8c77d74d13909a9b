"""Pass clips: a real pass with its skeleton and verdicts becomes a playable clip, and the
clips folder keeps to its disk budget."""

from __future__ import annotations

import json
import os

import pytest
from dashboard_helpers import real_run

from edge.capture import open_source
from edge.outputs.pass_clips import ClipStore, PassClipRecorder

pytestmark = [pytest.mark.media, pytest.mark.model]


def _record(recorder: PassClipRecorder, run, pass_index: int) -> None:
    reports = iter(run.reports)
    upcoming = next(reports, None)
    for image, pose in zip(run.frames, run.poses, strict=True):
        recorder.add(image, pose)
        while upcoming is not None and upcoming.stride.foot_strike.time <= pose.timestamp:
            recorder.stride(upcoming)
            upcoming = next(reports, None)
    recorder.end_pass(pass_index, session_id="track-am", athlete="ana")


def test_a_pass_becomes_a_clip_of_its_last_seconds_with_the_overlay(
    tmp_path, media_dir, lightning_model
):
    run = real_run(media_dir, lightning_model)
    store = ClipStore(tmp_path / "clips", max_bytes=50_000_000)
    recorder = PassClipRecorder(store, device_id="pi-track3", seconds=4.0, side=320)
    _record(recorder, run, 1)
    recorder.close()
    (info,) = store.list()
    assert recorder.written == [info]
    assert info.session_id == "track-am" and info.athlete == "ana" and info.pass_index == 1
    # Only the last 4 s of the (11 s) pass are kept, the longer side 320 px.
    last = run.poses[-1].timestamp
    assert info.end_s == pytest.approx(last) and 3.8 <= info.duration_s <= 4.0
    expected = sum(1 for p in run.poses if p.timestamp >= last - 4.0)
    assert info.frames == expected
    path = store.path_of(info.name)
    assert path is not None and path.stat().st_size == info.bytes
    # It decodes back, frame for frame, at the clip's size, with something drawn on it.
    with open_source(path) as clip:
        frames = list(clip.frames())
    assert len(frames) == info.frames
    assert max(frames[0].width, frames[0].height) == 320
    sidecar = json.loads(path.with_suffix(".json").read_text())
    assert sidecar["name"] == info.name
    # A name that is not one of ours is never served.
    assert store.path_of("../results.sqlite3") is None and store.path_of("x.mp4") is None


def test_the_clips_folder_keeps_to_its_budget_oldest_first(tmp_path):
    folder = tmp_path / "clips"
    folder.mkdir()
    for i in range(6):
        clip = folder / f"s-p{i}-x.mp4"
        clip.write_bytes(b"\0" * 100_000)
        clip.with_suffix(".json").write_text("{}")
        os.utime(clip, (1000 + i, 1000 + i))  # clip i is the i-th oldest
    store = ClipStore(folder, max_bytes=350_000)
    deleted = store.enforce_budget()
    assert deleted == ["s-p0-x.mp4", "s-p1-x.mp4", "s-p2-x.mp4"]
    assert store.used_bytes() <= 350_000
    assert sorted(p.name for p in folder.glob("*.mp4")) == [
        "s-p3-x.mp4",
        "s-p4-x.mp4",
        "s-p5-x.mp4",
    ]
    assert not (folder / "s-p0-x.json").exists()  # sidecars go with their clip
    assert store.enforce_budget() == []  # within the budget: nothing more goes


def test_real_clips_stay_within_a_small_budget(tmp_path, media_dir, lightning_model):
    run = real_run(media_dir, lightning_model)
    store = ClipStore(tmp_path / "clips", max_bytes=10**9)  # measure one clip first
    recorder = PassClipRecorder(store, device_id="pi", seconds=2.0, side=240)
    _record(recorder, run, 1)
    recorder.close()
    one_clip = store.used_bytes()  # the clip and its sidecar
    assert one_clip > 0
    # A budget of two and a half clips keeps the two newest of six passes.
    store.max_bytes = int(2.5 * one_clip)
    recorder = PassClipRecorder(store, device_id="pi", seconds=2.0, side=240)
    for index in range(2, 7):
        _record(recorder, run, index)
        recorder.close(timeout=60)  # one pass at a time: the worker is never busy
        recorder = PassClipRecorder(store, device_id="pi", seconds=2.0, side=240)
    recorder.close()
    kept = store.list()
    assert store.used_bytes() <= store.max_bytes
    assert [c.pass_index for c in kept] == [6, 5]
