"""Station selection for hand-eye calibration: is the headset motion rich enough, and what is missing.

``A X = X B`` fixes the rotation of ``X`` only when the station pairs rotate about at least two
well-separated axes, and its translation only through those rotations (Tsai & Lenz 1989,
section IV; Park & Martin 1994). A capture that turned the headset about one axis only, or hardly
at all, gives an arbitrary ``X`` that still fits the data, so it is refused here with a line that
names the motion to add. The headset axes follow DESIGN.md: x right, y up, z towards the viewer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy.spatial.transform import Rotation

from core.errors import CalibrationError

log = logging.getLogger(__name__)

AXIS_MOTIONS = (
    "nod the head up and down (pitch, about the headset x axis)",
    "turn the head left and right (yaw, about the headset y axis)",
    "tilt the head sideways (roll, about the headset z axis)",
)
"""What a person does to rotate the headset about its x, y and z axis."""
AXIS_NAMES = ("pitch (x)", "yaw (y)", "roll (z)")


@dataclass(frozen=True)
class MotionLimits:
    """What a usable capture needs.

    Attributes:
        min_stations: fewest stations accepted.
        recommended_stations: stations advised for a good result.
        min_rotation_deg: the largest rotation between two stations must reach this.
        min_axis_spread_deg: the rotation axes of the station pairs must spread at least this
            much (see :func:`analyse_motion`); rotation about one axis only spreads ~0-5 degrees.
        good_axis_range_deg: a headset axis whose rotation range stays below this is reported
            as a missing motion (advice, not a refusal).
        min_pair_angle_deg: station pairs rotating less are ignored when measuring the spread.
    """

    min_stations: int = 6
    recommended_stations: int = 12
    min_rotation_deg: float = 15.0
    min_axis_spread_deg: float = 15.0
    good_axis_range_deg: float = 15.0
    min_pair_angle_deg: float = 5.0


@dataclass(frozen=True)
class MotionAnalysis:
    """How the headset moved across the stations.

    Attributes:
        n_stations: stations given.
        max_rotation_deg: largest rotation between two stations.
        axis_spread_deg: spread of the pairwise rotation axes, ``2 atan(sqrt(l2 / l1))`` of the
            eigenvalues of ``sum w w^T`` over the pairs' rotation vectors ``w``: the angle
            between the axes for two equally used axes, 90 for well-mixed motion, near 0 for
            rotation about one axis.
        dominant_axis: unit vector (headset frame) of the most used rotation axis.
        axis_range_deg: rotation range about the headset x, y, z axes (around the mean pose).
        missing: the motions that are missing or too small (advice lines).
    """

    n_stations: int
    max_rotation_deg: float
    axis_spread_deg: float
    dominant_axis: tuple[float, float, float]
    axis_range_deg: tuple[float, float, float]
    missing: tuple[str, ...]

    def to_dict(self) -> dict:
        """JSON-friendly figures."""
        return {"n_stations": self.n_stations, "max_rotation_deg": round(self.max_rotation_deg, 3),
                "axis_spread_deg": round(self.axis_spread_deg, 3),
                "dominant_axis_headset": [round(v, 4) for v in self.dominant_axis],
                "axis_range_deg": {n: round(v, 3) for n, v in zip(("x", "y", "z"), self.axis_range_deg)},
                "missing": list(self.missing)}


def _mean_rotation(R: np.ndarray) -> np.ndarray:
    return Rotation.from_matrix(R).mean().as_matrix()


def analyse_motion(W: np.ndarray, limits: MotionLimits = MotionLimits()) -> MotionAnalysis:
    """Measure the rotation content of the headset poses.

    Args:
        W: ``(N, 4, 4)`` ``T_world_from_headset``.
        limits: thresholds for what counts as missing.
    """
    n = len(W)
    R = W[:, :3, :3]
    rel = Rotation.from_matrix(np.einsum("nji,njk->nik", R, np.broadcast_to(_mean_rotation(R), R.shape)))
    local = -rel.as_rotvec()  # rotation of each station away from the mean pose, headset frame
    axis_range = np.degrees(local.max(axis=0) - local.min(axis=0)) if n else np.zeros(3)
    pairs = [(i, j) for i, j in combinations(range(n), 2)]
    if pairs:
        ii, jj = np.array(pairs).T
        w = Rotation.from_matrix(np.einsum("nji,njk->nik", R[jj], R[ii])).as_rotvec()
        ang = np.degrees(np.linalg.norm(w, axis=1))
        max_rot = float(ang.max())
        w = w[ang >= limits.min_pair_angle_deg]
    else:
        max_rot, w = 0.0, np.zeros((0, 3))
    if len(w):
        lam, V = np.linalg.eigh(w.T @ w)
        spread = float(np.degrees(2.0 * np.arctan(np.sqrt(max(lam[1], 0.0) / max(lam[2], 1e-300)))))
        dominant = V[:, 2] * (1.0 if V[np.argmax(np.abs(V[:, 2])), 2] > 0 else -1.0)
    else:
        spread, dominant = 0.0, np.array([0.0, 1.0, 0.0])
    missing = []
    for k in range(3):
        if axis_range[k] < limits.good_axis_range_deg:
            missing.append(f"{AXIS_MOTIONS[k]}: range {axis_range[k]:.0f} deg so far, aim for at least "
                           f"{limits.good_axis_range_deg:.0f} deg")
    if n < limits.recommended_stations:
        missing.append(f"more stations: {n} so far, {limits.recommended_stations}-30 recommended, each with the "
                       "headset turned differently")
    return MotionAnalysis(n_stations=n, max_rotation_deg=max_rot, axis_spread_deg=spread,
                          dominant_axis=tuple(float(v) for v in dominant),
                          axis_range_deg=tuple(float(v) for v in axis_range), missing=tuple(missing))


def _axis_word(axis: np.ndarray) -> str:
    k = int(np.argmax(np.abs(axis)))
    return AXIS_NAMES[k]


def check_motion(m: MotionAnalysis, limits: MotionLimits = MotionLimits()) -> None:
    """Refuse a capture too poor to determine ``X``, naming the motion to add.

    Raises:
        CalibrationError: too few stations, too little rotation, or rotation about one axis only.
    """
    if m.n_stations < limits.min_stations:
        raise CalibrationError(f"{m.n_stations} stations, at least {limits.min_stations} are needed "
                               f"({limits.recommended_stations}-30 recommended); record more stations, turning the "
                               "headset about two different axes between them while the camera sees the marker")
    if m.max_rotation_deg < limits.min_rotation_deg:
        raise CalibrationError(f"too little rotation: the headset turned at most {m.max_rotation_deg:.1f} deg between "
                               f"stations, at least {limits.min_rotation_deg:.0f} deg (better 30-60) is needed; "
                               f"{AXIS_MOTIONS[1]} and {AXIS_MOTIONS[0]} further between stations, keeping the "
                               "marker in view")
    if m.axis_spread_deg < limits.min_axis_spread_deg:
        k = int(np.argmax(np.abs(m.dominant_axis)))
        others = " or ".join(AXIS_MOTIONS[j] for j in range(3) if j != k)
        raise CalibrationError(f"rotation about one axis only (mostly {_axis_word(np.array(m.dominant_axis))}): rotate "
                               "the headset also about a second axis well apart from the first (current spread "
                               f"{m.axis_spread_deg:.1f} deg, at least {limits.min_axis_spread_deg:.0f} deg needed), "
                               f"e.g. {others}")
