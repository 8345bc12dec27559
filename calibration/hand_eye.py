"""Hand-eye calibration of the headset camera: ``X = T_headset_from_camera`` from a static marker.

The camera rigidly on the headset sees a static marker while the headset moves. At every station
``W_i X C_i = Y`` with ``W_i = T_world_from_headset_i`` (the headset's own tracking),
``C_i = T_camera_from_marker_i`` (the marker pose from the camera) and the static
``Y = T_world_from_marker``.

1. The motion is checked (:mod:`calibration.hand_eye_motion`); degenerate captures are refused.
2. A closed form on all station pairs (:mod:`calibration.hand_eye_closed_form`; Park & Martin
   1994 by default) gives the start.
3. ``X`` and ``Y`` are refined jointly by nonlinear least squares on the per-station pose
   residual ``W_i X C_i Y^-1``, the "simultaneous" formulation ``AX = YB`` of Zhuang, Roth &
   Sudhakar (IEEE Trans. Robotics and Automation 10(4), 1994) and Dornaika & Horaud (IEEE Trans.
   Robotics and Automation 14(4), 1998). Each station's 6-vector residual (rotation in rad,
   marker position in mm, world frame) is whitened by its covariance propagated to first order
   from the stated noise of the headset pose and of the marker pose: headset rotation noise moves
   the marker by the lever arm from headset to marker, so rotation and translation residuals are
   correlated and the translation residual is anisotropic. This makes the fit the linearised
   maximum-likelihood estimate; a robust loss (``scipy.optimize.least_squares``) limits glitches,
   and stations whose whitened residual is far above the rest (chi-square test, scaled by the
   robustly measured noise level) are dropped, listed and the fit repeated.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares
from scipy.spatial.transform import Rotation
from scipy.stats import chi2

from core.errors import CalibrationError, InputError
from core.se3 import invert, make_T
from calibration.hand_eye_closed_form import CLOSED_FORMS, motion_pairs, solve_closed_form
from calibration.hand_eye_motion import MotionAnalysis, MotionLimits, analyse_motion, check_motion

log = logging.getLogger(__name__)

METHODS = ("refined",) + CLOSED_FORMS
"""``refined`` (joint X, Y least squares) or one of the closed forms alone."""

_CHI2_MEDIAN_6 = float(chi2.median(6))


@dataclass(frozen=True)
class NoiseModel:
    """1-sigma noise per axis of the two pose sources (rotation about the body origin, translation).

    Defaults: headset inside-out tracking ~0.3 deg / 1.0 mm, marker pose from the camera
    ~0.2 deg / 0.5 mm.
    """

    headset_rot_deg: float = 0.3
    headset_trans_mm: float = 1.0
    marker_rot_deg: float = 0.2
    marker_trans_mm: float = 0.5

    def __post_init__(self) -> None:
        for name in ("headset_rot_deg", "headset_trans_mm", "marker_rot_deg", "marker_trans_mm"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise InputError(f"noise {name} must be a positive number, got {v!r}")


@dataclass(frozen=True)
class HandEyeConfig:
    """Settings of :func:`calibrate_hand_eye`.

    Attributes:
        method: ``"refined"`` or a closed form alone (``"park"``, ``"tsai"``, ``"daniilidis"``).
        initial: closed form that starts the refinement.
        noise: pose noise used to weight the residuals.
        motion: limits of the motion check.
        loss: robust loss of ``least_squares`` (``"soft_l1"``, ``"huber"``, ``"cauchy"``, ``"linear"``).
        loss_scale: where the loss turns robust, in noise sigmas of one whitened component.
        reject_outliers: drop stations far above the rest and refit.
        outlier_probability: chi-square tail probability (6 dof) under which a station is an outlier.
        max_outlier_fraction: never drop more than this share of the stations.
        max_noise_ratio: refuse when the inliers' residuals exceed the stated noise by this factor.
        min_pair_angle_deg: station pairs rotating less are not used by the closed forms.
    """

    method: str = "refined"
    initial: str = "park"
    noise: NoiseModel = field(default_factory=NoiseModel)
    motion: MotionLimits = field(default_factory=MotionLimits)
    loss: str = "soft_l1"
    loss_scale: float = 3.0
    reject_outliers: bool = True
    outlier_probability: float = 1e-3
    max_outlier_fraction: float = 0.25
    max_noise_ratio: float = 6.0
    min_pair_angle_deg: float = 2.0

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"unknown hand-eye method {self.method!r}; choose one of {', '.join(METHODS)}")
        if self.initial not in CLOSED_FORMS:
            raise InputError(f"unknown initial closed form {self.initial!r}; choose one of {', '.join(CLOSED_FORMS)}")


@dataclass(frozen=True)
class HandEyeResult:
    """The calibration and its evidence.

    Attributes:
        X: ``T_headset_from_camera``.
        Y: ``T_world_from_marker``.
        method: the method's name.
        inliers: per station, False for a rejected outlier.
        trans_residual_mm: per station, distance between the marker position it predicts
            (``W_i X C_i``) and ``Y``'s.
        rot_residual_deg: per station, the same for the marker orientation.
        chi2: per station, squared whitened residual (about 6 for a station within the noise).
        rms_mm: RMS of ``trans_residual_mm`` over the inliers.
        rms_deg: RMS of ``rot_residual_deg`` over the inliers.
        noise_ratio: measured residual level over the stated noise (about 1 when it fits).
        sigma_X_mm: predicted 1-sigma (3-D) error of X's translation, from the fit's Jacobian.
        sigma_X_deg: predicted 1-sigma error of X's rotation.
        motion: the motion analysis.
        closed_forms: ``X`` of each closed form on all stations (for comparison).
    """

    X: np.ndarray
    Y: np.ndarray
    method: str
    inliers: np.ndarray
    trans_residual_mm: np.ndarray
    rot_residual_deg: np.ndarray
    chi2: np.ndarray
    rms_mm: float
    rms_deg: float
    noise_ratio: float
    sigma_X_mm: float
    sigma_X_deg: float
    motion: MotionAnalysis
    closed_forms: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def outliers(self) -> list[int]:
        """Indices of the rejected stations."""
        return [int(i) for i in np.flatnonzero(~self.inliers)]


def check_stations(W: np.ndarray, C: np.ndarray) -> int:
    """Shapes and values of the two pose lists; returns the station count.

    Raises:
        InputError: not ``(N, 4, 4)``, different lengths, or non-finite values.
    """
    for name, T in (("T_world_from_headset", W), ("T_camera_from_marker", C)):
        if T.ndim != 3 or T.shape[1:] != (4, 4):
            raise InputError(f"{name} must be a list of 4x4 matrices, got an array of shape {T.shape}")
        if not np.all(np.isfinite(T)):
            raise InputError(f"{name} contains NaN or infinite values")
    if len(W) != len(C):
        raise InputError(f"one marker pose per headset pose is needed, got {len(W)} T_world_from_headset and "
                         f"{len(C)} T_camera_from_marker")
    return len(W)


def _rot(rv: np.ndarray) -> np.ndarray:
    return Rotation.from_rotvec(rv).as_matrix()


def _rotvec(R: np.ndarray) -> np.ndarray:
    return Rotation.from_matrix(R).as_rotvec()


def _average_Y(W: np.ndarray, C: np.ndarray, X: np.ndarray) -> np.ndarray:
    M = W @ X @ C
    R = Rotation.from_matrix(M[:, :3, :3]).mean().as_matrix()
    return make_T(R, np.median(M[:, :3, 3], axis=0))


def _station_residuals(W: np.ndarray, C: np.ndarray, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(N, 3)`` rotation residuals (rad) and ``(N, 3)`` marker-position residuals (mm), world frame."""
    R_M = W[:, :3, :3] @ X[:3, :3] @ C[:, :3, :3]
    t_M = np.einsum("nij,nj->ni", W[:, :3, :3], C[:, :3, 3] @ X[:3, :3].T + X[:3, 3]) + W[:, :3, 3]
    r_rot = _rotvec(R_M @ Y[:3, :3].T)
    return r_rot, t_M - Y[:3, 3]


def _whiteners(W: np.ndarray, C: np.ndarray, X: np.ndarray, noise: NoiseModel) -> np.ndarray:
    """Per station ``L^-1`` with ``L L^T`` the covariance of ``[r_rot; r_t]`` (first-order propagation).

    Headset noise ``(a, b)``, marker noise ``(c, d)`` (rotation about the body origin, translation):
    ``r_rot = a + G c``, ``r_t = b + G d - [p]x a`` with ``G = R_W R_X`` and ``p`` the vector from the
    headset origin to the marker origin (world frame).
    """
    shr, sht = np.radians(noise.headset_rot_deg), noise.headset_trans_mm
    smr, smt = np.radians(noise.marker_rot_deg), noise.marker_trans_mm
    p = np.einsum("nij,nj->ni", W[:, :3, :3], C[:, :3, 3] @ X[:3, :3].T + X[:3, 3])
    P = np.zeros((len(W), 3, 3))
    P[:, 0, 1], P[:, 0, 2], P[:, 1, 2] = -p[:, 2], p[:, 1], -p[:, 0]
    P[:, 1, 0], P[:, 2, 0], P[:, 2, 1] = p[:, 2], -p[:, 1], p[:, 0]
    S = np.zeros((len(W), 6, 6))
    S[:, :3, :3] = (shr ** 2 + smr ** 2) * np.eye(3)
    S[:, :3, 3:] = shr ** 2 * P
    S[:, 3:, :3] = np.transpose(S[:, :3, 3:], (0, 2, 1))
    S[:, 3:, 3:] = (sht ** 2 + smt ** 2) * np.eye(3) + shr ** 2 * P @ np.transpose(P, (0, 2, 1))
    return np.linalg.inv(np.linalg.cholesky(S))


def _whitened(W, C, X, Y, Linv) -> np.ndarray:
    r_rot, r_t = _station_residuals(W, C, X, Y)
    return np.einsum("nij,nj->ni", Linv, np.concatenate([r_rot, r_t], axis=1))


def _compose(x: np.ndarray, X0: np.ndarray, Y0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = make_T(_rot(x[0:3]) @ X0[:3, :3], X0[:3, 3] + x[3:6])
    Y = make_T(_rot(x[6:9]) @ Y0[:3, :3], Y0[:3, 3] + x[9:12])
    return X, Y


def refine(W: np.ndarray, C: np.ndarray, X0: np.ndarray, Y0: np.ndarray, noise: NoiseModel,
           loss: str = "soft_l1", loss_scale: float = 3.0,
           passes: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Joint least-squares refinement of ``X`` and ``Y`` over the given stations.

    The weights depend on ``X`` through the lever arm, so they are recomputed between passes.

    Returns:
        ``X``, ``Y`` and the whitened Jacobian (``6N x 12``) at the solution, parameters
        ``[rot X (rad), t X (mm), rot Y, t Y]``.
    """
    X, Y, jac = X0, Y0, np.zeros((6 * len(W), 12))
    for _ in range(passes):
        Linv = _whiteners(W, C, X, noise)
        Xs, Ys = X, Y

        def fun(x: np.ndarray) -> np.ndarray:
            Xc, Yc = _compose(x, Xs, Ys)
            return _whitened(W, C, Xc, Yc, Linv).ravel()

        res = least_squares(fun, np.zeros(12), loss=loss, f_scale=loss_scale, method="trf", x_scale="jac",
                            xtol=1e-8, ftol=1e-8, gtol=1e-8, max_nfev=200)
        X, Y = _compose(res.x, Xs, Ys)
        jac = res.jac
    return X, Y, jac


def _diagnose(W: np.ndarray, C: np.ndarray, config: HandEyeConfig) -> str:
    """A hint when nothing fits: do the data fit with one list inverted?

    Inverting either list gives the same consistent system, so the hint names both.
    """
    Ci = np.array([invert(c) for c in C])
    try:
        X = solve_closed_form(W, Ci, "park", config.min_pair_angle_deg)
        Y = _average_Y(W, Ci, X)
        X, Y, _ = refine(W, Ci, X, Y, config.noise, config.loss, config.loss_scale, passes=1)
        c2 = np.sum(_whitened(W, Ci, X, Y, _whiteners(W, Ci, X, config.noise)) ** 2, axis=1)
    except (CalibrationError, np.linalg.LinAlgError, ValueError):
        return ""
    if np.sqrt(np.median(c2) / _CHI2_MEDIAN_6) < max(2.0, config.max_noise_ratio / 3):
        return ("; the data fit once one list is inverted: T_world_from_headset must map headset to world and "
                "T_camera_from_marker marker to camera - one of them holds the inverse")
    return ""


def calibrate_hand_eye(W: np.ndarray, C: np.ndarray, config: HandEyeConfig = HandEyeConfig()) -> HandEyeResult:
    """``X = T_headset_from_camera`` and ``Y = T_world_from_marker`` from headset and marker poses.

    Args:
        W: ``(N, 4, 4)`` ``T_world_from_headset`` in mm.
        C: ``(N, 4, 4)`` ``T_camera_from_marker`` in mm, taken at the same instants.
        config: method, noise and limits.

    Raises:
        InputError: wrong shapes or values.
        CalibrationError: degenerate motion (names the motion to add), inconsistent data (the
            marker moved, poses not paired in time, a wrong convention), or too many outliers.
    """
    n = check_stations(np.asarray(W, float), np.asarray(C, float))
    W, C = np.asarray(W, float), np.asarray(C, float)
    motion = analyse_motion(W, config.motion)
    check_motion(motion, config.motion)
    _check_consistency(W, C, config)

    closed: dict[str, np.ndarray] = {}
    for name in CLOSED_FORMS:
        try:
            closed[name] = solve_closed_form(W, C, name, config.min_pair_angle_deg)
        except CalibrationError as exc:
            log.info("closed form %s failed: %s", name, exc)
    start = config.initial if config.method == "refined" else config.method
    if start not in closed:
        raise CalibrationError(f"the {start} closed form found no solution; rotate the headset about two "
                               "well-separated axes between stations")
    X = closed[start]
    Y = _average_Y(W, C, X)
    inliers = np.ones(n, bool)
    if config.method == "refined":
        X, Y, _ = refine(W, C, X, Y, config.noise, config.loss, config.loss_scale)
        for _ in range(4 if config.reject_outliers else 0):
            c2 = np.sum(_whitened(W, C, X, Y, _whiteners(W, C, X, config.noise)) ** 2, axis=1)
            scale = max(1.0, float(np.median(c2[inliers])) / _CHI2_MEDIAN_6)
            new = c2 <= scale * chi2.isf(config.outlier_probability, 6)
            cap = int(np.floor(config.max_outlier_fraction * n))
            if (~new).sum() > cap:
                new = np.ones(n, bool)
                new[np.argsort(c2)[::-1][:cap]] = False
            if np.array_equal(new, inliers):
                break
            inliers = new
            if inliers.sum() < config.motion.min_stations:
                raise CalibrationError(f"only {int(inliers.sum())} stations agree with each other; record the "
                                       "capture again with the marker still and well in view")
            X, Y, _ = refine(W[inliers], C[inliers], X, Y, config.noise, config.loss, config.loss_scale)
    Linv = _whiteners(W, C, X, config.noise)
    c2 = np.sum(_whitened(W, C, X, Y, Linv) ** 2, axis=1)
    noise_ratio = float(np.sqrt(np.median(c2[inliers]) / _CHI2_MEDIAN_6))
    if noise_ratio > config.max_noise_ratio:
        raise CalibrationError(
            f"the stations do not agree: residuals are {noise_ratio:.1f} times the stated pose noise; keep the marker "
            "still, pair each headset pose with the marker pose of the same instant, give poses in mm, or state the "
            "real noise with --sigma-headset/--sigma-marker" + _diagnose(W, C, config))
    jac = _numeric_jac(W[inliers], C[inliers], X, Y, Linv[inliers])
    try:
        cov = np.linalg.inv(jac.T @ jac) * max(1.0, noise_ratio ** 2)
        sig_t = float(np.sqrt(np.trace(cov[3:6, 3:6])))
        sig_r = float(np.degrees(np.sqrt(np.trace(cov[0:3, 0:3]))))
    except np.linalg.LinAlgError:
        sig_t = sig_r = float("inf")
    r_rot, r_t = _station_residuals(W, C, X, Y)
    tr = np.linalg.norm(r_t, axis=1)
    rd = np.degrees(np.linalg.norm(r_rot, axis=1))
    result = HandEyeResult(
        X=X, Y=Y, method=_method_name(config), inliers=inliers, trans_residual_mm=tr, rot_residual_deg=rd, chi2=c2,
        rms_mm=float(np.sqrt(np.mean(tr[inliers] ** 2))), rms_deg=float(np.sqrt(np.mean(rd[inliers] ** 2))),
        noise_ratio=noise_ratio, sigma_X_mm=sig_t, sigma_X_deg=sig_r, motion=motion, closed_forms=closed)
    log.info("hand-eye %s: %d stations, %d outliers, rms %.2f mm / %.3f deg, predicted X error %.2f mm / %.3f deg",
             result.method, n, len(result.outliers), result.rms_mm, result.rms_deg, sig_t, sig_r)
    return result


def _numeric_jac(W, C, X, Y, Linv) -> np.ndarray:
    """Whitened Jacobian of the residuals in the 12 parameters (central differences)."""
    J = np.zeros((6 * len(W), 12))
    for k in range(12):
        h = np.zeros(12)
        h[k] = 1e-6 if k % 6 < 3 else 1e-3
        Xp, Yp = _compose(h, X, Y)
        Xm, Ym = _compose(-h, X, Y)
        J[:, k] = (_whitened(W, C, Xp, Yp, Linv) - _whitened(W, C, Xm, Ym, Linv)).ravel() / (2 * h[k])
    return J


def _method_name(config: HandEyeConfig) -> str:
    names = {"park": "Park-Martin 1994", "tsai": "Tsai-Lenz 1989", "daniilidis": "Daniilidis 1999"}
    if config.method == "refined":
        return (f"hand-eye joint X/Y least squares (noise-weighted, {config.loss} loss, outlier rejection), "
                f"started from {names[config.initial]}")
    return f"hand-eye closed form {names[config.method]}"


def _check_consistency(W: np.ndarray, C: np.ndarray, config: HandEyeConfig) -> None:
    """Rotation angles of the headset motion and of the camera motion must agree (screw congruence).

    Raises:
        CalibrationError: the median mismatch over station pairs is far above the noise.
    """
    A, B = motion_pairs(W, C, config.min_pair_angle_deg)
    if not len(A):
        return
    a = np.degrees(np.linalg.norm(_rotvec(A[:, :3, :3]), axis=1))
    b = np.degrees(np.linalg.norm(_rotvec(B[:, :3, :3]), axis=1))
    mismatch = float(np.median(np.abs(a - b)))
    nz = config.noise
    limit = max(3.0, 6.0 * np.sqrt(2.0 * (nz.headset_rot_deg ** 2 + nz.marker_rot_deg ** 2)))
    if mismatch > limit:
        raise CalibrationError(f"the rotations the camera saw do not match the headset's (median mismatch "
                               f"{mismatch:.1f} deg over station pairs, noise allows {limit:.1f}): keep the marker "
                               "still and pair each headset pose with the marker pose taken at the same instant")
