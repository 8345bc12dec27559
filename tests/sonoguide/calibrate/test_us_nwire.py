"""``sonoguide calibrate us-probe --method nwire`` end to end on a rendered capture, and its bad inputs."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from calibration.io import load_calibration
from calibration.nwire import detect_dots, find_n_patterns
from core.errors import CalibrationError, InputError
from research.calibration.nwire_sim import NWireSimConfig, grid_errors, simulate_nwire, write_capture
from sonoguide.calibrate import us_probe


@pytest.fixture(scope="module")
def capture(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("nwire") / "cap"
    write_capture(simulate_nwire(21, NWireSimConfig(n_frames=16)), out)
    return out


def _run(*argv: str) -> int:
    p = argparse.ArgumentParser()
    us_probe.add_arguments(p)
    return us_probe.run(p.parse_args(["--method", "nwire", *argv]))


def _copy(capture: Path, tmp_path: Path) -> Path:
    dst = tmp_path / "cap"
    shutil.copytree(capture, dst)
    return dst


def test_calibrates_the_rendered_capture(capture, tmp_path, capsys):
    out = tmp_path / "us.json"
    assert _run("--input", str(capture), "--out", str(out), "--json", "--device", "probe=L14#1") == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    cal = load_calibration(out, "image", "marker", max_rms_mm=2.0, devices={"probe": "L14#1"})
    truth = json.loads((capture / "truth.json").read_text())
    err = grid_errors(cal.matrix, np.asarray(truth["T_marker_from_image"]), (640, 480))
    assert err.mean() < 0.6
    assert cal.method == "n-wire phantom"
    np.testing.assert_allclose(cal.extra["spacing_mm_per_px"], truth["pixel_spacing_mm"], rtol=0.01)
    assert cal.extra["frames_used"] >= 12 and cal.extra["dots_found"] >= 9 * 12
    for key in ("rms_mm", "loo_pre_rms_mm", "loo_tre_rms_mm"):
        assert 0.1 < cal.residuals[key] < 1.5 and summary[key] == pytest.approx(cal.residuals[key], abs=1e-5)
    assert cv2.imread(str(out.with_suffix(".png"))).shape[0] > 500


def test_capture_json_path_and_phantom_file(capture, tmp_path, capsys):
    data = json.loads((capture / "capture.json").read_text())
    (tmp_path / "ph.json").write_text(json.dumps(data["phantom"]))
    cap = _copy(capture, tmp_path)
    data.pop("phantom")
    data["T_tracker_from_phantom"] = data["T_tracker_from_phantom"][0]  # a static phantom pose, given once
    (cap / "capture.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match="no phantom geometry.*--phantom"):
        _run("--input", str(cap / "capture.json"), "--out", str(tmp_path / "a.json"))
    assert _run("--input", str(cap / "capture.json"), "--phantom", str(tmp_path / "ph.json"),
                "--out", str(tmp_path / "a.json")) == 0
    assert "pixel spacing" in capsys.readouterr().out


def test_missing_frame(capture, tmp_path):
    cap = _copy(capture, tmp_path)
    (cap / "frames" / "0005.png").unlink()
    with pytest.raises(InputError, match=r"frames\[5\] = '0005.png' is missing"):
        _run("--input", str(cap), "--out", str(tmp_path / "a.json"))


def test_no_dots_found(capture, tmp_path):
    cap = _copy(capture, tmp_path)
    for f in (cap / "frames").iterdir():
        cv2.imwrite(str(f), np.full((480, 640), 20, np.uint8))
    with pytest.raises(CalibrationError, match="no wire dots found in any of the 16 frames"):
        _run("--input", str(cap), "--out", str(tmp_path / "a.json"))


def test_too_few_frames(capture, tmp_path):
    cap = _copy(capture, tmp_path)
    data = json.loads((cap / "capture.json").read_text())
    for k in ("frames", "T_tracker_from_marker", "T_tracker_from_phantom"):
        data[k] = data[k][:6]
    (cap / "capture.json").write_text(json.dumps(data))
    with pytest.raises(InputError, match="6 frames, at least 10 are needed"):
        _run("--input", str(cap), "--out", str(tmp_path / "a.json"))


def test_degenerate_sweep_names_the_motion(capture, tmp_path):
    cap = _copy(capture, tmp_path)
    data = json.loads((cap / "capture.json").read_text())
    n = len(data["frames"])
    k = next(i for i, f in enumerate(data["frames"])  # a frame that shows every N, repeated
             if len(find_n_patterns(detect_dots(cv2.imread(str(cap / f), cv2.IMREAD_GRAYSCALE)), 3)) == 3)
    data["frames"] = [data["frames"][k]] * n
    data["T_tracker_from_marker"] = [data["T_tracker_from_marker"][k]] * n
    data["T_tracker_from_phantom"] = [data["T_tracker_from_phantom"][k]] * n
    (cap / "capture.json").write_text(json.dumps(data))
    with pytest.raises(CalibrationError, match="degenerate sweep.*slide the probe.*tilt"):
        _run("--input", str(cap), "--out", str(tmp_path / "a.json"))


def test_bad_poses_and_lengths(capture, tmp_path):
    cap = _copy(capture, tmp_path)
    data = json.loads((cap / "capture.json").read_text())
    bad = json.loads(json.dumps(data))
    bad["T_tracker_from_marker"][3][0][0] = float("nan")
    (cap / "capture.json").write_text(json.dumps(bad).replace("NaN", "NaN"))
    with pytest.raises(InputError, match=r"T_tracker_from_marker\[3\] contains NaN"):
        _run("--input", str(cap), "--out", str(tmp_path / "a.json"))
    bad = json.loads(json.dumps(data))
    bad["frames"] = bad["frames"][:-1]
    (cap / "capture.json").write_text(json.dumps(bad))
    with pytest.raises(InputError, match="one entry per station"):
        _run("--input", str(cap), "--out", str(tmp_path / "a.json"))
    (cap / "capture.json").write_text(json.dumps({"T_world_from_headset": []}))
    with pytest.raises(InputError, match="lacks the key"):
        _run("--input", str(cap), "--out", str(tmp_path / "a.json"))


def test_live_sweep_from_a_plus_like_openigtlink_server(tmp_path, capsys, igtl_stream):
    """Image, probe and phantom streamed as PLUS does; the sweep is recorded, then calibrated."""
    import pyigtl

    from research.calibration.nwire_sim import grid_errors as nwire_grid_errors
    from research.calibration.nwire_sim import simulate_nwire
    from sonoguide.cli import main

    cap = simulate_nwire(5)
    (tmp_path / "phantom.json").write_text(json.dumps(cap.geometry.to_dict()))

    def messages(k: int) -> list:
        i = (k // 2) % len(cap.images)  # each frame sent twice: the repeat must not be kept
        return [pyigtl.TransformMessage(cap.T_tracker_from_marker[i], device_name="ProbeToTracker"),
                pyigtl.TransformMessage(cap.T_tracker_from_phantom[i], device_name="PhantomToTracker"),
                pyigtl.ImageMessage(cap.images[i][np.newaxis], device_name="Image")]

    igtl_stream.start(messages, period_s=0.005)
    rc = main(["calibrate", "us-probe", "--method", "nwire", "--igtl", igtl_stream.address, "--phantom",
               str(tmp_path / "phantom.json"), "--frames", "30", "--timeout", "90",
               "--out", str(tmp_path / "us.json"), "--json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "N-wire phantom" in err
    saved = json.loads((tmp_path / "us.capture" / "capture.json").read_text())
    assert len(saved["frames"]) == 30
    cal = load_calibration(tmp_path / "us.json", "image", "marker")
    assert nwire_grid_errors(cal.matrix, cap.T_marker_from_image, cap.image_size).mean() < 0.6
