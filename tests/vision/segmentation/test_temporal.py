"""Tracking, gate hysteresis and motion-aware smoothing."""

from __future__ import annotations

import numpy as np

from vision.segmentation.postprocess import Region, regions
from vision.segmentation.temporal import ProbabilitySmoother, Tracker
from core.types import Validity


def _region(cls, x, conf):
    return Region(cls, np.zeros((4, 2), np.float32), conf, 100.0, (x, 10, 10, 10), (x + 5.0, 15.0))


def test_track_ids_persist_and_gate_has_hysteresis():
    tr = Tracker(gate_on=0.6, gate_off=0.4)
    (r, tid, v), = tr.update([_region(1, 10, 0.55)])
    assert v is Validity.UNCERTAIN                        # below gate_on when new
    (r, tid2, v), = tr.update([_region(1, 12, 0.65)])
    assert tid2 == tid and v is Validity.OK
    (r, tid3, v), = tr.update([_region(1, 13, 0.45)])
    assert tid3 == tid and v is Validity.OK               # above gate_off: stays certain
    (r, tid4, v), = tr.update([_region(1, 13, 0.35)])
    assert v is Validity.UNCERTAIN
    out = tr.update([_region(1, 13, 0.9), _region(2, 100, 0.9)])
    assert out[0][1] == tid and out[1][1] != tid           # a vessel far away gets a new id


def test_smoother_averages_still_frames_and_follows_motion_at_once():
    sm = ProbabilitySmoother(weight=0.5, motion_threshold=4.0)
    img = np.full((64, 64), 100, np.uint8)
    p0 = np.zeros((3, 8, 8), np.float32)
    p1 = np.ones((3, 8, 8), np.float32)
    sm(p0, img, "k")
    still = sm(p1, img, "k")
    assert np.allclose(still, 0.5)
    moved = sm(p0, np.full((64, 64), 160, np.uint8), "k")
    assert np.allclose(moved, 0.0) and sm.last_change >= 4.0
    assert np.allclose(sm(p1, np.full((64, 64), 160, np.uint8), "other"), 1.0)   # new ROI: restart


def test_regions_extracts_components_confidence_and_contours():
    probs = np.zeros((3, 64, 64), np.float32)
    probs[0] = 1.0
    probs[:, 10:30, 10:30] = np.array([0.1, 0.8, 0.1])[:, None, None]
    probs[:, 40:50, 40:60] = np.array([0.3, 0.0, 0.7])[:, None, None]
    probs[:, 60:62, 0:2] = np.array([0.0, 1.0, 0.0])[:, None, None]   # 4 px: below min area
    rs = regions(probs, (64, 64), min_area=10, epsilon=1.0, max_per_class=8)
    assert sorted((r.cls, r.area) for r in rs) == [(1, 400.0), (2, 200.0)]
    nerve = next(r for r in rs if r.cls == 1)
    assert abs(nerve.confidence - 0.8) < 1e-6
    # the outline is the margin's zero level between the border pixels (sub-pixel), not their centres
    assert 9.5 <= nerve.contour[:, 0].min() <= 10.2 and 28.8 <= nerve.contour[:, 0].max() <= 29.5
    assert 9.5 <= nerve.contour[:, 1].min() <= 10.2 and 28.8 <= nerve.contour[:, 1].max() <= 29.5
    assert len(nerve.contour) == 4                       # a square simplifies to its corners


def test_outline_moves_continuously_with_the_probabilities():
    # one border column's nerve probability rises from just below to just above the decision
    # level: a pixel outline would jump a whole pixel, the sub-pixel outline moves a fraction
    xs = []
    for q in (0.45, 0.48, 0.52, 0.55):
        probs = np.zeros((3, 40, 40), np.float32)
        probs[0] = 1.0
        probs[:, 10:30, 10:20] = np.array([0.1, 0.9, 0.0])[:, None, None]
        probs[:, 10:30, 20] = np.array([1.0 - q, q, 0.0])[:, None]
        (r,) = regions(probs, (40, 40), min_area=10, epsilon=0.5, max_per_class=8)
        xs.append(float(r.contour[:, 0].max()))
    steps = np.diff(xs)
    assert np.all(steps >= -1e-6) and steps.max() < 0.6
