"""Pose filtering on SE(3): a constant-velocity Kalman filter and a One-Euro filter.

``PoseFilter(config).update(m) -> PoseMeasurement`` smooths the tracker's poses;
``PoseFilter.predict(t_ns)`` extrapolates the filtered pose to another time (the ultrasound
frame's capture time), at most ``max_extrapolation_ms`` ahead, after which the pose is
``STALE``.

* Kalman (``[tracking.filter] kind = "kalman"``): an error-state ("multiplicative") Kalman
  filter on SE(3) (Markley, "Attitude error representations for Kalman filtering", J. Guidance
  26(2), 2003; Barfoot, *State Estimation for Robotics*, 2017, §7.3). State: rotation ``R`` and position
  ``p`` of ``T_camera_from_board`` plus angular and linear velocity in the camera frame; the
  error state ``(delta_theta, delta_p, delta_omega, delta_v)`` is left-perturbation.
  Motion model: constant velocity with piecewise-constant white acceleration (Bar-Shalom, Li
  & Kirubarajan, *Estimation with Applications to Tracking and Navigation*, 2001, §6.3.3).
  Measurement noise is the tracker's own first-order covariance. With ``kalman_adaptive`` an
  improbable innovation (normalised innovation squared above the chi-square 99.9 % bound)
  scales the process noise up for that step, so a real motion onset is followed at once
  while a still probe is smoothed hard.
* One-Euro (``kind = "one_euro"``; Casiez, Roussel & Vogel, "1€ filter: a simple
  speed-based low-pass filter for noisy input in interactive systems", CHI 2012): applied to
  the translation and to the rotation in the tangent space of the previous output.

Only usable measurements (``ok``/``occluded``) are fused. Anything else passes through
unchanged, so a lost pose stays lost and is never replaced by an old one.
"""

from __future__ import annotations

import math

import numpy as np

from vision.tracking.config import FilterConfig
from core.pose import PoseMeasurement
from core.se3 import R_to_rotvec, make_T, rotvec_to_R
from core.types import Validity

_CHI2_6_999 = 22.458  # chi-square, 6 degrees of freedom, 99.9 %
_DEFAULT_MEAS_VAR = np.diag([np.radians(0.3) ** 2] * 3 + [1.0] * 3)


class _Kalman:
    def __init__(self, cfg: FilterConfig, m: PoseMeasurement) -> None:
        self.cfg = cfg
        T = m.T_camera_from_board
        self.R = T[:3, :3].copy()
        self.p = T[:3, 3].copy()
        self.w = np.zeros(3)
        self.v = np.zeros(3)
        P = np.zeros((12, 12))
        P[:6, :6] = _meas_cov(m, cfg)
        P[6:9, 6:9] = np.eye(3) * np.radians(90.0) ** 2  # unknown initial angular velocity
        P[9:, 9:] = np.eye(3) * 300.0 ** 2  # unknown initial velocity (mm/s)
        self.P = P
        self.t_ns = m.t_capture_ns

    def _FQ(self, dt: float, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        F = np.eye(12)
        F[0:3, 6:9] = np.eye(3) * dt
        F[3:6, 9:12] = np.eye(3) * dt
        sa_r = math.radians(self.cfg.kalman_ang_accel_deg_s2) ** 2 * scale
        sa_t = self.cfg.kalman_accel_mm_s2 ** 2 * scale
        q11, q12, q22 = dt ** 4 / 4, dt ** 3 / 2, dt ** 2
        Q = np.zeros((12, 12))
        for (a, b), s in (((0, 6), sa_r), ((3, 9), sa_t)):
            I = np.eye(3) * s
            Q[a:a + 3, a:a + 3] = q11 * I
            Q[a:a + 3, b:b + 3] = q12 * I
            Q[b:b + 3, a:a + 3] = q12 * I
            Q[b:b + 3, b:b + 3] = q22 * I
        return F, Q

    def state_at(self, t_ns: int) -> tuple[np.ndarray, np.ndarray]:
        dt = (t_ns - self.t_ns) / 1e9
        R = rotvec_to_R(self.w * dt) @ self.R
        p = self.p + self.v * dt
        F, Q = self._FQ(abs(dt))
        F[0:3, 6:9] = np.eye(3) * dt
        F[3:6, 9:12] = np.eye(3) * dt
        P = F @ self.P @ F.T + Q
        return make_T(R, p), P[:6, :6]

    def update(self, m: PoseMeasurement) -> None:
        dt = max((m.t_capture_ns - self.t_ns) / 1e9, 0.0)
        Rp = rotvec_to_R(self.w * dt) @ self.R
        pp = self.p + self.v * dt
        T = m.T_camera_from_board
        y = np.concatenate([R_to_rotvec(T[:3, :3] @ Rp.T), T[:3, 3] - pp])
        Rm = _meas_cov(m, self.cfg)
        H = np.zeros((6, 12))
        H[:, :6] = np.eye(6)
        F, Q = self._FQ(dt)
        Pp = F @ self.P @ F.T + Q
        S = Pp[:6, :6] + Rm
        nis = float(y @ np.linalg.solve(S, y))
        if self.cfg.kalman_adaptive and nis > _CHI2_6_999 and dt > 0:
            scale = min(nis / _CHI2_6_999 * 10.0, 1e4)
            F, Q = self._FQ(dt, scale)
            Pp = F @ self.P @ F.T + Q
            S = Pp[:6, :6] + Rm
        K = np.linalg.solve(S, (Pp @ H.T).T).T  # Pp H^T S^-1 (S symmetric)
        dx = K @ y
        self.R = rotvec_to_R(dx[:3]) @ Rp
        self.p = pp + dx[3:6]
        self.w = self.w + dx[6:9]
        self.v = self.v + dx[9:12]
        IKH = np.eye(12) - K @ H
        self.P = IKH @ Pp @ IKH.T + K @ Rm @ K.T  # Joseph form
        self.t_ns = m.t_capture_ns


class _OneEuro:
    def __init__(self, cfg: FilterConfig, m: PoseMeasurement) -> None:
        self.cfg = cfg
        T = m.T_camera_from_board
        self.R = T[:3, :3].copy()
        self.p = T[:3, 3].copy()
        self.dp = np.zeros(3)  # filtered derivative, mm/s
        self.dr = np.zeros(3)  # filtered angular velocity, rad/s
        self.t_ns = m.t_capture_ns

    @staticmethod
    def _alpha(cutoff_hz: float, dt: float) -> float:
        tau = 1.0 / (2 * math.pi * cutoff_hz)
        return 1.0 / (1.0 + tau / dt)

    def update(self, m: PoseMeasurement) -> None:
        dt = (m.t_capture_ns - self.t_ns) / 1e9
        if dt <= 0:
            return
        c = self.cfg
        T = m.T_camera_from_board
        ad = self._alpha(c.one_euro_d_cutoff_hz, dt)
        d_p = (T[:3, 3] - self.p) / dt
        rv = R_to_rotvec(T[:3, :3] @ self.R.T)
        d_r = rv / dt
        self.dp = self.dp + ad * (d_p - self.dp)
        self.dr = self.dr + ad * (d_r - self.dr)
        a_t = self._alpha(c.one_euro_min_cutoff_hz + c.one_euro_beta * float(np.linalg.norm(self.dp)), dt)
        a_r = self._alpha(c.one_euro_min_cutoff_hz + c.one_euro_beta * math.degrees(float(np.linalg.norm(self.dr))), dt)
        self.p = self.p + a_t * (T[:3, 3] - self.p)
        self.R = rotvec_to_R(a_r * rv) @ self.R
        self.t_ns = m.t_capture_ns

    def state_at(self, t_ns: int) -> tuple[np.ndarray, None]:
        dt = (t_ns - self.t_ns) / 1e9
        return make_T(rotvec_to_R(self.dr * dt) @ self.R, self.p + self.dp * dt), None


def _meas_cov(m: PoseMeasurement, cfg: FilterConfig) -> np.ndarray:
    C = _DEFAULT_MEAS_VAR if m.cov_6x6 is None else np.asarray(m.cov_6x6, np.float64)
    C = 0.5 * (C + C.T) * cfg.kalman_meas_scale
    return C + np.diag([1e-10] * 3 + [1e-6] * 3)


class PoseFilter:
    """Smooths a stream of :class:`PoseMeasurement` and predicts it to other times.

    Args:
        config: filter kind and parameters (``[tracking.filter]``).
    """

    def __init__(self, config: FilterConfig | None = None) -> None:
        self.config = config or FilterConfig()
        self._f: _Kalman | _OneEuro | None = None
        self._last: PoseMeasurement | None = None

    def reset(self) -> None:
        """Forget the state (next usable measurement restarts the filter)."""
        self._f = None
        self._last = None

    def update(self, m: PoseMeasurement) -> PoseMeasurement:
        """Fuse one measurement and return the filtered pose at its capture time.

        Not-usable measurements (lost, uncertain, stale) are returned unchanged and do not
        touch the state; a gap longer than ``reset_ms`` restarts the filter.
        """
        cfg = self.config
        if not m.usable or cfg.kind == "none":
            return m
        if self._f is not None and not (0 <= (m.t_capture_ns - self._f.t_ns) / 1e6 <= cfg.reset_ms):
            self._f = None
        if self._f is None:
            self._f = _Kalman(cfg, m) if cfg.kind == "kalman" else _OneEuro(cfg, m)
            out = m.with_(source="filter")
        else:
            self._f.update(m)
            T, cov = self._f.state_at(m.t_capture_ns)
            out = m.with_(T_camera_from_board=T, cov_6x6=cov if cov is not None else m.cov_6x6, source="filter")
        self._last = out
        return out

    def predict(self, t_ns: int) -> PoseMeasurement:
        """The filtered pose extrapolated to ``t_ns``.

        Returns ``LOST`` before any usable measurement, ``STALE`` (with the last pose, not
        extrapolated) when ``t_ns`` is more than ``max_extrapolation_ms`` from the last
        measurement.
        """
        if self._f is None or self._last is None:
            return PoseMeasurement.lost(t_ns, "no_pose", source="filter")
        dt_ms = (t_ns - self._f.t_ns) / 1e6
        if abs(dt_ms) > self.config.max_extrapolation_ms:
            return self._last.with_(validity=Validity.STALE, reason=f"age_{dt_ms:.0f}ms")
        T, cov = self._f.state_at(int(t_ns))
        return self._last.with_(T_camera_from_board=T, t_capture_ns=int(t_ns),
                                cov_6x6=cov if cov is not None else self._last.cov_6x6, reason="predicted")
