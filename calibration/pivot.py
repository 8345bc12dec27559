"""Pivot calibration: the tip of a tracked stylus from poses taken while it pivots in a divot.

With the tip fixed in a divot, every pose ``T_tracker_from_stylus_i = (R_i, t_i)`` maps the same
tip ``p_stylus`` to the same pivot point ``p_tracker``::

    R_i @ p_stylus + t_i = p_tracker        (3 equations per pose, 6 unknowns)

* :func:`pivot_algebraic` solves the stacked system ``[R_i  -I] [p_stylus; p_tracker] = -t_i`` by
  linear least squares (the classic method of PLUS ``vtkPlusPivotCalibrationAlgo`` and
  scikit-surgery's ``pivot_calibration``; Yaniv, "Which pivot calibration?", Proc. SPIE 9415, 2015).
* :func:`pivot_robust` weights each pose's residual by the covariance its noise gives it (a
  rotation error moves the tip across the stylus axis by ``|p_stylus|`` times the angle, a
  translation error moves it in every direction; the generalised least squares of Yaniv 2015,
  section 2.3), uses a Cauchy loss (SciPy ``least_squares``) and rejects the poses that fail a
  chi-square test (marker glitches), refitting until the set of inliers is stable.

Too little rotation leaves the tip unobservable along the unrotated axis: :func:`check_motion`
refuses it and names the tilt to add.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares
from scipy.spatial.transform import Rotation
from scipy.stats import chi2

from core.errors import CalibrationError

log = logging.getLogger(__name__)

MIN_POSES = 8
"""Fewest poses accepted (the solve needs 2; noise needs many more)."""


@dataclass(frozen=True)
class PivotNoise:
    """Expected pose noise of the tracker, used to weight and to test residuals.

    Attributes:
        translation_mm: 1-sigma translation noise per axis.
        rotation_deg: 1-sigma rotation noise per axis.
    """

    translation_mm: float = 0.25
    rotation_deg: float = 0.1


@dataclass(frozen=True)
class PivotMotion:
    """How much the stylus turned, as the spread of its rotations.

    Attributes:
        spread_deg: RMS rotation about the three principal axes of the motion, largest first.
        max_tilt_deg: the largest angle between a pose and the mean orientation.
    """

    spread_deg: tuple[float, float, float]
    max_tilt_deg: float


@dataclass(frozen=True)
class PivotResult:
    """A pivot calibration.

    Attributes:
        tip_stylus_mm: the tip in the stylus frame.
        pivot_tracker_mm: the pivot point in the tracker frame.
        residuals_mm: per pose, the distance of the pose's tip from the pivot point.
        inliers: per pose, whether it was used (``False``: rejected as a glitch).
        rms_mm: RMS of the inliers' residuals.
        method: ``"algebraic"`` or ``"robust"``.
        motion: the rotation spread of the poses.
        tip_std_mm: 1-sigma uncertainty of the tip per axis (from the fit's covariance).
    """

    tip_stylus_mm: np.ndarray
    pivot_tracker_mm: np.ndarray
    residuals_mm: np.ndarray
    inliers: np.ndarray
    rms_mm: float
    method: str
    motion: PivotMotion
    tip_std_mm: np.ndarray = field(default_factory=lambda: np.full(3, np.nan))

    @property
    def n_rejected(self) -> int:
        """How many poses were rejected."""
        return int(np.count_nonzero(~self.inliers))


def motion_of(T_tracker_from_stylus: np.ndarray) -> PivotMotion:
    """The rotation spread of a pose set (principal axes of the rotation vectors about the mean)."""
    rot = Rotation.from_matrix(T_tracker_from_stylus[:, :3, :3])
    mean = rot.mean()
    rv = (mean.inv() * rot).as_rotvec()
    cov = rv.T @ rv / max(len(rv), 1)
    ev = np.sort(np.clip(np.linalg.eigvalsh(cov), 0.0, None))[::-1]
    spread = tuple(float(np.degrees(np.sqrt(v))) for v in ev)
    return PivotMotion(spread_deg=spread, max_tilt_deg=float(np.degrees(np.linalg.norm(rv, axis=1).max())))


def check_motion(T_tracker_from_stylus: np.ndarray, min_spread_deg: float = 5.0) -> PivotMotion:
    """Refuse a pose set that cannot give the tip.

    The tip is observable when the stylus turned about two axes (a cone): the two largest
    principal rotation spreads must both reach ``min_spread_deg``.

    Raises:
        CalibrationError: too few poses or too little tilt; says what to add.
    """
    n = len(T_tracker_from_stylus)
    if n < MIN_POSES:
        raise CalibrationError(f"pivot calibration needs at least {MIN_POSES} poses, got {n}; record "
                               "more while pivoting the stylus in the divot")
    motion = motion_of(T_tracker_from_stylus)
    a, b, _ = motion.spread_deg
    if a < min_spread_deg:
        raise CalibrationError(f"the stylus hardly turned (rotation spread {a:.1f} deg, at least "
                               f"{min_spread_deg:.0f} deg needed); tilt it about 20-30 deg in every direction "
                               "around the divot while keeping the tip in it")
    if b < min_spread_deg:
        raise CalibrationError(f"the stylus turned about one axis only (spread {a:.1f} deg, but only {b:.1f} deg "
                               f"about the perpendicular axis; at least {min_spread_deg:.0f} deg needed); tilt it "
                               "also sideways, tracing a cone around the divot")
    return motion


def _system(T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(T)
    A = np.zeros((3 * n, 6))
    A[:, :3] = T[:, :3, :3].reshape(3 * n, 3)
    A[:, 3:] = -np.tile(np.eye(3), (n, 1))
    return A, -T[:, :3, 3].reshape(3 * n)


def _residual_vectors(T: np.ndarray, tip: np.ndarray, pivot: np.ndarray) -> np.ndarray:
    return np.einsum("nij,j->ni", T[:, :3, :3], tip) + T[:, :3, 3] - pivot


def pivot_algebraic(T_tracker_from_stylus: np.ndarray, check: bool = True) -> PivotResult:
    """Linear least squares on all poses (Yaniv 2015, "algebraic one step").

    Args:
        T_tracker_from_stylus: ``(N, 4, 4)`` poses in mm.
        check: refuse degenerate motion first (:func:`check_motion`).
    """
    T = np.asarray(T_tracker_from_stylus, dtype=np.float64)
    motion = check_motion(T) if check else motion_of(T)
    A, b = _system(T)
    x, *_ = np.linalg.lstsq(A, b, rcond=None)
    res = np.linalg.norm(_residual_vectors(T, x[:3], x[3:]), axis=1)
    rms = float(np.sqrt(np.mean(res ** 2)))
    dof = max(3 * len(T) - 6, 1)
    cov = np.linalg.pinv(A.T @ A) * float(np.sum(res ** 2)) / dof
    return PivotResult(x[:3], x[3:], res, np.ones(len(T), bool), rms, "algebraic", motion,
                       np.sqrt(np.clip(np.diag(cov)[:3], 0, None)))


def _whitening(T: np.ndarray, tip: np.ndarray, noise: PivotNoise) -> np.ndarray:
    """Per pose, ``W_i`` with ``W_i.T @ W_i = inverse covariance`` of its residual vector.

    A rotation error ``delta`` (stylus frame) moves the tip by ``R_i (delta x p)``: covariance
    ``sr^2 R_i (|p|^2 I - p p^T) R_i^T``; translation noise adds ``st^2 I``.
    """
    st2 = noise.translation_mm ** 2
    sr2 = np.radians(noise.rotation_deg) ** 2
    local = st2 * np.eye(3) + sr2 * (float(tip @ tip) * np.eye(3) - np.outer(tip, tip))
    L = np.linalg.cholesky(np.linalg.inv(local))  # inv(local) = L L^T
    # residual r_i = R_i e with cov(e) = local  ->  whiten with (R_i L)^T... : W_i = L^T R_i^T
    return np.einsum("ji,nkj->nik", L, T[:, :3, :3])


def pivot_robust(T_tracker_from_stylus: np.ndarray, noise: PivotNoise = PivotNoise(),
                 reject_p: float = 1e-4, max_rounds: int = 8) -> PivotResult:
    """Noise-weighted robust pivot calibration with explicit glitch rejection.

    1. Start from the algebraic solution; whiten each pose's residual by its covariance
       (:func:`_whitening`), so residuals are in units of sigma.
    2. Minimise with a Cauchy loss (scale 2 sigma), which bounds a glitch's pull.
    3. Reject poses whose squared whitened residual exceeds the chi-square quantile
       ``1 - reject_p`` (3 dof) after scaling by the robust estimate of the noise level, refit
       on the inliers with a plain quadratic loss, and repeat until the inlier set is stable.

    Args:
        T_tracker_from_stylus: ``(N, 4, 4)`` poses in mm.
        noise: the tracker's pose noise (relative weights matter most; the level is re-estimated).
        reject_p: false-rejection probability of a good pose.
        max_rounds: most reject-refit rounds.

    Raises:
        CalibrationError: degenerate motion, or too few poses left after rejection.
    """
    T = np.asarray(T_tracker_from_stylus, dtype=np.float64)
    motion = check_motion(T)
    start = pivot_algebraic(T, check=False)
    x = np.concatenate([start.tip_stylus_mm, start.pivot_tracker_mm])
    inl = np.ones(len(T), bool)
    thresh = chi2.ppf(1.0 - reject_p, 3)

    def fun(p: np.ndarray, Ts: np.ndarray, W: np.ndarray) -> np.ndarray:
        return np.einsum("nij,nj->ni", W, _residual_vectors(Ts, p[:3], p[3:])).ravel()

    loss = "cauchy"
    for _ in range(max_rounds):
        W = _whitening(T, x[:3], noise)
        sol = least_squares(fun, x, args=(T[inl], W[inl]), loss=loss, f_scale=2.0, method="trf", x_scale="jac")
        x = sol.x
        W = _whitening(T, x[:3], noise)
        z2 = np.sum(np.einsum("nij,nj->ni", W, _residual_vectors(T, x[:3], x[3:])) ** 2, axis=1)
        # robust noise level: the median of a chi-square(3) is 2.366
        scale = max(float(np.median(z2[inl])) / chi2.median(3), 1.0)
        new = z2 <= thresh * scale
        if np.count_nonzero(new) < MIN_POSES:
            raise CalibrationError(f"only {int(np.count_nonzero(new))} of {len(T)} poses agree on one pivot point; "
                                   "keep the tip in the divot while pivoting and record again")
        if loss == "linear" and np.array_equal(new, inl):
            break
        inl, loss = new, "linear"
    res = np.linalg.norm(_residual_vectors(T, x[:3], x[3:]), axis=1)
    rms = float(np.sqrt(np.mean(res[inl] ** 2)))
    J = sol.jac
    dof = max(J.shape[0] - 6, 1)
    cov = np.linalg.pinv(J.T @ J) * float(np.sum(sol.fun ** 2)) / dof
    if np.any(~inl):
        log.info("pivot: rejected %d of %d poses as glitches", int(np.count_nonzero(~inl)), len(T))
    return PivotResult(x[:3], x[3:], res, inl, rms, "robust", motion, np.sqrt(np.clip(np.diag(cov)[:3], 0, None)))
