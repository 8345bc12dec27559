"""Simulated point-target ultrasound calibrations with known truth.

The truth is the simulated rig's probe (``calibration.simulated``): ``T_marker_from_image`` =
``T_MARKER_FROM_PROBE @ T_probe_from_image`` for a given image size and pixel spacing. At each
station the probe is placed so that a target (a stylus tip) at a random pixel of the image lies
in the plane; the tracker sees the probe marker at ``T_tracker_from_marker_i`` (random, the probe
held 0.6-1.0 m from the tracker, turned up to 35 deg). Noise is added as the issue states: the
marked pixel (per axis), the target's tracker position, and the marker pose (translation and
rotation about the marker's axes); a fraction of pixels is mis-marked by 8-30 px.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from calibration.simulated import T_MARKER_FROM_PROBE, T_probe_from_image
from calibration.us_points import PointCapture, map_pixels
from core.se3 import make_T


@dataclass(frozen=True)
class PointSet:
    """A simulated capture, independent validation targets and the truth.

    Attributes:
        capture: the noisy capture.
        validation: independent targets with the same noise (for the TRE).
        T_marker_from_image: the truth.
        mismarked: per capture point, whether its pixel was mis-marked.
    """

    capture: PointCapture
    validation: PointCapture
    T_marker_from_image: np.ndarray
    mismarked: np.ndarray


def true_calibration(width: int, height: int, spacing_mm: float) -> np.ndarray:
    """The simulated probe's ``T_marker_from_image`` for an image size and square pixel spacing."""
    return T_MARKER_FROM_PROBE @ T_probe_from_image((spacing_mm, spacing_mm), width)


def _stations(rng: np.random.Generator, T_mi: np.ndarray, size: tuple[int, int], n: int, pixel_px: float,
              target_mm: float, pose_mm: float, pose_deg: float, mismark_fraction: float,
              margin: float = 0.06) -> tuple[PointCapture, np.ndarray]:
    w, h = size
    px = np.column_stack([rng.uniform(margin * w, (1 - margin) * w, n), rng.uniform(margin * h, (1 - margin) * h, n)])
    poses, targets = np.zeros((n, 4, 4)), np.zeros((n, 3))
    base = Rotation.random(random_state=rng)
    for i in range(n):
        R = (base * Rotation.from_rotvec(np.radians(35.0) * rng.uniform(-1, 1, 3) / np.sqrt(3))).as_matrix()
        T = make_T(R, [rng.uniform(-150, 150), rng.uniform(-120, 120), rng.uniform(600, 1000)])
        p_marker = map_pixels(T_mi, px[i:i + 1])[0]
        targets[i] = T[:3, :3] @ p_marker + T[:3, 3] + target_mm * rng.standard_normal(3)
        Rn = R @ Rotation.from_rotvec(np.radians(pose_deg) * rng.standard_normal(3)).as_matrix()
        poses[i] = make_T(Rn, T[:3, 3] + pose_mm * rng.standard_normal(3))
    marked = px + pixel_px * rng.standard_normal(px.shape)
    bad = np.zeros(n, bool)
    k = int(round(mismark_fraction * n))
    if k:
        bad[rng.choice(n, size=k, replace=False)] = True
        ang = rng.uniform(0, 2 * np.pi, k)
        marked[bad] += rng.uniform(8.0, 30.0, k)[:, None] * np.column_stack([np.cos(ang), np.sin(ang)])
    return PointCapture((w, h), marked, poses, targets), bad


def simulate_points(rng: np.random.Generator, n: int, *, size: tuple[int, int] = (640, 480),
                    spacing_mm: float | None = None, pixel_px: float = 0.5, target_mm: float = 0.3,
                    pose_mm: float = 0.25, pose_deg: float = 0.1, mismark_fraction: float = 0.0,
                    n_validation: int = 20) -> PointSet:
    """One capture of ``n`` points plus ``n_validation`` independent targets.

    Args:
        rng: randomness.
        n: number of calibration points.
        size: image size ``(width, height)``.
        spacing_mm: pixel spacing (default random 0.08-0.15 mm/px, i.e. 38-72 mm depth at 480 rows).
        pixel_px, target_mm, pose_mm, pose_deg: noise per axis (1 sigma).
        mismark_fraction: fraction of calibration pixels mis-marked by 8-30 px.
        n_validation: independent targets (no mis-marking).
    """
    spacing = spacing_mm if spacing_mm is not None else float(rng.uniform(0.08, 0.15))
    T_mi = true_calibration(size[0], size[1], spacing)
    cap, bad = _stations(rng, T_mi, size, n, pixel_px, target_mm, pose_mm, pose_deg, mismark_fraction)
    val, _ = _stations(rng, T_mi, size, n_validation, pixel_px, target_mm, pose_mm, pose_deg, 0.0)
    return PointSet(cap, val, T_mi, bad)


def grid_errors(T_est: np.ndarray, T_true: np.ndarray, size: tuple[int, int], step: int = 20) -> np.ndarray:
    """Distance (mm) between where the estimate and the truth put each pixel of a grid over the image."""
    w, h = size
    uu, vv = np.meshgrid(np.arange(0, w, step, dtype=float), np.arange(0, h, step, dtype=float))
    px = np.column_stack([uu.ravel(), vv.ravel()])
    return np.linalg.norm(map_pixels(T_est, px) - map_pixels(T_true, px), axis=1)


def capture_dict(cap: PointCapture) -> dict:
    """The ``calibrate us-probe --method points --input`` layout of a capture."""
    return {"image_size": list(cap.image_size), "pixels": cap.pixels.tolist(),
            "T_tracker_from_marker": cap.T_tracker_from_marker.tolist(),
            "points_tracker_mm": cap.points_tracker_mm.tolist()}


def write_points(s: PointSet, path: str | Path, truth_path: str | Path | None = None,
                 with_validation: bool = True) -> None:
    """Write the capture (with its independent targets under ``validation``) and the truth."""
    data = capture_dict(s.capture)
    if with_validation:
        val = capture_dict(s.validation)
        val.pop("image_size")
        data["validation"] = val
    Path(path).write_text(json.dumps(data))
    if truth_path is not None:
        Path(truth_path).write_text(json.dumps({"T_marker_from_image": s.T_marker_from_image.tolist(),
                                                "mismarked": s.mismarked.tolist()}))
