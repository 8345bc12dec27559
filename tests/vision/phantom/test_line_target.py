"""The line-target renderer draws the plate where it is told, with its reverberation, on a dark bath."""

from __future__ import annotations

import numpy as np

from vision.phantom.line_target import LineTargetConfig, LineTargetRenderer


def test_the_brightest_row_follows_depth_and_tilt():
    cfg = LineTargetConfig(width_px=100, height_px=300, mm_per_px=(0.1, 0.2), noise_std=0.0)
    img = LineTargetRenderer(cfg).render(12.0, 5.0).astype(float)
    x_mm = (np.arange(100) - 49.5) * 0.2
    expected = (12.0 + np.tan(np.radians(5.0)) * x_mm) / 0.1
    rows = np.argmax(img[50:200], axis=0) + 50  # above the reverberation at 24 mm
    assert np.max(np.abs(rows - expected)) <= 1.0
    assert img[:100].mean() < 60 < img[rows, np.arange(100)].mean()  # water dark, plate bright
    assert img[235:245].max() > img[150:200].max()  # the reverberation at twice the depth


def test_texture_is_fixed_noise_is_not():
    r = LineTargetRenderer(LineTargetConfig(noise_std=4.0, seed=1))
    a = r.render(10.0, 0.0, np.random.default_rng(0))
    b = r.render(10.0, 0.0, np.random.default_rng(0))
    c = r.render(10.0, 0.0, np.random.default_rng(1))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
