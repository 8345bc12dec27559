"""The renderer: exact texel grid, determinism, distortion model agreement."""

from __future__ import annotations

import cv2
import numpy as np

from core.se3 import make_T, rotvec_to_R
from vision.tracking.simulate import SimulatedCamera, SimulatedProbe, _exact_scale, board_centre


def test_exact_scale_makes_whole_texels():
    ppm = _exact_scale(10.0, 7.5 / 6, 10.0, 1.25)
    for L in (7.5 / 6, 10.0, 1.25):
        assert abs(L * ppm - round(L * ppm)) < 1e-9
    assert ppm >= 10.0


def test_render_is_deterministic_and_draws_the_board_where_projected(board, camera):
    sim = SimulatedCamera(board, camera, seed=1, gray=True)
    T = make_T(rotvec_to_R([0.3, 0.0, 0.2]), [0.0, 0.0, 300.0]) @ make_T(np.eye(3), -board_centre(board))
    a = sim.render(T, noise=2.0, rng=np.random.default_rng(5))
    b = sim.render(T, noise=2.0, rng=np.random.default_rng(5))
    assert np.array_equal(a, b)
    # the board's centre projects onto the printed chessboard (dark or white square, not background)
    c, _ = cv2.projectPoints(board_centre(board)[None], cv2.Rodrigues(T[:3, :3])[0], T[:3, 3], camera.K, camera.dist)
    x, y = c.ravel().round().astype(int)
    patch = a[y - 30:y + 30, x - 30:x + 30]
    assert patch.min() < 60 and patch.max() > 180  # black squares and white paper


def test_probe_motion_is_smooth_and_static_is_static(board):
    p = SimulatedProbe(seed=2, board=board)
    T0, T1 = p.T_camera_from_board(1.0), p.T_camera_from_board(1.001)
    assert np.linalg.norm(T1[:3, 3] - T0[:3, 3]) < 0.5
    s = SimulatedProbe(seed=2, board=board, static=True)
    assert np.allclose(s.T_camera_from_board(0.0), s.T_camera_from_board(5.0))
