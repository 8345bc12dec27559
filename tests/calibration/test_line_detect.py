"""Plate-line detection on rendered line-target frames: known depth and tilt, refusal of blank frames."""

from __future__ import annotations

import math

import numpy as np
import pytest

from calibration.line_detect import detect_line
from vision.phantom.line_target import LineTargetConfig, LineTargetRenderer

CFG = LineTargetConfig(width_px=200, height_px=300, mm_per_px=(0.1, 0.15), noise_std=6.0, seed=3)


@pytest.fixture(scope="module")
def renderer():
    return LineTargetRenderer(CFG)


def test_depth_changes_and_tilt_are_measured(renderer):
    rng = np.random.default_rng(0)
    truth, found = [], []
    for depth in np.linspace(4.0, 26.0, 12):
        tilt = rng.uniform(-8.0, 8.0)
        det = detect_line(renderer.render(depth, tilt, rng), CFG.mm_per_px)
        assert det is not None and det.inlier_fraction > 0.8
        assert abs(det.tilt_deg - tilt) < 0.3
        truth.append(depth * math.cos(math.radians(tilt)))
        found.append(det.distance_mm)
    d = np.array(found) - np.array(truth)
    # the leading edge lies a constant distance above the echo's centre: only that constant differs
    assert np.ptp(d) < 0.08


def test_reverberation_and_particles_do_not_pull_the_line(renderer):
    det = detect_line(renderer.render(12.0, 0.0, np.random.default_rng(1)), CFG.mm_per_px)
    assert det is not None and abs(det.depth_mm - 12.0) < 1.0  # not the reverberation at 24 mm


def test_a_frame_without_a_plate_gives_none():
    rng = np.random.default_rng(2)
    assert detect_line(rng.normal(30, 6, (300, 200)).clip(0, 255).astype(np.uint8), CFG.mm_per_px) is None
    assert detect_line(np.zeros((300, 200), np.uint8), CFG.mm_per_px) is None
