"""``sonoguide calibrate camera``: the camera file the tracker reads, the report, and one-line refusals."""

from __future__ import annotations

import argparse
import json

import cv2
import numpy as np
import pytest

from core.camera import CameraIntrinsics
from core.errors import CalibrationError, ConfigError, InputError
from research.calibration.camera_views import BOARD_7X10, ViewSetSettings, render_camera_views
from sonoguide.calibrate import camera


def _args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    camera.add_arguments(p)
    return p.parse_args(list(argv))


@pytest.fixture(scope="module")
def views(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cam")
    render_camera_views(folder, seed=3, settings=ViewSetSettings(n_views=14, n_motion=1, n_duplicates=1))
    return folder


def test_writes_the_camera_file_and_report(views, tmp_path, capsys):
    out = tmp_path / "camera.json"
    rc = camera.run(_args("--images", str(views), "--board", str(views / "board.json"), "--out", str(out),
                          "--refine", "1", "--json", "--device", "camera=cam#1"))
    assert rc == 0
    cam = CameraIntrinsics.load(out)
    truth = json.loads((views / "truth.json").read_text())["camera"]
    assert cam.size == (1280, 720) and cam.dist.shape == (5,)
    assert abs(cam.K[0, 0] - truth["K"][0][0]) / truth["K"][0][0] < 0.003
    data = json.loads(out.read_text())
    assert data["n_views"] == 14 and data["n_views_used"] + data["n_views_rejected"] == 14
    assert data["rms_px"] < 0.3 and data["devices"] == {"camera": "cam#1"} and data["software_version"].startswith("sonoguide")
    assert {v["file"] for v in data["views"]} == {f"view_{k:02d}.png" for k in range(14)}
    assert any(v["status"].startswith("duplicate") for v in data["views"])
    report = cv2.imread(str(out.with_suffix(".png")))
    assert report is not None and report.shape[0] > 600
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["n_views"] == 14 and summary["rms_px"] == pytest.approx(data["rms_px"], abs=1e-5)
    assert isinstance(summary["advice"], list)


def _board(tmp_path, data=None):
    p = tmp_path / "board.json"
    p.write_text(json.dumps(data or BOARD_7X10))
    return p


def test_missing_and_empty_folders(tmp_path):
    board = _board(tmp_path)
    with pytest.raises(InputError, match="no such folder"):
        camera.run(_args("--images", str(tmp_path / "nope"), "--board", str(board), "--out", str(tmp_path / "c.json")))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="no PNG views"):
        camera.run(_args("--images", str(tmp_path / "empty"), "--board", str(board), "--out", str(tmp_path / "c.json")))


def test_unreadable_view(tmp_path):
    d = tmp_path / "v"
    d.mkdir()
    cv2.imwrite(str(d / "a.png"), np.zeros((72, 128), np.uint8))
    (d / "b.png").write_bytes(b"not a png")
    with pytest.raises(InputError, match="cannot read view .*b.png"):
        camera.run(_args("--images", str(d), "--board", str(_board(tmp_path)), "--out", str(tmp_path / "c.json")))


def test_views_of_different_sizes(tmp_path):
    d = tmp_path / "v"
    d.mkdir()
    cv2.imwrite(str(d / "a.png"), np.zeros((72, 128), np.uint8))
    cv2.imwrite(str(d / "b.png"), np.zeros((90, 160), np.uint8))
    with pytest.raises(InputError, match="views differ in size"):
        camera.run(_args("--images", str(d), "--board", str(_board(tmp_path)), "--out", str(tmp_path / "c.json")))


def test_board_not_found_in_enough_views(tmp_path):
    d = tmp_path / "v"
    d.mkdir()
    for k in range(3):
        cv2.imwrite(str(d / f"{k}.png"), np.full((120, 160), 90 + k, np.uint8))
    with pytest.raises(CalibrationError, match=r"only 0 of 3 views are usable \(3 board not found\).*add sharp views"):
        camera.run(_args("--images", str(d), "--board", str(_board(tmp_path)), "--out", str(tmp_path / "c.json")))


def test_wrong_kind_of_board_file(tmp_path):
    d = tmp_path / "v"
    d.mkdir()
    cv2.imwrite(str(d / "a.png"), np.zeros((72, 128), np.uint8))
    cube = {"type": "aruco_cube", "dictionary": "DICT_4X4_50", "cube_size_mm": 40.0, "marker_length_mm": 30.0,
            "faces": {"+x": 0}}
    with pytest.raises(InputError, match="aruco_cube board; camera calibration needs a ChArUco board"):
        camera.run(_args("--images", str(d), "--board", str(_board(tmp_path, cube)), "--out", str(tmp_path / "c.json")))
    (tmp_path / "cam.json").write_text(json.dumps({"K": [[1, 0, 0], [0, 1, 0], [0, 0, 1]], "width": 4, "height": 3}))
    with pytest.raises(ConfigError, match="key 'type'"):
        camera.run(_args("--images", str(d), "--board", str(tmp_path / "cam.json"), "--out", str(tmp_path / "c.json")))


def test_live_mode_collects_views_from_a_folder_source(views, tmp_path, capsys):
    out = tmp_path / "live.json"
    saved = tmp_path / "saved"
    rc = camera.run(_args("--live", "--source", f"folder:{views}", "--board", str(views / "board.json"),
                          "--out", str(out), "--target-views", "8", "--refine", "0", "--save-views", str(saved)))
    assert rc == 0
    err = capsys.readouterr().err
    assert "show the ChArUco board" in err and "coverage" in err and "RMS" in err
    data = json.loads(out.read_text())
    assert 6 <= data["n_views"] <= 14 and data["rms_px"] < 0.5
    assert len(list(saved.glob("live_*.png"))) == data["n_views"]
    assert not any(v["status"].startswith("duplicate") for v in data["views"])  # kept views differ already


def test_live_mode_refuses_a_source_without_board_images(tmp_path):
    with pytest.raises(InputError, match="gives no camera images of the calibration board"):
        camera.run(_args("--live", "--source", "synthetic", "--board", str(_board(tmp_path)),
                         "--out", str(tmp_path / "c.json")))
    with pytest.raises(InputError, match="pass --images DIR"):
        camera.run(_args("--board", str(_board(tmp_path)), "--out", str(tmp_path / "c.json")))
