"""Pose from 2D-3D correspondences: planar IPPE with LM refinement, ambiguity resolution,
general (multi-face) PnP and a first-order pose covariance.

All functions work on *ideal* pixel coordinates: image points already undistorted with the
camera's distortion model (``cv2.undistortPoints`` with ``P = K``), so the projection is a
plain pinhole ``K [R | t]`` and the residuals are in pixels of the ideal image.

* Planar targets: Infinitesimal Plane-based Pose Estimation (Collins & Bartoli, "Infinitesimal
  plane-based pose estimation", IJCV 109(3), 2014) returns the two poses that explain a plane
  seen under weak perspective; both are refined with Levenberg-Marquardt on the reprojection
  error (Moré, "The Levenberg-Marquardt algorithm: implementation and theory", 1978). When
  the two refined poses are distinct (more than 2 degrees apart) and the worse one is not
  significantly worse -- the likelihood-ratio statistic ``N (rms_alt^2 - rms^2) / sigma^2``
  is below ``ambiguity_chi2`` -- the pose is ambiguous (the planar two-fold ambiguity,
  Schweighofer & Pinz, "Robust pose estimation from a planar target", IEEE TPAMI 28(12),
  2006): the one closer to the previous pose is kept, and without a previous pose the
  caller must not trust the rotation.
* Non-planar point sets (several cube faces): SQPnP (Terzakis & Lourakis, ECCV 2020) plus the
  IPPE solutions of each face as candidates, the best refined with LM on all points.
* Covariance: ``sigma^2 (J^T J)^-1`` with ``J`` the Jacobian of the projections with respect to a
  left perturbation ``(delta_theta, delta_t)`` of ``T_camera_from_board`` (Hartley & Zisserman,
  *Multiple View Geometry*, 2nd ed., §5.2.3, first-order propagation), sigma estimated from the
  residuals with a floor.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.se3 import R_to_rotvec, make_T, rotation_angle_deg, rotvec_to_R

_LM_CRITERIA = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 1e-10)


@dataclass(frozen=True)
class PnPSolution:
    """A refined pose with its fit statistics.

    Attributes:
        T: 4x4 ``T_camera_from_board`` (mm).
        rms_px: RMS reprojection error of the points used.
        residuals_px: per-point reprojection error (px).
        alt_rms_px: RMS error of the other planar solution (``inf`` when there is none).
        ambiguous: the two planar solutions fit about equally well.
        used_prior: the previous pose chose between ambiguous solutions.
    """

    T: np.ndarray
    rms_px: float
    residuals_px: np.ndarray
    alt_rms_px: float = float("inf")
    ambiguous: bool = False
    used_prior: bool = False


def undistort_px(points: np.ndarray, K: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Map measured pixel positions to ideal (distortion-free) pixel positions, ``(N, 2)`` float64."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 1, 2)
    if pts.shape[0] == 0:
        return np.zeros((0, 2))
    if dist is None or not np.any(np.asarray(dist) != 0):
        return pts.reshape(-1, 2).copy()
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 30, 1e-6)
    return cv2.undistortPoints(pts, K, np.asarray(dist, np.float64), None, None, K, crit).reshape(-1, 2)


def project(obj: np.ndarray, T: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Pinhole projection of board points ``(N, 3)`` mm to ideal pixels ``(N, 2)``."""
    pc = obj @ T[:3, :3].T + T[:3, 3]
    uv = pc @ K.T
    return uv[:, :2] / uv[:, 2:3]


def residuals(obj: np.ndarray, img: np.ndarray, T: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Per-point reprojection error (px); ``inf`` for points behind the camera."""
    pc = obj @ T[:3, :3].T + T[:3, 3]
    r = np.linalg.norm(project(obj, T, K) - img, axis=1)
    r[pc[:, 2] <= 1e-6] = np.inf
    return r


def _rms(r: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(r)))) if r.size else float("inf")


def _refine(obj: np.ndarray, img: np.ndarray, K: np.ndarray, rvec: np.ndarray, tvec: np.ndarray) -> np.ndarray:
    rv, tv = cv2.solvePnPRefineLM(obj, img, K, None, rvec.reshape(3, 1).copy(), tvec.reshape(3, 1).copy(),
                                  _LM_CRITERIA)
    return make_T(rotvec_to_R(rv), tv)


def point_spread(obj: np.ndarray) -> tuple[float, float, float]:
    """Singular values of the centred point set (mm): collinear when the second is ~0, planar when the third is."""
    c = obj - obj.mean(axis=0)
    s = np.linalg.svd(c, compute_uv=False) / np.sqrt(max(len(obj), 1))
    s = np.concatenate([s, np.zeros(3 - s.size)])
    return float(s[0]), float(s[1]), float(s[2])


def planar_candidates(obj: np.ndarray, img: np.ndarray, K: np.ndarray) -> list[np.ndarray]:
    """The two IPPE poses for coplanar points, each refined with LM."""
    obj = np.ascontiguousarray(obj, np.float64)
    img = np.ascontiguousarray(img, np.float64)
    try:
        n, rvecs, tvecs, _ = cv2.solvePnPGeneric(obj, img, K, None, flags=cv2.SOLVEPNP_IPPE)
    except cv2.error:
        return []
    out = []
    for rv, tv in zip(rvecs[:n], tvecs[:n]):
        if not (np.all(np.isfinite(rv)) and np.all(np.isfinite(tv))):
            continue
        out.append(_refine(obj, img, K, np.asarray(rv), np.asarray(tv)))
    return out


def solve_planar(obj: np.ndarray, img: np.ndarray, K: np.ndarray, prior_T: np.ndarray | None = None,
                 ambiguity_chi2: float = 25.0, sigma_floor_px: float = 0.05) -> PnPSolution | None:
    """Pose of a planar point set; ``None`` when the points are degenerate or IPPE fails.

    Args:
        obj: ``(N, 3)`` coplanar board points (mm), N >= 4.
        img: ``(N, 2)`` ideal pixel positions.
        K: 3x3 camera matrix.
        prior_T: previous pose, used only when the two solutions are ambiguous.
        ambiguity_chi2: see :class:`~vision.tracking.config.TrackingConfig`.
        sigma_floor_px: smallest noise level assumed in the likelihood-ratio test.
    """
    if len(obj) < 4 or point_spread(obj)[1] < 1e-6 * max(point_spread(obj)[0], 1e-12):
        return None
    cands = planar_candidates(obj, img, K)
    if not cands:
        return None
    scored = sorted(((_rms(residuals(obj, img, T, K)), i, T) for i, T in enumerate(cands)), key=lambda x: x[:2])
    best_rms, _, best = scored[0]
    alt_rms = scored[1][0] if len(scored) > 1 else float("inf")
    ambiguous = False
    if len(scored) > 1 and rotation_angle_deg(best[:3, :3], scored[1][2][:3, :3]) > 2.0:
        r_best = residuals(obj, img, best, K)
        sigma = noise_sigma(r_best, 6, sigma_floor_px)
        lr = len(obj) * (alt_rms ** 2 - best_rms ** 2) / sigma ** 2
        ambiguous = bool(lr < ambiguity_chi2)
    used_prior = False
    if ambiguous and prior_T is not None:
        alt = scored[1][2]
        d_best = rotation_angle_deg(best[:3, :3], prior_T[:3, :3])
        d_alt = rotation_angle_deg(alt[:3, :3], prior_T[:3, :3])
        used_prior = True
        if d_alt < d_best:
            best_rms, alt_rms, best = alt_rms, best_rms, alt
    return PnPSolution(best, best_rms, residuals(obj, img, best, K), alt_rms, bool(ambiguous), used_prior)


def solve_general(obj: np.ndarray, img: np.ndarray, K: np.ndarray, groups: list[np.ndarray] | None = None,
                  prior_T: np.ndarray | None = None, ambiguity_chi2: float = 25.0,
                  sigma_floor_px: float = 0.05) -> PnPSolution | None:
    """Pose of a point set that may span several planes (a marker cube).

    Candidates: SQPnP on all points, the IPPE pair of every group (face) with >= 4 points and
    the prior; each is scored on *all* points and the best is refined with LM. A single planar
    group falls back to :func:`solve_planar` (with its ambiguity handling).

    Args:
        groups: index arrays, one per planar face, into ``obj``/``img``.
    """
    obj = np.ascontiguousarray(obj, np.float64)
    img = np.ascontiguousarray(img, np.float64)
    if len(obj) < 4:
        return None
    s = point_spread(obj)
    if s[2] < 1e-6 * max(s[0], 1e-12):
        return solve_planar(obj, img, K, prior_T, ambiguity_chi2, sigma_floor_px)
    cands: list[np.ndarray] = []
    try:
        ok, rv, tv = cv2.solvePnP(obj, img, K, None, flags=cv2.SOLVEPNP_SQPNP)
        if ok:
            cands.append(make_T(rotvec_to_R(rv), tv))
    except cv2.error:
        pass
    for g in groups or []:
        if len(g) >= 4:
            cands.extend(planar_candidates(obj[g], img[g], K))
    if prior_T is not None:
        cands.append(np.asarray(prior_T, np.float64))
    if not cands:
        return None
    scored = sorted(((_rms(residuals(obj, img, T, K)), i, T) for i, T in enumerate(cands)), key=lambda x: x[:2])
    refined = []
    for _, _, T in scored[:3]:
        rv = R_to_rotvec(T[:3, :3])
        Tr = _refine(obj, img, K, rv, T[:3, 3])
        refined.append((_rms(residuals(obj, img, Tr, K)), Tr))
    refined.sort(key=lambda x: x[0])
    best_rms, best = refined[0]
    return PnPSolution(best, best_rms, residuals(obj, img, best, K))


def pose_covariance(obj: np.ndarray, T: np.ndarray, K: np.ndarray, sigma_px: float) -> np.ndarray | None:
    """First-order covariance of ``(delta_theta rad, delta_t mm)`` for a left perturbation of ``T``.

    ``T' = [exp(delta_theta) R | t + delta_t]``: both parts are expressed in the camera frame.
    Returns ``None`` when the Jacobian is rank deficient.
    """
    obj = np.ascontiguousarray(obj, np.float64)
    rv = R_to_rotvec(T[:3, :3])
    _, J = cv2.projectPoints(obj, rv.reshape(3, 1), T[:3, 3].reshape(3, 1), K, None)
    J_rv, J_t = J[:, 0:3], J[:, 3:6]
    # d rvec / d delta_theta by central differences of log(exp(delta) R)
    h = 1e-6
    D = np.empty((3, 3))
    for i in range(3):
        e = np.zeros(3)
        e[i] = h
        D[:, i] = (R_to_rotvec(rotvec_to_R(e) @ T[:3, :3]) - R_to_rotvec(rotvec_to_R(-e) @ T[:3, :3])) / (2 * h)
    A = np.hstack([J_rv @ D, J_t])
    N = A.T @ A
    if np.linalg.cond(N) > 1e14:
        return None
    return float(sigma_px) ** 2 * np.linalg.inv(N)


def noise_sigma(res: np.ndarray, n_params: int = 6, floor_px: float = 0.05) -> float:
    """Image-noise estimate from the residuals: ``sqrt(SSR / (2N - p))``, at least ``floor_px``."""
    dof = 2 * res.size - n_params
    if dof <= 0:
        return float(max(floor_px, _rms(res) if res.size else floor_px))
    return float(max(floor_px, np.sqrt(np.sum(np.square(res)) / dof)))
