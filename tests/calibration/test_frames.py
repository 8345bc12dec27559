"""Transform graph: composition right to left, automatic inverses, inconsistent loops refused."""

from __future__ import annotations

import numpy as np
import pytest

from core.frames import FrameName, TransformGraph, check_transform, transform_name
from core.errors import CalibrationError
from core.se3 import make_T, rotvec_to_R


def _T(rv, t):
    return make_T(rotvec_to_R(np.asarray(rv, float)), t)


def test_chain_composes_like_the_convention():
    g = TransformGraph()
    T_mi = np.diag([0.1, 0.1, 1.0, 1.0]) @ _T([0, 0, 0], [5, 0, 0])
    T_cm = _T([0.1, 0.2, 0.3], [10, 20, 300])
    T_hc = _T([0.0, 3.0, 0.0], [0, 30, -10])
    g.set("marker", "image", T_mi)
    g.set("camera", "marker", T_cm)
    g.set("headset", "camera", T_hc)
    np.testing.assert_allclose(g.get("headset", "image"), T_hc @ T_cm @ T_mi, atol=1e-9)
    np.testing.assert_allclose(g.get("image", "headset"), np.linalg.inv(T_hc @ T_cm @ T_mi), atol=1e-9)
    assert transform_name(FrameName.HEADSET, FrameName.IMAGE) == "T_headset_from_image"


def test_missing_link_names_the_frames():
    g = TransformGraph()
    g.set("camera", "marker", _T([0, 0, 0], [0, 0, 100]))
    with pytest.raises(CalibrationError, match="no transform chain from image to headset"):
        g.get("headset", "image")


def test_inconsistent_loop_is_refused_and_consistent_one_accepted():
    g = TransformGraph(loop_tolerance_mm=1.0, loop_tolerance_deg=1.0)
    g.set("camera", "marker", _T([0, 0, 0], [0, 0, 100]))
    g.set("headset", "camera", _T([0, 0, 0], [0, 10, 0]))
    g.set("headset", "marker", _T([0, 0, 0], [0, 10.5, 100]))  # 0.5 mm off: within tolerance
    g.set("probe", "camera", _T([0, 0, 0], [1, 1, 1]))  # a new frame: no loop
    with pytest.raises(CalibrationError, match="inconsistent loop"):
        g.set("probe", "marker", _T([0, 0, 0], [50, 0, 0]))  # closes probe-camera-marker 50 mm off


def test_non_rigid_matrices_are_refused():
    with pytest.raises(CalibrationError, match="rotation"):
        check_transform(np.diag([2.0, 1.0, 1.0, 1.0]), "T")
    with pytest.raises(CalibrationError, match="last row"):
        check_transform(np.vstack([np.eye(4)[:3], [1, 0, 0, 1]]), "T")
    check_transform(np.diag([0.1, 0.2, 1.0, 1.0]), "T", allow_scale=True)
