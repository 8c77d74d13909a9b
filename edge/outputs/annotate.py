"""Annotated frames: the skeleton, keypoint scores, crop box and each stride's verdicts.

Used by ``trackside replay --annotate OUT.mp4`` so a person can check by eye that the pose
stage follows the runner and see what each stride was judged; written to a file by
:class:`edge.outputs.video.VideoWriter`.  Text is drawn white (or in the verdict's colour)
over a black outline, so it reads on a bright track as on a dark one.  Pure: every function
returns a new image.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import cv2
import numpy as np

from edge.cues.catalogue import CUES_BY_ID
from edge.cues.table import UNIT_LABELS
from edge.outputs.keyframe import VERDICT_COLOURS, ascii_text
from edge.types import SKELETON_EDGES, Keypoint, Pose, StrideReport, Verdict

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_WHITE = (255, 255, 255)
_MARK = {Verdict.WARN: "W", Verdict.FAULT: "F"}
_MAX_CUE_LINES = 4  # more flagged cues than this are counted, not listed

# RGB colours: the runner's left side cool, right side warm, centre line neutral.
_LEFT = (80, 160, 255)
_RIGHT = (255, 140, 40)
_CENTRE = (120, 255, 120)
_CROP = (255, 255, 0)


def _side_colour(a: Keypoint, b: Keypoint) -> tuple[int, int, int]:
    names = a.name + b.name
    if "LEFT" in names and "RIGHT" not in names:
        return _LEFT
    if "RIGHT" in names and "LEFT" not in names:
        return _RIGHT
    return _CENTRE


def _score_colour(score: float) -> tuple[int, int, int]:
    """Red for an unsure keypoint, through yellow, to green for a confident one."""
    s = float(np.clip(score, 0.0, 1.0))
    return (int(255 * min(1.0, 2 * (1 - s))), int(255 * min(1.0, 2 * s)), 0)


def draw_pose(image: np.ndarray, pose: Pose, *, min_score: float = 0.3) -> np.ndarray:
    """Return a copy of the RGB ``image`` with ``pose`` drawn on it."""
    out = np.ascontiguousarray(image).copy()
    kp = pose.keypoints
    # Markers sized to the runner, not the frame, so a small runner in a wide view stays
    # visible under them.
    seen = kp[kp[:, 2] >= min_score, :2]
    body = float(np.ptp(seen[:, 1])) if len(seen) >= 2 else max(out.shape[:2]) / 3
    radius = int(np.clip(body / 45, 2, 8))
    line = max(1, radius // 2)
    text = max(1, round(max(out.shape[:2]) / 600))
    for a, b in SKELETON_EDGES:
        if kp[a, 2] >= min_score and kp[b, 2] >= min_score:
            pa = (round(float(kp[a, 0])), round(float(kp[a, 1])))
            pb = (round(float(kp[b, 0])), round(float(kp[b, 1])))
            cv2.line(out, pa, pb, _side_colour(a, b), line, cv2.LINE_AA)
    for x, y, score in kp:
        if score >= min_score:
            centre = (round(float(x)), round(float(y)))
            cv2.circle(out, centre, radius, _score_colour(score), -1, cv2.LINE_AA)
    if pose.crop is not None:
        c = pose.crop
        cv2.rectangle(out, (round(c.x0), round(c.y0)), (round(c.x1), round(c.y1)), _CROP, text)
    style = TextStyle.for_image(out)
    draw_text(out, f"t={pose.timestamp:6.3f}s  score={pose.mean_score:.2f}", (6, style.line), style)
    return out


class TextStyle:
    """Font size, stroke and line height sized to the picture (legible on a 300 px GIF)."""

    def __init__(self, scale: float, thickness: int) -> None:
        self.scale = scale
        self.thickness = thickness
        self.outline = max(1, thickness)  # px of black around each stroke
        (_, height), baseline = cv2.getTextSize("Ag", _FONT, scale, thickness)
        self.line = height + baseline + 2 * self.outline + 1

    @classmethod
    def for_image(cls, image: np.ndarray) -> TextStyle:
        size = max(image.shape[:2])
        return cls(scale=max(0.5, size / 1100), thickness=max(1, round(size / 600)))


def draw_text(
    image: np.ndarray,
    text: str,
    origin: tuple[int, int],
    style: TextStyle,
    colour: tuple[int, int, int] = _WHITE,
) -> None:
    """``text`` at ``origin`` (its baseline's left end) in ``colour`` with a black outline.

    The outline is the same text shifted around it, not a thicker stroke: OpenCV spaces
    glyphs by stroke thickness, so a thicker copy would not line up.
    """
    text = ascii_text(text)
    x, y = origin
    d = style.outline
    for dx, dy in ((-d, -d), (0, -d), (d, -d), (-d, 0), (d, 0), (-d, d), (0, d), (d, d)):
        cv2.putText(
            image, text, (x + dx, y + dy), _FONT, style.scale, (0, 0, 0), style.thickness,
            cv2.LINE_AA,
        )  # fmt: skip
    cv2.putText(image, text, origin, _FONT, style.scale, colour, style.thickness, cv2.LINE_AA)


def stride_at(reports: Sequence[StrideReport], t: float) -> StrideReport | None:
    """The stride whose step is under way at ``t``: the latest to start at or before ``t``
    that has not ended (strides of the two legs overlap by a step)."""
    starts = [r.stride.foot_strike.time for r in reports]
    i = bisect.bisect_right(starts, t) - 1
    if i < 0 or t >= reports[i].stride.next_foot_strike.time:
        return None
    return reports[i]


def _cue_line(report: StrideReport, cue_id: str) -> tuple[str, tuple[int, int, int]]:
    result = next(c for c in report.cues if c.cue_id == cue_id)
    cue = CUES_BY_ID.get(cue_id)
    unit = UNIT_LABELS.get(result.unit, (result.unit, ""))[0]
    name = cue.title if cue else cue_id
    return f"{_MARK[result.verdict]} {name}  {result.value:.2f} {unit}", VERDICT_COLOURS[
        result.verdict
    ]


def draw_stride(image: np.ndarray, report: StrideReport) -> np.ndarray:
    """A copy of ``image`` with the stride's verdicts in its bottom-left corner: the grade,
    cadence and contact, then each cue judged warn or fault (faults first)."""
    out = np.ascontiguousarray(image).copy()
    style = TextStyle.for_image(out)
    s = report.stride
    head = f"stride {s.index} ({s.leg.value} leg): {report.grade.value}"
    if s.cadence_spm is not None:
        head += f"  {s.cadence_spm:.0f} spm"
    if s.ground_contact_ms is not None:
        head += f"  contact {s.ground_contact_ms:.0f} ms"
    lines = [(head, VERDICT_COLOURS[report.grade])]
    order = {c: i for i, c in enumerate(CUES_BY_ID)}
    flagged = sorted(
        (c for c in report.cues if c.verdict in _MARK and math.isfinite(c.value)),
        key=lambda c: (c.verdict != Verdict.FAULT, order.get(c.cue_id, len(order))),
    )
    lines += [_cue_line(report, c.cue_id) for c in flagged[:_MAX_CUE_LINES]]
    if len(flagged) > _MAX_CUE_LINES:
        lines.append((f"+{len(flagged) - _MAX_CUE_LINES} more", _WHITE))
    ok = sum(c.verdict == Verdict.OK for c in report.cues)
    lines.append((f"{ok} cues ok", VERDICT_COLOURS[Verdict.OK]))
    y = out.shape[0] - 6 - style.line * (len(lines) - 1)
    for text, colour in lines:
        draw_text(out, text, (6, y), style, colour)
        y += style.line
    return out
