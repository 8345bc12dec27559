"""Small SE(3)/SO(3) helpers on 4x4 homogeneous matrices (column vectors, mm).

Rotation log/exp follow the Rodrigues formula; interpolation is SLERP on the rotation
(Shoemake, "Animating rotation with quaternion curves", SIGGRAPH 1985) and LERP on the
translation.
"""

from __future__ import annotations

import cv2
import numpy as np


def make_T(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Build a 4x4 transform from a 3x3 rotation and a translation (mm)."""
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = np.asarray(t, dtype=np.float64).ravel()
    return T


def invert(T: np.ndarray) -> np.ndarray:
    """Inverse of a rigid transform."""
    R = T[:3, :3]
    return make_T(R.T, -R.T @ T[:3, 3])


def rotvec_to_R(rv: np.ndarray) -> np.ndarray:
    """Rotation vector (axis * angle, rad) to rotation matrix."""
    return cv2.Rodrigues(np.asarray(rv, dtype=np.float64).reshape(3, 1))[0]


def R_to_rotvec(R: np.ndarray) -> np.ndarray:
    """Rotation matrix to rotation vector (axis * angle, rad)."""
    return cv2.Rodrigues(np.asarray(R, dtype=np.float64))[0].ravel()


def from_rvec_tvec(rvec: np.ndarray, tvec: np.ndarray) -> np.ndarray:
    """OpenCV ``(rvec, tvec)`` to a 4x4 transform."""
    return make_T(rotvec_to_R(rvec), tvec)


def rotation_angle_deg(Ra: np.ndarray, Rb: np.ndarray) -> float:
    """Angle of the relative rotation ``Ra^T Rb`` in degrees."""
    c = (np.trace(Ra.T @ Rb) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


def orthonormalize(R: np.ndarray) -> np.ndarray:
    """Nearest rotation matrix (SVD projection)."""
    U, _, Vt = np.linalg.svd(R)
    Rn = U @ Vt
    if np.linalg.det(Rn) < 0:
        U[:, -1] *= -1
        Rn = U @ Vt
    return Rn


def interpolate(Ta: np.ndarray, Tb: np.ndarray, s: float) -> np.ndarray:
    """Pose between ``Ta`` (s=0) and ``Tb`` (s=1): SLERP rotation, LERP translation.

    ``s`` outside [0, 1] extrapolates along the same geodesic.
    """
    Ra, Rb = Ta[:3, :3], Tb[:3, :3]
    rv = R_to_rotvec(Ra.T @ Rb)
    R = Ra @ rotvec_to_R(s * rv)
    t = (1.0 - s) * Ta[:3, 3] + s * Tb[:3, 3]
    return make_T(R, t)


def is_rigid(T: np.ndarray, tol: float = 1e-6) -> bool:
    """True when ``T`` is a finite 4x4 rigid transform."""
    T = np.asarray(T)
    if T.shape != (4, 4) or not np.all(np.isfinite(T)):
        return False
    R = T[:3, :3]
    return bool(np.allclose(R.T @ R, np.eye(3), atol=tol) and abs(np.linalg.det(R) - 1) < tol
                and np.allclose(T[3], [0, 0, 0, 1], atol=tol))
