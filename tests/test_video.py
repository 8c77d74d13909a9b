"""Browser-playable video: the codec written (probed with PyAV), its fallbacks, and overlays
that read on any background with each stride's verdicts."""

from __future__ import annotations

import logging
import shutil

import av
import numpy as np
import pytest
from test_cli import run_cli

from edge.outputs import video
from edge.outputs.annotate import TextStyle, draw_stride, draw_text, stride_at
from edge.outputs.keyframe import VERDICT_COLOURS
from edge.outputs.video import VideoError, VideoWriter, format_for, preferred_suffix
from edge.testing.mqtt import stride_report
from edge.types import Verdict


def probe(path):
    """(codec, pixel format, width, height, frame times in s) as a player sees the file."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        times = [float(frame.time) for frame in container.decode(stream)]
        ctx = stream.codec_context
        return ctx.name, ctx.pix_fmt, ctx.width, ctx.height, times


def test_replay_annotate_writes_h264_mp4_with_the_clips_own_timing(tmp_path, media_dir, model_dir):
    clip = tmp_path / "run.gif"
    shutil.copy(media_dir / "jes_woods_nike_coach_1.gif", clip)
    result = run_cli(
        "replay", str(clip), "--annotate", "out.mp4", "--quiet",
        cwd=tmp_path, env={"TRACKSIDE_MODEL_DIR": str(model_dir)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "out.mp4: H.264 in MP4" in result.stdout
    codec, pix_fmt, width, height, times = probe(tmp_path / "out.mp4")
    # Baseline-compatible 4:2:0 H.264 is what every browser and QuickTime decode.
    assert (codec, pix_fmt, width, height) == ("h264", "yuv420p", 520, 294)
    assert len(times) == 90
    assert [round(t, 2) for t in times[:4]] == [0.0, 0.06, 0.11, 0.17]  # the GIF's delays
    data = (tmp_path / "out.mp4").read_bytes()
    assert data.find(b"moov") < data.find(b"mdat"), "index first: plays while downloading"


def test_webm_is_vp9_and_a_wrong_suffix_is_refused(tmp_path):
    frames = [np.full((48, 64, 3), 40 * i, np.uint8) for i in range(5)]
    with VideoWriter(tmp_path / "clip.webm", fps=25, size=(64, 48)) as writer:
        for i, image in enumerate(frames):
            writer.write(image, 10.0 + 0.04 * i)
    codec, _, width, height, times = probe(tmp_path / "clip.webm")
    assert (codec, width, height) == ("vp9", 64, 48) and len(times) == 5
    with pytest.raises(VideoError, match=r"expected a \.mp4 or \.webm"):
        VideoWriter(tmp_path / "clip.avi", fps=25, size=(64, 48))
    with pytest.raises(VideoError, match="is not a folder"):
        VideoWriter(tmp_path / "missing" / "clip.mp4", fps=25, size=(64, 48))


def test_odd_frames_are_padded_and_a_wrong_size_is_refused(tmp_path):
    with VideoWriter(tmp_path / "odd.mp4", fps=20, size=(65, 47)) as writer:
        writer.write(np.zeros((47, 65, 3), np.uint8))
        with pytest.raises(VideoError, match="expected 65x47"):
            writer.write(np.zeros((48, 64, 3), np.uint8))
    assert probe(tmp_path / "odd.mp4")[2:4] == (66, 48)


@pytest.fixture
def without_pyav(monkeypatch):
    """This machine as a plain `pip install trackside` leaves it: OpenCV's encoders only."""
    monkeypatch.setattr(video, "_pyav", lambda: None)
    video.available_formats.cache_clear()
    yield
    video.available_formats.cache_clear()


def test_without_pyav_mp4_falls_back_with_a_warning_and_webm_stays_playable(
    tmp_path, without_pyav, caplog
):
    mp4 = format_for("x.mp4")
    webm = format_for("x.webm")
    # The opencv-python wheels have no H.264 encoder but h264_v4l2m2m, which needs a Pi 4.
    if mp4.codec != "h264":
        assert (mp4.codec, mp4.browser_playable) == ("mpeg4", False)
        assert preferred_suffix() == ".webm"
        with caplog.at_level(logging.WARNING):
            VideoWriter(tmp_path / "x.mp4", fps=25, size=(64, 48)).close()
        assert "browsers and QuickTime often refuse" in caplog.text
        assert 'pip install "trackside[video]"' in caplog.text
    assert (webm.codec, webm.backend, webm.browser_playable) == ("vp8", "opencv", True)
    with VideoWriter(tmp_path / "x.webm", fps=25, size=(64, 48)) as writer:
        writer.write(np.zeros((48, 64, 3), np.uint8))
    assert probe(tmp_path / "x.webm")[0] == "vp8"


def test_preferred_suffix_is_mp4_where_h264_can_be_written():
    assert format_for("x.mp4").codec == "h264"  # PyAV is in the dev extra
    assert preferred_suffix() == ".mp4"


@pytest.mark.parametrize("background", [0, 255, 128])
def test_outlined_text_stands_out_on_any_background(background):
    image = np.full((100, 300, 3), background, np.uint8)
    style = TextStyle.for_image(image)
    draw_text(image, "stride 3: fault", (5, 50), style)
    box = image[20:60, 0:200].reshape(-1, 3)
    # White strokes and their black outline are both there, whatever the background.
    assert (box == 255).all(axis=1).sum() > 20
    assert (box == 0).all(axis=1).sum() > 20


def test_stride_verdicts_are_drawn_in_their_colours_bottom_left():
    report = stride_report(3)  # fault on arms.elbows_back, run tall ok
    image = np.full((360, 640, 3), 90, np.uint8)
    out = draw_stride(image, report)
    assert (image == 90).all(), "the input is not modified"
    changed = (out != 90).any(axis=2)
    rows, cols = np.nonzero(changed)
    assert rows.min() > 360 / 2 and cols.min() < 20  # a panel in the bottom-left corner
    pixels = out.reshape(-1, 3)
    for verdict in (Verdict.FAULT, Verdict.OK):
        assert (pixels == VERDICT_COLOURS[verdict]).all(axis=1).any(), verdict


def test_stride_at_picks_the_stride_under_way():
    reports = [stride_report(i, period_s=0.7) for i in range(3)]  # strides start 1.0, 1.7, 2.4
    assert stride_at(reports, 0.5) is None
    assert stride_at(reports, 1.0).stride.index == 0
    assert stride_at(reports, 1.69).stride.index == 0
    assert stride_at(reports, 2.0).stride.index == 1
    assert stride_at(reports, 3.0).stride.index == 2
    assert stride_at(reports, 3.2) is None  # the last stride ended at 3.1
