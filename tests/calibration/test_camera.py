"""Camera JSON: load/save, validation errors naming the key, image-size check, rescaling."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.camera import CameraIntrinsics
from core.errors import CalibrationError, InputError

GOOD = {"K": [[1000.0, 0, 640.0], [0, 1000.0, 360.0], [0, 0, 1]], "dist": [-0.1, 0.05, 0, 0, 0],
        "width": 1280, "height": 720}


def test_round_trip(tmp_path):
    p = tmp_path / "camera.json"
    p.write_text(json.dumps(GOOD))
    cam = CameraIntrinsics.load(p)
    assert cam.size == (1280, 720) and cam.dist.shape == (5,)
    cam.save(tmp_path / "b.json")
    assert CameraIntrinsics.load(tmp_path / "b.json") == cam
    assert not cam.K.flags.writeable


@pytest.mark.parametrize("change,needle", [
    ({"K": [[1, 0], [0, 1]]}, "3x3"),
    ({"K": [[-5.0, 0, 640], [0, 1000, 360], [0, 0, 1]]}, "fx, fy > 0"),
    ({"dist": [0.1, 0.2, 0.3]}, "'dist'"),
    ({"width": 320, "height": 240}, "principal point"),
    ({"width": 12.5}, "integers"),
])
def test_invalid_values(tmp_path, change, needle):
    p = tmp_path / "camera.json"
    p.write_text(json.dumps({**GOOD, **change}))
    with pytest.raises(CalibrationError, match=needle):
        CameraIntrinsics.load(p)


def test_missing_key_and_bad_json(tmp_path):
    p = tmp_path / "camera.json"
    p.write_text(json.dumps({"K": GOOD["K"], "width": 1280}))
    with pytest.raises(CalibrationError, match="missing key 'height'"):
        CameraIntrinsics.load(p)
    p.write_text("{")
    with pytest.raises(CalibrationError, match="not valid JSON"):
        CameraIntrinsics.load(p)
    with pytest.raises(CalibrationError, match="not found"):
        CameraIntrinsics.load(tmp_path / "none.json")


def test_image_of_the_wrong_size_is_refused():
    cam = CameraIntrinsics.from_dict(GOOD)
    cam.check_image(np.zeros((720, 1280), np.uint8))
    with pytest.raises(InputError, match="frame is 640x480 but camera intrinsics"):
        cam.check_image(np.zeros((480, 640, 3), np.uint8))


def test_scaled_keeps_the_pixel_centre_convention():
    cam = CameraIntrinsics.from_dict(GOOD)
    half = cam.scaled(640, 360)
    assert half.K[0, 0] == 500.0
    # pixel centre (cx + 0.5) scales with the image: (640.5 * 0.5) - 0.5
    assert np.isclose(half.K[0, 2], 319.75)


def test_a_configured_camera_id_must_match_the_file(tmp_path):
    p = tmp_path / "camera.json"
    p.write_text(json.dumps({**GOOD, "devices": {"camera": "cam#42"}}))
    assert CameraIntrinsics.load(p, camera_id="cam#42").size == (1280, 720)
    assert CameraIntrinsics.load(p).size == (1280, 720)  # no id configured: not checked
    with pytest.raises(CalibrationError, match="is for camera 'cam#42', but the configured camera is 'cam#7'"):
        CameraIntrinsics.load(p, camera_id="cam#7")
    p.write_text(json.dumps(GOOD))
    with pytest.raises(CalibrationError, match="is for camera None.*--device camera=cam#7"):
        CameraIntrinsics.load(p, camera_id="cam#7")


def test_a_camera_file_over_the_residual_limit_is_refused(tmp_path):
    p = tmp_path / "camera.json"
    p.write_text(json.dumps({**GOOD, "rms_px": 1.8}))
    assert CameraIntrinsics.load(p).size == (1280, 720)  # no limit asked
    with pytest.raises(CalibrationError, match="reprojection RMS 1.800 px exceeds camera.max_rms_px 1.000"):
        CameraIntrinsics.load(p, max_rms_px=1.0)
    p.write_text(json.dumps(GOOD))  # no rms_px recorded (a hand-written file): not checked
    assert CameraIntrinsics.load(p, max_rms_px=1.0).size == (1280, 720)
