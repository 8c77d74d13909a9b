"""The per-stride kinematic metrics' keys and units: the contract with cues, reports and docs.

Every key :func:`edge.gait.metrics.stride_metrics` returns is listed here with its unit;
``docs/metrics.md`` defines each one.
"""

#: Every key :func:`edge.gait.metrics.stride_metrics` returns, with its unit.
METRIC_UNITS: dict[str, str] = {
    "overstride_leg_length": "leg_length",
    "overstride_cm": "cm",
    "peak_shank_angle_before_strike_deg": "deg",
    "peak_reach_before_strike_leg_length": "leg_length",
    "shank_angle_at_foot_strike_deg": "deg",
    "knee_flexion_at_foot_strike_deg": "deg",
    "peak_knee_flexion_stance_deg": "deg",
    "peak_knee_flexion_swing_deg": "deg",
    "peak_thigh_angle_swing_deg": "deg",
    "hip_extension_at_toe_off_deg": "deg",
    "trunk_lean_deg": "deg",
    "trunk_lean_at_foot_strike_deg": "deg",
    "vertical_oscillation_leg_length": "leg_length",
    "vertical_oscillation_cm": "cm",
    "stride_length_cm": "cm",
    "vertical_ratio_percent": "percent",
    "hip_ahead_of_ankle_midstance_leg_length": "leg_length",
    "leg_segment_length_change": "ratio",
    "head_pitch_deg": "deg",
    "head_forward_leg_length": "leg_length",
    "wrist_height_forward_arm_length": "arm_length",
    "elbow_behind_hip_leg_length": "leg_length",
    "elbow_angle_mean_deg": "deg",
    "elbow_angle_min_deg": "deg",
}
