"""Point-target ultrasound calibration on simulated captures with known truth (calibration.us_points)."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.us_points import (PointCapture, calibrate_points, calibrate_points_linear, find_bright_point,
                                   target_errors)
from core.errors import CalibrationError
from research.calibration.us_points_sim import grid_errors, simulate_points


def test_noise_free_points_give_the_exact_calibration():
    s = simulate_points(np.random.default_rng(0), 20, pixel_px=0, target_mm=0, pose_mm=0, pose_deg=0)
    for cal in (calibrate_points_linear(s.capture), calibrate_points(s.capture, leave_one_out=False)):
        assert np.allclose(cal.T_marker_from_image, s.T_marker_from_image, atol=1e-6)
        assert cal.rms_mm < 1e-6


def test_mis_marked_pixels_are_rejected_and_the_image_maps_within_the_noise():
    for seed in range(4):
        s = simulate_points(np.random.default_rng(10 + seed), 40, mismark_fraction=0.1)
        cal = calibrate_points(s.capture)
        # a mis-marking of 8-15 px at 0.1 mm/px is inside the targets' noise (about 0.5 mm per
        # axis) and may stay; it costs little. Most are caught, good points are kept.
        assert np.count_nonzero(cal.inliers & s.mismarked) <= np.count_nonzero(s.mismarked) // 2
        assert np.count_nonzero(~cal.inliers & ~s.mismarked) <= 1
        grid = grid_errors(cal.T_marker_from_image, s.T_marker_from_image, s.capture.image_size)
        assert grid.mean() < 0.4
        lin = grid_errors(calibrate_points_linear(s.capture).T_marker_from_image, s.T_marker_from_image,
                          s.capture.image_size)
        assert grid.mean() < lin.mean()
        # leave-one-out and independent targets include the targets' own noise (about 0.6 mm)
        assert 0.2 < cal.loo_mm.mean() < 1.2
        assert 0.2 < target_errors(cal.T_marker_from_image, s.validation).mean() < 1.2
        sx, sy = cal.spacing_mm_per_px
        true_s = np.linalg.norm(s.T_marker_from_image[:3, 0])
        assert abs(sx - true_s) / true_s < 0.01 and abs(sy - true_s) / true_s < 0.01


def test_points_on_one_line_are_refused_with_what_to_add():
    s = simulate_points(np.random.default_rng(3), 30)
    cap = s.capture
    line = cap.pixels.copy()
    line[:, 1] = 200.0 + 0.01 * line[:, 0]
    with pytest.raises(CalibrationError, match="one line.*other depths"):
        calibrate_points(PointCapture(cap.image_size, line, cap.T_tracker_from_marker, cap.points_tracker_mm))
    with pytest.raises(CalibrationError, match="at least 8 points"):
        calibrate_points(cap.subset(np.arange(5)))


def test_a_bright_point_target_is_found_to_a_fraction_of_a_pixel():
    rng = np.random.default_rng(5)
    h, w = 300, 400
    speckle = rng.rayleigh(18.0, (h, w))
    yy, xx = np.mgrid[0:h, 0:w]
    cx, cy = 231.4, 118.7
    blob = 160.0 * np.exp(-(((xx - cx) / 3.0) ** 2 + ((yy - cy) / 2.0) ** 2) / 2.0)
    img = np.clip(speckle + blob, 0, 255).astype(np.uint8)
    u, v = find_bright_point(img)
    assert abs(u - cx) < 0.6 and abs(v - cy) < 0.6
    assert find_bright_point(np.clip(speckle, 0, 255).astype(np.uint8)) is None
