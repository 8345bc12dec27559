"""PoseFilter: jitter removal, no lag on constant motion, prediction and validity pass-through."""

from __future__ import annotations

import numpy as np
import pytest

from vision.tracking.config import FilterConfig
from vision.tracking.filter import PoseFilter
from core.pose import PoseMeasurement
from core.se3 import make_T, rotvec_to_R
from core.types import Validity

DT = 33_333_333  # 30 Hz
COV = np.diag([np.radians(0.1) ** 2] * 3 + [0.3 ** 2] * 3)


def _meas(T, t, rng, sd_mm=0.3, sd_deg=0.1):
    R = rotvec_to_R(rng.normal(0, np.radians(sd_deg), 3)) @ T[:3, :3]
    return PoseMeasurement(make_T(R, T[:3, 3] + rng.normal(0, sd_mm, 3)), Validity.OK, t, cov_6x6=COV)


@pytest.mark.parametrize("kind", ["kalman", "one_euro"])
def test_static_jitter_is_reduced(kind):
    f = PoseFilter(FilterConfig(kind=kind))
    rng = np.random.default_rng(0)
    T = make_T(rotvec_to_R([0.2, 0.1, 0.0]), [0, 0, 400.0])
    out = [f.update(_meas(T, k * DT, rng)).T_camera_from_board[:3, 3] for k in range(300)]
    raw_sd = 0.3
    filt_sd = np.std(np.array(out[100:]), axis=0).max()
    assert filt_sd < 0.75 * raw_sd, filt_sd


def test_kalman_has_no_lag_on_constant_velocity():
    f = PoseFilter(FilterConfig(kind="kalman"))
    rng = np.random.default_rng(1)
    v = np.array([60.0, -30.0, 20.0])  # mm/s
    errs = []
    for k in range(200):
        t = k * DT
        T = make_T(rotvec_to_R([0.0, 0.2 + 0.3 * t / 1e9, 0.0]), np.array([0, 0, 400.0]) + v * t / 1e9)
        out = f.update(_meas(T, t, rng))
        if k > 60:
            errs.append(out.T_camera_from_board[:3, 3] - T[:3, 3])
    bias = np.abs(np.mean(errs, axis=0))
    assert np.all(bias < 0.1), bias  # a lagging filter would trail by v * lag (2 mm per frame)


def test_not_usable_measurements_pass_through():
    f = PoseFilter(FilterConfig())
    rng = np.random.default_rng(2)
    T = make_T(np.eye(3), [0, 0, 300.0])
    f.update(_meas(T, 0, rng))
    lost = PoseMeasurement.lost(DT, "no_markers")
    assert f.update(lost) is lost


def test_prediction_and_stale_limit():
    cfg = FilterConfig(max_extrapolation_ms=50.0)
    f = PoseFilter(cfg)
    assert f.predict(0).validity == Validity.LOST
    rng = np.random.default_rng(3)
    v = np.array([100.0, 0, 0])
    for k in range(60):
        t = k * DT
        f.update(_meas(make_T(np.eye(3), np.array([0, 0, 400.0]) + v * t / 1e9), t, rng, sd_mm=0.05))
    t_last = 59 * DT
    p = f.predict(t_last + 30_000_000)
    assert p.usable and p.t_capture_ns == t_last + 30_000_000
    expected_x = v[0] * (t_last + 30_000_000) / 1e9
    assert abs(p.T_camera_from_board[0, 3] - expected_x) < 0.5
    stale = f.predict(t_last + 80_000_000)
    assert stale.validity == Validity.STALE and not stale.usable


def test_gap_restarts_the_filter():
    f = PoseFilter(FilterConfig(reset_ms=100.0))
    rng = np.random.default_rng(4)
    f.update(_meas(make_T(np.eye(3), [0, 0, 300.0]), 0, rng))
    far = make_T(np.eye(3), [50, 0, 300.0])
    out = f.update(PoseMeasurement(far, Validity.OK, 500_000_000, cov_6x6=COV))
    assert np.allclose(out.T_camera_from_board, far)
