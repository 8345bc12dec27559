"""Point-based ultrasound probe calibration: ``T_marker_from_image`` from imaged point targets.

A point target (a stylus tip or a cross-wire) at a known tracker position ``p_tracker_i`` is
imaged in the ultrasound plane at pixel ``(u_i, v_i)`` while the probe marker is at
``T_tracker_from_marker_i``. With ``T_marker_from_image = [R diag(sx, sy, 1) | t]`` (rotation
times the pixel spacing, mm/px)::

    T_marker_from_tracker_i @ p_tracker_i = R @ [sx u_i, sy v_i, 0] + t

* :func:`calibrate_points_linear` solves it with the columns ``a = sx R e_x``, ``b = sy R e_y``
  free (9 unknowns, linear least squares; Detmer et al., "3D ultrasonic image feature
  localization based on magnetic scanhead tracking", Ultrasound Med. Biol. 20(9), 1994; the
  "point-based" calibration of Mercier et al., "A review of calibration techniques for
  freehand 3-D ultrasound systems", Ultrasound Med. Biol. 31(4), 2005).
* :func:`calibrate_points` estimates the 8 physical parameters (rotation vector, translation,
  ``sx``, ``sy``) by nonlinear least squares, each point's 3D residual whitened by the
  covariance its target, pose and marking noise give it (Hartley & Zisserman's maximum-likelihood
  weighting, here in the marker frame), with a Cauchy loss and chi-square rejection of
  mis-marked points, refitting until the inlier set is stable.

Both report leave-one-out point reconstruction errors (each point predicted by a calibration
fitted without it) and, when independent targets are given, the target registration error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy.optimize import least_squares
from scipy.spatial.transform import Rotation
from scipy.stats import chi2

from core.errors import CalibrationError

log = logging.getLogger(__name__)

MIN_POINTS = 8
"""Fewest points accepted (the solve needs 3 well-spread; noise needs many more)."""


@dataclass(frozen=True)
class PointNoise:
    """Expected noise of a point capture (1 sigma), used to weight and test residuals.

    Attributes:
        pixel_px: marking noise of the target's pixel, per axis.
        target_mm: noise of the target's tracker position, per axis.
        pose_mm: translation noise of the probe marker pose, per axis.
        pose_deg: rotation noise of the probe marker pose, per axis.
    """

    pixel_px: float = 0.5
    target_mm: float = 0.3
    pose_mm: float = 0.25
    pose_deg: float = 0.1


@dataclass(frozen=True)
class PointCapture:
    """The data of a point calibration.

    Attributes:
        image_size: ``(width, height)`` in pixels.
        pixels: ``(N, 2)`` target pixels ``(u, v)``.
        T_tracker_from_marker: ``(N, 4, 4)`` probe marker poses, mm.
        points_tracker_mm: ``(N, 3)`` target positions in the tracker frame.
    """

    image_size: tuple[int, int]
    pixels: np.ndarray
    T_tracker_from_marker: np.ndarray
    points_tracker_mm: np.ndarray

    def points_marker(self) -> np.ndarray:
        """The targets in the marker frame of their station."""
        Tinv = np.linalg.inv(self.T_tracker_from_marker)
        return np.einsum("nij,nj->ni", Tinv[:, :3, :3], self.points_tracker_mm) + Tinv[:, :3, 3]

    def subset(self, keep: np.ndarray) -> "PointCapture":
        """The capture restricted to the stations ``keep`` (mask or indices)."""
        return PointCapture(self.image_size, self.pixels[keep], self.T_tracker_from_marker[keep],
                            self.points_tracker_mm[keep])


@dataclass(frozen=True)
class PointCalibration:
    """A point-based ultrasound calibration.

    Attributes:
        T_marker_from_image: rotation times per-axis mm/px, and translation (mm).
        spacing_mm_per_px: ``(sx, sy)``: mm per pixel along the image columns and rows.
        residuals_mm: per point, the 3D distance between target and its mapped pixel (marker frame).
        inliers: per point, whether it was used (``False``: rejected as mis-marked).
        rms_mm: RMS residual of the inliers.
        loo_mm: per inlier point, the leave-one-out reconstruction error.
        method: ``"linear"`` or ``"robust"``.
    """

    T_marker_from_image: np.ndarray
    spacing_mm_per_px: tuple[float, float]
    residuals_mm: np.ndarray
    inliers: np.ndarray
    rms_mm: float
    loo_mm: np.ndarray = field(default_factory=lambda: np.zeros(0))
    method: str = "robust"

    @property
    def n_rejected(self) -> int:
        """How many points were rejected."""
        return int(np.count_nonzero(~self.inliers))


def check_spread(cap: PointCapture, min_fraction: float = 0.15) -> None:
    """Refuse points that cannot fix the image plane's two axes.

    The pixels must span the image in both directions (not all on one line, not in one corner):
    the smaller principal extent of the pixels must reach ``min_fraction`` of the image's
    smaller side.

    Raises:
        CalibrationError: too few points, or points on (nearly) one line; names what to add.
    """
    n = len(cap.pixels)
    if n < MIN_POINTS:
        raise CalibrationError(f"point calibration needs at least {MIN_POINTS} points, got {n}; image the "
                               "target at more positions spread over the whole image")
    centred = cap.pixels - cap.pixels.mean(axis=0)
    sv = np.linalg.svd(centred, compute_uv=False) / np.sqrt(n)
    side = float(min(cap.image_size))
    if sv[1] < min_fraction * side * 0.5:
        direction = "across the line they lie on"
        raise CalibrationError(
            f"the target pixels lie nearly on one line (spread {sv[0]:.0f} px along it, {sv[1]:.0f} px "
            f"{direction}); image the target also at other depths and lateral positions so the points cover "
            "the image in both directions")
    spread_mm = np.linalg.svd(cap.points_marker() - cap.points_marker().mean(axis=0), compute_uv=False) / np.sqrt(n)
    if spread_mm[1] < 2.0:
        raise CalibrationError(f"the targets' positions relative to the probe span {spread_mm[1]:.1f} mm in their "
                               "second direction; move the target (or the probe) so it appears all over the image")


def _params_to_T(p: np.ndarray) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = Rotation.from_rotvec(p[:3]).as_matrix() @ np.diag([p[6], p[7], 1.0])
    T[:3, 3] = p[3:6]
    return T


def _T_to_params(T: np.ndarray) -> np.ndarray:
    lin = T[:3, :3]
    a, b = lin[:, 0], lin[:, 1]
    sx, sy = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    # nearest rotation whose first two columns follow a and b (orthogonal Procrustes)
    M = np.column_stack([a / sx, b / sy, np.cross(a / sx, b / sy)])
    U, _, Vt = np.linalg.svd(M)
    R = U @ np.diag([1.0, 1.0, np.linalg.det(U @ Vt)]) @ Vt
    return np.concatenate([Rotation.from_matrix(R).as_rotvec(), T[:3, 3], [sx, sy]])


def map_pixels(T_marker_from_image: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Pixels ``(N, 2)`` to marker-frame points ``(N, 3)`` in mm."""
    return pixels @ T_marker_from_image[:3, :2].T + T_marker_from_image[:3, 3]


def calibrate_points_linear(cap: PointCapture, check: bool = True) -> PointCalibration:
    """Linear least squares with free image axes (the plain method; no orthogonality, no weights)."""
    if check:
        check_spread(cap)
    q = cap.points_marker()
    n = len(q)
    A = np.column_stack([cap.pixels, np.ones(n)])  # [u v 1] @ [a; b; t] = q
    X, *_ = np.linalg.lstsq(A, q, rcond=None)
    a, b, t = X
    c = np.cross(a, b)
    c /= max(np.linalg.norm(c), 1e-12)
    T = np.eye(4)
    T[:3, 0], T[:3, 1], T[:3, 2], T[:3, 3] = a, b, c, t
    res = np.linalg.norm(map_pixels(T, cap.pixels) - q, axis=1)
    return PointCalibration(T, (float(np.linalg.norm(a)), float(np.linalg.norm(b))), res, np.ones(n, bool),
                            float(np.sqrt(np.mean(res ** 2))), method="linear")


def _whitening(cap: PointCapture, T: np.ndarray, noise: PointNoise) -> np.ndarray:
    """Per point, ``W_i`` with ``W_i.T @ W_i`` = the inverse covariance of its marker-frame residual.

    Residual ``r_i = T_marker_from_image (u_i, v_i) - T_marker_from_tracker_i p_tracker_i``:
    the pixel noise enters through the image axes, the target noise rotated into the marker
    frame (isotropic), the pose translation noise likewise, and the pose rotation noise moves
    the target across by its distance from the marker origin.
    """
    q = cap.points_marker()
    J = T[:3, :2]
    base = noise.pixel_px ** 2 * (J @ J.T) + (noise.target_mm ** 2 + noise.pose_mm ** 2) * np.eye(3)
    sr2 = np.radians(noise.pose_deg) ** 2
    covs = base[None] + sr2 * (np.einsum("ni,ni->n", q, q)[:, None, None] * np.eye(3)[None]
                              - np.einsum("ni,nj->nij", q, q))
    inv = np.linalg.inv(covs)
    L = np.linalg.cholesky(inv)  # inv = L L^T -> W = L^T
    return np.transpose(L, (0, 2, 1))


def _loo(cap: PointCapture, p0: np.ndarray, W: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Leave-one-out reconstruction errors (mm), each from a fit without that point."""
    out = np.zeros(len(q))
    for i in range(len(q)):
        keep = np.arange(len(q)) != i
        sol = least_squares(_fun, p0, args=(cap.pixels[keep], q[keep], W[keep]), method="lm")
        T = _params_to_T(sol.x)
        out[i] = float(np.linalg.norm(map_pixels(T, cap.pixels[i:i + 1])[0] - q[i]))
    return out


def _fun(p: np.ndarray, px: np.ndarray, q: np.ndarray, W: np.ndarray) -> np.ndarray:
    T = _params_to_T(p)
    r = map_pixels(T, px) - q
    return np.einsum("nij,nj->ni", W, r).ravel()


def calibrate_points(cap: PointCapture, noise: PointNoise = PointNoise(), reject_p: float = 1e-3,
                     max_rounds: int = 8, leave_one_out: bool = True) -> PointCalibration:
    """Noise-weighted robust point calibration with rejection of mis-marked points.

    Args:
        cap: the capture.
        noise: expected noise (relative weights matter most; the level is re-estimated).
        reject_p: false-rejection probability of a good point (chi-square, 3 dof).
        max_rounds: most reject-refit rounds.
        leave_one_out: also compute the leave-one-out reconstruction errors.

    Raises:
        CalibrationError: degenerate spread, or too few points left after rejection.
    """
    check_spread(cap)
    start = calibrate_points_linear(cap, check=False)
    p = _T_to_params(start.T_marker_from_image)
    q = cap.points_marker()
    n = len(q)
    inl = np.ones(n, bool)
    thresh = chi2.ppf(1.0 - reject_p, 3)
    loss = "cauchy"
    for _ in range(max_rounds):
        W = _whitening(cap, _params_to_T(p), noise)
        sol = least_squares(_fun, p, args=(cap.pixels[inl], q[inl], W[inl]), loss=loss, f_scale=2.0,
                            method="trf", x_scale="jac")
        p = sol.x
        T = _params_to_T(p)
        W = _whitening(cap, T, noise)
        z2 = np.sum(np.einsum("nij,nj->ni", W, map_pixels(T, cap.pixels) - q) ** 2, axis=1)
        scale = max(float(np.median(z2[inl])) / chi2.median(3), 1.0)
        new = z2 <= thresh * scale
        if np.count_nonzero(new) < MIN_POINTS:
            raise CalibrationError(f"only {int(np.count_nonzero(new))} of {n} points agree on one calibration; "
                                   "check the marked pixels and the target positions, then record again")
        if loss == "linear" and np.array_equal(new, inl):
            break
        inl, loss = new, "linear"
    T = _params_to_T(p)
    res = np.linalg.norm(map_pixels(T, cap.pixels) - q, axis=1)
    loo = _loo(cap.subset(inl), p, W[inl], q[inl]) if leave_one_out else np.zeros(0)
    if np.any(~inl):
        log.info("us-probe points: rejected %d of %d points as mis-marked", int(np.count_nonzero(~inl)), n)
    return PointCalibration(T, (float(p[6]), float(p[7])), res, inl, float(np.sqrt(np.mean(res[inl] ** 2))),
                            loo, "robust")


def target_errors(T_marker_from_image: np.ndarray, cap: PointCapture) -> np.ndarray:
    """Target registration errors (mm) at independent targets: mapped pixel vs known position."""
    q = cap.points_marker()
    return np.linalg.norm(map_pixels(T_marker_from_image, cap.pixels) - q, axis=1)


def find_bright_point(image: np.ndarray, min_contrast: float = 6.0) -> tuple[float, float] | None:
    """The pixel of a point target: the brightest blob's intensity-weighted centre.

    The image is smoothed (the speckle averages out), the maximum found, and the centre taken
    as the weighted centroid of the pixels above half the peak over the background in a window
    around it (a sub-pixel estimate). ``None`` when the peak does not stand out
    ``min_contrast`` robust standard deviations above the background (no clear target).

    Args:
        image: gray or BGR ultrasound frame.
        min_contrast: how far the peak must rise above the background, in robust sigmas.
    """
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    g = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 2.0)
    bg = float(np.median(g))
    sigma = 1.4826 * float(np.median(np.abs(g - bg))) + 1e-6
    _, peak, _, (x, y) = cv2.minMaxLoc(g)
    if (peak - bg) / sigma < min_contrast:
        return None
    r = 12
    y0, y1, x0, x1 = max(0, y - r), min(g.shape[0], y + r + 1), max(0, x - r), min(g.shape[1], x + r + 1)
    win = g[y0:y1, x0:x1] - (bg + 0.5 * (peak - bg))
    win[win < 0] = 0
    total = float(win.sum())
    if total <= 0:
        return float(x), float(y)
    yy, xx = np.mgrid[y0:y1, x0:x1]
    return float((xx * win).sum() / total), float((yy * win).sum() / total)
