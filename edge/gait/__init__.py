"""Gait stage: keypoints over time → foot strikes, toe-offs, steps, strides and metrics."""
