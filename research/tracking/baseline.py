"""The plain OpenCV tracker a newcomer would write, as the reference the board tracker is measured against.

``cv2.aruco.CharucoDetector`` (default detector parameters, OpenCV's own corner interpolation
from the decoded markers) and ``cv2.solvePnP`` (IPPE for the planar board, then
Levenberg-Marquardt refinement) on the detected ChArUco corners with the camera's distortion;
marker-only boards (the cube) use ``ArucoDetector`` and ``SOLVEPNP_SQPNP`` on every decoded
marker corner. Every solved pose is accepted: there is no consistency, covariance or ambiguity
check, which is what the comparison shows.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.camera import CameraIntrinsics
from core.pose import PoseMeasurement
from core.se3 import make_T, rotvec_to_R
from core.types import Validity
from vision.tracking.board import BoardSpec
from vision.tracking.board_tracker import to_gray


class OpenCVBaseline:
    """``process(image, t_ns) -> PoseMeasurement`` with OpenCV's stock ChArUco/ArUco pipeline.

    Args:
        board: the marker board.
        camera: intrinsics of the images.
    """

    def __init__(self, board: BoardSpec, camera: CameraIntrinsics) -> None:
        self.board, self.camera = board, camera
        self._charuco = (cv2.aruco.CharucoDetector(board.cv_board) if board.type == "charuco" else None)
        self._aruco = cv2.aruco.ArucoDetector(board.cv_dictionary, cv2.aruco.DetectorParameters())

    def reset(self) -> None:
        """Nothing to forget (every frame is solved on its own)."""

    def process(self, image: np.ndarray, t_capture_ns: int) -> PoseMeasurement:
        """Detect and solve; ``lost`` when fewer than 4 points or the solver fails."""
        gray = to_gray(image, self.camera)
        t = int(t_capture_ns)
        K, dist = self.camera.K, self.camera.dist
        if self._charuco is not None:
            cc, ci, _, mids = self._charuco.detectBoard(gray)
            n_markers = 0 if mids is None else len(mids)
            if ci is None or len(ci) < 4:
                return PoseMeasurement.lost(t, "no_markers" if n_markers == 0 else "too_few_corners", n_markers)
            obj = self.board.charuco_points[np.asarray(ci).ravel()].astype(np.float64)
            img = np.asarray(cc, np.float64).reshape(-1, 2)
            flags = cv2.SOLVEPNP_IPPE
        else:
            corners, ids, _ = self._aruco.detectMarkers(gray)
            known = [] if ids is None else [(c, int(i)) for c, i in zip(corners, np.asarray(ids).ravel())
                                            if int(i) in self.board.marker_points]
            n_markers = len(known)
            if not known:
                return PoseMeasurement.lost(t, "no_markers")
            obj = np.concatenate([self.board.marker_points[i] for _, i in known]).astype(np.float64)
            img = np.concatenate([np.asarray(c, np.float64).reshape(4, 2) for c, _ in known])
            flags = cv2.SOLVEPNP_SQPNP if len(known) > 1 else cv2.SOLVEPNP_IPPE
        try:
            ok, rv, tv = cv2.solvePnP(obj, img, K, dist, flags=flags)
            if ok:
                rv, tv = cv2.solvePnPRefineLM(obj, img, K, dist, rv, tv)
        except cv2.error:
            ok = False
        if not ok or not np.all(np.isfinite(rv)) or not np.all(np.isfinite(tv)):
            return PoseMeasurement.lost(t, "degenerate", n_markers)
        proj, _ = cv2.projectPoints(obj, rv, tv, K, dist)
        rms = float(np.sqrt(np.mean(np.sum((proj.reshape(-1, 2) - img) ** 2, axis=1))))
        return PoseMeasurement(make_T(rotvec_to_R(rv.ravel()), tv.ravel()), Validity.OK, t, reproj_err_px=rms,
                               n_points=len(obj), n_markers=n_markers, source="opencv")
