"""Rendered pose data sets in the layout ``sonoguide track eval`` reads.

Layout of ``DIR``::

    camera.json   {"K": 3x3, "dist": [...], "width": W, "height": H}
    board.json    the board description (see vision/tracking/board.py)
    frames/0000.png ...
    truth.jsonl   {"frame": "0000.png", "T_camera_from_board": 4x4 mm, ...degradation parameters}

Every frame is an independent still: a random pose (board centre at a random depth and image
position, random tilt and spin) rendered by :class:`~vision.tracking.simulate.SimulatedCamera`.
With ``conditions`` (the ``track render`` default), frame ``k`` is drawn under the named
condition ``conditions[k % len(conditions)]`` of :mod:`research.tracking.conditions` and its
truth line carries the condition, its parameters, ``visible_fraction`` and ``span_px``; without,
every frame gets a random mix of optical blur, motion blur, sensor noise, global light, a light
gradient and a partial occlusion (the set the tracking benchmark's first figures were measured on).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from core.camera import CameraIntrinsics
from core.errors import ConfigError, InputError
from vision.tracking.board import BoardSpec, load_board
from research.tracking.conditions import CONDITIONS, render_condition, sample_condition
from vision.tracking.simulate import SimulatedCamera, board_centre, random_pose

logger = logging.getLogger(__name__)

DEFAULT_BOARD = {"type": "charuco", "dictionary": "DICT_4X4_50", "squares_x": 5, "squares_y": 7,
                 "square_length_mm": 10.0, "marker_length_mm": 7.5}


def default_camera(width: int = 1280, height: int = 720, hfov_deg: float = 60.0,
                   dist: tuple[float, ...] = (-0.08, 0.05, 0.0005, -0.0003, 0.0)) -> CameraIntrinsics:
    """A webcam-like camera: square pixels, centred principal point, mild barrel distortion."""
    f = (width / 2.0) / np.tan(np.radians(hfov_deg) / 2.0)
    K = np.array([[f, 0, (width - 1) / 2.0], [0, f, (height - 1) / 2.0], [0, 0, 1.0]])
    return CameraIntrinsics(K=K, dist=np.asarray(dist, float), width=width, height=height, source="default")


@dataclass(frozen=True)
class RenderSettings:
    """Ranges of the random pose and degradations (uniform unless said otherwise).

    Attributes:
        depth_mm: board-centre depth range.
        max_tilt_deg: largest tilt away from fronto-parallel.
        blur_px: Gaussian (defocus) blur sigma range in pixels.
        motion_blur_px: motion-blur length range, applied to ``motion_blur_prob`` of frames.
        motion_blur_prob: fraction of frames with motion blur.
        noise: additive Gaussian noise std range (grey levels).
        light: global gain range.
        light_gradient: light-gradient strength range.
        occlusion: occluded fraction of the board's image extent, on ``occlusion_prob`` of frames.
        occlusion_prob: fraction of frames with an occluder.
        conditions: named conditions the frames cycle through (empty: the random mix above).
    """

    depth_mm: tuple[float, float] = (250.0, 600.0)
    max_tilt_deg: float = 50.0
    blur_px: tuple[float, float] = (0.3, 1.2)
    motion_blur_px: tuple[float, float] = (2.0, 5.0)
    motion_blur_prob: float = 0.25
    noise: tuple[float, float] = (1.0, 5.0)
    light: tuple[float, float] = (0.5, 1.4)
    light_gradient: tuple[float, float] = (0.0, 0.5)
    occlusion: tuple[float, float] = (0.05, 0.25)
    occlusion_prob: float = 0.3
    conditions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        lo, hi = self.depth_mm
        if not (0 < lo <= hi):
            raise ConfigError(f"render depth range {self.depth_mm} must satisfy 0 < min <= max (mm)")
        bad = [c for c in self.conditions if c not in CONDITIONS]
        if bad:
            raise ConfigError(f"unknown render condition(s) {', '.join(bad)}; known: {', '.join(CONDITIONS)}")


def render_dataset(out_dir: str | Path, n: int = 100, board: BoardSpec | None = None,
                   camera: CameraIntrinsics | None = None, seed: int = 0,
                   settings: RenderSettings | None = None, progress: bool = True) -> Path:
    """Render ``n`` independent stills with ground truth into ``out_dir`` (eval layout).

    Raises:
        InputError: ``out_dir`` exists and already holds frames (nothing is overwritten).
    """
    out = Path(out_dir)
    if n < 1:
        raise ConfigError(f"--n must be >= 1, got {n}")
    frames = out / "frames"
    if frames.is_dir() and any(frames.iterdir()):
        raise InputError(f"{frames} already holds frames; choose an empty --out folder")
    frames.mkdir(parents=True, exist_ok=True)
    board = board or load_board(DEFAULT_BOARD)
    camera = camera or default_camera()
    st = settings or RenderSettings()
    rng = np.random.default_rng(seed)
    cam = SimulatedCamera(board, camera, seed=seed)
    centre = board_centre(board)
    board.save(out / "board.json")
    camera.save(out / "camera.json")
    with open(out / "truth.jsonl", "w", encoding="utf-8") as fh:
        for k in tqdm(range(n), desc="render", unit="frame", disable=not progress):
            T = random_pose(rng, board, camera, depth_mm=st.depth_mm, max_tilt_deg=st.max_tilt_deg)
            name = f"{k:04d}.png"
            depth = round(float((T[:3, :3] @ centre + T[:3, 3])[2]), 3)
            if st.conditions:
                params = sample_condition(rng, st.conditions[k % len(st.conditions)])
                img, vis = render_condition(cam, board, camera, T, params, rng)
                cv2.imwrite(str(frames / name), img)
                fh.write(json.dumps({"frame": name, "T_camera_from_board": np.round(T, 9).tolist(),
                                     "centre_depth_mm": depth, **params, **vis}) + "\n")
                continue
            deg = {
                "blur": float(rng.uniform(*st.blur_px)),
                "motion_blur_px": float(rng.uniform(*st.motion_blur_px)) if rng.random() < st.motion_blur_prob else 0.0,
                "noise": float(rng.uniform(*st.noise)),
                "light": float(rng.uniform(*st.light)),
                "light_gradient": float(rng.uniform(*st.light_gradient)),
                "occlusion": float(rng.uniform(*st.occlusion)) if rng.random() < st.occlusion_prob else 0.0,
            }
            img = cam.render(T, rng=rng, **deg)
            cv2.imwrite(str(frames / name), img)
            fh.write(json.dumps({"frame": name, "T_camera_from_board": np.round(T, 9).tolist(),
                                 "centre_depth_mm": depth, **{k2: round(v, 4) for k2, v in deg.items()}}) + "\n")
    (out / "render_settings.json").write_text(json.dumps({"seed": seed, "n": n, **asdict(st)}, indent=2) + "\n",
                                              encoding="utf-8")
    logger.info("rendered %d frames into %s", n, out)
    return out
