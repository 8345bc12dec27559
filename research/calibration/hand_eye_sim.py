"""Simulated hand-eye station sets with known truth: a person moves the headset around a marker.

The marker lies on a table (its +z up, the world is y-up like the headset's tracking frame). A
person stands on one side of the table and looks at the marker from 0.4-0.8 m at stations of
their choosing: from above and obliquely (up to ~55 deg off the marker normal), walking some way
around the table (azimuth over ~140 deg), tilting the head (+-20 deg roll), the marker anywhere
in the central part of the camera's view. The camera sits on the headset looking forward (its
optical axis along the headset's -z, a few degrees of mounting error and a few cm of offset, drawn
per set). Each station gives the true ``T_world_from_headset`` and ``T_camera_from_marker``;
noise is added per axis as in :class:`~calibration.hand_eye.NoiseModel` (rotation about the body
origin, additive translation), and optional glitched marker poses (wrong PnP solutions) are mixed
in.

:func:`write_station_set` writes a set as the ``sonoguide calibrate hand-eye --input`` JSON and
its truth in a separate file, so other tools (OpenCV 4.x, scikit-surgerycalibration) can read the
same data; ``python -m research.calibration.hand_eye_sim --out DIR`` writes many sets.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from core.se3 import invert, make_T

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HandEyeSimConfig:
    """How a station set is drawn.

    Attributes:
        n_stations: inclusive range of the station count.
        distance_mm: camera-to-marker distance range.
        max_tilt_deg: largest viewing angle off the marker normal.
        azimuth_span_deg: how far around the table the person walks.
        roll_deg: head tilt range (+-).
        aim_offset_deg: the marker is at most this far off the optical axis.
        headset_rot_deg, headset_trans_mm: 1-sigma per axis of the headset tracking noise.
        marker_rot_deg, marker_trans_mm: 1-sigma per axis of the marker pose noise.
        outlier_fraction: share of stations with a glitched marker pose.
        outlier_trans_mm, outlier_rot_deg: ranges of a glitch.
        motion: ``"free"`` (realistic), ``"one_axis"`` (walking around the table with a rigid
            neck: rotation about the vertical only) or ``"small"`` (the head hardly turns).
    """

    n_stations: tuple[int, int] = (12, 30)
    distance_mm: tuple[float, float] = (400.0, 800.0)
    max_tilt_deg: float = 55.0
    azimuth_span_deg: float = 140.0
    roll_deg: float = 20.0
    aim_offset_deg: float = 12.0
    headset_rot_deg: float = 0.3
    headset_trans_mm: float = 1.0
    marker_rot_deg: float = 0.2
    marker_trans_mm: float = 0.5
    outlier_fraction: float = 0.0
    outlier_trans_mm: tuple[float, float] = (8.0, 25.0)
    outlier_rot_deg: tuple[float, float] = (3.0, 10.0)
    motion: str = "free"


@dataclass
class StationSet:
    """One simulated capture.

    Attributes:
        W: ``(N, 4, 4)`` measured ``T_world_from_headset``.
        C: ``(N, 4, 4)`` measured ``T_camera_from_marker``.
        X: true ``T_headset_from_camera``.
        Y: true ``T_world_from_marker``.
        W_true, C_true: noise-free poses.
        outliers: indices of glitched stations.
        seed: the seed it was drawn with.
        config: how it was drawn.
    """

    W: np.ndarray
    C: np.ndarray
    X: np.ndarray
    Y: np.ndarray
    W_true: np.ndarray
    C_true: np.ndarray
    outliers: list[int]
    seed: int
    config: HandEyeSimConfig = field(default_factory=HandEyeSimConfig)


def _noisy(T: np.ndarray, rot_deg: float, trans_mm: float, rng: np.random.Generator) -> np.ndarray:
    """``T`` with a random rotation about its own origin and a random translation (per-axis sigmas)."""
    R = Rotation.from_rotvec(np.radians(rot_deg) * rng.standard_normal(3)).as_matrix()
    return make_T(R @ T[:3, :3], T[:3, 3] + trans_mm * rng.standard_normal(3))


def _camera_in_marker(rng: np.random.Generator, cfg: HandEyeSimConfig, base_az: float, k: int, n: int) -> np.ndarray:
    """``T_marker_from_camera`` of one station."""
    d = rng.uniform(*cfg.distance_mm)
    aim = np.zeros(3)
    if cfg.motion == "one_axis":  # walking around the table, head held rigidly: rotation about the vertical only
        tilt, roll = np.radians(35.0), 0.0
        az = base_az + np.radians(cfg.azimuth_span_deg) * (k / max(n - 1, 1) - 0.5)
    elif cfg.motion == "small":  # the head hardly turns (+-3 deg)
        du = np.radians(rng.uniform(-3.0, 3.0, 3))
        tilt, az, roll = np.radians(35.0) + du[0], base_az + du[1], du[2]
    else:
        tilt = np.radians(rng.uniform(5.0, cfg.max_tilt_deg))
        az = base_az + np.radians(rng.uniform(-0.5, 0.5) * cfg.azimuth_span_deg)
        roll = np.radians(rng.uniform(-cfg.roll_deg, cfg.roll_deg))
        off = d * np.tan(np.radians(cfg.aim_offset_deg)) * np.sqrt(rng.uniform())
        phi = rng.uniform(0, 2 * np.pi)
        aim = np.array([off * np.cos(phi), off * np.sin(phi), 0.0])
    pos = d * np.array([np.sin(tilt) * np.cos(az), np.sin(tilt) * np.sin(az), np.cos(tilt)])
    f = aim - pos
    f /= np.linalg.norm(f)
    away = -np.array([np.cos(az), np.sin(az), 0.0])  # the person's horizontal forward direction
    up = away + np.array([0.0, 0.0, 1.0])
    up -= f * (up @ f)
    up /= np.linalg.norm(up)
    up = Rotation.from_rotvec(roll * f).as_matrix() @ up
    y = -up  # OpenCV camera: y down, z forward
    x = np.cross(y, f)
    return make_T(np.column_stack([x, y, f]), pos)


def _in_view(C: np.ndarray, half_fov_deg: float = 30.0) -> bool:
    p = C[:3, 3]
    return p[2] > 0 and np.degrees(np.arctan2(np.hypot(p[0], p[1]), p[2])) < half_fov_deg


def simulate_station_set(seed: int, config: HandEyeSimConfig = HandEyeSimConfig(),
                         X: np.ndarray | None = None) -> StationSet:
    """Draw one station set with its truth.

    Args:
        seed: random seed (the same seed and config give the same set).
        config: how the set is drawn.
        X: the true ``T_headset_from_camera`` (default: a camera looking along the headset's -z
            with a few degrees of random mounting error; the whole-chain benchmark passes the
            simulated rig's own).
    """
    rng = np.random.default_rng(seed)
    n = int(rng.integers(config.n_stations[0], config.n_stations[1] + 1))
    # camera on the headset: looking along -z (y down = headset -y), a few degrees of mounting error
    R_x = Rotation.from_rotvec(np.radians(6.0) * rng.standard_normal(3)).as_matrix() @ np.diag([1.0, -1.0, -1.0])
    X_drawn = make_T(R_x, [rng.uniform(-50, 50), rng.uniform(0, 50), rng.uniform(-40, 0)])
    X = X_drawn if X is None else np.asarray(X, dtype=np.float64)
    # marker flat on a table: marker +z = world +y, random heading and place
    R_y = Rotation.from_rotvec([0.0, rng.uniform(-np.pi, np.pi), 0.0]).as_matrix() @ \
        Rotation.from_rotvec([-np.pi / 2, 0.0, 0.0]).as_matrix()
    Y = make_T(R_y, [rng.uniform(-1500, 1500), rng.uniform(-600, 200), rng.uniform(-1500, 1500)])
    base_az = rng.uniform(-np.pi, np.pi)
    W_true, C_true = [], []
    k = 0
    while len(W_true) < n:
        M_cam = _camera_in_marker(rng, config, base_az, k, n)
        k += 1
        C = invert(M_cam)
        if not _in_view(C):
            continue
        W_true.append(Y @ M_cam @ invert(X))
        C_true.append(C)
    W_true, C_true = np.array(W_true), np.array(C_true)
    W = np.array([_noisy(w, config.headset_rot_deg, config.headset_trans_mm, rng) for w in W_true])
    C = np.array([_noisy(c, config.marker_rot_deg, config.marker_trans_mm, rng) for c in C_true])
    n_out = int(round(config.outlier_fraction * n))
    outliers = sorted(int(i) for i in rng.choice(n, size=n_out, replace=False)) if n_out else []
    for i in outliers:
        axis = rng.standard_normal(3)
        axis /= np.linalg.norm(axis)
        dirn = rng.standard_normal(3)
        dirn /= np.linalg.norm(dirn)
        G = make_T(Rotation.from_rotvec(np.radians(rng.uniform(*config.outlier_rot_deg)) * axis).as_matrix(),
                   rng.uniform(*config.outlier_trans_mm) * dirn)
        C[i] = C[i] @ G
    return StationSet(W=W, C=C, X=X, Y=Y, W_true=W_true, C_true=C_true, outliers=outliers, seed=seed, config=config)


def write_station_set(s: StationSet, input_path: str | Path, truth_path: str | Path) -> None:
    """Write the set as the ``calibrate hand-eye --input`` JSON and its truth separately.

    Input: ``{"T_world_from_headset": [N 4x4], "T_camera_from_marker": [N 4x4]}`` (mm). Truth:
    ``{"T_headset_from_camera": 4x4, "T_world_from_marker": 4x4, "outliers": [...], "seed": ...,
    "config": {...}, "T_world_from_headset_true": [...], "T_camera_from_marker_true": [...]}``.
    """
    for p in (input_path, truth_path):
        Path(p).parent.mkdir(parents=True, exist_ok=True)
    Path(input_path).write_text(json.dumps({"T_world_from_headset": s.W.tolist(),
                                            "T_camera_from_marker": s.C.tolist()}) + "\n", encoding="utf-8")
    Path(truth_path).write_text(json.dumps({
        "T_headset_from_camera": s.X.tolist(), "T_world_from_marker": s.Y.tolist(), "outliers": s.outliers,
        "seed": s.seed, "config": asdict(s.config), "T_world_from_headset_true": s.W_true.tolist(),
        "T_camera_from_marker_true": s.C_true.tolist()}) + "\n", encoding="utf-8")


def write_station_sets(folder: str | Path, seeds: range, config: HandEyeSimConfig = HandEyeSimConfig()) -> list[Path]:
    """Write ``set_<seed>.json`` and ``set_<seed>.truth.json`` per seed; returns the input paths."""
    out = []
    for seed in seeds:
        s = simulate_station_set(seed, config)
        p = Path(folder) / f"set_{seed:05d}.json"
        write_station_set(s, p, p.with_suffix(".truth.json"))
        out.append(p)
    return out


def pose_error(T_est: np.ndarray, T_true: np.ndarray) -> tuple[float, float]:
    """Translation (mm) and rotation (deg) error of an estimated transform."""
    dt = float(np.linalg.norm(T_est[:3, 3] - T_true[:3, 3]))
    dr = float(np.degrees(np.linalg.norm(Rotation.from_matrix(T_est[:3, :3].T @ T_true[:3, :3]).as_rotvec())))
    return dt, dr


def main(argv: list[str] | None = None) -> int:
    """Write simulated station sets for side-by-side comparisons."""
    ap = argparse.ArgumentParser(description="write simulated hand-eye station sets with their truth")
    ap.add_argument("--out", required=True, help="folder for set_<seed>.json and set_<seed>.truth.json")
    ap.add_argument("--seeds", type=int, nargs=2, default=(0, 50), metavar=("FIRST", "STOP"))
    ap.add_argument("--outlier-fraction", type=float, default=0.0)
    args = ap.parse_args(argv)
    paths = write_station_sets(args.out, range(*args.seeds), HandEyeSimConfig(outlier_fraction=args.outlier_fraction))
    print(f"wrote {len(paths)} sets to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
