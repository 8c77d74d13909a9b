"""Lab ground truth for the gait engine: load, keep what MoveNet sees, film it from the side.

This is validation tooling, not product code.  It reads the public motion-capture trials in
``../shared/groundtruth`` (see SOURCES.md there), keeps only the joint centres a pose model
would report (hip, knee, ankle and, where present, shoulder/elbow/wrist; never heel or toe
markers), projects them through a pinhole side-view camera, resamples them at a video frame
rate with a random phase, and spoils them the way MoveNet does: pixel noise, dropped
keypoints, dropped frames and short left/right label swaps.

The force-plate events come along unchanged, so a detector's output can be scored against
them with :func:`match_events`.

Lab frames are normalised on loading to ``forward`` (direction of travel), ``up`` and
``right`` (towards the subject's right side), in metres.
"""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edge.types import NUM_KEYPOINTS, Keypoint

# COCO keypoints we can fill from lab joint centres, per anatomical side.
JOINTS = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
_COCO = {
    ("R", "shoulder"): Keypoint.RIGHT_SHOULDER,
    ("L", "shoulder"): Keypoint.LEFT_SHOULDER,
    ("R", "elbow"): Keypoint.RIGHT_ELBOW,
    ("L", "elbow"): Keypoint.LEFT_ELBOW,
    ("R", "wrist"): Keypoint.RIGHT_WRIST,
    ("L", "wrist"): Keypoint.LEFT_WRIST,
    ("R", "hip"): Keypoint.RIGHT_HIP,
    ("L", "hip"): Keypoint.LEFT_HIP,
    ("R", "knee"): Keypoint.RIGHT_KNEE,
    ("L", "knee"): Keypoint.LEFT_KNEE,
    ("R", "ankle"): Keypoint.RIGHT_ANKLE,
    ("L", "ankle"): Keypoint.LEFT_ANKLE,
}


@dataclass(frozen=True)
class LabEvent:
    """One force-plate contact: ``side`` is "R" or "L"; missing times are ``nan``."""

    side: str
    foot_strike: float
    toe_off: float


@dataclass
class LabTrial:
    """One trial: joint centres (metres, forward/up/right axes) and force-plate contacts."""

    name: str
    t: np.ndarray  # (N,) seconds
    joints: dict[tuple[str, str], np.ndarray]  # (side, joint) -> (N, 3) forward, up, right
    events: list[LabEvent]
    treadmill: bool
    # Reference 2D knee flexion at strike from the lab (deg), per side, where SOURCES.md gives it.
    knee_flexion_at_strike: dict[str, float] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        return float(self.t[-1] - self.t[0])

    def leg_length(self) -> float:
        """Median hip-knee plus knee-ankle length (m) of the right leg."""
        hip, knee, ankle = (self.joints[("R", j)] for j in ("hip", "knee", "ankle"))
        thigh = np.nanmedian(np.linalg.norm(hip - knee, axis=1))
        shank = np.nanmedian(np.linalg.norm(knee - ankle, axis=1))
        return float(thigh + shank)


# --- loading ---------------------------------------------------------------------------------


def _read_events(path: Path) -> list[LabEvent]:
    rows = [r for r in path.read_text().splitlines() if r and not r.startswith("#")]
    events = []
    for rec in csv.DictReader(rows):

        def num(key: str, rec: dict[str, str] = rec) -> float:
            value = (rec.get(key) or "").strip()
            return float(value) if value and value.lower() != "nan" else float("nan")

        events.append(LabEvent(rec["side"].strip(), num("foot_strike_s"), num("toe_off_s")))
    return events


def _read_trc(path: Path) -> tuple[np.ndarray, dict[str, np.ndarray], float]:
    """Times, marker name -> (N, 3) in file units, and the unit scale to metres."""
    lines = path.read_text().splitlines()
    units = lines[2].split("\t")[4].strip()
    scale = 0.001 if units == "mm" else 1.0
    names = lines[3].split("\t")[2:]
    columns = [n.strip() for n in names[::3]]
    data = []
    for line in lines[5:]:
        if not line.strip():
            continue
        cells = line.split("\t")
        data.append([float(c) if c.strip() else np.nan for c in cells])
    width = max(len(r) for r in data)
    arr = np.full((len(data), width), np.nan)
    for i, r in enumerate(data):
        arr[i, : len(r)] = r
    markers = {}
    for i, name in enumerate(columns):
        if name and name not in markers and 2 + 3 * i + 3 <= width:
            xyz = arr[:, 2 + 3 * i : 5 + 3 * i] * scale
            if np.isfinite(xyz).any():
                markers[name] = xyz
    return arr[:, 1], markers, scale


def _normalise_axes(joints: dict[tuple[str, str], np.ndarray]) -> dict:
    """Lab X/Y/Z -> forward/up/right, with forward the direction of travel (or facing)."""
    out = {k: v[:, [0, 1, 2]].copy() for k, v in joints.items()}
    # Facing: the ankle is ahead of the hip at foot strike and the foot sweeps backwards in
    # stance; on average the knee sits ahead of the hip-ankle line in a running/walking side
    # view.  Simplest robust cue here: the pelvis travels forwards overground; on a treadmill
    # the lab files already face +X (checked in SOURCES.md).
    hip = (out[("R", "hip")] + out[("L", "hip")]) / 2
    travel = np.nanmean(np.diff(hip[:, 0]))
    if travel < -1e-4:
        for v in out.values():
            v[:, 0] *= -1
            v[:, 2] *= -1  # rotating 180° about the vertical keeps the frame right-handed
    right_minus_left = np.nanmean(out[("R", "hip")][:, 2] - out[("L", "hip")][:, 2])
    if right_minus_left < 0:
        for v in out.values():
            v[:, 2] *= -1
    return out


def _mid(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a + b) / 2


def load_fukuchi(root: Path, speed: str = "T25") -> LabTrial:
    """RBDS001 treadmill running at 2.5 (``"T25"``) or 3.5 m/s (``"T35"``)."""
    base = Path(root) / "fukuchi2017_rbds" / "derived"
    with gzip.open(base / f"RBDS001run{speed}_jointcentres_derived.csv.gz", "rt") as f:
        data = np.genfromtxt(f, delimiter=",", names=True, skip_header=1)
    joints = {}
    for side in "RL":
        for joint, col in (("hip", "HJC"), ("knee", "KJC"), ("ankle", "AJC")):
            xyz = np.stack([data[f"{side}_{col}_{a}"] for a in "XYZ"], axis=1) / 1000.0
            joints[(side, joint)] = xyz
    knee_ref = {"T25": {"R": 11.3, "L": 6.6}, "T35": {"R": 14.0, "L": 9.1}}[speed]
    return LabTrial(
        name=f"fukuchi_{speed}",
        t=np.asarray(data["time_s"], float),
        joints=_normalise_axes(joints),
        events=_read_events(base / f"RBDS001run{speed}_events.csv"),
        treadmill=True,
        knee_flexion_at_strike=knee_ref,
    )


def _harrington_hjc(rasi, lasi, rpsi, lpsi) -> dict[str, np.ndarray]:
    """Hip joint centres from the pelvis markers (Harrington et al. 2007 regression, metres)."""
    mid_asis, mid_psis = (rasi + lasi) / 2, (rpsi + lpsi) / 2
    pw = np.linalg.norm(rasi - lasi, axis=1, keepdims=True) * 1000
    pd = np.linalg.norm(mid_asis - mid_psis, axis=1, keepdims=True) * 1000
    z = (rasi - lasi) / np.linalg.norm(rasi - lasi, axis=1, keepdims=True)
    x = mid_asis - mid_psis
    x = x - np.sum(x * z, axis=1, keepdims=True) * z
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = np.cross(z, x)
    out = {}
    for side, sign in (("R", 1.0), ("L", -1.0)):
        offset = (-0.24 * pd - 9.9) * x + (-0.30 * pw - 10.9) * y + sign * (0.33 * pw + 7.3) * z
        out[side] = mid_asis + offset / 1000
    return out


def load_bmclab_run(root: Path) -> LabTrial:
    """BMClab overground run (one complete step, full body).

    The file's ready-made RHJC/RKJC/RAJC columns are blank, so the hip centre comes from the
    pelvis markers (Harrington regression), the knee and ankle from the virtual epicondyle
    and malleolus markers, the shoulder from the acromion.
    """
    base = Path(root) / "bmclab_overground_run"
    t, m, _ = _read_trc(base / "motion_capture_run.trc")
    hjc = _harrington_hjc(m["RASI"], m["LASI"], m["RPSI"], m["LPSI"])
    joints = {}
    for side in "RL":
        joints[(side, "shoulder")] = m[f"{side}ACR"]
        joints[(side, "elbow")] = m[f"{side}EJC"]
        joints[(side, "wrist")] = _mid(m[f"{side}FAradius"], m[f"{side}FAulna"])
        joints[(side, "hip")] = hjc[side]
        joints[(side, "knee")] = _mid(m[f"{side}LFCv"], m[f"{side}MFCv"])
        joints[(side, "ankle")] = _mid(m[f"{side}LMALv"], m[f"{side}MMALv"])
    return LabTrial(
        name="bmclab_run",
        t=t,
        joints=_normalise_axes(joints),
        events=_read_events(base / "derived" / "bmclab_run_events.csv"),
        treadmill=False,
    )


def load_bmclab_walk(root: Path, trial: int = 1) -> LabTrial:
    """BMClab overground walking, ``trial`` 1 or 2 (lower body only)."""
    base = Path(root) / "walking_bmclab"
    t, m, _ = _read_trc(base / f"walk{trial}.trc")
    joints = {}
    for side in "RL":
        # walk2's virtual joint-centre columns are blank: the trochanter stands in for the hip.
        joints[(side, "hip")] = m[f"{side}.GTR"]
        joints[(side, "knee")] = _mid(m[f"{side}.Knee"], m[f"{side}.Knee.Medial"])
        joints[(side, "ankle")] = _mid(m[f"{side}.Ankle"], m[f"{side}.Ankle.Medial"])
    return LabTrial(
        name=f"bmclab_walk{trial}",
        t=t,
        joints=_normalise_axes(joints),
        events=_read_events(base / "derived" / f"bmclab_walk{trial}_events.csv"),
        treadmill=False,
    )


def load_opencap_walk(root: Path, trial: int = 1) -> LabTrial:
    """OpenCap lab-validation subject 4 walking, ``trial`` 1, 2 or 4 (full body, 100 Hz)."""
    base = Path(root) / "walking_opencap_labval_s4"
    t, m, _ = _read_trc(base / f"walking{trial}.trc")
    joints = {}
    for side, low in (("R", "r"), ("L", "L")):
        joints[(side, "shoulder")] = m[f"{side}_Shoulder"]
        joints[(side, "elbow")] = m[f"{side}_elbow_lat"]
        joints[(side, "wrist")] = _mid(m[f"{side}_wrist_radius"], m[f"{side}_wrist_ulna"])
        joints[(side, "hip")] = m[f"{side}_HJC"]
        joints[(side, "knee")] = m[f"{low}_knee"]
        joints[(side, "ankle")] = m[f"{low}_ankle"]
    return LabTrial(
        name=f"opencap_walk{trial}",
        t=t,
        joints=_normalise_axes(joints),
        events=_read_events(base / "derived" / f"opencap_s4_walking{trial}_events.csv"),
        treadmill=False,
    )


def as_overground(trial: LabTrial, speed: float) -> LabTrial:
    """A treadmill trial seen from the ground: everything moves forwards at belt ``speed``.

    On a treadmill the stance foot moves backwards at belt speed; adding ``speed * t`` to
    the forward axis turns it into overground running with a planted stance foot.
    """
    joints = {}
    for key, xyz in trial.joints.items():
        moved = xyz.copy()
        moved[:, 0] += speed * (trial.t - trial.t[0])
        joints[key] = moved
    return LabTrial(
        name=trial.name + "_overground",
        t=trial.t,
        joints=joints,
        events=trial.events,
        treadmill=False,
        knee_flexion_at_strike=trial.knee_flexion_at_strike,
    )


def load_all(root: Path) -> list[LabTrial]:
    """Every trial, main data set first."""
    return [
        load_fukuchi(root, "T25"),
        load_fukuchi(root, "T35"),
        load_bmclab_run(root),
        load_bmclab_walk(root, 1),
        load_bmclab_walk(root, 2),
        load_opencap_walk(root, 1),
        load_opencap_walk(root, 2),
        load_opencap_walk(root, 4),
    ]


# --- filming ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Camera:
    """A pinhole camera beside the runway, looking across it.

    ``side`` is the subject's side the camera stands on ("R": runner moves left to right in
    the image; "L": right to left).  ``pan`` keeps the pelvis centred (a panning camera) for
    overground trials; a treadmill needs none.
    """

    side: str = "R"
    distance: float = 4.0  # m from the mid-trial pelvis, along the medio-lateral axis
    height: float = 1.0  # m
    focal: float = 900.0  # px
    image_size: tuple[int, int] = (1280, 720)
    pan: bool = False


@dataclass(frozen=True)
class Spoiling:
    """How a filmed trial is degraded to look like MoveNet output.

    Noise is given as a fraction of the projected leg length (hip-knee + knee-ankle) so it
    means the same at any image scale.  ``noise_white`` is independent per frame;
    ``noise_slow`` is an AR(1) wobble with correlation time ``noise_tau`` (MoveNet's jitter
    is not white: neighbouring frames see nearly the same image).
    """

    noise_white: float = 0.025
    noise_slow: float = 0.01
    noise_tau: float = 0.05
    dropout: float = 0.02  # per keypoint per frame: score drops to near zero, position garbage
    frame_drop: float = 0.01  # per frame: the frame never arrives
    swap_rate: float = 0.5  # left/right label swap episodes per second
    swap_frames: tuple[int, int] = (1, 4)
    timestamp_jitter: float = 0.0  # s, std of timestamp noise (0 for file sources)


@dataclass
class FilmedTrial:
    """A trial as the gait engine sees it, plus the truth to score against."""

    trial: LabTrial
    fps: float
    t: np.ndarray  # (M,)
    keypoints: np.ndarray  # (M, 17, 3) x, y, score
    clean: np.ndarray  # (M, 17, 3) the same before spoiling (for reference angles)
    image_size: tuple[int, int]
    near_side: str  # "R" or "L"
    leg_length_px: float


def _interp(t_src: np.ndarray, values: np.ndarray, t_new: np.ndarray) -> np.ndarray:
    out = np.empty((len(t_new), values.shape[1]))
    for k in range(values.shape[1]):
        ok = np.isfinite(values[:, k])
        out[:, k] = np.interp(t_new, t_src[ok], values[ok, k]) if ok.any() else np.nan
    return out


def film(
    trial: LabTrial,
    fps: float,
    *,
    camera: Camera | None = None,
    spoil: Spoiling | None = None,
    seed: int = 0,
    start: float = 0.0,
    duration: float | None = None,
) -> FilmedTrial:
    """Project ``trial`` to a side view at ``fps`` with a random phase, then spoil it."""
    camera = camera or Camera()
    rng = np.random.default_rng(seed)
    end = trial.t[-1] if duration is None else min(trial.t[-1], start + duration)
    phase = rng.uniform(0, 1 / fps)
    t_new = np.arange(trial.t[0] + start + phase, end, 1 / fps)

    pelvis = (trial.joints[("R", "hip")] + trial.joints[("L", "hip")]) / 2
    span = (trial.t >= t_new[0]) & (trial.t <= t_new[-1]) if len(t_new) else slice(None)
    centre = np.nanmedian(pelvis[span], axis=0)
    pelvis_fwd = _interp(trial.t, pelvis[:, :1], t_new)[:, 0]
    sign = 1.0 if camera.side == "R" else -1.0
    cam_lateral = centre[2] + sign * camera.distance
    w, h = camera.image_size
    cx, cy = w / 2, h / 2

    clean = np.zeros((len(t_new), NUM_KEYPOINTS, 3))
    for (side, joint), xyz in trial.joints.items():
        p = _interp(trial.t, xyz, t_new)
        fwd = p[:, 0] - (pelvis_fwd if camera.pan else centre[0])
        depth = sign * (cam_lateral - p[:, 2])
        u = cx + sign * camera.focal * fwd / depth
        v = cy - camera.focal * (p[:, 1] - camera.height) / depth
        k = _COCO[(side, joint)]
        clean[:, k, 0] = u
        clean[:, k, 1] = v
        inside = np.isfinite(u) & np.isfinite(v) & (u >= 0) & (u < w) & (v >= 0) & (v < h)
        clean[:, k, 2] = np.where(inside, 0.8, 0.0)  # out of the picture: not seen
    clean[~np.isfinite(clean)] = 0.0

    near = camera.side
    near_leg = [
        _COCO[(near, "hip")],
        _COCO[(near, "knee")],
        _COCO[(near, "ankle")],
    ]
    leg_px = float(
        np.median(np.linalg.norm(clean[:, near_leg[0], :2] - clean[:, near_leg[1], :2], axis=1))
        + np.median(np.linalg.norm(clean[:, near_leg[1], :2] - clean[:, near_leg[2], :2], axis=1))
    )

    keypoints = clean.copy()
    timestamps = t_new.copy()
    if spoil is not None:
        keypoints, timestamps = _spoil(keypoints, timestamps, fps, leg_px, spoil, rng)
        keep = rng.random(len(timestamps)) >= spoil.frame_drop
        keypoints, timestamps, clean_kept = keypoints[keep], timestamps[keep], clean[keep]
    else:
        clean_kept = clean
    return FilmedTrial(
        trial=trial,
        fps=fps,
        t=timestamps,
        keypoints=keypoints.astype(np.float32),
        clean=clean_kept.astype(np.float32),
        image_size=camera.image_size,
        near_side=near,
        leg_length_px=leg_px,
    )


def _spoil(
    kp: np.ndarray,
    t: np.ndarray,
    fps: float,
    leg_px: float,
    spoil: Spoiling,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    kp = kp.copy()
    n = len(t)
    present = kp[:, :, 2] > 0
    # Correlated wobble: AR(1) with the same stationary std at every frame rate.
    rho = float(np.exp(-1 / (fps * spoil.noise_tau))) if spoil.noise_tau > 0 else 0.0
    slow = np.zeros((n, NUM_KEYPOINTS, 2))
    innov = rng.normal(0, spoil.noise_slow * leg_px, size=(n, NUM_KEYPOINTS, 2))
    slow[0] = innov[0]
    for i in range(1, n):
        slow[i] = rho * slow[i - 1] + np.sqrt(1 - rho**2) * innov[i]
    white = rng.normal(0, spoil.noise_white * leg_px, size=(n, NUM_KEYPOINTS, 2))
    kp[:, :, :2] += slow + white
    scores = np.clip(rng.normal(0.6, 0.12, (n, NUM_KEYPOINTS)), 0.31, 0.95)
    kp[:, :, 2] = np.where(present, scores, 0.0)

    # Left/right swaps of the whole leg (hip, knee, ankle) for a few frames, as MoveNet does
    # when the legs cross.
    pairs = [
        (Keypoint.LEFT_HIP, Keypoint.RIGHT_HIP),
        (Keypoint.LEFT_KNEE, Keypoint.RIGHT_KNEE),
        (Keypoint.LEFT_ANKLE, Keypoint.RIGHT_ANKLE),
    ]
    n_swaps = rng.poisson(spoil.swap_rate * (t[-1] - t[0])) if n > 1 else 0
    lo, hi = spoil.swap_frames
    for _ in range(n_swaps):
        i = int(rng.integers(0, n))
        length = int(rng.integers(lo, hi + 1))
        sl = slice(i, min(n, i + length))
        for a, b in pairs:
            kp[sl, [a, b]] = kp[sl, [b, a]]

    # Dropouts: a low score and a position somewhere nearby, which must be ignored.
    drop = (rng.random((n, NUM_KEYPOINTS)) < spoil.dropout) & present
    kp[drop, 2] = rng.uniform(0.0, 0.15, size=int(drop.sum()))
    kp[drop, :2] += rng.normal(0, 0.3 * leg_px, size=(int(drop.sum()), 2))

    if spoil.timestamp_jitter > 0:
        t = t + rng.normal(0, spoil.timestamp_jitter, size=n)
        t = np.maximum.accumulate(t)
    return kp, t


# --- scoring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """Detected vs true events of one kind: signed errors (s) of matched pairs and counts."""

    errors: np.ndarray
    missed: int
    spurious: int
    true_count: int


def match_events(
    detected: list[tuple[str, float]],
    truth: list[tuple[str, float]],
    *,
    window: tuple[float, float],
    tolerance: float,
    any_side: bool = False,
) -> Match:
    """Pair each true event with the nearest detection of the same side within ``tolerance``.

    Only events inside ``window`` (the part of the trial the camera filmed, less a margin)
    count.  ``detected`` and ``truth`` hold ``(side, time)``; detections matched to nothing
    are spurious, truths matched to nothing are missed.
    """
    lo, hi = window
    det = [(s, t) for s, t in detected if lo <= t <= hi]
    tru = [(s, t) for s, t in truth if np.isfinite(t) and lo <= t <= hi]
    used = [False] * len(det)
    errors = []
    missed = 0
    for side, t_true in tru:
        best, best_err = -1, tolerance
        for j, (s, t_det) in enumerate(det):
            if used[j] or (not any_side and s != side):
                continue
            err = abs(t_det - t_true)
            if err <= best_err:
                best, best_err = j, err
        if best < 0:
            missed += 1
        else:
            used[best] = True
            errors.append(det[best][1] - t_true)
    spurious = sum(1 for u in used if not u)
    return Match(np.asarray(errors), missed, spurious, len(tru))
