"""Keyframes: the picture at a stride's foot strike, with the angle a coach should look at.

:func:`render_keyframe` is the pure part: an RGB frame, the pose found in it and the judged
stride in, a JPEG out.  It draws the skeleton faintly, then — for the stride's worst cue —
the body segment its metric reads, thick and in the verdict's colour, with the reference
line the angle is measured from (the vertical for trunk lean, the hip's plumb line for
overstride...) and a caption band with the coaching message and the measured value.

:class:`KeyframePicker` is the small stateful helper the daemon feeds: it keeps the last
couple of seconds of ``(image, pose)`` and, for a stride graded ``warn`` or ``fault``, hands
back the frame nearest its foot strike — at most one every ``min_interval_s`` seconds of
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
from edge.outputs.mqtt.payloads import Keyframe
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


def _format_value(cue: CueResult) -> str:
    if not math.isfinite(cue.value):
        return f"not measured ({cue.reason})" if cue.reason else "not measured"
    text = f"{cue.value:.2f} {cue.unit}"
    if cue.threshold is not None:
        text += f" (limit {cue.threshold:g})"
    return text


def _point(pose: Pose, name: str, side: str, min_score: float) -> tuple[float, float] | None:
    kp = pose.keypoints
    if name.startswith("MID_"):
        part = name[4:]
        a, b = Keypoint[f"LEFT_{part}"], Keypoint[f"RIGHT_{part}"]
        seen = [i for i in (a, b) if kp[i, 2] >= min_score]
        if not seen:
            return None
        return (float(np.mean([kp[i, 0] for i in seen])), float(np.mean([kp[i, 1] for i in seen])))
    if name in Keypoint.__members__:
        index = Keypoint[name]
    elif name == "NOSE":
        index = Keypoint.NOSE
    else:
        index = Keypoint[f"{side}_{name}"]
    if kp[index, 2] < min_score:
        return None
    return float(kp[index, 0]), float(kp[index, 1])


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


def render_keyframe(
    image_rgb: np.ndarray, pose: Pose, report: StrideReport, *, min_score: float = 0.3
) -> bytes:
    """A JPEG of ``image_rgb`` with the skeleton and the worst cue's segment drawn on it.

    ``pose`` must be the pose found in ``image_rgb`` (source pixels); ``report`` is the
    judged stride the picture illustrates.  Pure: no I/O, the input is not modified.
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
    if cue is not None:
        _draw_cue(canvas, pose, cue, colour, scale, thick, min_score)
    out = _caption(canvas, report, cue, colour)
    ok, buffer = cv2.imencode(
        ".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
    )
    if not ok:  # pragma: no cover - OpenCV fails only on impossible images
        raise ValueError("JPEG encoding failed")
    return buffer.tobytes()


def _draw_cue(
    canvas: np.ndarray,
    pose: Pose,
    cue: CueResult,
    colour: tuple[int, int, int],
    scale: float,
    thick: int,
    min_score: float,
) -> None:
    spec = CUES_BY_ID.get(cue.cue_id)
    metric = spec.metric if spec is not None else None
    if metric not in METRIC_SEGMENTS:
        return
    chain, reference, rule = METRIC_SEGMENTS[metric]
    side = _pick_side(pose, chain, rule, min_score)
    points = [_point(pose, name, side, min_score) for name in chain]
    seen = [_ipt(p, scale) for p in points if p is not None]
    if not seen:
        return
    for a, b in pairwise(seen):
        cv2.line(canvas, a, b, colour, thick * 2, cv2.LINE_AA)
    for p in seen:
        cv2.circle(canvas, p, thick * 2, colour, -1, cv2.LINE_AA)
    anchor = seen[0]
    length = max(40, round(0.25 * canvas.shape[0]))
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
    if len(seen) >= 2 and reference == "vertical":
        _arc_between(canvas, anchor, seen[1], end, colour, thick)
    if math.isfinite(cue.value):
        label = ascii_text(f"{cue.value:.1f} {cue.unit}")
        at = (seen[-1][0] + 3 * thick, seen[-1][1])
        cv2.putText(
            canvas,
            label,
            at,
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5 + thick * 0.12,
            (0, 0, 0),
            thick + 2,
            cv2.LINE_AA,
        )
        cv2.putText(
            canvas,
            label,
            at,
            cv2.FONT_HERSHEY_SIMPLEX,
            0.5 + thick * 0.12,
            colour,
            max(1, thick - 1),
            cv2.LINE_AA,
        )


def _dashed(
    canvas: np.ndarray,
    a: tuple[int, int],
    b: tuple[int, int],
    colour: tuple[int, int, int],
    thick: int,
) -> None:
    length = math.dist(a, b)
    steps = max(2, int(length / (4 * thick)))
    for i in range(0, steps, 2):
        p = (round(a[0] + (b[0] - a[0]) * i / steps), round(a[1] + (b[1] - a[1]) * i / steps))
        q = (
            round(a[0] + (b[0] - a[0]) * (i + 1) / steps),
            round(a[1] + (b[1] - a[1]) * (i + 1) / steps),
        )
        cv2.line(canvas, p, q, colour, max(1, thick - 1), cv2.LINE_AA)


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


def _caption(
    canvas: np.ndarray, report: StrideReport, cue: CueResult | None, colour: tuple[int, int, int]
) -> np.ndarray:
    w = canvas.shape[1]
    font_scale = max(0.45, w / 1400)
    line_h = round(30 * font_scale / 0.6)
    stride = report.stride
    lines = [
        f"Stride {stride.index}  foot strike {stride.foot_strike.time:.2f} s  "
        f"grade {report.grade.value.upper()}"
    ]
    if cue is not None:
        lines.append(f"{cue.cue_id}: {_format_value(cue)}")
        lines.append(cue.message)
    band = np.full((line_h * len(lines) + line_h // 2, w, 3), _CAPTION_BG, np.uint8)
    for i, text in enumerate(lines):
        text = ascii_text(text)
        # Wrap by dropping the tail: a caption is a hint, the dashboard shows the full text.
        while (
            len(text) > 8
            and cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, font_scale, 1)[0][0] > w - 16
        ):
            text = text[:-5] + "..."
        cv2.putText(
            band,
            text,
            (8, line_h * (i + 1) - line_h // 4),
            cv2.FONT_HERSHEY_SIMPLEX,
            font_scale,
            colour if i == 0 else (235, 235, 235),
            1,
            cv2.LINE_AA,
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

    def take(self, report: StrideReport) -> tuple[np.ndarray, Pose] | None:
        """The frame nearest the stride's foot strike, if it deserves a picture now.

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
        image, pose = min(self._frames, key=lambda fp: abs(fp[1].timestamp - t))
        if abs(pose.timestamp - t) > 0.25:
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
