"""Keyframes: drawn on a real frame with the real pose, picked and rate-limited, published."""

from __future__ import annotations

import json
from dataclasses import replace

import cv2
import numpy as np
import pytest
from dashboard_helpers import real_run
from mqtt_helpers import validator

from edge.outputs.keyframe import (
    METRIC_SEGMENTS,
    VERDICT_COLOURS,
    KeyframePicker,
    focus_cue,
    render_keyframe,
)
from edge.outputs.mqtt import MqttPublisher
from edge.outputs.mqtt.payloads import Keyframe
from edge.testing.dashboard import publisher_config
from edge.testing.mosquitto import Broker
from edge.testing.mqtt import Subscriber, stride_report
from edge.types import Keypoint, Verdict


def _decode(jpeg: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None, "not a decodable JPEG"
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@pytest.mark.media
@pytest.mark.model
def test_real_keyframe_draws_the_worst_cues_segment_in_its_verdict_colour(
    media_dir, lightning_model
):
    run = real_run(media_dir, lightning_model)
    flagged = run.flagged()
    assert flagged
    # Every flagged stride's picture adds its verdict colour; the closer checks below want a
    # limb's segment (a head cue's ear-to-nose segment is a few pixels long on this clip).
    for report in flagged:
        image, pose = run.frame_at(report.stride.foot_strike.time)
        added, _, _ = _verdict_pixels(image, pose, report)
        assert added.sum() > 0, (report.stride.index, report.worst_cue)
    report = next(r for r in flagged if not r.worst_cue.startswith("head."))
    image, pose = run.frame_at(report.stride.foot_strike.time)
    before = image.copy()
    added, picture, scale = _verdict_pixels(image, pose, report)
    assert np.array_equal(image, before), "the input frame must not be modified"
    h, w = image.shape[:2]
    # The picture is the frame (scaled) plus a caption band underneath.
    assert picture.shape[1] == round(w * scale) and picture.shape[0] > round(h * scale)
    cue = focus_cue(report)
    assert cue is not None and cue.cue_id == report.worst_cue
    assert added.sum() > 200, "the segment should be drawn in the verdict colour"
    # The highlight sits on the body, near the keypoints the cue's metric reads.
    _ys, xs = np.nonzero(added)
    seen = pose.keypoints[pose.keypoints[:, 2] >= 0.3]
    assert seen[:, 0].min() * scale - 60 <= np.median(xs) <= seen[:, 0].max() * scale + 60
    # The caption band is dark with light text: the message is there to read.
    band = picture[round(h * scale) :]
    assert band.mean() < 80 and band.max() > 200


def _verdict_pixels(image, pose, report):
    """Pixels of the keyframe in the focus cue's verdict colour that the frame did not have."""
    picture = _decode(render_keyframe(image, pose, report))
    h, w = image.shape[:2]
    scale = max(1.0, 480 / w) if w < 480 else min(1.0, 800 / w)
    cue = focus_cue(report)
    colour = np.array(VERDICT_COLOURS[cue.verdict])
    height = round(h * scale)
    close = np.abs(picture[:height].astype(int) - colour).sum(axis=2) < 60
    resized = cv2.resize(image, (picture.shape[1], height)).astype(int)
    original = np.abs(resized - colour).sum(axis=2) < 60
    return close & ~original, picture, scale


def test_every_judged_cue_metric_has_a_drawing():
    from edge.cues.catalogue import CATALOGUE

    for cue in CATALOGUE:
        if cue.judged:
            assert cue.metric in METRIC_SEGMENTS, cue.id


def test_render_refuses_a_grey_image():
    report = stride_report(0)
    from edge.types import Pose

    pose = Pose(0.0, 0, np.zeros((17, 3), np.float32), (64, 48))
    with pytest.raises(ValueError, match="RGB"):
        render_keyframe(np.zeros((48, 64), np.uint8), pose, report)


def _pose(t: float):
    from edge.types import Pose

    keypoints = np.full((17, 3), 0.9, np.float32)
    keypoints[:, :2] = np.arange(34).reshape(17, 2)
    keypoints[Keypoint.LEFT_ANKLE, 1] = 40
    return Pose(t, int(t * 10), keypoints, (64, 48))


def test_picker_takes_the_first_frame_touching_rate_limited():
    picker = KeyframePicker(window_s=2.0, min_interval_s=5.0)
    image = np.zeros((48, 64, 3), np.uint8)
    for i in range(40):  # 4 s at 10 fps; only the last 2 s are kept
        picker.add(image, _pose(i / 10 + 0.08))  # frames at 3.08, 3.18, ... s
    fault = stride_report(3)  # foot strike at 1.0 + 3 * 0.7 = 3.1 s, graded fault
    chosen = picker.take(fault)
    # 3.18 s, after the strike, not the nearer 3.08 s frame where the foot is still in the air
    assert chosen is not None and chosen[1].timestamp == pytest.approx(3.18)
    assert picker.take(stride_report(4)) is None, "within 5 s of the last picture"
    ok = replace(fault, grade=Verdict.OK)
    picker2 = KeyframePicker()
    picker2.add(image, _pose(3.1))
    assert picker2.take(ok) is None, "an ok stride gets no picture"
    old = stride_report(0)  # foot strike at 1.0 s: no longer in the 2 s window
    assert KeyframePicker().take(old) is None
    picker3 = KeyframePicker(window_s=2.0)
    for i in range(40):
        picker3.add(image, _pose(i / 10))
    assert picker3.take(old) is None


def test_publish_keyframe_is_retained_with_valid_metadata(tmp_path):
    jpeg = render_keyframe(np.full((120, 160, 3), 90, np.uint8), _pose(3.1), stride_report(3))
    broker = Broker(tmp_path / "broker")
    broker.start()
    publisher = MqttPublisher(publisher_config(broker.port, "pi-kf", tmp_path / "ob"))
    try:
        publisher.start()
        assert publisher.link.wait_connected(10)
        message_id = publisher.publish_keyframe(
            Keyframe(
                jpeg,
                stride_index=3,
                cue_id="arms.elbows_back",
                time_s=3.1,
                verdict="fault",
                message="Elbows back",
            )
        )
        probe = Subscriber(broker.port, ["trackside/pi-kf/availability"])
        probe.wait_for(lambda ms: bool(ms))  # the publisher is connected and publishing
        probe.close()
        # A late subscriber still gets both, retained: the picture and what it shows.
        late = Subscriber(
            broker.port, ["trackside/pi-kf/keyframe", "trackside/pi-kf/keyframe/meta"]
        )
        messages = late.wait_for(lambda ms: len({t for t, _p, _r in ms}) == 2)
        late.close()
    finally:
        publisher.stop()
        broker.stop()
    by_topic = {t: (p, r) for t, p, r in messages}
    picture, retained = by_topic["trackside/pi-kf/keyframe"]
    assert retained and picture == jpeg
    meta_bytes, retained = by_topic["trackside/pi-kf/keyframe/meta"]
    meta = json.loads(meta_bytes)
    assert retained and meta["message_id"] == message_id
    validator("keyframe_meta").validate(meta)
    assert meta["size_bytes"] == len(jpeg) and meta["group"] == "arms"
    assert meta["stride_index"] == 3 and meta["verdict"] == "fault"
