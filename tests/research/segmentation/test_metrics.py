"""Evaluation metrics on masks with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from research.segmentation.evaluate import hd95, image_metrics, summarise


def test_dice_iou_sensitivity_precision_of_known_overlap():
    truth = np.zeros((20, 20), np.uint8)
    pred = np.zeros((20, 20), np.uint8)
    truth[0:10, 0:10] = 1      # 100 px
    pred[0:10, 5:15] = 1       # 100 px, 50 overlap
    m = image_metrics(pred, truth)["nerve"]
    assert m["dice"] == pytest.approx(0.5)
    assert m["iou"] == pytest.approx(50 / 150)
    assert m["sensitivity"] == pytest.approx(0.5) and m["precision"] == pytest.approx(0.5)
    v = image_metrics(pred, truth)["vessel"]
    assert v["dice"] is None and not v["truth"] and not v["pred"]


def test_hd95_of_shifted_square_is_the_shift():
    a = np.zeros((60, 60), bool)
    b = np.zeros((60, 60), bool)
    a[10:30, 10:30] = True
    b[10:30, 14:34] = True
    assert hd95(a, b) == pytest.approx(4.0, abs=0.5)
    assert hd95(a, a) == 0.0


def test_summary_detection_and_false_alarm_rates():
    t1 = np.zeros((10, 10), np.uint8)
    t1[2:5, 2:5] = 2
    p_hit = t1.copy()
    p_miss = np.zeros_like(t1)
    p_false = np.zeros_like(t1)
    p_false[6:8, 6:8] = 2
    rows = [{"id": "a", "metrics": image_metrics(p_hit, t1)},
            {"id": "b", "metrics": image_metrics(p_miss, t1)},
            {"id": "c", "metrics": image_metrics(p_false, np.zeros_like(t1))},
            {"id": "d", "metrics": image_metrics(np.zeros_like(t1), np.zeros_like(t1))}]
    s = summarise(rows)["vessel"]
    assert s["detection_rate"] == pytest.approx(0.5)
    assert s["false_alarm_rate"] == pytest.approx(0.5)
    assert s["dice"] == pytest.approx((1.0 + 0.0 + 0.0) / 3)
