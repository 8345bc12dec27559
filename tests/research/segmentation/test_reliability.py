"""The confidence gate's reliability: which drawn structures are correct, and the figures over images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from research.segmentation.reliability import (CORRECT_OVERLAP, SWEEP, format_gate, reliability_png,
                                             structure_records, summarise_gate)
from core.types import Structure, Validity


def _square(x0: int, y0: int, side: int) -> np.ndarray:
    return np.array([[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side]], np.float32)


def test_a_structure_is_correct_when_most_of_its_outline_lies_on_its_own_class():
    truth = np.zeros((100, 120), np.uint8)
    truth[10:50, 10:50] = 1                              # a nerve
    truth[60:90, 70:100] = 2                             # a vessel
    structures = [
        Structure("nerve", _square(10, 10, 39), 0.97, 1600.0, Validity.OK),       # on the nerve
        Structure("nerve", _square(30, 10, 39), 0.95, 1600.0, Validity.OK),       # half off it
        Structure("vessel", _square(10, 10, 20), 0.93, 400.0, Validity.OK),       # a vessel drawn on the nerve
        Structure("vessel", _square(70, 60, 29), 0.55, 900.0, Validity.UNCERTAIN),
    ]
    recs = structure_records(structures, truth)
    assert [r["cls"] for r in recs] == ["nerve", "nerve", "vessel", "vessel"]
    assert recs[0]["overlap"] == pytest.approx(1.0)
    assert 0.45 < recs[1]["overlap"] < 0.55
    assert recs[2]["overlap"] == 0.0                     # the right place, the wrong class
    assert recs[3]["overlap"] == pytest.approx(1.0) and recs[3]["certain"] is False
    assert recs[0]["certain"] and recs[0]["confidence"] == pytest.approx(0.97)


def _row(nerve_in_truth: bool, vessel_in_truth: bool, structures: list[dict]) -> dict:
    return {"metrics": {"nerve": {"truth": nerve_in_truth}, "vessel": {"truth": vessel_in_truth}},
            "structures": structures}


def _s(cls: str, conf: float, overlap: float, gate_on: float = 0.9) -> dict:
    return {"cls": cls, "confidence": conf, "certain": conf >= gate_on, "overlap": overlap}


def test_gate_figures_count_certain_and_uncertain_structures_per_class():
    rows = [
        _row(True, True, [_s("nerve", 0.95, 0.9), _s("nerve", 0.92, 0.1), _s("vessel", 0.97, 0.8)]),
        _row(True, True, [_s("nerve", 0.70, 0.8), _s("vessel", 0.60, 0.0)]),
        _row(True, False, [_s("nerve", 0.93, 0.7), _s("vessel", 0.95, 0.0)]),       # a certain vessel false alarm
        _row(True, False, [_s("vessel", 0.50, 0.0)]),                              # an uncertain one: not an alarm
    ]
    g = summarise_gate(rows, 0.9)
    n, v = g["nerve"], g["vessel"]
    assert g["gate_on"] == 0.9 and g["correct_overlap"] == CORRECT_OVERLAP
    assert (n["n_certain"], n["n_uncertain"], n["n_structures"]) == (3, 1, 4)
    assert n["certain_correct"] == pytest.approx(2 / 3) and n["uncertain_correct"] == 1.0
    assert n["certain_detection_rate"] == pytest.approx(2 / 4)          # images 1 and 3 of 4
    assert n["certain_false_alarm_rate"] is None                         # every image shows a nerve
    assert n["hidden_correct"] == pytest.approx(1 / 3)                   # 1 of 3 correct nerves marked uncertain
    assert v["certain_correct"] == pytest.approx(1 / 2) and v["uncertain_correct"] == 0.0
    assert v["certain_detection_rate"] == pytest.approx(1 / 2) and v["certain_false_alarm_rate"] == pytest.approx(1 / 2)
    # the sweep re-draws the gate at each value: a stricter gate leaves fewer structures certain
    sweep = {s["gate_on"]: s for s in n["sweep"]}
    assert [s["gate_on"] for s in n["sweep"]] == list(SWEEP)
    assert sweep[0.5]["n_certain"] == 4 and sweep[0.95]["n_certain"] == 1
    assert sweep[0.9]["certain_correct"] == n["certain_correct"]
    counts = [s["n_certain"] for s in n["sweep"]]
    assert counts == sorted(counts, reverse=True)
    # reliability bins: every structure in one bin; ECE from the bins by hand
    assert sum(b["n"] for b in n["bins"]) == 4
    top = n["bins"][-1]
    assert top["n"] == 3 and top["correct"] == pytest.approx(2 / 3)
    expected = (3 * abs(2 / 3 - np.mean([0.95, 0.92, 0.93])) + 1 * abs(1.0 - 0.70)) / 4
    assert n["ece"] == pytest.approx(expected)


def test_gate_table_and_reliability_picture(tmp_path):
    rows = [_row(True, True, [_s("nerve", 0.95, 0.9), _s("vessel", 0.6, 0.2)]), _row(True, False, [])]
    g = summarise_gate(rows, 0.9)
    text = format_gate(g)
    assert "confidence gate (gate_on 0.90" in text and "0.90 *" in text
    assert "nerve" in text.splitlines()[2] and "100%" in text.splitlines()[2]
    png = reliability_png(g, tmp_path / "sub" / "rel.png", "title")
    img = cv2.imread(str(png))
    assert img is not None and img.shape[1] > img.shape[0] > 100
    assert (img != 255).any(axis=2).mean() > 0.02       # bars, axes and text were drawn
