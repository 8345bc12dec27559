"""Single-frame needle detection on phantom frames."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vision.needle.config import NeedleConfig
from vision.needle.detect import detect_needle, ridge_filter
from vision.phantom.config import PhantomConfig
from vision.phantom.render import Phantom


@pytest.mark.parametrize("angle,side,t_s", [(30.0, "left", 7.0), (20.0, "right", 9.0), (40.0, "left", 6.0)])
def test_tip_and_angle_on_phantom_frames(angle, side, t_s):
    f = Phantom(PhantomConfig(seed=7, needle_angle_deg=angle, needle_side=side, motion=False)).render(t_s)
    d = detect_needle(f.image, f.mm_per_px, NeedleConfig())
    assert d is not None
    sy, sx = f.mm_per_px
    tip_err = math.hypot((d.tip_px[0] - f.needle_tip_px[0]) * sx, (d.tip_px[1] - f.needle_tip_px[1]) * sy)
    assert tip_err < 1.0, tip_err
    assert abs(d.angle_deg - f.needle_angle_deg) < 2.0
    assert (d.direction[0] > 0) == (side == "left")
    # the entry is on the image border the needle comes from
    assert (d.entry_px[0] < 5) if side == "left" else (d.entry_px[0] > f.image.shape[1] - 6)


def test_no_needle_no_detection():
    f = Phantom(PhantomConfig(seed=7, needle=False)).render(3.0)
    assert detect_needle(f.image, f.mm_per_px, NeedleConfig()) is None


def test_ridge_filter_prefers_a_bright_line():
    img = np.full((100, 100), 60, np.uint8)
    img[50, 10:90] = 220
    img[49, 10:90] = img[51, 10:90] = 150
    r, ux, uy = ridge_filter(img, 1.5)
    assert np.unravel_index(np.argmax(r), r.shape)[0] in (49, 50, 51)
    assert abs(ux[50, 50]) > 0.99  # ridge direction along x
