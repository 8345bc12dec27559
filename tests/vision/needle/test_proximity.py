"""Distances to contours in millimetres and the proximity levels."""

from __future__ import annotations

import numpy as np
import pytest

from vision.needle.config import ProximityConfig
from vision.needle.proximity import point_polygon_mm, proximity_level, segment_polygon_mm, structure_distances
from core.types import Structure, Validity

SQUARE = np.array([[100, 100], [200, 100], [200, 200], [100, 200]], np.float32)
MM = (0.1, 0.1)


def test_point_distance_in_mm_and_zero_inside():
    assert point_polygon_mm((100, 50), SQUARE, MM) == pytest.approx(5.0)
    assert point_polygon_mm((150, 150), SQUARE, MM) == 0.0
    # anisotropic pixels: rows 0.2 mm, columns 0.1 mm
    assert point_polygon_mm((150, 50), SQUARE, (0.2, 0.1)) == pytest.approx(10.0)


def test_segment_distance():
    assert segment_polygon_mm((0, 150), (90, 150), SQUARE, MM) == pytest.approx(1.0)
    assert segment_polygon_mm((0, 150), (300, 150), SQUARE, MM) == 0.0  # passes through
    assert segment_polygon_mm((50, 50), (80, 80), SQUARE, MM) == pytest.approx(np.hypot(2.0, 2.0))


def test_levels_and_per_class_distances():
    cfg = ProximityConfig(caution_mm=3.0, stop_mm=1.0)
    nerve = Structure("nerve", SQUARE, 0.9, 1e4, Validity.OK)
    vessel = Structure("vessel", SQUARE + 300, 0.9, 1e4, Validity.UNCERTAIN)
    tip_d, path_d = structure_distances((150, 95), (150, 20), [nerve, vessel], MM)
    assert tip_d["nerve"] == pytest.approx(0.5) and tip_d["vessel"] > 20
    assert proximity_level(tip_d, path_d, cfg) == "stop"
    tip_d, path_d = structure_distances((150, 80), (150, 10), [nerve], MM)
    assert proximity_level(tip_d, path_d, cfg) == "caution"
    # far tip, but the path ahead goes through the nerve
    tip_d, path_d = structure_distances((150, 20), (150, 120), [nerve], MM)
    assert path_d["nerve"] == 0.0 and proximity_level(tip_d, path_d, cfg) == "caution"
    tip_d, path_d = structure_distances((150, 20), (150, 40), [nerve], MM)
    assert proximity_level(tip_d, path_d, cfg) == "safe"
    assert structure_distances((0, 0), (1, 1), [], MM)[0] == {"nerve": None, "vessel": None}


def test_tip_margin_warns_early():
    nerve = Structure("nerve", SQUARE, 0.9, 1e4, Validity.OK)
    exact, _ = structure_distances((150, 85), (150, 40), [nerve], MM)
    ahead, _ = structure_distances((150, 85), (150, 40), [nerve], MM, tip_ahead_px=(150, 90))
    assert exact["nerve"] == pytest.approx(1.5) and ahead["nerve"] == pytest.approx(1.0)
