"""Camera intrinsics: known truth recovered, blurred and duplicate views left out, refusals name the fix."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from calibration.coverage import board_tilt_deg, coverage_map, distortion_field_image, measure_coverage
from calibration.intrinsics import (IntrinsicsOptions, ViewCorners, calibrate_images, calibrate_views,
                                    check_sizes, detect_view, edge_width, flag_blurred, flag_duplicates)
from core.camera import CameraIntrinsics
from core.errors import CalibrationError, InputError
from core.se3 import make_T, rotvec_to_R
from research.calibration.camera_eval import intrinsics_errors
from research.calibration.camera_views import ViewSetSettings, load_truth, render_camera_views
from vision.tracking.board import load_board

BOARD = load_board({"type": "charuco", "dictionary": "DICT_4X4_50", "squares_x": 10, "squares_y": 7,
                    "square_length_mm": 30.0, "marker_length_mm": 22.0}).cv_board
K_TRUE = np.array([[900.0, 0, 645.0], [0, 901.0, 355.0], [0, 0, 1]])
D_TRUE = np.array([-0.3, 0.11, 0.0005, -0.0004, -0.01])


def _synthetic_views(n: int, noise: float, seed: int = 0) -> list[ViewCorners]:
    """Board corners projected by the true camera from varied, tilted poses, with pixel noise."""
    rng = np.random.default_rng(seed)
    obj = np.asarray(BOARD.getChessboardCorners(), float)
    views = []
    while len(views) < n:
        ang = rng.uniform(0, 2 * np.pi)
        R = rotvec_to_R(np.radians(rng.uniform(15, 45)) * np.array([np.cos(ang), np.sin(ang), 0]))
        t = np.array([rng.uniform(-250, 50), rng.uniform(-200, 0), rng.uniform(380, 600)])
        T = make_T(R, t)
        p, _ = cv2.projectPoints(obj, cv2.Rodrigues(T[:3, :3])[0], T[:3, 3], K_TRUE, D_TRUE)
        p = p.reshape(-1, 2)
        inside = (p[:, 0] > 5) & (p[:, 0] < 1275) & (p[:, 1] > 5) & (p[:, 1] < 715)
        if inside.sum() < 20:
            continue
        ids = np.where(inside)[0]
        views.append(ViewCorners(f"v{len(views):02d}", ids, p[ids] + rng.normal(0, noise, (len(ids), 2)), 1.5))
    return views


def test_synthetic_corners_recover_the_camera():
    res = calibrate_views(None, _synthetic_views(20, 0.05), BOARD, (1280, 720), IntrinsicsOptions(folds=4))
    est = CameraIntrinsics(K=res.K, dist=res.dist, width=1280, height=720)
    truth = CameraIntrinsics(K=K_TRUE, dist=D_TRUE, width=1280, height=720)
    err = intrinsics_errors(est, truth)
    assert err["focal_pct"] < 0.1 and err["pp_px"] < 1.0 and err["field_rms_px"] < 1.0, err
    assert res.rms_px == pytest.approx(0.05 * np.sqrt(2), rel=0.35)
    assert res.dist.shape == (5,) and set(res.heldout_px) == {"k3 free", "k3 fixed"}
    assert len(res.view_rms_px) == 20 and all(v.status == "used" for v in res.views)


def test_corner_outliers_are_left_out():
    views = _synthetic_views(16, 0.05, seed=1)
    views[3].corners[5] += (4.0, -3.0)  # a corner pulled by clutter
    res = calibrate_views(None, views, BOARD, (1280, 720), IntrinsicsOptions(folds=0))
    assert res.rms_px < 0.1
    truth = CameraIntrinsics(K=K_TRUE, dist=D_TRUE, width=1280, height=720)
    assert intrinsics_errors(CameraIntrinsics(K=res.K, dist=res.dist, width=1280, height=720), truth)["pp_px"] < 1.0


def test_duplicates_and_blurred_views_are_flagged():
    views = _synthetic_views(8, 0.05, seed=2)
    dup = ViewCorners("dup", views[2].ids.copy(), views[2].corners + 0.5, 1.9)
    blurred = ViewCorners("blurred", views[4].ids.copy(), views[4].corners + 30.0, 4.0)
    views += [dup, blurred]
    opts = IntrinsicsOptions()
    flag_blurred(views, opts)
    flag_duplicates(views, opts)
    assert blurred.status == "blurred"
    assert dup.status == "duplicate of v02"
    assert sum(v.status == "used" for v in views) == 8


def test_too_few_views_is_refused_with_what_to_add():
    views = _synthetic_views(4, 0.05)
    with pytest.raises(CalibrationError, match="only 4 of 4 views are usable.*add sharp views"):
        calibrate_views(None, views, BOARD, (1280, 720))


def test_sizes_must_agree():
    assert check_sizes({"a.png": (640, 480), "b.png": (640, 480)}) == (640, 480)
    with pytest.raises(InputError, match="a.png is 640x480 but b.png is 1280x720"):
        check_sizes({"a.png": (640, 480), "b.png": (1280, 720)})


def test_edge_width_grows_with_motion_blur():
    img = BOARD.generateImage((1000, 700), marginSize=60, borderBits=1)
    canvas = cv2.resize(img, (800, 596), interpolation=cv2.INTER_AREA)
    sharp = cv2.GaussianBlur(canvas, (0, 0), 0.8)
    k = np.zeros((7, 7), np.float32)
    k[3, :] = 1 / 7
    moved = cv2.filter2D(sharp, -1, k)
    v_sharp = detect_view(sharp, BOARD, "sharp")
    v_moved = detect_view(moved, BOARD, "moved")
    assert len(v_sharp.ids) > 40 and len(v_moved.ids) >= 6
    assert v_sharp.edge_width_px < 2.0
    assert v_moved.edge_width_px > 1.8 * v_sharp.edge_width_px
    assert np.isnan(edge_width(sharp, v_sharp.corners[:2], v_sharp.ids[:2], BOARD))


def test_coverage_advice_names_the_missing_corner_and_tilt():
    centre = [np.random.default_rng(0).uniform((500, 300), (800, 450), (40, 2)) for _ in range(6)]
    cov = measure_coverage(centre, [np.zeros(3)] * 6, (1280, 720))
    assert not cov.good and cov.cells_covered == 1
    text = "\n".join(cov.advice)
    assert "top-left corner" in text and "bottom-right corner" in text and "tilted more" in text
    spread = [np.random.default_rng(k).uniform((0, 0), (1280, 720), (200, 2)) for k in range(6)]
    tilts = [np.array([0.5, 0, 0]), np.array([-0.5, 0, 0]), np.array([0.6, 0, 0]),
             np.array([0, 0.5, 0]), np.array([0, -0.5, 0]), np.array([0, 0.6, 0])]
    cov = measure_coverage(spread, tilts, (1280, 720))
    assert cov.good, cov.advice
    assert board_tilt_deg(np.array([0.5, 0, 0]))[0] == pytest.approx(-np.degrees(0.5), abs=1e-6)
    assert coverage_map(spread, (1280, 720), cov).shape == (360, 640, 3)
    img, top = distortion_field_image(K_TRUE, D_TRUE, (1280, 720))
    assert img.shape == (720, 1280, 3) and 50 < top < 400


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    folder = tmp_path_factory.mktemp("views")
    render_camera_views(folder, seed=7, settings=ViewSetSettings(n_views=16, n_motion=1, n_duplicates=1))
    return folder


def test_rendered_set_is_calibrated_within_tolerance(rendered):
    truth, data = load_truth(rendered)
    images = [(v["file"], cv2.imread(str(rendered / v["file"]), cv2.IMREAD_GRAYSCALE)) for v in data["views"]]
    res = calibrate_images(images, BOARD, IntrinsicsOptions(folds=3, refine_iterations=1))
    err = intrinsics_errors(CameraIntrinsics(K=res.K, dist=res.dist, width=1280, height=720), truth)
    assert err["focal_pct"] < 0.2 and err["pp_px"] < 2.0 and err["field_rms_px"] < 2.0, err
    assert res.rms_px < 0.3
    kinds = {v["file"]: v for v in data["views"]}
    status = {v.name: v.status for v in res.views}
    motion = [n for n, v in kinds.items() if v["kind"] == "motion_blur"]
    assert all(status[n] != "used" for n in motion), status
    dup = [v for v in data["views"] if v["kind"] == "duplicate"][0]
    assert status[dup["file"]].startswith("duplicate") or status[dup["duplicate_of"]].startswith("duplicate")


def test_face_on_views_are_refused_with_the_tilt_to_add():
    obj = np.asarray(BOARD.getChessboardCorners(), float)
    rng = np.random.default_rng(4)
    views = []
    for k in range(8):
        t = np.array([rng.uniform(-250, 0), rng.uniform(-150, 0), rng.uniform(400, 700)])
        p, _ = cv2.projectPoints(obj, np.zeros(3), t, K_TRUE, D_TRUE)
        views.append(ViewCorners(f"f{k}", np.arange(len(obj)), p.reshape(-1, 2) + rng.normal(0, 0.05, (len(obj), 2)), 1.5))
    with pytest.raises(CalibrationError, match="focal length is undetermined: add views with the board tilted"):
        calibrate_views(None, views, BOARD, (1280, 720), IntrinsicsOptions(folds=0))
