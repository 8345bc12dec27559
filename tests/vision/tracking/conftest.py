"""Shared fixtures of the tracking tests: a board, a camera and a renderer."""

from __future__ import annotations

import numpy as np
import pytest

from core.camera import CameraIntrinsics
from research.tracking.dataset import DEFAULT_BOARD, default_camera
from vision.tracking.board import load_board
from vision.tracking.simulate import SimulatedCamera


@pytest.fixture(scope="session")
def board():
    """The issue's 5x7 ChArUco board (10 mm squares, DICT_4X4_50)."""
    return load_board(DEFAULT_BOARD)


@pytest.fixture(scope="session")
def camera():
    """1280x720, 60 degree horizontal field of view, mild barrel distortion."""
    return default_camera()


@pytest.fixture(scope="session")
def pinhole():
    """1280x720 camera without distortion."""
    f = 1100.0
    return CameraIntrinsics(K=np.array([[f, 0, 639.5], [0, f, 359.5], [0, 0, 1.0]]), dist=np.zeros(5),
                            width=1280, height=720)


@pytest.fixture(scope="session")
def sim(board, camera):
    """Renderer of the default board in the default camera (grey images)."""
    return SimulatedCamera(board, camera, seed=3, gray=True)
