"""``sonoguide calibrate hand-eye``: the calibration file, the report, the JSON figures and bad input."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from calibration.io import load_calibration
from research.calibration.hand_eye_sim import HandEyeSimConfig, pose_error, simulate_station_set, write_station_set
from sonoguide.cli import main


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(["calibrate", "hand-eye", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def glitched(tmp_path_factory):
    d = tmp_path_factory.mktemp("he")
    s = simulate_station_set(21, HandEyeSimConfig(outlier_fraction=0.1, n_stations=(24, 24)))
    write_station_set(s, d / "in.json", d / "truth.json")
    return s, d / "in.json"


def test_a_capture_gives_x_the_report_and_the_json_figures(glitched, tmp_path, capsys):
    s, path = glitched
    rc, out, err = _run(capsys, "--input", str(path), "--out", str(tmp_path / "he.json"),
                        "--device", "camera=cam#42", "--json")
    assert rc == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["outliers"] == s.outliers
    assert summary["sigma_X_mm"] > 0 and summary["rms_mm"] > 0
    cal = load_calibration(tmp_path / "he.json", "camera", "headset", devices={"camera": "cam#42"})
    dt, dr = pose_error(cal.matrix, s.X)
    assert dt < 4.0 * summary["sigma_X_mm"] and dr < 4.0 * summary["sigma_X_deg"]
    assert {"rms_mm", "rms_deg", "per_station_mm", "per_station_deg"} <= set(cal.residuals)
    assert len(cal.residuals["per_station_mm"]) == 24
    assert cal.extra["outliers"] == s.outliers
    assert pose_error(np.array(cal.extra["T_world_from_marker"]), s.Y)[0] < 15.0
    assert "advice" in cal.extra and "least squares" in cal.method
    img = cv2.imread(str(tmp_path / "he.png"))
    assert img is not None and img.shape[0] > 600


def test_human_output_and_a_closed_form_method(glitched, tmp_path, capsys):
    _, path = glitched
    rc, out, err = _run(capsys, "--input", str(path), "--out", str(tmp_path / "p.json"), "--method", "park",
                        "--report", str(tmp_path / "r" / "park.png"))
    assert rc == 0, err
    assert "Park-Martin" in out and "wrote" in out
    assert (tmp_path / "r" / "park.png").exists()


def _write(path, W, C) -> str:
    path.write_text(json.dumps({"T_world_from_headset": np.asarray(W).tolist(),
                                "T_camera_from_marker": np.asarray(C).tolist()}))
    return str(path)


def _one_error_line(rc: int, err: str, *words: str) -> None:
    assert rc != 0
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    for w in words:
        assert w in lines[0], lines[0]


def test_bad_input_gives_one_error_line(tmp_path, capsys):
    s = simulate_station_set(22)
    out = str(tmp_path / "o.json")
    rc, _, err = _run(capsys, "--input", str(tmp_path / "missing.json"), "--out", out)
    _one_error_line(rc, err, "missing.json")
    (tmp_path / "junk.json").write_text("not json {")
    rc, _, err = _run(capsys, "--input", str(tmp_path / "junk.json"), "--out", out)
    _one_error_line(rc, err, "junk.json")
    (tmp_path / "pivot.json").write_text(json.dumps({"T_tracker_from_stylus": s.W.tolist()}))
    rc, _, err = _run(capsys, "--input", str(tmp_path / "pivot.json"), "--out", out)
    _one_error_line(rc, err, "T_world_from_headset")
    C = s.C.copy()
    C[3, 1, 2] = np.nan
    rc, _, err = _run(capsys, "--input", _write(tmp_path / "nan.json", s.W, C), "--out", out)
    _one_error_line(rc, err, "T_camera_from_marker[3]", "NaN")
    W = s.W.copy()
    W[1, :3, :3] *= 1.1
    rc, _, err = _run(capsys, "--input", _write(tmp_path / "scaled.json", W, s.C), "--out", out)
    _one_error_line(rc, err, "T_world_from_headset[1]", "rigid")
    rc, _, err = _run(capsys, "--input", _write(tmp_path / "shape.json", s.W[:, :3], s.C), "--out", out)
    _one_error_line(rc, err, "4x4")
    rc, _, err = _run(capsys, "--input", _write(tmp_path / "len.json", s.W, s.C[:-2]), "--out", out)
    _one_error_line(rc, err, "one entry per station")
    rc, _, err = _run(capsys, "--input", _write(tmp_path / "few.json", s.W[:3], s.C[:3]), "--out", out)
    _one_error_line(rc, err, "3 stations, at least 6")
    Wm, Cm = s.W.copy(), s.C.copy()
    Wm[:, :3, 3] /= 1000.0
    Cm[:, :3, 3] /= 1000.0
    rc, _, err = _run(capsys, "--input", _write(tmp_path / "metres.json", Wm, Cm), "--out", out)
    _one_error_line(rc, err, "metres")


def test_degenerate_motion_names_the_motion_to_add(tmp_path, capsys):
    s = simulate_station_set(23, HandEyeSimConfig(motion="one_axis"))
    rc, _, err = _run(capsys, "--input", _write(tmp_path / "axis.json", s.W, s.C), "--out", str(tmp_path / "o.json"))
    _one_error_line(rc, err, "rotate the headset also about a second axis well apart from the first",
                    "current spread")
    s = simulate_station_set(24, HandEyeSimConfig(motion="small"))
    rc, _, err = _run(capsys, "--input", _write(tmp_path / "small.json", s.W, s.C), "--out", str(tmp_path / "o.json"))
    _one_error_line(rc, err, "too little rotation")
    assert not (tmp_path / "o.json").exists()


def test_a_poorly_determined_x_is_refused_with_the_report(glitched, tmp_path, capsys):
    _, path = glitched
    rc, _, err = _run(capsys, "--input", str(path), "--out", str(tmp_path / "o.json"), "--max-sigma", "0.01")
    _one_error_line(rc, err, "predicted error", "add stations")
    assert (tmp_path / "o.png").exists() and not (tmp_path / "o.json").exists()


def test_live_stations_from_an_openigtlink_server(tmp_path, capsys, igtl_stream):
    """Headset pose and marker pose streamed side by side; each station held still for a while."""
    import pyigtl
    s = simulate_station_set(77, HandEyeSimConfig(n_stations=(20, 20)))
    # each station held still for 8 messages
    igtl_stream.start(lambda k: [pyigtl.TransformMessage(s.W[(k // 8) % len(s.W)], device_name="HeadsetToWorld"),
                                 pyigtl.TransformMessage(s.C[(k // 8) % len(s.W)], device_name="MarkerToCamera")])
    rc = main(["calibrate", "hand-eye", "--igtl", igtl_stream.address, "--stations", "15", "--timeout", "60",
               "--save-capture", str(tmp_path / "cap.json"), "--out", str(tmp_path / "x.json"), "--json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "Look at the marker from many directions" in err
    cal = load_calibration(tmp_path / "x.json", "camera", "headset")
    mm, deg = pose_error(cal.matrix, s.X)
    assert mm < 8.0 and deg < 1.0
    assert len(json.loads((tmp_path / "cap.json").read_text())["T_world_from_headset"]) == 15
