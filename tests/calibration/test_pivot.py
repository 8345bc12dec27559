"""Pivot calibration on simulated captures with known truth (calibration.pivot)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from calibration.pivot import check_motion, pivot_algebraic, pivot_robust
from core.errors import CalibrationError
from core.se3 import make_T
from research.calibration.pivot_sim import simulate_pivot


def test_noise_free_poses_give_the_exact_tip_and_pivot():
    s = simulate_pivot(np.random.default_rng(0), 30, noise_mm=0.0, noise_deg=0.0)
    for r in (pivot_algebraic(s.T_tracker_from_stylus), pivot_robust(s.T_tracker_from_stylus)):
        assert np.allclose(r.tip_stylus_mm, s.tip_stylus_mm, atol=1e-6)
        assert np.allclose(r.pivot_tracker_mm, s.pivot_tracker_mm, atol=1e-6)
        assert r.rms_mm < 1e-6 and r.n_rejected == 0


def test_robust_rejects_glitches_that_pull_the_plain_solution_away():
    errs_alg, errs_rob = [], []
    for seed in range(6):
        s = simulate_pivot(np.random.default_rng(100 + seed), 80, glitch_fraction=0.08)
        a, r = pivot_algebraic(s.T_tracker_from_stylus), pivot_robust(s.T_tracker_from_stylus)
        errs_alg.append(np.linalg.norm(a.tip_stylus_mm - s.tip_stylus_mm))
        errs_rob.append(np.linalg.norm(r.tip_stylus_mm - s.tip_stylus_mm))
        assert np.count_nonzero(s.glitched & r.inliers) <= 1  # at most one small glitch kept
        assert np.count_nonzero(~s.glitched & ~r.inliers) <= 1  # at most one good pose lost
        assert r.rms_mm < 1.0
    assert np.mean(errs_rob) < 0.25 and np.mean(errs_rob) < 0.5 * np.mean(errs_alg)


def test_clean_sets_reach_the_noise_limit_and_the_uncertainty_is_honest():
    errs, stds = [], []
    for seed in range(8):
        s = simulate_pivot(np.random.default_rng(200 + seed), 100)
        r = pivot_robust(s.T_tracker_from_stylus)
        errs.append(np.linalg.norm(r.tip_stylus_mm - s.tip_stylus_mm))
        stds.append(np.linalg.norm(r.tip_std_mm))
    assert np.mean(errs) < 0.2
    assert 0.4 < np.mean(errs) / np.mean(stds) < 2.0  # the reported 1-sigma matches the real error


def _one_axis_poses(n: int = 40) -> np.ndarray:
    tip, pivot = np.array([0.0, 0.0, -150.0]), np.array([10.0, 20.0, 800.0])
    out = []
    for a in np.linspace(-0.5, 0.5, n):
        R = Rotation.from_rotvec([a, 0.0, 0.0]).as_matrix()
        out.append(make_T(R, pivot - R @ tip))
    return np.array(out)


def test_rotation_about_one_axis_is_refused_with_the_motion_to_add():
    with pytest.raises(CalibrationError, match="one axis only.*sideways"):
        pivot_robust(_one_axis_poses())


def test_too_little_tilt_and_too_few_poses_are_refused():
    s = simulate_pivot(np.random.default_rng(1), 40, max_tilt_deg=2.0)
    T = s.T_tracker_from_stylus.copy()
    # remove the free spin so only the small tilt remains
    with pytest.raises(CalibrationError, match="hardly turned|one axis only"):
        check_motion(np.array([make_T(np.eye(3), t[:3, 3]) for t in T]))
    with pytest.raises(CalibrationError, match="at least 8 poses"):
        pivot_algebraic(T[:5])
