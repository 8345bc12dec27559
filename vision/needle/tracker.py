"""Needle tracking over frames: detection, association, Kalman smoothing, path and proximity.

``NeedleTracker(config).update(image, t_capture_ns, mm_per_px, structures) -> NeedleResult``

* Detection per frame: :func:`vision.needle.detect.detect_needle`, seeded with the predicted line.
* Association: a detection whose angle differs from the track's by more than ``gate_angle_deg``
  or whose tip lies further than ``gate_px`` from the predicted line belongs to something else;
  after ``max_missed`` such frames the track restarts on the new line.
* Smoothing: the tip follows a constant-velocity Kalman filter in millimetres (Bar-Shalom et al.
  2001, §6.3.3) with an anisotropic measurement noise (the tip is less certain along the shaft
  than across it); a tip measurement outside the 99.9 % validation gate is not fused and the
  frame is ``uncertain``. The angle follows a random-walk Kalman filter.
* Path: the straight extrapolation of the shaft ``trajectory_mm`` beyond the tip.
* Proximity: :mod:`vision.needle.proximity` against the segmented nerves and vessels.

Validity: ``ok`` for a confirmed track updated this frame; ``uncertain`` for a track that is not
confirmed yet or a gated-out tip; ``lost`` when no needle is found in this frame (no old tip is
ever shown as current). A track is confirmed once the visible shaft has grown by
``confirm_advance_mm`` (the needle advanced: straight fascia and vessel walls that look like a
shaft do not grow), or at once when it lies on the line of the last confirmed needle.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from collections.abc import Sequence

import numpy as np

from sonoguide.errors import InputError
from vision.needle.config import NeedleConfig
from vision.needle.detect import LineDetection, detect_needle
from vision.needle.proximity import CLASSES, proximity_level, structure_distances
from vision.types import Structure, Validity

_CHI2_2_999 = 13.816


@dataclass(frozen=True)
class NeedleResult:
    """The needle in one ultrasound frame (pixels are ``(x, y)``).

    Attributes:
        validity: ``ok``, ``uncertain`` or ``lost``.
        tip_px: smoothed tip, or ``None`` when lost.
        entry_px: where the shaft enters the image, or ``None``.
        angle_deg: shaft angle below the image horizontal, or ``None``.
        trajectory_px: ``(2, 2)`` float32 ``[tip, extrapolated point]``, or ``None``.
        tip_distance_mm: nearest nerve / vessel distance from the tip (``None`` per absent class).
        trajectory_distance_mm: the same for the extrapolated path.
        proximity: ``safe``, ``caution``, ``stop`` or ``unknown``.
        t_capture_ns: capture time of the frame.
        raw_tip_px: this frame's detected tip before smoothing (``None`` when not detected).
    """

    validity: Validity
    tip_px: tuple[float, float] | None
    entry_px: tuple[float, float] | None
    angle_deg: float | None
    trajectory_px: np.ndarray | None
    tip_distance_mm: dict = field(default_factory=lambda: {k: None for k in CLASSES})
    trajectory_distance_mm: dict = field(default_factory=lambda: {k: None for k in CLASSES})
    proximity: str = "unknown"
    t_capture_ns: int = 0
    raw_tip_px: tuple[float, float] | None = None


class NeedleTracker:
    """Tracks one in-plane needle through an ultrasound stream.

    Args:
        config: ``[needle]`` section.
    """

    def __init__(self, config: NeedleConfig | None = None) -> None:
        self.config = config or NeedleConfig()
        self._rng = np.random.default_rng(0)
        self.reset()

    def reset(self) -> None:
        """Forget the track and the lines known not to be the needle."""
        self._excluded: list[tuple[np.ndarray, np.ndarray]] = []
        self._drop_track()

    def _drop_track(self) -> None:
        """Forget the current track (the excluded lines stay)."""
        self._x: np.ndarray | None = None  # tip state [x, y, vx, vy] in mm
        self._P: np.ndarray | None = None
        self._ang = 0.0
        self._ang_var = 0.0
        self._dir_sign = 1.0
        self._t_ns = 0
        self._hits = 0
        self._missed = 0
        self._tip_gated = 0
        self._mm: tuple[float, float] = (1.0, 1.0)
        self._confirmed = False
        self._lengths: list[float] = []
        self._confirmed_line: tuple[float, np.ndarray, float] | None = None  # angle, a point, side

    # ------------------------------------------------------------------ helpers
    def _dir_px(self, angle_deg: float, sign: float) -> np.ndarray:
        sy, sx = self._mm
        a = math.radians(angle_deg)
        d_mm = np.array([sign * math.cos(a), math.sin(a)])
        d = d_mm / np.array([sx, sy])
        return d / np.linalg.norm(d)

    def _tip_px(self) -> np.ndarray:
        sy, sx = self._mm
        return self._x[:2] / np.array([sx, sy])

    def _matches_confirmed(self, det: LineDetection) -> bool:
        """True when a new track lies on the line of the last confirmed needle."""
        if self._confirmed_line is None:
            return False
        ang, p, sign = self._confirmed_line
        if abs(det.angle_deg - ang) > self.config.gate_angle_deg or (1.0 if det.direction[0] >= 0 else -1.0) != sign:
            return False
        u = np.asarray(det.direction)
        return abs(float((np.asarray(det.tip_px) - p) @ np.array([-u[1], u[0]]))) <= self.config.gate_px

    def _init(self, det: LineDetection, t_ns: int) -> None:
        sy, sx = self._mm
        self._confirmed = self._matches_confirmed(det)
        self._lengths = [det.length_mm]
        self._x = np.array([det.tip_px[0] * sx, det.tip_px[1] * sy, 0.0, 0.0])
        self._P = np.diag([1.0, 1.0, 25.0, 25.0])
        self._ang = det.angle_deg
        self._ang_var = 1.0
        self._dir_sign = 1.0 if det.direction[0] >= 0 else -1.0
        self._t_ns = t_ns
        self._hits = 1
        self._missed = 0
        self._tip_gated = 0

    def _predict(self, dt: float) -> tuple[np.ndarray, np.ndarray]:
        F = np.eye(4)
        F[0, 2] = F[1, 3] = dt
        q = self.config.tip_accel_mm_s2 ** 2
        G = np.array([[dt * dt / 2, 0], [0, dt * dt / 2], [dt, 0], [0, dt]])
        return F @ self._x, F @ self._P @ F.T + q * G @ G.T

    # ------------------------------------------------------------------ main entry
    def update(self, image: np.ndarray, t_capture_ns: int, mm_per_px: tuple[float, float],
               structures: Sequence[Structure] | None) -> NeedleResult:
        """Track the needle in one frame.

        Args:
            image: ``HxW`` uint8 B-mode image.
            t_capture_ns: capture time of the frame.
            mm_per_px: pixel spacing ``(row, col)``.
            structures: segmented nerves and vessels (``None``: no segmentation, proximity unknown).

        Raises:
            InputError: the image is not a 2-D (or 3-channel) uint8 array, or the spacing is invalid.
        """
        if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.size == 0:
            raise InputError("ultrasound frame must be an HxW uint8 image")
        if image.dtype != np.uint8:
            raise InputError(f"ultrasound frame has dtype {image.dtype}; expected uint8")
        try:
            sy, sx = float(mm_per_px[0]), float(mm_per_px[1])
        except (TypeError, IndexError, ValueError):
            raise InputError(f"mm_per_px must be (row, col) spacing in mm, got {mm_per_px!r}") from None
        if not (sy > 0 and sx > 0 and math.isfinite(sy) and math.isfinite(sx)):
            raise InputError(f"mm_per_px must be positive, got {mm_per_px!r}")
        cfg = self.config
        t = int(t_capture_ns)
        if self._x is not None and (self._mm != (sy, sx) or not (0 <= (t - self._t_ns) / 1e9 <= 1.0)):
            self._drop_track()
        self._mm = (sy, sx)
        prior = None
        if self._x is not None:
            dt = (t - self._t_ns) / 1e9
            xp, _ = self._predict(dt)
            prior = (xp[:2] / np.array([sx, sy]), self._dir_px(self._ang, self._dir_sign))
        det = detect_needle(image, (sy, sx), cfg, prior=prior, rng=self._rng, exclude=self._excluded)
        if det is None:
            return self._lost(t)
        if self._x is None:
            self._init(det, t)
            return self._result(det, t, Validity.UNCERTAIN, structures)
        dt = (t - self._t_ns) / 1e9
        xp, Pp = self._predict(dt)
        sign = 1.0 if det.direction[0] >= 0 else -1.0
        d_ang = abs(det.angle_deg - self._ang)
        p_pred, u_pred = xp[:2] / np.array([sx, sy]), self._dir_px(self._ang, self._dir_sign)
        off = abs(float((np.asarray(det.tip_px) - p_pred) @ np.array([-u_pred[1], u_pred[0]])))
        if d_ang > cfg.gate_angle_deg or off > cfg.gate_px or sign != self._dir_sign:
            self._missed += 1
            if self._missed > cfg.max_missed:
                self._init(det, t)
                return self._result(det, t, Validity.UNCERTAIN, structures)
            return self._lost(t, keep=True)
        # angle: random-walk Kalman
        qa = cfg.angle_process_deg ** 2 * max(dt, 0.0)
        va = self._ang_var + qa
        ra = 0.25
        ka = va / (va + ra)
        self._ang += ka * (det.angle_deg - self._ang)
        self._ang_var = (1 - ka) * va
        # tip: CV Kalman with anisotropic noise (along / across the shaft)
        u = self._dir_px(self._ang, sign) * np.array([sx, sy])
        u /= np.linalg.norm(u)
        n = np.array([-u[1], u[0]])
        s_along = cfg.tip_meas_px * max(sx, sy)
        s_across = 0.5 * s_along
        R = s_along ** 2 * np.outer(u, u) + s_across ** 2 * np.outer(n, n)
        z = np.array([det.tip_px[0] * sx, det.tip_px[1] * sy])
        H = np.zeros((2, 4))
        H[0, 0] = H[1, 1] = 1.0
        y = z - H @ xp
        S = H @ Pp @ H.T + R
        nis = float(y @ np.linalg.solve(S, y))
        validity = Validity.OK
        if nis > _CHI2_2_999 and self._hits >= 2 and self._tip_gated < 1:
            # tip jumped: do not fuse it; keep the prediction and say it is uncertain
            self._x, self._P = xp, Pp
            validity = Validity.UNCERTAIN
            self._tip_gated += 1
        elif nis > _CHI2_2_999 and self._hits >= 2:
            # the jump persists: the needle really moved; restart the tip state there
            self._x = np.array([z[0], z[1], 0.0, 0.0])
            self._P = np.diag([s_along ** 2, s_along ** 2, 25.0, 25.0])
            validity = Validity.UNCERTAIN
            self._tip_gated = 0
        else:
            self._tip_gated = 0
            K = Pp @ H.T @ np.linalg.inv(S)
            self._x = xp + K @ y
            self._P = (np.eye(4) - K @ H) @ Pp
        self._t_ns = t
        self._hits += 1
        self._missed = 0
        # a needle advances: the track is confirmed once its visible length (median of the last
        # three frames against the median of its first three) grew by confirm_advance_mm; a
        # straight fascia or a vessel wall does not grow, only flickers
        self._lengths.append(det.length_mm)
        if (not self._confirmed and len(self._lengths) >= 6
                and float(np.median(self._lengths[-3:])) - float(np.median(self._lengths[:3])) >= cfg.confirm_advance_mm):
            self._confirmed = True
        if self._confirmed:
            self._confirmed_line = (float(self._ang), np.asarray(det.tip_px, float), sign)
        if self._hits < 2 or not self._confirmed:
            validity = Validity.UNCERTAIN
        if not self._confirmed and self._hits >= cfg.max_unconfirmed:
            # a shaft-like line that never advanced: static anatomy, not a needle
            self._excluded = (self._excluded + [(np.asarray(det.point, float), np.asarray(det.direction, float))])[-8:]
            res = self._result(det, t, Validity.UNCERTAIN, structures)
            self._drop_track()
            return res
        return self._result(det, t, validity, structures)

    def _lost(self, t: int, keep: bool = False) -> NeedleResult:
        if not keep:
            self._missed += 1
            if self._missed > self.config.max_missed:
                self._drop_track()
        return NeedleResult(Validity.LOST, None, None, None, None, t_capture_ns=t)

    def _result(self, det: LineDetection, t: int, validity: Validity,
                structures: Sequence[Structure] | None) -> NeedleResult:
        sy, sx = self._mm
        tip = self._tip_px()
        d = self._dir_px(self._ang, self._dir_sign)
        d_mm = np.linalg.norm(d * np.array([sx, sy]))
        end = tip + d * (self.config.trajectory_mm / max(d_mm, 1e-9))
        traj = np.array([tip, end], np.float32)
        tip_t = (float(tip[0]), float(tip[1]))
        if structures is None:
            tip_d = {k: None for k in CLASSES}
            path_d = {k: None for k in CLASSES}
            level = "unknown"
        else:
            ahead = tip + d * (self.config.tip_margin_mm / max(d_mm, 1e-9))
            tip_d, path_d = structure_distances(tip_t, (float(end[0]), float(end[1])), structures, (sy, sx),
                                                tip_ahead_px=(float(ahead[0]), float(ahead[1]))
                                                if self.config.tip_margin_mm > 0 else None)
            level = proximity_level(tip_d, path_d, self.config)
        return NeedleResult(validity, tip_t, det.entry_px, float(self._ang), traj, tip_d, path_d, level, t,
                            raw_tip_px=det.tip_px)
