"""Board pose from one camera image: detection, robust PnP, covariance and status.

``BoardTracker(board, camera, config).process(image, t_capture_ns) -> PoseMeasurement``

Steps (each in its own module): decode markers (:mod:`vision.tracking.detect`); for a ChArUco
board predict and refine every chessboard corner from the markers' pose; undistort the points;
solve the pose (:mod:`vision.tracking.pnp`: IPPE + LM for a plane with the two-fold ambiguity
settled by the previous pose, SQPnP + per-face IPPE for a cube, all visible faces fused in one
least-squares fit); drop outliers once; accept a pose from chessboard corners by the χ² test of
its residuals against the corner precision measured in the image (:meth:`BoardTracker._consistent`)
below a gross RMS limit (a pose from marker corners by its RMS error); attach the first-order
covariance and a status:

* ``ok``: enough of the board that should be in view was used;
* ``occluded``: fewer than ``occluded_fraction`` of the expected points were found;
* ``uncertain``: the translation standard deviation exceeds ``max_trans_std_mm``;
* ``lost``: no markers, too few points, degenerate geometry, a gross RMS error
  (``reprojection``) or residuals the image cannot explain (``inconsistent``); ``reason`` says which.

A lost frame never returns an old pose: the measurement carries ``T_camera_from_board = None``.
"""

from __future__ import annotations

import functools
import logging
from typing import Callable

import cv2
import numpy as np
from scipy.stats import chi2

from core.camera import CameraIntrinsics
from core.errors import InputError
from vision.tracking.board import BoardSpec
from vision.tracking.config import TrackingConfig
from vision.tracking.detect import MarkerDetector, Markers, refine_chessboard_corners
from vision.tracking.pnp import (PnPSolution, noise_sigma, planar_candidates, pose_covariance, project,
                                 solve_general, solve_planar, undistort_px)
from core.pose import PoseMeasurement
from core.se3 import R_to_rotvec
from core.types import Validity

logger = logging.getLogger(__name__)


def to_gray(image: np.ndarray, camera: CameraIntrinsics | None = None) -> np.ndarray:
    """Validate a camera image and return it as ``HxW`` uint8.

    Raises:
        InputError: not an image array, an unsupported dtype/shape, or a size that differs
            from the camera calibration.
    """
    if not isinstance(image, np.ndarray) or image.size == 0:
        raise InputError("camera frame is empty or not an image array; check the camera source")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise InputError(f"camera frame has shape {image.shape}; expected HxW grey or HxWx3 BGR")
    if camera is not None:
        camera.check_image(image)
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    elif image.dtype in (np.float32, np.float64):
        image = np.clip(image * (255.0 if float(np.nanmax(image)) <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise InputError(f"camera frame has dtype {image.dtype}; expected uint8")
    if image.ndim == 3:
        code = cv2.COLOR_BGRA2GRAY if image.shape[2] == 4 else cv2.COLOR_BGR2GRAY
        image = cv2.cvtColor(image, code)
    return np.ascontiguousarray(image)


@functools.lru_cache(maxsize=256)
def _chi2_quantile(p: float, dof: int) -> float:
    return float(chi2.ppf(p, dof))


class BoardTracker:
    """Pose of one marker board in one camera.

    Args:
        board: marker board (ChArUco or ArUco cube).
        camera: intrinsics of the images that will be processed.
        config: ``[tracking]``; the detector and pose stages use ``config.detector`` and
            ``config.pose``.
    """

    def __init__(self, board: BoardSpec, camera: CameraIntrinsics, config: TrackingConfig | None = None) -> None:
        self.board = board
        self.camera = camera
        self.config = config or TrackingConfig()
        self.detector = MarkerDetector(board, self.config.detector)
        self._prior: tuple[np.ndarray, int] | None = None
        self._face_of_marker = {}
        for fi, face in enumerate(board.planar_faces):
            for mid in face.marker_ids:
                self._face_of_marker[mid] = fi

    def reset(self) -> None:
        """Forget the previous pose (use between unrelated images)."""
        self._prior = None

    def _prior_T(self, t_ns: int) -> np.ndarray | None:
        if self._prior is None:
            return None
        T, t0 = self._prior
        age_ms = (t_ns - t0) / 1e6
        return T if 0 <= age_ms <= self.config.pose.prior_max_age_ms else None

    def _roi(self, prior: np.ndarray | None) -> tuple[int, int, int, int] | None:
        """Image box where the previous pose puts the board, grown by half its size + 32 px."""
        if prior is None:
            return None
        pts = np.concatenate([self.board.charuco_points.reshape(-1, 3)]
                             + [p for p in self.board.marker_points.values()])
        pc = pts @ prior[:3, :3].T + prior[:3, 3]
        if np.any(pc[:, 2] <= 1.0):
            return None
        uv, _ = cv2.projectPoints(pts, R_to_rotvec(prior[:3, :3]), prior[:3, 3], self.camera.K, self.camera.dist)
        uv = uv.reshape(-1, 2)
        lo, hi = uv.min(axis=0), uv.max(axis=0)
        grow = 0.5 * (hi - lo) + 32.0
        x0, y0 = np.maximum(np.floor(lo - grow), 0).astype(int)
        x1, y1 = np.minimum(np.ceil(hi + grow), [self.camera.width, self.camera.height]).astype(int)
        if x1 - x0 < 16 or y1 - y0 < 16 or (x1 - x0) * (y1 - y0) > 0.6 * self.camera.width * self.camera.height:
            return None
        return int(x0), int(y0), int(x1), int(y1)

    # ------------------------------------------------------------------ main entry
    def process(self, image: np.ndarray, t_capture_ns: int) -> PoseMeasurement:
        """Estimate ``T_camera_from_board`` in one image.

        Args:
            image: ``HxW`` grey or ``HxWx3`` BGR image of the calibrated size.
            t_capture_ns: capture time of the image (host ns).

        Raises:
            InputError: the image is not usable (empty, wrong shape or dtype, wrong size
                for the camera intrinsics).
        """
        gray = to_gray(image, self.camera)
        t = int(t_capture_ns)
        prior = self._prior_T(t)
        markers = self.detector.detect(gray, self.camera, self._roi(prior))
        if len(markers) == 0:
            return PoseMeasurement.lost(t, "no_markers")
        if self.board.type == "charuco":
            m = self._charuco_pose(gray, markers, t, prior)
        else:
            m = self._marker_pose(markers, t, prior)
        if m.usable:
            self._prior = (m.T_camera_from_board, t)
        return m

    # ------------------------------------------------------------------ board types
    def _marker_points(self, markers: Markers) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        obj = np.concatenate([self.board.marker_points[int(i)] for i in markers.ids])
        img = markers.corners.reshape(-1, 2)
        groups: dict[int, list[int]] = {}
        for k, i in enumerate(markers.ids):
            groups.setdefault(self._face_of_marker.get(int(i), 0), []).extend(range(4 * k, 4 * k + 4))
        return obj, img, [np.asarray(g) for g in groups.values()]

    def _charuco_pose(self, gray: np.ndarray, markers: Markers, t: int, prior: np.ndarray | None) -> PoseMeasurement:
        cfg, K, dist = self.config.pose, self.camera.K, self.camera.dist
        obj_m, img_m, _ = self._marker_points(markers)
        img_m_ideal = undistort_px(img_m, K, dist)
        cands: list[np.ndarray] = []
        if len(obj_m) >= 4:
            # the markers' own pose; both IPPE branches only when the markers cannot tell them apart
            msol = solve_planar(obj_m, img_m_ideal, K, prior, cfg.ambiguity_chi2, cfg.sigma_floor_px)
            if msol is not None and not msol.ambiguous:
                cands = [msol.T]
            else:
                cands = planar_candidates(obj_m, img_m_ideal, K)
        if prior is not None:
            cands = [prior] + cands
        best = None
        for T in cands:
            ids, pts, n_exp, precision = refine_chessboard_corners(gray, self.board, self.camera, T,
                                                                   self.config.detector)
            if ids.size < cfg.min_charuco_corners:
                continue
            fit = self._robust_solve(self.board.charuco_points[ids], undistort_px(pts, K, dist), None, prior, True)
            if fit is None or not self._markers_agree(fit[0].T, markers):
                continue
            # consensus at a fixed pixel threshold, so a wrong pose that spreads its error
            # over every point cannot win by keeping them all
            key = (int(np.sum(fit[0].residuals_px < 2.0 * cfg.outlier_px)), -fit[0].rms_px)
            if best is None or key > best[0]:
                best = (key, fit, n_exp, precision)
        if best is not None:
            (key, (sol, obj, img_ideal, _, kept), n_exp, precision) = best
            # predict again from the corner-based pose (far better than the markers' pose) and
            # re-refine, until the consensus stops improving
            for _ in range(3):
                if len(obj) >= n_exp and sol.rms_px <= 0.5 * cfg.outlier_px:
                    break  # every expected corner fits well: nothing to gain
                ids2, pts2, n_exp2, precision2 = refine_chessboard_corners(gray, self.board, self.camera, sol.T,
                                                                           self.config.detector)
                if ids2.size < cfg.min_charuco_corners:
                    break
                fit2 = self._robust_solve(self.board.charuco_points[ids2], undistort_px(pts2, K, dist), None,
                                          prior, True)
                if fit2 is None or not self._markers_agree(fit2[0].T, markers):
                    break
                key2 = (int(np.sum(fit2[0].residuals_px < 2.0 * cfg.outlier_px)), -fit2[0].rms_px)
                if key2 <= key:
                    break
                moved = np.linalg.norm(fit2[0].T[:3, 3] - sol.T[:3, 3])
                key, (sol, obj, img_ideal, _, kept), n_exp, precision = key2, fit2, n_exp2, precision2
                if moved < 0.01:
                    break
            point_cov = (lambda: precision()[kept]) if cfg.acceptance == "chi2" else None
            return self._finish(sol, obj, t, len(markers), n_exp, "corners", point_cov, img_ideal)
        # too few chessboard corners: marker corners only
        fit = self._robust_solve(obj_m, img_m_ideal, None, prior, True)
        if fit is None:
            return PoseMeasurement.lost(t, "degenerate", len(markers))
        sol, obj = fit[0], fit[1]
        return self._finish(sol, obj, t, len(markers), self._expected_marker_corners(sol.T), "markers")

    def _markers_agree(self, T: np.ndarray, markers: Markers) -> bool:
        """True when pose ``T`` puts most decoded markers where they were detected.

        The chessboard corners carry no identity of their own; the markers do. A pose fitted to
        a wrong set of corners (a grid snapped one square off, corners on an occluder's edge)
        moves the markers away from their detections.
        """
        obj = np.concatenate([self.board.marker_points[int(i)] for i in markers.ids])
        proj, _ = cv2.projectPoints(obj, R_to_rotvec(T[:3, :3]), T[:3, 3], self.camera.K, self.camera.dist)
        err = np.linalg.norm(proj.reshape(-1, 4, 2) - markers.corners, axis=2).mean(axis=1)
        side = np.linalg.norm(np.diff(markers.corners[:, [0, 1, 2, 3, 0]], axis=1), axis=2).mean(axis=1)
        tol = np.maximum(self.config.pose.marker_consistency_px, 0.3 * side)
        return bool(np.sum(err <= tol) >= max(1, int(np.ceil(0.5 * len(markers)))))

    def _marker_pose(self, markers: Markers, t: int, prior: np.ndarray | None) -> PoseMeasurement:
        obj, img, groups = self._marker_points(markers)
        fit = self._robust_solve(obj, undistort_px(img, self.camera.K, self.camera.dist), groups, prior, False)
        if fit is None:
            return PoseMeasurement.lost(t, "degenerate", len(markers))
        sol, obj = fit[0], fit[1]
        return self._finish(sol, obj, t, len(markers), self._expected_marker_corners(sol.T), "markers")

    def _expected_marker_corners(self, T: np.ndarray) -> int:
        """Marker corners that the pose ``T`` puts inside the image on a face turned to the camera."""
        n = 0
        for face in self.board.planar_faces:
            Tc = T @ face.T_board_from_face
            normal_out = -Tc[:3, 2]
            centre = Tc[:3, 3]
            if np.dot(normal_out, -centre) <= 0.15 * np.linalg.norm(centre):  # grazing or back face
                continue
            for mid in face.marker_ids:
                p = self.board.marker_points[mid]
                pc = p @ T[:3, :3].T + T[:3, 3]
                if np.any(pc[:, 2] <= 0):
                    continue
                uv = project(p, T, self.camera.K)
                n += int(np.sum((uv[:, 0] >= 0) & (uv[:, 0] < self.camera.width)
                                & (uv[:, 1] >= 0) & (uv[:, 1] < self.camera.height)))
        return n

    # ------------------------------------------------------------------ pose + status
    def _solve(self, obj: np.ndarray, img_ideal: np.ndarray, groups, prior, planar: bool) -> PnPSolution | None:
        cfg, K = self.config.pose, self.camera.K
        if planar:
            return solve_planar(obj, img_ideal, K, prior, cfg.ambiguity_chi2, cfg.sigma_floor_px)
        return solve_general(obj, img_ideal, K, groups, prior, cfg.ambiguity_chi2, cfg.sigma_floor_px)

    def _robust_solve(self, obj: np.ndarray, img_ideal: np.ndarray, groups, prior, planar: bool):
        """Pose with iterative outlier rejection.

        The noise level comes from the median residual (a 2-D Gaussian's median radius is
        1.1774 sigma); points beyond ``max(outlier_px, 4 sigma)`` are dropped and the pose
        re-solved, up to three rounds. Returns ``(solution, obj, img_ideal, groups, kept)`` of the
        inliers (``kept``: their indices in the input), or ``None`` when no pose can be solved.
        """
        cfg = self.config.pose
        if len(obj) < 4:
            return None
        sol = self._solve(obj, img_ideal, groups, prior, planar)
        if sol is None:
            return None
        kept = np.arange(len(obj))
        for _ in range(3):
            r = sol.residuals_px
            sigma_r = max(float(np.median(r)) / 1.1774, cfg.sigma_floor_px)
            bad = r > max(cfg.outlier_px, min(4.0 * sigma_r, cfg.max_marker_reproj_err_px))
            if not np.any(bad) or np.sum(~bad) < 4:
                break
            keep = ~bad
            remap = np.cumsum(keep) - 1
            g2 = None if groups is None else [remap[g[keep[g]]] for g in groups if np.any(keep[g])]
            sol2 = self._solve(obj[keep], img_ideal[keep], g2, prior, planar)
            if sol2 is None:
                break
            obj, img_ideal, sol, groups, kept = obj[keep], img_ideal[keep], sol2, g2, kept[keep]
        return sol, obj, img_ideal, groups, kept

    def _consistent(self, sol: PnPSolution, obj: np.ndarray, img_ideal: np.ndarray,
                    point_cov: Callable[[], np.ndarray]) -> tuple[bool, float]:
        """χ² test of the fit against the corner precision measured in the image.

        Each corner's residual ``r_i`` (ideal px) is weighed by its own covariance
        ``C_i = k^2 S_i + s_c^2 I`` -- ``S_i`` the Förstner precision of the corner in this image
        (:func:`~vision.tracking.detect.corner_covariance`), ``k`` the ``corner_sigma_scale``,
        ``s_c`` the ``calibration_sigma_px`` -- and the statistic ``sum r_i^T C_i^-1 r_i`` is
        compared with the ``1 - consistency_alpha`` quantile of χ² with ``2N - 6`` degrees of
        freedom: the global test of the adjustment's variance factor (Förstner & Wrobel,
        *Photogrammetric Computer Vision*, Springer 2016, §4.6.8; Hartley & Zisserman, *Multiple
        View Geometry*, 2nd ed., §5.3). The limit on the RMS error therefore grows with the
        corners' measured imprecision and with the number of corners (the χ² quantile per degree
        of freedom), instead of one pixel constant: 24 corners with an RMS error of 0.6 px pass,
        a pose whose corners leave residuals far beyond what their precision allows (a slipped
        corner set, corners on an occluder's edge) is refused. As measured, ``S_i`` varies
        little from frame to frame (:func:`~vision.tracking.detect.corner_covariance`), so in
        practice the test is a degrees-of-freedom-aware limit near 0.45 px per axis per corner.

        Since ``C_i >= s_c^2 I``, ``sum |r_i|^2 / s_c^2`` bounds the statistic from above; when
        that bound already passes, the corner precision is not computed (most frames).

        Args:
            point_cov: returns the corners' image covariances ``S_i`` (``(N, 2, 2)`` px^2).

        Returns:
            ``(passed, statistic / dof)``.
        """
        cfg = self.config.pose
        dof = 2 * len(obj) - 6
        if dof <= 0:
            return True, 0.0
        r = project(obj, sol.T, self.camera.K) - img_ideal
        limit = _chi2_quantile(1.0 - cfg.consistency_alpha, dof)
        if cfg.calibration_sigma_px > 0:
            bound = float(np.sum(r * r)) / cfg.calibration_sigma_px ** 2
            if bound <= limit:
                return True, bound / dof
        stat = float(np.einsum("ni,nij,nj->", r, np.linalg.inv(self._point_covariance(point_cov())), r))
        return stat <= limit, stat / dof

    def _point_covariance(self, point_cov: np.ndarray) -> np.ndarray:
        """``C_i = k^2 S_i + s_c^2 I`` of every corner (the calibration's alone where ``S_i`` is unknown)."""
        cfg = self.config.pose
        C = cfg.corner_sigma_scale ** 2 * point_cov + cfg.calibration_sigma_px ** 2 * np.eye(2)
        finite = np.all(np.isfinite(C.reshape(len(C), -1)), axis=1)
        if not np.all(finite):
            C[~finite] = max(cfg.calibration_sigma_px, cfg.sigma_floor_px) ** 2 * np.eye(2)
        return C

    def _finish(self, sol: PnPSolution, obj: np.ndarray, t: int, n_markers: int, n_expected: int,
                what: str, point_cov: Callable[[], np.ndarray] | None = None,
                img_ideal: np.ndarray | None = None) -> PoseMeasurement:
        """Check the fit, attach covariance and status."""
        cfg, K = self.config.pose, self.camera.K
        limit = cfg.max_reproj_err_px if what == "corners" else cfg.max_marker_reproj_err_px
        if not np.isfinite(sol.rms_px) or sol.rms_px > limit:
            m = PoseMeasurement.lost(t, "reprojection", n_markers)
            return m.with_(reproj_err_px=float(sol.rms_px), n_points=len(obj))
        if what == "corners" and cfg.acceptance == "chi2" and point_cov is not None and img_ideal is not None:
            ok, _ = self._consistent(sol, obj, img_ideal, point_cov)
            if not ok:
                m = PoseMeasurement.lost(t, "inconsistent", n_markers)
                return m.with_(reproj_err_px=float(sol.rms_px), n_points=len(obj))
        T = sol.T
        if T[2, 3] <= 0:
            return PoseMeasurement.lost(t, "behind_camera", n_markers)
        sigma = noise_sigma(sol.residuals_px, 6, cfg.sigma_floor_px)
        cov = pose_covariance(obj, T, K, sigma)
        validity, reason = Validity.OK, ""
        frac = len(obj) / max(n_expected, 1)
        if frac < cfg.occluded_fraction:
            validity, reason = Validity.OCCLUDED, f"partial:{len(obj)}/{n_expected}_{what}"
        if cov is None:
            validity, reason = Validity.UNCERTAIN, "ill_conditioned"
        elif np.sqrt(max(np.trace(cov[3:, 3:]), 0.0)) > cfg.max_trans_std_mm:
            validity, reason = Validity.UNCERTAIN, "uncertain_translation"
        elif np.degrees(np.sqrt(max(np.trace(cov[:3, :3]), 0.0))) > cfg.max_rot_std_deg:
            validity, reason = Validity.UNCERTAIN, "uncertain_rotation"
        elif sol.ambiguous and not sol.used_prior:
            # the mirrored (two-fold) solution explains the image about as well and there is
            # no previous pose to choose: the rotation cannot be trusted
            validity, reason = Validity.UNCERTAIN, "ambiguous"
        return PoseMeasurement(T, validity, t, reproj_err_px=float(sol.rms_px), n_points=len(obj), cov_6x6=cov,
                               n_markers=n_markers, reason=reason, source="tracker")
