"""Simulated pivot captures with known truth: a stylus pivoting in a divot, seen by a tracker.

The stylus marker sits ``stylus_length_mm`` from the tip; the operator traces a cone of tilts up
to ``max_tilt_deg`` around a random mean direction and spins the stylus freely about its axis.
Each pose gets Gaussian noise (per axis, 1 sigma) in translation and in rotation (about the
stylus frame's axes); a fraction of poses is "glitched" (a marker mis-detection: 3-15 mm and
2-8 deg off), as in the issue's test sets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from core.se3 import make_T


@dataclass(frozen=True)
class PivotSet:
    """A simulated capture and its truth.

    Attributes:
        T_tracker_from_stylus: ``(N, 4, 4)`` noisy poses.
        tip_stylus_mm: true tip in the stylus frame.
        pivot_tracker_mm: true pivot point in the tracker frame.
        glitched: per pose, whether a glitch was added.
    """

    T_tracker_from_stylus: np.ndarray
    tip_stylus_mm: np.ndarray
    pivot_tracker_mm: np.ndarray
    glitched: np.ndarray


def simulate_pivot(rng: np.random.Generator, n: int, noise_mm: float = 0.25, noise_deg: float = 0.1,
                   glitch_fraction: float = 0.0, max_tilt_deg: float | None = None,
                   stylus_length_mm: float | None = None) -> PivotSet:
    """One pivot capture.

    Args:
        rng: randomness.
        n: number of poses.
        noise_mm: translation noise per axis (1 sigma).
        noise_deg: rotation noise per axis (1 sigma).
        glitch_fraction: fraction of poses with a marker glitch.
        max_tilt_deg: largest tilt from the mean direction (default random 20-35 deg).
        stylus_length_mm: tip-to-marker distance (default random 120-180 mm).
    """
    length = stylus_length_mm if stylus_length_mm is not None else rng.uniform(120.0, 180.0)
    tilt_max = max_tilt_deg if max_tilt_deg is not None else rng.uniform(20.0, 35.0)
    # tip in the stylus frame: mostly along -z, a little off-axis (the marker is not centred)
    tip = np.array([rng.uniform(-8, 8), rng.uniform(-8, 8), -length])
    pivot = np.array([rng.uniform(-150, 150), rng.uniform(-100, 100), rng.uniform(700, 1100)])
    mean = Rotation.random(random_state=rng)
    poses = np.zeros((n, 4, 4))
    glitched = np.zeros(n, bool)
    n_glitch = int(round(glitch_fraction * n))
    glitched[rng.choice(n, size=n_glitch, replace=False)] = True
    for i in range(n):
        az = rng.uniform(0, 2 * np.pi)
        tilt = np.radians(tilt_max) * np.sqrt(rng.uniform(0.05, 1.0))
        cone = Rotation.from_rotvec(tilt * np.array([np.cos(az), np.sin(az), 0.0]))
        spin = Rotation.from_rotvec([0.0, 0.0, rng.uniform(-np.pi, np.pi) * 0.5])
        R = (mean * cone * spin).as_matrix()
        t = pivot - R @ tip
        # noise: rotation about the stylus frame's axes, translation in the tracker frame
        Rn = R @ Rotation.from_rotvec(np.radians(noise_deg) * rng.standard_normal(3)).as_matrix()
        tn = t + noise_mm * rng.standard_normal(3)
        if glitched[i]:
            d = rng.standard_normal(3)
            tn = tn + rng.uniform(3.0, 15.0) * d / np.linalg.norm(d)
            a = rng.standard_normal(3)
            Rn = Rn @ Rotation.from_rotvec(np.radians(rng.uniform(2.0, 8.0)) * a / np.linalg.norm(a)).as_matrix()
        poses[i] = make_T(Rn, tn)
    return PivotSet(poses, tip, pivot, glitched)


def write_pivot(s: PivotSet, path: str | Path, truth_path: str | Path | None = None) -> None:
    """Write the capture in the ``calibrate pivot --input`` layout (and the truth next to it)."""
    Path(path).write_text(json.dumps({"T_tracker_from_stylus": s.T_tracker_from_stylus.tolist()}))
    if truth_path is not None:
        Path(truth_path).write_text(json.dumps({"tip_stylus_mm": s.tip_stylus_mm.tolist(),
                                                "pivot_tracker_mm": s.pivot_tracker_mm.tolist(),
                                                "glitched": s.glitched.tolist()}))
