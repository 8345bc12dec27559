"""Hand-eye calibration: closed forms exact on clean data, the refinement near its predicted error,
outliers dropped, degenerate motion and inconsistent data refused with the motion/fix named."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from calibration.hand_eye import (HandEyeConfig, NoiseModel, _CHI2_MEDIAN_6, _whitened, _whiteners,
                                  calibrate_hand_eye)
from calibration.hand_eye_closed_form import CLOSED_FORMS, motion_pairs, solve_closed_form
from calibration.hand_eye_motion import analyse_motion
from core.errors import CalibrationError, InputError
from core.se3 import invert, make_T
from research.calibration.hand_eye_sim import HandEyeSimConfig, pose_error, simulate_station_set


def _clean(n: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = make_T(Rotation.random(random_state=seed).as_matrix(), rng.uniform(-60, 60, 3))
    Y = make_T(Rotation.random(random_state=seed + 1).as_matrix(), rng.uniform(-900, 900, 3))
    W = np.array([make_T(Rotation.random(random_state=seed + 10 + i).as_matrix(), rng.uniform(-800, 800, 3))
                  for i in range(n)])
    C = np.array([invert(W[i] @ X) @ Y for i in range(n)])
    return W, C, X, Y


@pytest.mark.parametrize("method", CLOSED_FORMS)
def test_closed_forms_recover_x_exactly_from_noise_free_stations(method):
    W, C, X, _ = _clean()
    Xe = solve_closed_form(W, C, method)
    assert np.allclose(Xe, X, atol=1e-6)


def test_motion_pairs_satisfy_ax_equals_xb():
    W, C, X, _ = _clean(6)
    A, B = motion_pairs(W, C, min_angle_deg=0.0, max_angle_deg=180.0)
    assert len(A) == 15
    assert np.allclose(A @ X, X @ B, atol=1e-6)


def test_residual_weights_match_the_simulated_noise():
    # at the truth, whitened residuals of stations within the noise are chi-square with 6 dof
    c2 = []
    for seed in (101, 102, 103):
        s = simulate_station_set(seed)
        c2.append(np.sum(_whitened(s.W, s.C, s.X, s.Y, _whiteners(s.W, s.C, s.X, NoiseModel())) ** 2, axis=1))
    c2 = np.concatenate(c2)
    assert 0.7 < np.median(c2) / _CHI2_MEDIAN_6 < 1.4
    assert 4.5 < c2.mean() < 7.5


def test_refined_is_accurate_and_its_predicted_error_is_honest():
    errs, sig = [], []
    for seed in range(200, 206):
        s = simulate_station_set(seed)
        r = calibrate_hand_eye(s.W, s.C)
        e = pose_error(r.X, s.X)
        errs.append(e)
        sig.append((r.sigma_X_mm, r.sigma_X_deg))
        assert r.outliers == []
        assert 0.6 < r.noise_ratio < 1.5
        assert pose_error(r.Y, s.Y)[0] < 15.0
        assert set(r.closed_forms) == set(CLOSED_FORMS)
    errs, sig = np.array(errs), np.array(sig)
    assert errs[:, 0].mean() < 3.5 and errs[:, 1].mean() < 0.4
    assert np.all(errs[:, 0] < 4.0 * sig[:, 0]) and np.all(errs[:, 1] < 4.0 * sig[:, 1])


def test_glitched_marker_poses_are_dropped_and_listed():
    for seed in (300, 301):
        s = simulate_station_set(seed, HandEyeSimConfig(outlier_fraction=0.15, n_stations=(20, 24)))
        assert s.outliers
        r = calibrate_hand_eye(s.W, s.C)
        assert set(s.outliers) <= set(r.outliers) and len(r.outliers) <= len(s.outliers) + 1
        assert pose_error(r.X, s.X)[0] < 5.0
        kept = calibrate_hand_eye(s.W, s.C, HandEyeConfig(reject_outliers=False))
        assert kept.outliers == []


@pytest.mark.parametrize("method", CLOSED_FORMS)
def test_closed_form_only_methods_run(method):
    s = simulate_station_set(400)
    r = calibrate_hand_eye(s.W, s.C, HandEyeConfig(method=method))
    assert method.capitalize()[:4] in r.method
    assert pose_error(r.X, s.X)[0] < 25.0


def test_rotation_about_one_axis_is_refused_naming_a_second_axis():
    s = simulate_station_set(500, HandEyeSimConfig(motion="one_axis"))
    m = analyse_motion(s.W)
    assert m.axis_spread_deg < 5.0 and m.max_rotation_deg > 60.0 and m.missing
    with pytest.raises(CalibrationError, match=r"one axis only.*second axis well apart.*current spread \d"):
        calibrate_hand_eye(s.W, s.C)


def test_too_little_rotation_is_refused():
    s = simulate_station_set(501, HandEyeSimConfig(motion="small"))
    with pytest.raises(CalibrationError, match=r"too little rotation: the headset turned at most [\d.]+ deg"):
        calibrate_hand_eye(s.W, s.C)


def test_too_few_stations_are_refused():
    s = simulate_station_set(502)
    with pytest.raises(CalibrationError, match="4 stations, at least 6"):
        calibrate_hand_eye(s.W[:4], s.C[:4])


def test_unpaired_poses_are_refused():
    s = simulate_station_set(503)
    C = s.C[np.random.default_rng(0).permutation(len(s.C))]
    with pytest.raises(CalibrationError, match="do not match the headset's"):
        calibrate_hand_eye(s.W, C)


def test_an_inverted_list_is_detected():
    s = simulate_station_set(504)
    C = np.array([invert(c) for c in s.C])
    with pytest.raises(CalibrationError, match="holds the inverse"):
        calibrate_hand_eye(s.W, C)


def test_bad_arrays_raise_input_errors():
    s = simulate_station_set(505)
    with pytest.raises(InputError, match="one marker pose per headset pose"):
        calibrate_hand_eye(s.W, s.C[:-1])
    C = s.C.copy()
    C[2, 0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        calibrate_hand_eye(s.W, C)
    with pytest.raises(InputError, match="4x4"):
        calibrate_hand_eye(s.W[:, :3], s.C)
    with pytest.raises(InputError, match="positive"):
        NoiseModel(headset_rot_deg=0.0)
    with pytest.raises(InputError, match="unknown hand-eye method"):
        HandEyeConfig(method="horaud")
