"""The renderer's fast gray path (the live demo's marker camera) against its general path."""

from __future__ import annotations

import numpy as np
import pytest

from vision.sources.marker_camera import DEFAULT_BOARD, SyntheticMarkerCamera, synthetic_intrinsics
from vision.tracking.board import load_board
from core.se3 import make_T, rotation_angle_deg, rotvec_to_R
from vision.tracking.simulate import ProbeMotionConfig, SimulatedCamera, SimulatedProbe, board_centre
from vision.tracking.board_tracker import BoardTracker
from core.types import Validity


@pytest.fixture(scope="module")
def demo():
    """The demo's camera: 640x480 pinhole, gray, and its probe trajectory."""
    src = SyntheticMarkerCamera(synthetic_intrinsics(640, 480), realtime=False, seed=0)
    return src


def _both(sim: SimulatedCamera, T: np.ndarray, **kw) -> tuple[np.ndarray, np.ndarray]:
    sim.fast_gray = True
    a = sim.render(T, rng=np.random.default_rng(3), **kw)
    sim.fast_gray = False
    b = sim.render(T, rng=np.random.default_rng(3), **kw)
    sim.fast_gray = True
    return a, b


def test_the_demo_camera_uses_the_fast_path_and_it_matches_the_general_one(demo):
    sim = demo._cam
    assert sim.gray and sim.fast_gray
    for t_s in (0.0, 2.5, 5.0, 7.5):
        T = demo.probe.T_camera_from_board(t_s)
        a, b = _both(sim, T, noise=0.0)
        assert a.shape == b.shape == (480, 640) and a.dtype == np.uint8
        d = np.abs(a.astype(np.int16) - b.astype(np.int16))
        assert d.max() <= 3 and d.mean() < 0.5, (d.max(), d.mean())


@pytest.mark.parametrize("kw", [dict(blur=1.1, light=0.7), dict(blur=0.4, light=1.0)])
def test_blur_and_light_match_and_boards_cut_by_the_image_edge(demo, kw):
    sim = demo._cam
    board = demo.board
    # a board half outside the image (right edge) and one near the top-left corner
    for xy in ((150.0, 0.0), (-120.0, -85.0)):
        T = make_T(rotvec_to_R([0.4, -0.3, 0.2]), [xy[0], xy[1], 330.0]) @ make_T(np.eye(3), -board_centre(board))
        a, b = _both(sim, T, noise=0.0, **kw)
        d = np.abs(a.astype(np.int16) - b.astype(np.int16))
        assert d.max() <= 3 and d.mean() < 0.5, (xy, d.max(), d.mean())


def test_noise_has_the_gray_value_of_per_channel_noise_and_is_repeatable(demo):
    sim = demo._cam
    T = demo.probe.T_camera_from_board(1.0)
    clean = sim.render(T, noise=0.0, rng=np.random.default_rng(0)).astype(np.float64)
    noisy = sim.render(T, noise=4.0, rng=np.random.default_rng(0)).astype(np.float64)
    again = sim.render(T, noise=4.0, rng=np.random.default_rng(0))
    other = sim.render(T, noise=4.0, rng=np.random.default_rng(1))
    assert np.array_equal(noisy.astype(np.uint8), again) and not np.array_equal(again, other)
    # independent N(0, 4) in B, G, R becomes N(0, 4 * 0.669) in gray (the general path's result)
    assert abs(float(np.std(noisy - clean)) - 4.0 * 0.669) < 0.3


def test_other_cameras_take_the_general_path(demo):
    bgr = SimulatedCamera(demo.board, demo.camera, seed=0, gray=False)
    T = demo.probe.T_camera_from_board(0.0)
    assert bgr.render(T).shape == (480, 640, 3)
    sim = demo._cam
    a, b = _both(sim, T, noise=0.0, occlusion=0.3)  # occluder: general path in both
    assert np.array_equal(a, b)


def test_tracking_accuracy_is_the_same_on_fast_frames():
    board = load_board(DEFAULT_BOARD)
    cam = synthetic_intrinsics(640, 480)
    sim = SimulatedCamera(board, cam, seed=4, gray=True)
    motion = ProbeMotionConfig(centre_mm=(0.0, 0.0, 350.0), amplitude_mm=(25.0, 15.0, 30.0),
                               rotation_amplitude_deg=(8.0, 8.0, 12.0), base_tilt_deg=15.0)  # the demo's
    probe = SimulatedProbe(seed=4, board=board, config=motion)
    errs = {True: [], False: []}
    for k in range(8):
        T = probe.T_camera_from_board(0.7 * k)
        for fast in (True, False):
            sim.fast_gray = fast
            img = sim.render(T, noise=2.0, rng=np.random.default_rng(k))
            m = BoardTracker(board, cam).process(img, k)
            assert m.validity == Validity.OK, (fast, m.reason)
            errs[fast].append((np.linalg.norm(m.T_camera_from_board[:3, 3] - T[:3, 3]),
                               rotation_angle_deg(m.T_camera_from_board[:3, :3], T[:3, :3])))
    fast, general = np.asarray(errs[True]), np.asarray(errs[False])
    rms = lambda a: np.sqrt(np.mean(a ** 2, axis=0))  # noqa: E731
    # 640x480 at 320-380 mm: about 0.5 mm / 0.6 deg on both paths
    assert rms(fast)[0] < 1.0 and rms(fast)[1] < 1.0
    # the same accuracy within what two noise draws change
    assert abs(rms(fast)[0] - rms(general)[0]) < 0.3 and abs(rms(fast)[1] - rms(general)[1]) < 0.15
