"""Rendered ChArUco view sets: layout, truth, and images that agree with the truth."""

from __future__ import annotations

import cv2
import numpy as np

from core.camera import CameraIntrinsics
from research.calibration.camera_eval import distortion_field_error, intrinsics_errors
from research.calibration.camera_views import ViewSetSettings, load_truth, render_camera_views, true_camera
from vision.tracking.board import load_board


def test_rendered_set_layout_and_corners_match_truth(tmp_path):
    truth = render_camera_views(tmp_path, seed=11, settings=ViewSetSettings(n_views=6, n_motion=1, n_duplicates=1))
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [f"view_{k:02d}.png" for k in range(6)]
    cam, data = load_truth(tmp_path)
    assert cam.size == (1280, 720) and cam.dist[0] < -0.25
    kinds = [v["kind"] for v in truth["views"]]
    assert kinds.count("motion_blur") == 1 and kinds.count("duplicate") == 1
    dup = next(v for v in truth["views"] if v["kind"] == "duplicate")
    src = next(v for v in truth["views"] if v["file"] == dup["duplicate_of"])
    assert np.allclose(np.array(dup["T_camera_from_board"])[:3, 3], np.array(src["T_camera_from_board"])[:3, 3], atol=3)
    board = load_board(tmp_path / "board.json")
    assert (board.squares_x, board.squares_y) == (10, 7)
    det = cv2.aruco.CharucoDetector(board.cv_board)
    checked = 0
    for v in truth["views"]:
        if v["kind"] != "good":
            continue
        img = cv2.imread(str(tmp_path / v["file"]), cv2.IMREAD_GRAYSCALE)
        assert img.shape == (720, 1280)
        cc, ci, _, _ = det.detectBoard(img)
        if ci is None or len(ci) < 10:
            continue
        T = np.array(v["T_camera_from_board"])
        obj = board.charuco_points[ci.ravel()]
        p, _ = cv2.projectPoints(obj, cv2.Rodrigues(T[:3, :3])[0], T[:3, 3], cam.K, cam.dist)
        err = np.linalg.norm(p.reshape(-1, 2) - cc.reshape(-1, 2), axis=1)
        assert np.median(err) < 0.3, v["file"]
        checked += 1
    assert checked >= 2


def test_true_camera_is_monotonic_and_errors_are_zero_for_truth():
    cam = true_camera(np.random.default_rng(0))
    k1, k2, _, _, k3 = cam.dist
    r = np.linspace(0, 1.3, 200)
    assert np.all(1 + 3 * k1 * r ** 2 + 5 * k2 * r ** 4 + 7 * k3 * r ** 6 > 0)
    assert all(v < 1e-6 for v in intrinsics_errors(cam, cam).values())
    assert distortion_field_error(cam, cam)[1] < 1e-6
    shifted = CameraIntrinsics(K=cam.K + np.array([[0, 0, 1.0], [0, 0, 0], [0, 0, 0]]), dist=cam.dist,
                               width=cam.width, height=cam.height)
    err = intrinsics_errors(shifted, cam)
    assert abs(err["pp_px"] - 1.0) < 1e-9 and abs(err["field_rms_px"] - 1.0) < 0.05
