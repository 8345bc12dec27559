"""Regions and the label image from probabilities: confidence floor, hole filling, limits."""

from __future__ import annotations

import cv2
import numpy as np

from vision.segmentation.postprocess import fill_holes, label_image, regions


def _probs(labels: np.ndarray, confidence: dict[int, float]) -> np.ndarray:
    """Probabilities whose arg-max is ``labels``; class c pixels carry probability confidence[c]."""
    p = np.zeros((3,) + labels.shape, np.float32)
    p[0] = 1.0
    for c, conf in confidence.items():
        m = labels == c
        p[:, m] = (1.0 - conf) / 2.0
        p[c, m] = conf
    return p


def test_fill_holes_fills_enclosed_islands_only():
    m = np.zeros((40, 40), bool)
    cv2.circle(m.view(np.uint8), (20, 20), 12, 1, -1)
    ring = m.copy()
    ring[16:24, 16:24] = False                           # enclosed hole
    notch = m.copy()
    notch[18:22, 0:22] = False                           # channel open to the border: not a hole
    assert fill_holes(ring).sum() == m.sum()
    assert fill_holes(notch).sum() == notch.sum()
    assert not fill_holes(np.zeros((5, 5), bool)).any()


def test_label_image_drops_unsure_and_small_regions_and_fills_holes():
    lab = np.zeros((60, 60), np.uint8)
    lab[5:25, 5:25] = 1                                  # sure nerve with a hole
    lab[12:16, 12:16] = 0
    lab[40:55, 40:55] = 1                                # unsure nerve
    lab[5:25, 40:55] = 2                                 # sure vessel
    lab[50:52, 5:7] = 2                                  # tiny vessel
    p = _probs(lab, {1: 0.9, 2: 0.9})
    p[:, 40:55, 40:55] = 0.0
    p[1, 40:55, 40:55], p[0, 40:55, 40:55] = 0.55, 0.45
    out = label_image(p, min_area=10, min_confidence=0.7, holes=True)
    assert (out[5:25, 5:25] == 1).all()                  # hole filled
    assert (out[40:55, 40:55] == 0).all()                # unsure region dropped
    assert (out[5:25, 40:55] == 2).all() and (out[50:52, 5:7] == 0).all()
    kept = label_image(p, min_area=1, min_confidence=0.0, holes=False)
    assert (kept[12:16, 12:16] == 0).all() and (kept[40:55, 40:55] == 1).all() and (kept[50:52, 5:7] == 2).all()


def test_a_hole_holding_the_other_class_is_not_overwritten():
    lab = np.zeros((40, 40), np.uint8)
    lab[5:35, 5:35] = 1
    lab[15:25, 15:25] = 2                                # vessel inside the nerve's outline
    out = label_image(_probs(lab, {1: 0.9, 2: 0.9}), min_area=4)
    assert (out[15:25, 15:25] == 2).all() and (out == 1).sum() == 900 - 100


def test_regions_honour_the_confidence_floor_and_report_mean_probability():
    lab = np.zeros((64, 64), np.uint8)
    lab[4:20, 4:20] = 1
    lab[40:60, 40:60] = 2
    p = _probs(lab, {1: 0.65, 2: 0.95})
    all_regions = regions(p, (64, 64), 4, 1.0, 8)
    assert sorted(r.cls for r in all_regions) == [1, 2]
    assert abs(next(r for r in all_regions if r.cls == 1).confidence - 0.65) < 1e-5
    sure = regions(p, (64, 64), 4, 1.0, 8, min_confidence=0.7)
    assert [r.cls for r in sure] == [2]
