"""Temporal calibration on analytic streams: known lag recovered, sign convention, robustness, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.temporal import TemporalConfig, estimate_lag
from core.errors import CalibrationError
from core.se3 import make_T, rotvec_to_R

T0 = 1_765_000_000_000_000_000


def _height(t, rng, amplitude=7.0, regular=False):
    """An up-down stroke whose frequency and amplitude wander (regular: a pure sinusoid)."""
    if regular:
        return 20.0 + amplitude * np.sin(2 * np.pi * 0.8 * t)
    f = [rng.uniform(0.03, 0.15) for _ in range(2)]
    ph = rng.uniform(0, 2 * np.pi, 4)
    phase = 2 * np.pi * 0.75 * t + 1.5 * np.sin(2 * np.pi * f[0] * t + ph[0]) + ph[1]
    amp = amplitude * (1 + 0.3 * np.sin(2 * np.pi * f[1] * t + ph[2]))
    return 20.0 + amp * np.sin(phase)


def _streams(lag_ms, us_hz=25.0, pose_hz=50.0, duration=15.0, seed=0, amplitude=7.0, regular=False,
             us_noise=0.05, pose_mm=0.25, pose_deg=0.1):
    """``(us_t_ns, us_mm, pose_t_ns, T_tracker_from_marker)``: the true offset is ``lag_ms``."""
    rng = np.random.default_rng(seed)
    d_pose = 0.030
    d_us = d_pose - lag_ms * 1e-3
    R_tp = rotvec_to_R(rng.normal(0, 1, 3))  # plate in the tracker
    ut = np.sort(np.arange(0, duration, 1 / us_hz) + rng.normal(0, 1e-3, int(np.ceil(duration * us_hz))))
    ut = ut[rng.random(ut.size) > 0.03]
    us = _height(ut - d_us, np.random.default_rng(seed + 1000), amplitude, regular) + rng.normal(0, us_noise, ut.size)
    pt = np.sort(np.arange(0, duration, 1 / pose_hz) + rng.normal(0, 1e-3, int(np.ceil(duration * pose_hz))))
    pt = pt[rng.random(pt.size) > 0.05]
    h = _height(pt - d_pose, np.random.default_rng(seed + 1000), amplitude, regular)
    tilt = 0.04 * np.sin(2 * np.pi * 0.1 * pt)
    lever = np.array([30.0, 50.0, -40.0])  # transducer point in the marker frame
    Ts = []
    for hk, ak in zip(h, tilt):
        R = R_tp @ rotvec_to_R([ak, 0.5 * ak, 0.0])
        p_transducer = R_tp @ np.array([0.0, 0.0, hk]) + 100.0
        T = make_T(R, p_transducer - R @ lever)
        T = T @ make_T(rotvec_to_R(rng.normal(0, np.radians(pose_deg), 3)), rng.normal(0, pose_mm, 3))
        Ts.append(T)
    return (T0 + np.round(ut * 1e9).astype(np.int64), us, T0 + np.round(pt * 1e9).astype(np.int64), np.array(Ts))


@pytest.mark.parametrize("lag_ms, us_hz, pose_hz, seed", [(-80.0, 20.0, 30.0, 1), (0.0, 25.0, 60.0, 2),
                                                          (37.3, 30.0, 45.0, 3), (120.0, 22.0, 60.0, 4),
                                                          (55.0, 30.0, 20.0, 5)])
def test_the_lag_is_recovered_within_2_ms(lag_ms, us_hz, pose_hz, seed):
    r = estimate_lag(*_streams(lag_ms, us_hz, pose_hz, seed=seed))
    assert abs(r.offset_ms - lag_ms) < 2.0
    assert r.peak_correlation > 0.99 and abs(r.scale - 1.0) < 0.05 and 0.05 < r.std_ms < 1.5
    assert all(abs(h - lag_ms) < 4.0 for h in r.halves_ms)


def test_sign_follows_tracking_sync_positive_when_poses_are_stamped_later():
    # poses reach their stamp 60 ms after the event, the images 10 ms after: the pose for an image
    # stamped t is the one stamped t + 50 ms, so temporal_offset_ms = +50
    r = estimate_lag(*_streams(50.0, seed=7))
    assert 48.0 < r.offset_ms < 52.0


def test_glitches_in_both_streams_are_dropped():
    ut, us, pt, Ts = _streams(25.0, seed=8)
    rng = np.random.default_rng(9)
    us = us.copy()
    bad = rng.choice(us.size, us.size // 20, replace=False)
    us[bad] += rng.choice([-1, 1], bad.size) * rng.uniform(3, 10, bad.size)
    Ts = Ts.copy()
    for k in rng.choice(len(Ts), len(Ts) // 20, replace=False):
        Ts[k] = Ts[k] @ make_T(rotvec_to_R(rng.normal(0, 0.05, 3)), rng.uniform(-10, 10, 3))
    r = estimate_lag(ut, us, pt, Ts)
    assert abs(r.offset_ms - 25.0) < 2.0 and r.n_outliers >= bad.size


def test_too_little_motion_is_refused_naming_the_motion():
    with pytest.raises(CalibrationError, match=r"moved only .* move the probe up and down over the plate by at least"):
        estimate_lag(*_streams(10.0, amplitude=1.0))


def test_too_short_a_recording_is_refused():
    with pytest.raises(CalibrationError, match=r"overlap for only .* at least 5 s"):
        estimate_lag(*_streams(10.0, duration=4.0, us_hz=30.0, pose_hz=60.0))


def test_too_few_strokes_are_refused():
    ut, us, pt, Ts = _streams(10.0, seed=3)
    keep = (ut - ut[0]) < 1.5e9
    pkeep = (pt - pt[0]) < 1.5e9
    with pytest.raises(CalibrationError, match="up-down stroke"):
        estimate_lag(ut[keep], us[keep], pt[pkeep], Ts[pkeep], TemporalConfig(min_duration_s=1.0, min_samples=20))


def test_a_perfectly_regular_motion_is_refused_as_ambiguous():
    with pytest.raises(CalibrationError, match="too regular"):
        estimate_lag(*_streams(10.0, regular=True, us_noise=0.0, pose_mm=0.0, pose_deg=0.0),
                     TemporalConfig(max_lag_ms=2000.0))


def test_a_lag_beyond_the_search_range_is_refused():
    with pytest.raises(CalibrationError, match="edge of the search range"):
        estimate_lag(*_streams(400.0, seed=2), TemporalConfig(max_lag_ms=200.0))


def test_unrelated_streams_are_refused():
    ut, us, _, _ = _streams(0.0, seed=1)
    _, _, pt, Ts = _streams(0.0, seed=2)
    with pytest.raises(CalibrationError, match="match poorly|too regular"):
        estimate_lag(ut, us, pt, Ts)


def test_unsorted_times_are_refused():
    ut, us, pt, Ts = _streams(0.0)
    with pytest.raises(CalibrationError, match="not strictly increasing"):
        estimate_lag(ut[::-1], us, pt, Ts)
