"""Keyframes: the picture at a stride's foot strike, with the angle a coach should look at.

:func:`render_keyframe` is the pure part: an RGB frame, the pose found in it and the judged
stride in, a JPEG out.  It draws the skeleton faintly, then — for the stride's worst cue —
the body segment its metric reads, thick and in the verdict's colour, with the reference
line the angle is measured from (the vertical for trunk lean...), the *target* dashed in
:data:`TARGET_COLOUR` — where the segment should be by the cue's own limit, e.g. the trunk at
the limit angle, the plumb line under the hip where the foot should land, the height the
hand should reach (:mod:`edge.outputs.keyframe_targets`) — and one label beside the segment
with the value in coaching units and the limit, placed inside the frame (flipped to the
other side or clamped at an edge, never cut).  A caption band under the frame gives the
stride, the cue's title and the coaching message; the value is said once, in the caption
only when the picture has no label for it.  :func:`draw_keyframe` returns the picture with
where the target and the label went.

:class:`KeyframePicker` is the small stateful helper the daemon feeds: it keeps the last
couple of seconds of ``(image, pose)`` and, for a stride graded ``warn`` or ``fault``, hands
back the first frame at or after its foot strike — at most one every ``min_interval_s`` seconds of
source time, so a bad patch of running does not flood the broker with pictures::

    picker = KeyframePicker()
    picker.add(frame.image, pose)                 # every analysed frame
    chosen = picker.take(report)                  # every judged stride
    if chosen is not None:
        jpeg = render_keyframe(*chosen, report)
        publisher.publish_keyframe(Keyframe(jpeg, stride_index=report.stride.index, ...))
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from itertools import pairwise

import cv2
import numpy as np

from edge.cues.catalogue import CUES_BY_ID
from edge.gait.facing import facing_direction
from edge.outputs.keyframe_targets import Point, Segment, cue_target, keypoint_xy
from edge.outputs.mqtt.payloads import Keyframe
from edge.outputs.units import human_value
from edge.types import SKELETON_EDGES, CueResult, Keypoint, Pose, StrideReport, Verdict

# RGB colours per verdict (traffic light; grey when the cue was not judged).
_GREY = (170, 170, 170)
VERDICT_COLOURS: dict[Verdict, tuple[int, int, int]] = {
    Verdict.OK: (40, 200, 90),
    Verdict.WARN: (255, 180, 0),
    Verdict.FAULT: (235, 50, 50),
    Verdict.UNKNOWN: _GREY,
    Verdict.INFO: _GREY,
    Verdict.UNRELIABLE: _GREY,
}
_SKELETON = (210, 210, 210)
_REFERENCE = (90, 200, 255)
#: Where the segment should be (edge.outputs.keyframe_targets): magenta, a colour the
#: verdicts, the reference lines and running scenes rarely use.
TARGET_COLOUR = (255, 0, 255)
_CAPTION_BG = (20, 24, 30)
MAX_WIDTH = 800  # wider frames are scaled down: the JPEG travels over MQTT
JPEG_QUALITY = 80

# What each metric reads: a chain of points per side ("near"/left first) and the reference
# line its angle or distance is measured against ("vertical", "horizontal" or None).
# A point is a keypoint, or "MID_HIP"/"MID_SHOULDER" (the midpoint of the pair).
_LEG = ("HIP", "KNEE", "ANKLE")
_ARM = ("SHOULDER", "ELBOW", "WRIST")
METRIC_SEGMENTS: dict[str, tuple[tuple[str, ...], str | None, str]] = {
    # metric key: (chain, reference, which side to draw)
    "trunk_lean_deg": (("MID_HIP", "MID_SHOULDER"), "vertical", "centre"),
    "trunk_lean_at_foot_strike_deg": (("MID_HIP", "MID_SHOULDER"), "vertical", "centre"),
    "overstride_leg_length": (("HIP", "ANKLE"), "vertical", "strike"),
    "overstride_cm": (("HIP", "ANKLE"), "vertical", "strike"),
    "shank_angle_at_foot_strike_deg": (("KNEE", "ANKLE"), "vertical", "strike"),
    "peak_shank_angle_before_strike_deg": (("KNEE", "ANKLE"), "vertical", "strike"),
    "peak_reach_before_strike_leg_length": (("HIP", "ANKLE"), "vertical", "strike"),
    "hip_ahead_of_ankle_midstance_leg_length": (("ANKLE", "HIP"), "vertical", "strike"),
    "knee_flexion_at_foot_strike_deg": (_LEG, None, "strike"),
    "peak_knee_flexion_stance_deg": (_LEG, None, "strike"),
    "peak_knee_flexion_swing_deg": (_LEG, None, "swing"),
    "peak_thigh_angle_swing_deg": (("HIP", "KNEE"), "vertical", "swing"),
    "hip_extension_at_toe_off_deg": (("MID_SHOULDER", "HIP", "KNEE"), None, "strike"),
    "head_pitch_deg": (("EAR", "NOSE"), "horizontal", "best"),
    "head_forward_leg_length": (("MID_SHOULDER", "EAR"), "vertical", "best"),
    "elbow_behind_hip_leg_length": (_ARM[:2], "vertical", "best"),
    "elbow_angle_mean_deg": (_ARM, None, "best"),
    "elbow_angle_min_deg": (_ARM, None, "best"),
    "wrist_height_forward_arm_length": (_ARM, "horizontal", "best"),
    "shoulder_tilt_max_deg": (("LEFT_SHOULDER", "RIGHT_SHOULDER"), "horizontal", "centre"),
    "wrist_crossing_shoulder_width": (
        ("LEFT_WRIST", "LEFT_SHOULDER", "RIGHT_SHOULDER", "RIGHT_WRIST"),
        None,
        "centre",
    ),
    "vertical_oscillation_leg_length": (("MID_HIP",), "horizontal", "centre"),
    "vertical_oscillation_cm": (("MID_HIP",), "horizontal", "centre"),
}


def focus_cue(report: StrideReport) -> CueResult | None:
    """The cue a keyframe is about: the stride's worst cue, else its worst judged one."""
    by_id = {c.cue_id: c for c in report.cues}
    if report.worst_cue in by_id:
        return by_id[report.worst_cue]
    rank = {Verdict.FAULT: 0, Verdict.WARN: 1, Verdict.OK: 2}
    judged = [c for c in report.cues if c.verdict in rank]
    return min(judged, key=lambda c: rank[c.verdict]) if judged else None


def ascii_text(text: str) -> str:
    """OpenCV's Hershey fonts draw ASCII only."""
    text = text.replace("°", " deg").replace("≥", ">=").replace("≤", "<=").replace("—", "-")
    text = text.replace("×", "x")
    return text.encode("ascii", "replace").decode("ascii")


def value_texts(cue: CueResult, height_cm: float | None = None) -> tuple[str, str | None]:
    """The cue's value and its limit in coaching units (``"27°"``, ``"18°"``), each said
    once; a value that would read the same as its limit gets more decimals."""
    if not math.isfinite(cue.value):
        return (f"not measured ({cue.reason})" if cue.reason else "not measured"), None
    if cue.threshold is None or not math.isfinite(cue.threshold):
        return human_value(cue.value, cue.unit, height_cm), None
    for extra in range(3):
        value = human_value(cue.value, cue.unit, height_cm, extra_digits=extra)
        limit = human_value(cue.threshold, cue.unit, height_cm, extra_digits=extra)
        if value != limit:
            break
    # "-30 % of arm length" beside "-45 % of arm length" needs no second "of arm length".
    number, _, unit_words = limit.partition(" ")
    if " " in unit_words and value.endswith(unit_words):
        limit = f"{number} {unit_words.split()[0]}"
    return value, limit


def _pick_side(pose: Pose, chain: tuple[str, ...], rule: str, min_score: float) -> str:
    """``LEFT`` or ``RIGHT``: the striking leg (lower ankle), the other, or the clearer side."""
    kp = pose.keypoints
    la, ra = kp[Keypoint.LEFT_ANKLE], kp[Keypoint.RIGHT_ANKLE]
    if rule in ("strike", "swing") and la[2] >= min_score and ra[2] >= min_score:
        striking = "LEFT" if la[1] >= ra[1] else "RIGHT"
        if rule == "strike":
            return striking
        return "RIGHT" if striking == "LEFT" else "LEFT"

    def score(side: str) -> float:
        names = [n for n in chain if not n.startswith("MID_") and n != "NOSE"]
        idx = [Keypoint[f"{side}_{n}"] for n in names if f"{side}_{n}" in Keypoint.__members__]
        return float(np.mean([kp[i, 2] for i in idx])) if idx else 0.0

    return "LEFT" if score("LEFT") >= score("RIGHT") else "RIGHT"


def _ipt(p: tuple[float, float], scale: float) -> tuple[int, int]:
    return round(p[0] * scale), round(p[1] * scale)


def _rnd(p: Point) -> tuple[int, int]:
    return round(p[0]), round(p[1])


Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive) in picture pixels


@dataclass(frozen=True)
class KeyframeDrawing:
    """A keyframe before JPEG encoding, with where things were drawn (picture pixels)."""

    picture: np.ndarray  # RGB: the scaled frame with the caption band under it
    frame_height: int  # rows of ``picture`` that are the frame; the caption band follows
    scale: float  # picture pixels per source pixel
    target: tuple[Segment, ...]  # the dashed target lines, in TARGET_COLOUR
    target_side: str | None  # "LEFT"/"RIGHT": whose limb the segment and target are
    label_box: Box | None  # the value label beside the segment, inside the frame
    label_lines: tuple[str, ...]
    caption_lines: tuple[str, ...]


def render_keyframe(
    image_rgb: np.ndarray,
    pose: Pose,
    report: StrideReport,
    *,
    min_score: float = 0.3,
    direction: int | None = None,
    height_cm: float | None = None,
) -> bytes:
    """A JPEG of :func:`draw_keyframe`'s picture."""
    drawing = draw_keyframe(
        image_rgb, pose, report, min_score=min_score, direction=direction, height_cm=height_cm
    )
    ok, buffer = cv2.imencode(
        ".jpg",
        cv2.cvtColor(drawing.picture, cv2.COLOR_RGB2BGR),
        [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY],
    )
    if not ok:  # pragma: no cover - OpenCV fails only on impossible images
        raise ValueError("JPEG encoding failed")
    return buffer.tobytes()


def draw_keyframe(
    image_rgb: np.ndarray,
    pose: Pose,
    report: StrideReport,
    *,
    min_score: float = 0.3,
    direction: int | None = None,
    height_cm: float | None = None,
) -> KeyframeDrawing:
    """``image_rgb`` with the skeleton, the worst cue's segment and its target drawn on it.

    ``pose`` must be the pose found in ``image_rgb`` (source pixels); ``report`` is the
    judged stride the picture illustrates.  ``direction`` (+1: the runner faces increasing
    x) defaults to the pose's own facing; ``height_cm`` turns body lengths into cm.  Pure:
    no I/O, the input is not modified.
    """
    if image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
        raise ValueError(f"expected an H×W×3 RGB image, got shape {image_rgb.shape}")
    h, w = image_rgb.shape[:2]
    scale = min(1.0, MAX_WIDTH / w)
    # Small frames (GIFs, lores streams) are enlarged so lines and text stay legible.
    if w < 480:
        scale = 480 / w
    canvas = cv2.resize(
        image_rgb,
        (round(w * scale), round(h * scale)),
        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
    )
    canvas = np.ascontiguousarray(canvas)
    thick = max(2, round(canvas.shape[1] / 300))

    kp = pose.keypoints
    for a, b in SKELETON_EDGES:
        if kp[a, 2] >= min_score and kp[b, 2] >= min_score:
            cv2.line(
                canvas,
                _ipt(tuple(kp[a, :2]), scale),
                _ipt(tuple(kp[b, :2]), scale),
                _SKELETON,
                max(1, thick // 2),
                cv2.LINE_AA,
            )
    for x, y, s in kp:
        if s >= min_score:
            cv2.circle(canvas, _ipt((x, y), scale), thick + 1, _SKELETON, -1, cv2.LINE_AA)

    cue = focus_cue(report)
    colour = VERDICT_COLOURS[cue.verdict] if cue else VERDICT_COLOURS[Verdict.UNKNOWN]
    if direction is None:
        direction = facing_direction(kp[None], min_score)
    drawn = None
    if cue is not None:
        drawn = _draw_cue(canvas, pose, cue, colour, scale, thick, min_score, direction)
    target: tuple[Segment, ...] = ()
    label_box: Box | None = None
    label_lines: tuple[str, ...] = ()
    value, limit = value_texts(cue, height_cm) if cue else ("", None)
    if drawn is not None and cue is not None and math.isfinite(cue.value):
        anchor, chain, target, _side = drawn
        label_lines = (value, f"limit {limit}") if limit else (value,)
        label_box = _draw_label(canvas, label_lines, anchor, (*chain, *target), colour, thick)
    caption = _caption_lines(report, cue, value, limit, on_picture=bool(label_lines))
    out = _caption(canvas, caption, colour)
    return KeyframeDrawing(
        out,
        canvas.shape[0],
        scale,
        target,
        drawn[3] if drawn else None,
        label_box,
        label_lines,
        tuple(caption),
    )


def _draw_cue(
    canvas: np.ndarray,
    pose: Pose,
    cue: CueResult,
    colour: tuple[int, int, int],
    scale: float,
    thick: int,
    min_score: float,
    direction: int,
) -> tuple[tuple[int, int], tuple[Segment, ...], tuple[Segment, ...], str] | None:
    """Draws the cue's reference line, its target and its segment; returns the label's
    anchor, the segment's and the target's lines (picture pixels) and the limb's side, or
    ``None`` when the cue has no segment to draw."""
    spec = CUES_BY_ID.get(cue.cue_id)
    metric = spec.metric if spec is not None else None
    if metric is None or metric not in METRIC_SEGMENTS:
        return None
    chain, reference, rule = METRIC_SEGMENTS[metric]
    side = _pick_side(pose, chain, rule, min_score)
    points = [keypoint_xy(pose, name, side, min_score) for name in chain]
    seen = [_ipt(p, scale) for p in points if p is not None]
    if not seen:
        return None
    anchor = seen[0]
    length = max(40, round(0.25 * canvas.shape[0]))
    end = anchor
    if reference == "vertical":
        # The plumb line the angle (or distance) is measured from, from the chain's base.
        end = (
            (anchor[0], anchor[1] - length)
            if len(seen) > 1 and seen[1][1] < anchor[1]
            else (anchor[0], anchor[1] + length)
        )
        _dashed(canvas, anchor, end, _REFERENCE, thick)
    elif reference == "horizontal":
        _dashed(
            canvas,
            (anchor[0] - length // 2, anchor[1]),
            (anchor[0] + length // 2, anchor[1]),
            _REFERENCE,
            thick,
        )
    # Over the reference line, which is only a guide; under the body's segment: where the
    # two differ the target shows, where they meet the body does (it is the reading).
    goal = cue_target(
        pose, metric, cue.threshold, direction=direction, side=side, min_score=min_score
    )
    target: tuple[Segment, ...] = ()
    if goal is not None:
        target = tuple(
            ((a[0] * scale, a[1] * scale), (b[0] * scale, b[1] * scale)) for a, b in goal.segments
        )
        for a, b in target:
            _dashed(
                canvas, _rnd(a), _rnd(b), TARGET_COLOUR, thick + 1, dash=3 * thick, gap=2 * thick
            )
    for a, b in pairwise(seen):
        cv2.line(canvas, a, b, colour, thick * 2, cv2.LINE_AA)
    for p in seen:
        cv2.circle(canvas, p, thick * 2, colour, -1, cv2.LINE_AA)
    if len(seen) >= 2 and reference == "vertical":
        _arc_between(canvas, anchor, seen[1], end, colour, thick)
    chain_lines: tuple[Segment, ...] = tuple(
        ((float(a[0]), float(a[1])), (float(b[0]), float(b[1]))) for a, b in pairwise(seen)
    )
    if len(seen) == 1:
        only = (float(seen[0][0]), float(seen[0][1]))
        chain_lines = ((only, only),)
    return seen[-1], chain_lines, target, side


def _dashed(
    canvas: np.ndarray,
    a: tuple[int, int],
    b: tuple[int, int],
    colour: tuple[int, int, int],
    thick: int,
    *,
    dash: int | None = None,
    gap: int | None = None,
) -> None:
    """A dashed line (``dash`` px drawn, ``gap`` px skipped; both ``2 × thick`` by default)."""
    dash = dash or 2 * thick
    gap = gap or 2 * thick
    length = math.dist(a, b)
    if length < 1:
        return
    ux, uy = (b[0] - a[0]) / length, (b[1] - a[1]) / length
    at = 0.0
    while at < length:
        stop = min(length, at + dash)
        p = (round(a[0] + ux * at), round(a[1] + uy * at))
        q = (round(a[0] + ux * stop), round(a[1] + uy * stop))
        cv2.line(canvas, p, q, colour, max(1, thick - 1), cv2.LINE_AA)
        at = stop + gap


def _arc_between(
    canvas: np.ndarray,
    centre: tuple[int, int],
    p: tuple[int, int],
    q: tuple[int, int],
    colour: tuple[int, int, int],
    thick: int,
) -> None:
    a1 = math.degrees(math.atan2(p[1] - centre[1], p[0] - centre[0]))
    a2 = math.degrees(math.atan2(q[1] - centre[1], q[0] - centre[0]))
    if abs(a2 - a1) > 180:
        a2 += 360 if a2 < a1 else -360
    radius = max(12, round(0.4 * min(math.dist(centre, p), math.dist(centre, q))))
    cv2.ellipse(
        canvas,
        centre,
        (radius, radius),
        0,
        min(a1, a2),
        max(a1, a2),
        colour,
        max(1, thick - 1),
        cv2.LINE_AA,
    )


_FONT = cv2.FONT_HERSHEY_SIMPLEX


def place_label(
    frame_wh: tuple[int, int],
    anchor: tuple[int, int],
    box_wh: tuple[int, int],
    avoid: tuple[Segment, ...] = (),
    *,
    gap: int = 8,
) -> Box:
    """Where a ``box_wh`` label beside ``anchor`` goes: right of it, else left, above or
    below, whichever fits inside the frame and covers least of the ``avoid`` lines; the
    chosen box is then clamped inside the frame, so text is never cut at the edge."""
    fw, fh = frame_wh
    bw, bh = min(box_wh[0], fw), min(box_wh[1], fh)
    ax, ay = anchor
    candidates = [
        (ax + gap, ay - bh // 2),
        (ax - gap - bw, ay - bh // 2),
        (ax - bw // 2, ay - gap - bh),
        (ax - bw // 2, ay + gap),
    ]
    samples = [
        (a[0] + (b[0] - a[0]) * i / 20, a[1] + (b[1] - a[1]) * i / 20)
        for a, b in avoid
        for i in range(21)
    ]

    def cost(xy: tuple[int, int]) -> tuple[bool, int]:
        x, y = xy
        outside = x < 0 or y < 0 or x + bw > fw or y + bh > fh
        covered = sum(x <= px < x + bw and y <= py < y + bh for px, py in samples)
        return outside, covered

    x, y = min(candidates, key=cost)
    x = max(0, min(x, fw - bw))
    y = max(0, min(y, fh - bh))
    return x, y, x + bw, y + bh


def _draw_label(
    canvas: np.ndarray,
    lines: tuple[str, ...],
    anchor: tuple[int, int],
    avoid: tuple[Segment, ...],
    colour: tuple[int, int, int],
    thick: int,
) -> Box:
    """The value label: a dark box with the value (verdict colour) and the limit."""
    fh, fw = canvas.shape[:2]
    texts = [ascii_text(t) for t in lines]
    font_scale = 0.45 + thick * 0.1
    weight = max(1, thick - 1)
    pad = 2 * thick
    while True:
        sizes = [cv2.getTextSize(t, _FONT, font_scale, weight) for t in texts]
        box_w = max(s[0][0] for s in sizes) + 2 * pad
        if box_w <= fw - 4 or font_scale <= 0.3:
            break
        font_scale -= 0.05  # a narrow frame: a smaller font rather than a cut label
    line_h = max(s[0][1] + s[1] for s in sizes) + pad
    box = place_label((fw, fh), anchor, (box_w, line_h * len(texts) + pad), avoid)
    x0, y0, x1, y1 = box
    cv2.rectangle(canvas, (x0, y0), (x1 - 1, y1 - 1), _CAPTION_BG, -1)
    for i, text in enumerate(texts):
        baseline = y0 + pad + (i + 1) * line_h - pad - sizes[i][1] // 2
        cv2.putText(
            canvas,
            text,
            (x0 + pad, baseline),
            _FONT,
            font_scale,
            colour if i == 0 else (235, 235, 235),
            weight,
            cv2.LINE_AA,
        )
    return box


def _caption_lines(
    report: StrideReport,
    cue: CueResult | None,
    value: str,
    limit: str | None,
    *,
    on_picture: bool,
) -> list[str]:
    """The caption: the stride, the cue's title (with its value only when the picture has
    no label for it, so the value is said once) and the coaching message."""
    stride = report.stride
    lines = [
        f"Stride {stride.index} - foot strike {stride.foot_strike.time:.2f} s - "
        f"{report.grade.value.upper()}"
    ]
    if cue is not None:
        spec = CUES_BY_ID.get(cue.cue_id)
        title = spec.title if spec is not None else cue.cue_id
        if not on_picture:
            title += f": {value}" + (f" (limit {limit})" if limit else "")
        if not cue.message.startswith(title):  # "Run tall: lift your chest..." says it
            lines.append(title)
        lines.append(cue.message)
    return lines


def _wrap(text: str, width: int, font_scale: float) -> list[str]:
    """``text`` split at spaces into lines at most ``width`` pixels wide."""
    lines: list[str] = []
    for word in text.split():
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and cv2.getTextSize(trial, _FONT, font_scale, 1)[0][0] <= width:
            lines[-1] = trial
        else:
            lines.append(word)
    return lines or [""]


def _caption(canvas: np.ndarray, lines: list[str], colour: tuple[int, int, int]) -> np.ndarray:
    w = canvas.shape[1]
    font_scale = max(0.45, w / 1400)
    line_h = round(30 * font_scale / 0.6)
    rows: list[tuple[str, tuple[int, int, int]]] = []
    for i, text in enumerate(lines):
        for part in _wrap(ascii_text(text), w - 16, font_scale):
            rows.append((part, colour if i == 0 else (235, 235, 235)))
    band = np.full((line_h * len(rows) + line_h // 2, w, 3), _CAPTION_BG, np.uint8)
    for i, (text, ink) in enumerate(rows):
        cv2.putText(
            band, text, (8, line_h * (i + 1) - line_h // 4), _FONT, font_scale, ink, 1, cv2.LINE_AA
        )
    return np.vstack([canvas, band])


@dataclass
class KeyframePicker:
    """Keeps recent ``(image, pose)`` pairs and picks the frame for a stride worth a picture.

    All times are on the source clock (``pose.timestamp``), so it behaves the same on a
    live camera and on a replayed clip.  ``max_frames`` bounds memory whatever the frame rate.
    """

    window_s: float = 2.0
    min_interval_s: float = 5.0
    max_frames: int = 64

    def __post_init__(self) -> None:
        self._frames: deque[tuple[np.ndarray, Pose]] = deque(maxlen=self.max_frames)
        self._last_taken: float | None = None
        self._last_clean: float | None = None

    def add(self, image_rgb: np.ndarray, pose: Pose) -> None:
        """Remember one analysed frame (call for every frame the pose stage ran on)."""
        self._frames.append((image_rgb, pose))
        newest = pose.timestamp
        while self._frames and self._frames[0][1].timestamp < newest - self.window_s:
            self._frames.popleft()

    def facing(self, min_score: float = 0.3) -> int | None:
        """Which way the runner faces over the kept frames (+1: increasing image x), a
        steadier reading than one frame's; ``None`` with no frame kept."""
        if not self._frames:
            return None
        return facing_direction(np.stack([p.keypoints for _, p in self._frames]), min_score)

    def take(self, report: StrideReport) -> tuple[np.ndarray, Pose] | None:
        """The first frame at or after the stride's foot strike (the foot on the ground),
        if it deserves a picture now.

        ``None`` for an ``ok``/``unknown`` stride, within ``min_interval_s`` of the last
        picture, or when the foot strike is no longer (or not yet) in the window.
        """
        if report.grade not in (Verdict.WARN, Verdict.FAULT):
            return None
        return self._pick(report, "_last_taken")

    def take_clean(self, report: StrideReport) -> tuple[np.ndarray, Pose] | None:
        """The frame of an ``ok`` stride, for the session's *best strides* (its own rate
        limit, so clean pictures never crowd out the faults')."""
        if report.grade is not Verdict.OK:
            return None
        return self._pick(report, "_last_clean")

    def _pick(self, report: StrideReport, last: str) -> tuple[np.ndarray, Pose] | None:
        if not self._frames:
            return None
        t = report.stride.foot_strike.time
        taken = getattr(self, last)
        # A clock that went back (a new clip or source) starts the rate limit afresh.
        if taken is not None and 0 <= t - taken < self.min_interval_s:
            return None
        # The first frame at or after the strike: the foot is on the ground there (the
        # nearest frame may be the one before contact, the foot still in the air).  A
        # sub-frame strike a hair after a frame still counts that frame (1 ms).
        touching = [fp for fp in self._frames if fp[1].timestamp >= t - 0.001]
        if not touching:
            return None
        image, pose = min(touching, key=lambda fp: fp[1].timestamp)
        if pose.timestamp - t > 0.25:
            return None
        setattr(self, last, t)
        return image, pose


def stride_severity(report: StrideReport) -> int:
    """A stride's badness: each fault weighs 3, each warning 1 (the report's ranking)."""
    weights = {Verdict.FAULT: 3, Verdict.WARN: 1}
    return sum(weights.get(c.verdict, 0) for c in report.cues)


def keyframe_of(report: StrideReport, jpeg: bytes, *, history_only: bool = False) -> Keyframe:
    """The stride's rendered picture with what it shows: its focus cue and its severity."""
    cue = focus_cue(report)
    return Keyframe(
        jpeg,
        stride_index=report.stride.index,
        cue_id=cue.cue_id if cue else None,
        time_s=report.stride.foot_strike.time,
        verdict=cue.verdict.value if cue else None,
        message=cue.message if cue else "",
        severity=stride_severity(report),
        history_only=history_only,
    )
