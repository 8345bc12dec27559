"""``sonoguide calibrate pivot``: offline captures, a live OpenIGTLink tracker, and bad input."""

from __future__ import annotations

import json

import cv2
import numpy as np

from calibration.io import load_calibration
from research.calibration.pivot_sim import simulate_pivot, write_pivot
from sonoguide.cli import main


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(["calibrate", "pivot", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_a_capture_gives_the_tip_file_the_report_and_the_json_figures(tmp_path, capsys):
    s = simulate_pivot(np.random.default_rng(7), 90, glitch_fraction=0.06)
    write_pivot(s, tmp_path / "pivot.json")
    rc, out, err = _run(capsys, "--input", str(tmp_path / "pivot.json"), "--out", str(tmp_path / "tip.json"),
                        "--device", "stylus=NDI-8700340", "--json")
    assert rc == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert np.linalg.norm(np.array(summary["tip_stylus_mm"]) - s.tip_stylus_mm) < 0.35
    assert np.linalg.norm(np.array(summary["pivot_tracker_mm"]) - s.pivot_tracker_mm) < 0.6
    assert set(summary["rejected"]) == set(np.flatnonzero(s.glitched).tolist())
    cal = load_calibration(tmp_path / "tip.json", "stylus_tip", "stylus", max_rms_mm=1.0,
                           devices={"stylus": "NDI-8700340"})
    assert np.allclose(cal.matrix[:3, 3], summary["tip_stylus_mm"], atol=1e-5)
    assert np.allclose(cal.matrix[:3, :3], np.eye(3))
    assert np.allclose(cal.extra["pivot_tracker_mm"], summary["pivot_tracker_mm"], atol=1e-5)
    png = cv2.imread(summary["report"])
    assert png is not None and png.shape[0] > 400 and png.shape[1] > 1000


def _bad(tmp_path, capsys, data, name="bad.json") -> str:
    p = tmp_path / name
    p.write_text(data if isinstance(data, str) else json.dumps(data))
    rc, out, err = _run(capsys, "--input", str(p), "--out", str(tmp_path / "o.json"))
    assert rc != 0 and "Traceback" not in err
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert not (tmp_path / "o.json").exists()
    return lines[0]


def test_bad_captures_get_one_error_line_that_names_the_problem(tmp_path, capsys):
    good = simulate_pivot(np.random.default_rng(1), 30).T_tracker_from_stylus
    nan = good.copy()
    nan[4, 0, 3] = np.nan
    assert "T_tracker_from_stylus[4] contains NaN" in _bad(tmp_path, capsys, json.dumps(
        {"T_tracker_from_stylus": nan.tolist()}).replace("NaN", "NaN"))
    scaled = good.copy()
    scaled[2, :3, :3] *= 1.1
    assert "T_tracker_from_stylus[2] is not a rigid transform" in _bad(
        tmp_path, capsys, {"T_tracker_from_stylus": scaled.tolist()})
    assert "list of 4x4 matrices" in _bad(tmp_path, capsys, {"T_tracker_from_stylus": good[:, :3, :].tolist()})
    assert "lacks the key(s) T_tracker_from_stylus" in _bad(
        tmp_path, capsys, {"T_world_from_headset": good.tolist(), "T_camera_from_marker": good.tolist()})
    assert "not a JSON capture" in _bad(tmp_path, capsys, "\x89PNG not json")
    assert "at least 8 poses" in _bad(tmp_path, capsys, {"T_tracker_from_stylus": good[:4].tolist()})
    rc, _, err = _run(capsys, "--input", str(tmp_path / "missing.json"), "--out", str(tmp_path / "o.json"))
    assert rc != 0 and err.startswith("error: ") and "missing.json" in err


def test_one_axis_pivoting_names_the_motion_to_add(tmp_path, capsys):
    from scipy.spatial.transform import Rotation
    tip, pivot = np.array([0.0, 0.0, -150.0]), np.array([10.0, 20.0, 800.0])
    poses = []
    for a in np.linspace(-0.5, 0.5, 30):
        T = np.eye(4)
        T[:3, :3] = Rotation.from_rotvec([a, 0, 0]).as_matrix()
        T[:3, 3] = pivot - T[:3, :3] @ tip
        poses.append(T.tolist())
    line = _bad(tmp_path, capsys, {"T_tracker_from_stylus": poses})
    assert "one axis only" in line and "cone" in line


def test_live_capture_from_an_openigtlink_tracker(tmp_path, capsys, igtl_stream):
    import pyigtl
    s = simulate_pivot(np.random.default_rng(11), 400, noise_mm=0.1, noise_deg=0.05)
    igtl_stream.start(lambda k: [pyigtl.TransformMessage(s.T_tracker_from_stylus[k % len(s.T_tracker_from_stylus)],
                                                         device_name="StylusToTracker")], period_s=0.005)
    rc, out, err = _run(capsys, "--igtl", igtl_stream.address, "--poses", "200", "--timeout", "60",
                        "--save-capture", str(tmp_path / "cap.json"), "--out", str(tmp_path / "tip.json"), "--json")
    assert rc == 0, err
    assert "pivot it" in err  # the engineer was told what to do
    summary = json.loads(out.strip().splitlines()[-1])
    assert np.linalg.norm(np.array(summary["tip_stylus_mm"]) - s.tip_stylus_mm) < 0.3
    saved = json.loads((tmp_path / "cap.json").read_text())["T_tracker_from_stylus"]
    assert len(saved) == summary["n_poses"] >= 30


def test_a_capture_with_little_tilt_warns_that_the_tip_is_uncertain(tmp_path, capsys):
    s = simulate_pivot(np.random.default_rng(2), 20, max_tilt_deg=16.0)
    write_pivot(s, tmp_path / "pivot.json")
    rc, out, err = _run(capsys, "--input", str(tmp_path / "pivot.json"), "--out", str(tmp_path / "tip.json"))
    assert rc == 0, err
    assert "warning: the tip is known only to" in out and "tilt the stylus further" in out
