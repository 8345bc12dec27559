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


def test_method_results_travel_in_extra_and_the_new_frames_have_units(tmp_path):
    tip = np.eye(4)
    tip[:3, 3] = [0.5, -1.0, -151.2]
    cal = Calibration("stylus_tip", "stylus", tip, method="pivot (robust)", residuals={"rms_mm": 0.3},
                      extra={"pivot_tracker_mm": np.array([1.0, 2.0, 800.0]), "n": np.int64(40)})
    cal.save(tmp_path / "tip.json")
    data = json.loads((tmp_path / "tip.json").read_text())
    assert data["units"] == {"from": "mm", "to": "mm"} and data["extra"]["n"] == 40
    back = load_calibration(tmp_path / "tip.json", "stylus_tip", "stylus", max_rms_mm=0.5)
    assert back.extra["pivot_tracker_mm"] == [1.0, 2.0, 800.0]
    assert not list(tmp_path.glob("*.tmp"))


def test_an_unwritable_calibration_file_is_one_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(CalibrationError, match="cannot write the calibration file.*--out"):
        Calibration("camera", "headset", np.eye(4)).save(tmp_path / "file" / "cal.json")


def test_the_limit_applies_to_the_expected_error_when_the_method_gives_one(tmp_path):
    cal = Calibration("camera", "headset", np.eye(4), residuals={"rms_mm": 4.1, "expected_error_mm": 1.6})
    cal.save(tmp_path / "he.json")
    assert load_calibration(tmp_path / "he.json", "camera", "headset", max_rms_mm=2.0).residuals["rms_mm"] == 4.1
    with pytest.raises(CalibrationError, match="expected error 1.60 mm RMS exceeds the limit 1.50"):
        load_calibration(tmp_path / "he.json", "camera", "headset", max_rms_mm=1.5)
