"""Single-frame needle detection on phantom frames and on drawn lines."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from vision.needle.config import NeedleConfig, NeedleDetectorConfig
from vision.needle.detect import detect_needle
from vision.needle.entry import EntrySearch
from vision.needle.strip import clip_to_field, measure_shaft
from vision.phantom.config import PhantomConfig, PhantomMotionConfig, PhantomNeedleConfig
from vision.phantom.render import Phantom


@pytest.mark.parametrize("angle,side,t_s", [(30.0, "left", 7.0), (20.0, "right", 9.0), (40.0, "left", 6.0),
                                            (55.0, "left", 6.0)])
def test_tip_and_angle_on_phantom_frames(angle, side, t_s):
    f = Phantom(PhantomConfig(seed=7,
                              motion=PhantomMotionConfig(enabled=False),
                              needle=PhantomNeedleConfig(angle_deg=angle, side=side))).render(t_s)
    d = detect_needle(f.image, f.mm_per_px, NeedleConfig())
    assert d is not None
    sy, sx = f.mm_per_px
    tip_err = math.hypot((d.tip_px[0] - f.needle_tip_px[0]) * sx, (d.tip_px[1] - f.needle_tip_px[1]) * sy)
    assert tip_err < 1.0, tip_err
    assert abs(d.angle_deg - f.needle_angle_deg) < 2.0
    assert (d.direction[0] > 0) == (side == "left")
    # the entry is on the image border the needle comes from
    assert (d.entry_px[0] < 5) if side == "left" else (d.entry_px[0] > f.image.shape[1] - 6)


def test_no_needle_no_entering_shaft_found_on_a_blank_frame():
    rng = np.random.default_rng(0)
    img = np.clip(rng.normal(90, 20, (300, 300)), 0, 255).astype(np.uint8)
    assert detect_needle(img, (0.1, 0.1), NeedleConfig()) is None


def _line_image(angle_deg: float, length_px: float, spacing=(0.1, 0.1), noise=12.0, seed=0):
    """A bright straight line entering at the left edge, on speckle-like noise; returns image and tip."""
    rng = np.random.default_rng(seed)
    img = rng.normal(80, noise, (300, 300)).astype(np.float32)
    img = cv2.GaussianBlur(img, (0, 0), 1.0)
    sy, sx = spacing
    a = math.radians(angle_deg)
    d = np.array([math.cos(a) / sx, math.sin(a) / sy])
    d /= np.linalg.norm(d)
    p0 = np.array([0.0, 60.0])
    tip = p0 + length_px * d
    cv2.line(img, (int(round(p0[0] * 16)), int(round(p0[1] * 16))), (int(round(tip[0] * 16)), int(round(tip[1] * 16))),
             200.0, 3, cv2.LINE_AA, 4)
    return np.clip(img, 0, 255).astype(np.uint8), tip


@pytest.mark.parametrize("spacing", [(0.1, 0.1), (0.15, 0.1)])
def test_strip_measures_a_drawn_shaft_from_a_tilted_offset_hypothesis(spacing):
    img, tip = _line_image(35.0, 180.0, spacing)
    sy, sx = spacing
    a = math.radians(35.0)
    d = np.array([math.cos(a) / sx, math.sin(a) / sy])
    d /= np.linalg.norm(d)
    rot = math.radians(2.0)
    hyp = np.array([[math.cos(rot), -math.sin(rot)], [math.sin(rot), math.cos(rot)]]) @ d
    det = measure_shaft(img.astype(np.float32), np.array([0.0, 66.0]), hyp, spacing, NeedleDetectorConfig())
    assert det is not None
    assert abs(det.angle_deg - 35.0) < 0.5
    assert math.hypot((det.tip_px[0] - tip[0]) * sx, (det.tip_px[1] - tip[1]) * sy) < 0.3
    assert det.entry_px[0] < 1.0


def test_a_bright_line_that_starts_inside_the_image_is_not_a_shaft():
    rng = np.random.default_rng(1)
    img = cv2.GaussianBlur(rng.normal(80, 12, (300, 300)).astype(np.float32), (0, 0), 1.0)
    cv2.line(img, (120, 100), (250, 200), 200.0, 3, cv2.LINE_AA)  # fascia-like, away from every edge
    img = np.clip(img, 0, 255).astype(np.uint8)
    u = np.array([130.0, 100.0]) / np.hypot(130.0, 100.0)
    assert measure_shaft(img.astype(np.float32), np.array([120.0, 100.0]), u, (0.1, 0.1), NeedleDetectorConfig()) is None


def test_clip_to_field_excludes_the_near_field():
    t0, t1 = clip_to_field(np.array([0.0, 50.0]), np.array([1.0, 0.0]), 100, 80, top=10.0)
    assert (t0, t1) == (0.0, 99.0)
    u = np.array([0.0, 1.0])
    t0, t1 = clip_to_field(np.array([30.0, 0.0]), u, 100, 80, top=10.0)
    assert (t0, t1) == (10.0, 79.0)
    assert clip_to_field(np.array([0.0, 5.0]), np.array([1.0, 0.0]), 100, 80, top=10.0) is None


def test_entry_search_ranks_the_entering_line_first():
    img, tip = _line_image(50.0, 150.0, noise=14.0, seed=3)
    hyps = EntrySearch().hypotheses(img, (0.1, 0.1), NeedleDetectorConfig(), keep=3)
    p, u, score = hyps[0]
    assert score > 0
    assert p[0] < 8 and abs(p[1] - 60.0) < 8
    assert abs(math.degrees(math.atan2(u[1], u[0])) - 50.0) < 3.0
