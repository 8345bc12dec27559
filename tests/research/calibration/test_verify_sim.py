"""The whole-chain simulator: made calibration files carry exactly the stated error; given files are used."""

from __future__ import annotations

import numpy as np

from calibration.simulated import T_HEADSET_FROM_CAMERA
from core.se3 import rotation_angle_deg
from research.calibration.verify_sim import (HEIGHT_PX, WIDTH_PX, VerifySimConfig, evaluate, main, made_calibrations,
                                             true_marker_from_image)


def test_made_files_carry_the_stated_error():
    cfg = VerifySimConfig(i2m_error_mm=0.3, i2m_error_deg=0.1, c2h_error_mm=1.2, c2h_error_deg=0.15, seed=3)
    i2m, c2h = made_calibrations(cfg)
    T = true_marker_from_image()
    centre = np.array([0.5 * (WIDTH_PX - 1), 0.5 * (HEIGHT_PX - 1), 0.0, 1.0])
    assert np.isclose(np.linalg.norm(i2m.matrix @ centre - T @ centre), 0.3)
    R_est = i2m.matrix[:3, :3] / np.linalg.norm(i2m.matrix[:3, :3], axis=0)
    R_true = T[:3, :3] / np.linalg.norm(T[:3, :3], axis=0)
    assert np.isclose(rotation_angle_deg(R_est, R_true), 0.1)
    assert np.isclose(np.linalg.norm(c2h.matrix[:3, 3] - T_HEADSET_FROM_CAMERA[:3, 3]), 1.2)
    assert np.isclose(rotation_angle_deg(c2h.matrix[:3, :3], T_HEADSET_FROM_CAMERA[:3, :3]), 0.15)


def test_exact_files_and_no_noise_give_no_error():
    cfg = VerifySimConfig(i2m_error_mm=0, i2m_error_deg=0, c2h_error_mm=0, c2h_error_deg=0, pixel_noise_px=0,
                          marker_noise_mm=0, marker_noise_deg=0)
    assert evaluate(cfg).max_mm < 1e-6


def test_given_files_are_used(tmp_path, capsys):
    bad = VerifySimConfig(c2h_error_mm=5.0, seed=1)
    _, c2h = made_calibrations(bad)
    c2h.save(tmp_path / "c2h.json")
    assert main(["--out", str(tmp_path / "o"), "--camera-to-headset", str(tmp_path / "c2h.json")]) == 0
    assert "chain error mean" in capsys.readouterr().out
    assert (tmp_path / "o" / "image_to_marker.json").exists()
    assert not (tmp_path / "o" / "camera_to_headset.json").exists()
    assert evaluate(VerifySimConfig(), camera_to_headset=tmp_path / "c2h.json").mean_mm > 4.0
