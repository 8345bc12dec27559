"""A synthetic tracking camera: renders the simulated probe's marker board, with ground truth.

The probe follows :class:`vision.tracking.simulate.SimulatedProbe`'s smooth scripted trajectory
and :class:`vision.tracking.simulate.SimulatedCamera` draws its board (perspective warp of the
printed texture, blur, noise); each frame carries the true ``T_camera_from_board`` at its
capture time, so tracking accuracy can be checked live.
"""

from __future__ import annotations

import time

import numpy as np

from core.clock import now_ns
from core.camera import CameraIntrinsics
from vision.sources.base import RateLimiter
from vision.tracking.board import BoardSpec, load_board
from vision.tracking.simulate import ProbeMotionConfig, SimulatedCamera, SimulatedProbe
from core.types import Frame

DEFAULT_BOARD = {"type": "charuco", "dictionary": "DICT_4X4_50", "squares_x": 5, "squares_y": 7,
                 "square_length_mm": 10.0, "marker_length_mm": 7.5}
"""The default probe board (the issue's example ChArUco board)."""


def synthetic_intrinsics(width: int, height: int, hfov_deg: float = 60.0) -> CameraIntrinsics:
    """A distortion-free pinhole camera of ``hfov_deg`` horizontal field of view."""
    f = 0.5 * width / np.tan(np.radians(hfov_deg) / 2.0)
    K = np.array([[f, 0.0, (width - 1) / 2.0], [0.0, f, (height - 1) / 2.0], [0.0, 0.0, 1.0]])
    return CameraIntrinsics(K=K, dist=np.zeros(5), width=width, height=height, source="synthetic camera")


class SyntheticMarkerCamera:
    """Frame source of rendered marker-board images along the simulated probe trajectory.

    Args:
        camera: intrinsics of the simulated camera.
        board: the board (default :data:`DEFAULT_BOARD`).
        fps: frame rate (paced in real time unless ``realtime`` is False).
        seed: trajectory and rendering seed.
        realtime: pace at ``fps``; False renders on demand with time advancing ``1/fps`` per frame.
        noise: additive image noise std (grey levels).
        motion: probe motion amplitudes; default a gentle hand-held sway at about 350 mm.
    """

    def __init__(self, camera: CameraIntrinsics, board: BoardSpec | None = None, fps: float = 30.0, seed: int = 0,
                 realtime: bool = True, noise: float = 2.0, motion: ProbeMotionConfig | None = None) -> None:
        self.camera = camera
        self.board = board or load_board(DEFAULT_BOARD)
        self.name = "synthetic-camera"
        motion = motion or ProbeMotionConfig(centre_mm=(0.0, 0.0, 350.0), amplitude_mm=(25.0, 15.0, 30.0),
                                             rotation_amplitude_deg=(8.0, 8.0, 12.0), base_tilt_deg=15.0)
        self.probe = SimulatedProbe(seed=seed, board=self.board, config=motion)
        self._cam = SimulatedCamera(self.board, camera, seed=seed, gray=True)
        self._rng = np.random.default_rng(seed)
        self.fps = fps
        self._noise = noise
        self._limiter = RateLimiter(fps if realtime else 0.0)
        self._realtime = realtime
        self._t0 = time.monotonic()
        self._seq = 0

    def read(self) -> Frame:
        """Render the board at the probe's pose now (real time) or at ``seq / fps``."""
        self._limiter.wait()
        t_s = (time.monotonic() - self._t0) if self._realtime else self._seq / self.fps
        T = self.probe.T_camera_from_board(t_s)
        image = self._cam.render(T, noise=self._noise, rng=self._rng)
        frame = Frame(image=image, t_capture_ns=now_ns(), seq=self._seq, source=self.name,
                      truth={"T_camera_from_board": T, "t_s": t_s})
        self._seq += 1
        return frame

    def close(self) -> None:
        """Nothing to release."""


def open_synthetic_camera(camera: CameraIntrinsics, board: str | dict, fps: float, seed: int) -> SyntheticMarkerCamera:
    """A :class:`SyntheticMarkerCamera` from picklable arguments (the board as a file path or a dict),
    for :class:`~vision.sources.device_process.DeviceProcessSource`."""
    return SyntheticMarkerCamera(camera, load_board(board), fps=fps, seed=seed)
