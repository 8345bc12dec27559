"""The pose message produced by every probe-pose stage (tracker, filter, sync buffer, IGTL)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from core.types import Validity


@dataclass(frozen=True)
class PoseMeasurement:
    """One pose of the marker board in the camera, with its status and uncertainty.

    Attributes:
        T_camera_from_board: 4x4 float64 (mm), or ``None`` when lost.
        validity: ``OK`` (enough of the board seen), ``OCCLUDED`` (pose from part of the
            board), ``LOST`` (no pose), ``STALE`` (old pose, must not be shown as current).
        t_capture_ns: capture time of the camera frame (core clock, :func:`core.clock.now_ns`).
        reproj_err_px: RMS reprojection error of the points used (NaN when lost).
        n_points: number of 2D-3D correspondences used.
        cov_6x6: covariance of ``(rotation vector rad, translation mm)`` in the camera frame
            (first-order, from the PnP Jacobian), or ``None``.
        n_markers: number of markers detected.
        reason: short reason when not OK (``"no_markers"``, ``"reprojection"``...).
        source: producer name (``"tracker"``, ``"filter"``, ``"igtl:ProbeToTracker"``...).
    """

    T_camera_from_board: np.ndarray | None
    validity: Validity
    t_capture_ns: int
    reproj_err_px: float = float("nan")
    n_points: int = 0
    cov_6x6: np.ndarray | None = None
    n_markers: int = 0
    reason: str = ""
    source: str = "tracker"

    @property
    def usable(self) -> bool:
        """True when the pose is current and may be used (OK or OCCLUDED)."""
        return self.T_camera_from_board is not None and self.validity in (Validity.OK, Validity.OCCLUDED)

    @property
    def trans_std_mm(self) -> float:
        """Root of the translation covariance trace (mm); NaN without a covariance."""
        if self.cov_6x6 is None:
            return float("nan")
        return float(np.sqrt(max(np.trace(self.cov_6x6[3:, 3:]), 0.0)))

    @property
    def rot_std_deg(self) -> float:
        """Root of the rotation covariance trace (degrees); NaN without a covariance."""
        if self.cov_6x6 is None:
            return float("nan")
        return float(np.degrees(np.sqrt(max(np.trace(self.cov_6x6[:3, :3]), 0.0))))

    def with_(self, **kw) -> "PoseMeasurement":
        """Copy with some fields replaced."""
        return replace(self, **kw)

    @staticmethod
    def lost(t_capture_ns: int, reason: str, n_markers: int = 0, source: str = "tracker") -> "PoseMeasurement":
        """A LOST measurement (no pose) with its reason."""
        return PoseMeasurement(None, Validity.LOST, int(t_capture_ns), n_markers=n_markers, reason=reason, source=source)
