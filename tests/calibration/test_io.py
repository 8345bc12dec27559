"""Calibration files: round trip, inverse direction, and every refusal with a clear message."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.frames import FrameName
from calibration.io import Calibration, load_calibration
from core.errors import CalibrationError
from core.se3 import make_T, rotvec_to_R

T = make_T(rotvec_to_R([0.1, -0.2, 0.3]), [10.0, 20.0, 30.0])


def _save(tmp_path, **kw):
    cal = Calibration(FrameName.CAMERA, FrameName.HEADSET, T, method="hand-eye (Tsai-Lenz)",
                      residuals={"rms_mm": 0.6, "n": 20}, devices={"camera": "cam1", "headset": "hl2"}, **kw)
    p = tmp_path / "cam_to_headset.json"
    cal.save(p)
    return p


def test_round_trip_and_inverse(tmp_path):
    p = _save(tmp_path)
    data = json.loads(p.read_text())
    assert data["format_version"] == 1 and data["units"] == {"from": "mm", "to": "mm"} and data["date"]
    c = load_calibration(p, "camera", "headset", max_rms_mm=1.0, devices={"camera": "cam1"})
    np.testing.assert_allclose(c.matrix, T)
    inv = load_calibration(p, "headset", "camera")
    np.testing.assert_allclose(inv.matrix, np.linalg.inv(T), atol=1e-12)


@pytest.mark.parametrize("mutate, fragment", [
    (lambda p: p.unlink(), "not found"),
    (lambda p: p.write_text("{ not json"), "corrupt"),
    (lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "format_version": 9})), "format_version"),
    (lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "matrix": [[1, 0], [0, 1]]})), "4x4"),
    (lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "from_frame": "probe"})), "is needed"),
    (lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "residuals": {"rms_mm": 3.0}})), "exceeds"),
    (lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "devices": {"camera": "other"}})),
     "configured camera"),
])
def test_bad_files_are_refused_with_the_reason(tmp_path, mutate, fragment):
    p = _save(tmp_path)
    mutate(p)
    with pytest.raises(CalibrationError, match=fragment):
        load_calibration(p, "camera", "headset", max_rms_mm=1.0, devices={"camera": "cam1"})
