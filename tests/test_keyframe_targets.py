"""Keyframes draw the target (where the segment should be, by the cue's own limit) and one
value label that stays inside the picture — asserted on the drawn pixels of real poses."""

from __future__ import annotations

import math
from dataclasses import replace

import cv2
import numpy as np
import pytest
from dashboard_helpers import real_run

from edge.outputs.keyframe import (
    TARGET_COLOUR,
    VERDICT_COLOURS,
    draw_keyframe,
    place_label,
    render_keyframe,
    value_texts,
)
from edge.types import CueResult, Keypoint, Verdict

pytestmark = [pytest.mark.media, pytest.mark.model]


def _decoded(drawing) -> np.ndarray:
    """The picture as the dashboard gets it: through JPEG (colours smear a little)."""
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(drawing.picture, cv2.COLOR_RGB2BGR))
    assert ok
    return cv2.cvtColor(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _coloured(picture: np.ndarray, colour, tolerance: int = 150) -> np.ndarray:
    return np.abs(picture.astype(int) - np.array(colour)).sum(axis=2) < tolerance


def _share_on_line(mask: np.ndarray, a, b, radius: int = 2) -> float:
    """Share of points along a→b (every 2 px) with a ``mask`` pixel within ``radius``."""
    n = max(2, int(math.dist(a, b) / 2))
    hits = 0
    for i in range(n + 1):
        x = round(a[0] + (b[0] - a[0]) * i / n)
        y = round(a[1] + (b[1] - a[1]) * i / n)
        window = mask[max(0, y - radius) : y + radius + 1, max(0, x - radius) : x + radius + 1]
        hits += bool(window.any())
    return hits / (n + 1)


def _source_share(image, drawing, a, b) -> float:
    """The same share on the undrawn frame: the target colour must come from the drawing."""
    size = (drawing.picture.shape[1], drawing.frame_height)
    return _share_on_line(_coloured(cv2.resize(image, size), TARGET_COLOUR), a, b)


def _xy(pose, name: str, scale: float) -> np.ndarray:
    return pose.keypoints[Keypoint[name], :2].astype(float) * scale


def _forced(report, cue_id: str, threshold: float, verdict=Verdict.FAULT):
    """A real stride re-judged with a limit for ``cue_id`` (as an athlete's profile sets)."""
    cues = tuple(
        replace(c, verdict=verdict, threshold=threshold) if c.cue_id == cue_id else c
        for c in report.cues
    )
    return replace(report, cues=cues, worst_cue=cue_id, grade=verdict)


def _label_is_inside_and_inked(drawing, picture, colour) -> None:
    x0, y0, x1, y1 = drawing.label_box
    width, height = picture.shape[1], drawing.frame_height
    assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height, (drawing.label_box, width, height)
    box = picture[y0:y1, x0:x1]
    # A dark box with the value written in the verdict colour inside it.
    assert np.median(box) < 80
    assert _coloured(box, colour, 120).sum() > 30, "the value text should be in the box"


def _said_once(drawing, text: str) -> None:
    lines = (*drawing.label_lines, *drawing.caption_lines)
    assert sum(line.count(text) for line in lines) == 1, (text, lines)


@pytest.fixture(scope="module")
def run(media_dir, lightning_model):
    return real_run(media_dir, lightning_model)


def test_trunk_lean_fault_draws_the_trunk_at_its_limit_angle(run):
    report = next(
        r for r in run.flagged() if r.worst_cue == "posture.run_tall" and r.grade is Verdict.FAULT
    )
    cue = next(c for c in report.cues if c.cue_id == report.worst_cue)
    image, pose = run.frame_at(report.stride.foot_strike.time)
    drawing = draw_keyframe(image, pose, report)
    picture = _decoded(drawing)
    s = drawing.scale
    hip = (_xy(pose, "LEFT_HIP", s) + _xy(pose, "RIGHT_HIP", s)) / 2
    shoulder = (_xy(pose, "LEFT_SHOULDER", s) + _xy(pose, "RIGHT_SHOULDER", s)) / 2
    trunk = np.linalg.norm(shoulder - hip)
    # The runner leans forward (shoulders ahead of the hips): the limit line leans that way
    # too, at the cue's own limit from the vertical, as long as the trunk.
    ahead = np.sign(shoulder[0] - hip[0])
    angle = math.radians(cue.threshold)
    end = hip + trunk * np.array([ahead * math.sin(angle), -math.cos(angle)])
    assert len(drawing.target) == 1
    (a, b) = drawing.target[0]
    assert np.allclose(a, hip, atol=1.0) and np.allclose(b, end, atol=1.0)
    assert _share_on_line(_coloured(picture, TARGET_COLOUR), hip, end) > 0.6
    assert _source_share(image, drawing, hip, end) < 0.05
    _label_is_inside_and_inked(drawing, picture, VERDICT_COLOURS[cue.verdict])
    value, limit = value_texts(cue)
    assert value.endswith("°") and limit == f"{cue.threshold:.0f}°"
    _said_once(drawing, value)
    _said_once(drawing, limit)
    assert all(cue.cue_id not in line for line in drawing.caption_lines), "no internal id"
    # The coaching message starts with the cue's title: the title is not said twice.
    assert drawing.caption_lines[1:] == (cue.message,)


def test_hands_shoulder_height_draws_the_height_the_hand_should_reach(run):
    base = run.reports[5]
    report = _forced(base, "arms.hands_shoulder_height", -0.3)
    image, pose = run.frame_at(report.stride.foot_strike.time)
    drawing = draw_keyframe(image, pose, report)
    picture = _decoded(drawing)
    s, side = drawing.scale, drawing.target_side
    shoulder, elbow, wrist = (_xy(pose, f"{side}_{j}", s) for j in ("SHOULDER", "ELBOW", "WRIST"))
    arm = np.linalg.norm(elbow - shoulder) + np.linalg.norm(wrist - elbow)
    # 0.3 arm lengths below the shoulder (image y grows down), in front of the runner
    # (this clip's runner faces increasing x).
    y = shoulder[1] + 0.3 * arm
    a, b = (shoulder[0], y), (shoulder[0] + arm, y)
    assert drawing.target == ((pytest.approx(a, abs=1.0), pytest.approx(b, abs=1.0)),)
    assert _share_on_line(_coloured(picture, TARGET_COLOUR), a, b) > 0.6
    assert _source_share(image, drawing, a, b) < 0.05
    _label_is_inside_and_inked(drawing, picture, VERDICT_COLOURS[Verdict.FAULT])
    # The "-0.5" beside "limit -0.5": the value and the limit each said once, in
    # words, the unit not repeated.
    value = next(c.value for c in report.cues if c.cue_id == "arms.hands_shoulder_height")
    percent = f"{100 * value:.0f} %"
    assert value < -0.3  # this stride's hand stays below the limit: a fault to draw
    assert drawing.label_lines == (f"{percent} of arm length", "limit -30 %")
    _said_once(drawing, percent)
    _said_once(drawing, "-30 %")
    # With the athlete's height the same reading is in cm (arm = 0.332 x height, Winter).
    in_cm = draw_keyframe(image, pose, report, height_cm=170.0)
    arm_cm = 0.332 * 170.0
    assert in_cm.label_lines == (f"{value * arm_cm:.0f} cm", f"limit {-0.3 * arm_cm:.0f} cm")


def test_overstride_draws_the_vertical_under_the_hip_and_the_shank_limit(run):
    report = _forced(run.reports[5], "legs.overstride", 18.0, Verdict.WARN)
    image, pose = run.frame_at(report.stride.foot_strike.time)
    drawing = draw_keyframe(image, pose, report)
    picture = _decoded(drawing)
    s, side = drawing.scale, drawing.target_side
    hip, knee, ankle = (_xy(pose, f"{side}_{j}", s) for j in ("HIP", "KNEE", "ANKLE"))
    # The striking leg is the lower ankle.
    other = "RIGHT" if side == "LEFT" else "LEFT"
    assert ankle[1] >= _xy(pose, f"{other}_ANKLE", s)[1]
    plumb = ((hip[0], hip[1]), (hip[0], ankle[1]))
    shank = np.linalg.norm(ankle - knee)
    limit_end = knee + shank * np.array([math.sin(math.radians(18)), math.cos(math.radians(18))])
    mask = _coloured(picture, TARGET_COLOUR)
    for a, b in (plumb, (knee, limit_end)):
        assert _share_on_line(mask, a, b) > 0.6, (a, b)
        assert _source_share(image, drawing, a, b) < 0.05
    assert len(drawing.target) == 2
    _label_is_inside_and_inked(drawing, picture, VERDICT_COLOURS[Verdict.WARN])


def test_a_label_at_the_frame_edge_flips_inside_instead_of_being_cut(run):
    report = next(r for r in run.flagged() if r.worst_cue == "posture.run_tall")
    image, pose = run.frame_at(report.stride.foot_strike.time)
    # Crop the real frame just right of the shoulders, where the label is anchored.
    right = int(max(pose.keypoints[[Keypoint.LEFT_SHOULDER, Keypoint.RIGHT_SHOULDER], 0])) + 4
    cropped = np.ascontiguousarray(image[:, :right])
    drawing = draw_keyframe(cropped, pose, report)
    picture = _decoded(drawing)
    _label_is_inside_and_inked(drawing, picture, VERDICT_COLOURS[report.grade])
    x1 = drawing.label_box[2]
    anchor_x = right * drawing.scale
    assert x1 <= anchor_x, "flipped to the left of the anchor"
    assert render_keyframe(cropped, pose, report)[:2] == b"\xff\xd8"


def test_place_label_prefers_the_right_then_flips_then_clamps():
    assert place_label((400, 300), (100, 150), (80, 30)) == (108, 135, 188, 165)
    assert place_label((400, 300), (390, 150), (80, 30)) == (302, 135, 382, 165)
    # Too close to the top-right corner for any side: clamped inside.
    x0, y0, x1, y1 = place_label((100, 60), (95, 2), (90, 50))
    assert x0 >= 0 and y0 >= 0 and x1 <= 100 and y1 <= 60
    # A box wider than the frame is cut to the frame, never placed outside it.
    assert place_label((50, 50), (25, 25), (80, 10))[::2] == (0, 50)


def test_value_texts_never_read_the_same_as_the_limit():
    near = CueResult("posture.run_tall", Verdict.WARN, 0.07, "deg", "m", threshold=0.1)
    assert value_texts(near) == ("0.07°", "0.10°")
    far = CueResult("posture.run_tall", Verdict.FAULT, 26.7, "deg", "m", threshold=18.1)
    assert value_texts(far) == ("27°", "18°")
    cm = CueResult("arms.elbows_back", Verdict.WARN, 0.2, "leg_length", "m", threshold=0.3)
    assert value_texts(cm, height_cm=180) == ("19 cm", "29 cm")
    unmeasured = CueResult("legs.overstride", Verdict.UNKNOWN, float("nan"), "deg", "m")
    assert value_texts(unmeasured) == ("not measured", None)
