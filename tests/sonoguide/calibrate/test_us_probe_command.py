"""``sonoguide calibrate us-probe --method points``: captures, automatic marking, validation, bad input."""

from __future__ import annotations

import json

import cv2
import numpy as np

from calibration.io import load_calibration
from research.calibration.us_points_sim import capture_dict, grid_errors, simulate_points, write_points
from sonoguide.cli import main


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(["calibrate", "us-probe", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_a_point_capture_gives_the_image_to_marker_file(tmp_path, capsys):
    s = simulate_points(np.random.default_rng(3), 40, mismark_fraction=0.08)
    write_points(s, tmp_path / "points.json")
    rc, out, err = _run(capsys, "--input", str(tmp_path / "points.json"), "--out", str(tmp_path / "us.json"),
                        "--device", "probe=L14-6Ns#1234", "--json")
    assert rc == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    cal = load_calibration(tmp_path / "us.json", "image", "marker", max_rms_mm=2.0,
                           devices={"probe": "L14-6Ns#1234"})
    assert grid_errors(cal.matrix, s.T_marker_from_image, s.capture.image_size).mean() < 0.4
    for key in ("rms_mm", "loo_mean_mm", "tre_mean_mm", "spacing_mm_per_px", "rejected"):
        assert key in summary
    assert summary["tre_n"] == 20 and cal.residuals["tre_mean_mm"] < 1.2
    assert cv2.imread(summary["report"]) is not None


def test_null_pixels_are_marked_from_the_images(tmp_path, capsys):
    s = simulate_points(np.random.default_rng(4), 24, pixel_px=0.0)
    data = capture_dict(s.capture)
    rng = np.random.default_rng(0)
    w, h = s.capture.image_size
    yy, xx = np.mgrid[0:h, 0:w]
    names = []
    for i, (u, v) in enumerate(s.capture.pixels):
        img = rng.rayleigh(15.0, (h, w)) + 150.0 * np.exp(-(((xx - u) / 3.0) ** 2 + ((yy - v) / 2.0) ** 2) / 2)
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), np.clip(img, 0, 255).astype(np.uint8))
        names.append(f"{i:03d}.png")
    data["pixels"] = [None] * len(names)
    data["images"] = names
    (tmp_path / "cap.json").write_text(json.dumps(data))
    rc, out, err = _run(capsys, "--input", str(tmp_path / "cap.json"), "--out", str(tmp_path / "us.json"), "--json")
    assert rc == 0, err
    cal = load_calibration(tmp_path / "us.json", "image", "marker")
    assert grid_errors(cal.matrix, s.T_marker_from_image, s.capture.image_size).mean() < 0.4


def _bad(tmp_path, capsys, data) -> str:
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(data))
    rc, out, err = _run(capsys, "--input", str(p), "--out", str(tmp_path / "o.json"))
    lines = [line for line in err.strip().splitlines() if line]
    assert rc != 0 and len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def test_bad_point_captures_get_one_error_line(tmp_path, capsys):
    s = simulate_points(np.random.default_rng(5), 30)
    good = capture_dict(s.capture)
    assert "one entry per station" in _bad(tmp_path, capsys, {**good, "pixels": good["pixels"][:-1]})
    assert "image_size" in _bad(tmp_path, capsys, {**good, "image_size": [640]})
    assert "points_tracker_mm" in _bad(tmp_path, capsys, {**good, "points_tracker_mm": [[1, 2]] * 30})
    line = np.array(good["pixels"])
    line[:, 1] = 100 + 0.2 * line[:, 0]
    assert "one line" in _bad(tmp_path, capsys, {**good, "pixels": line.tolist()})
    nulls = {**good, "pixels": [None] * 30}
    assert "give 'images'" in _bad(tmp_path, capsys, nulls)
    assert "lacks the key(s) image_size" in _bad(tmp_path, capsys, {"T_tracker_from_stylus": []})


def test_live_capture_from_a_plus_like_openigtlink_server(tmp_path, capsys, igtl_stream):
    """Image, probe and stylus streamed as PLUS does; the stylus tip is a bright point in the image."""
    import pyigtl
    from scipy.spatial.transform import Rotation

    from calibration.io import Calibration

    s = simulate_points(np.random.default_rng(21), 24, size=(320, 240), spacing_mm=0.15, pixel_px=0.0,
                        target_mm=0.0, pose_mm=0.0, pose_deg=0.0)
    cap = s.capture
    tip = np.array([1.5, -2.0, -140.0])
    Calibration("stylus_tip", "stylus", np.block([[np.eye(3), tip[:, None]], [np.zeros((1, 3)), np.ones((1, 1))]]),
                residuals={"rms_mm": 0.2}).save(tmp_path / "tip.json")
    rng = np.random.default_rng(0)
    w, h = cap.image_size
    yy, xx = np.mgrid[0:h, 0:w]
    frames = []
    for (u, v), T_probe, p in zip(cap.pixels, cap.T_tracker_from_marker, cap.points_tracker_mm):
        R = Rotation.random(random_state=rng).as_matrix()
        T_stylus = np.eye(4)
        T_stylus[:3, :3], T_stylus[:3, 3] = R, p - R @ tip
        img = rng.rayleigh(14.0, (h, w)) + 150.0 * np.exp(-(((xx - u) / 2.5) ** 2 + ((yy - v) / 2.0) ** 2) / 2)
        frames.append((np.clip(img, 0, 255).astype(np.uint8), T_probe, T_stylus))

    def messages(k: int) -> list:
        img, T_probe, T_stylus = frames[(k // 8) % len(frames)]  # each station held for 8 frames
        return [pyigtl.TransformMessage(T_probe, device_name="ProbeToTracker"),
                pyigtl.TransformMessage(T_stylus, device_name="StylusToTracker"),
                pyigtl.ImageMessage(img[np.newaxis], device_name="Image")]

    igtl_stream.start(messages)
    rc, out, err = _run(capsys, "--igtl", igtl_stream.address, "--stylus-tip", str(tmp_path / "tip.json"),
                        "--points", "20", "--timeout", "90", "--save-capture", str(tmp_path / "cap.json"),
                        "--out", str(tmp_path / "us.json"), "--json")
    assert rc == 0, err
    assert "Hold the stylus tip still" in err
    cal = load_calibration(tmp_path / "us.json", "image", "marker")
    assert grid_errors(cal.matrix, s.T_marker_from_image, cap.image_size).mean() < 0.3
    saved = json.loads((tmp_path / "cap.json").read_text())
    assert len(saved["pixels"]) == 20 and saved["image_size"] == [w, h]


def test_live_capture_without_a_stylus_tip_file_is_one_error_line(tmp_path, capsys):
    rc, out, err = _run(capsys, "--igtl", "127.0.0.1:1", "--out", str(tmp_path / "us.json"))
    assert rc != 0 and err.strip().startswith("error: --igtl needs --stylus-tip")
