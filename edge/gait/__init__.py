"""Gait stage: keypoints over time → foot strikes, toe-offs, steps, strides and metrics.

Two engines, siblings that never import each other: :mod:`edge.gait.batch` (a whole
recording, zero-phase) and :mod:`edge.gait.streaming` (one pose at a time, bounded latency).
Both stand on the same shared modules — keypoint mapping (``coco``), limb continuity,
near/far and facing cues, the one leg-length rule (``leg_length``), the detector's signals,
smoothing and event machine, step/stride timing, the scale and the stride-metrics adapter.
docs/gait.md lists every module's job.
"""
