"""Rendered ChArUco view sets with known camera intrinsics, for ``sonoguide calibrate camera``.

Layout of ``DIR``::

    view_00.png ... view_29.png   the views (1280x720 gray by default)
    board.json                    the board in the tracker's format (vision/tracking/board.py)
    truth.json                    {"camera": {K, dist, width, height}, "views": [{file, kind,
                                  T_camera_from_board, blur_px, noise, motion_blur_px, duplicate_of}]}

A set holds ``n_views`` views: most are "good" (the board centre aimed at a cell of a 3x3
grid over the image so the corners are covered, a random tilt of 10-50 degrees about a random
in-plane axis, a random spin and depth), ``n_motion`` are motion-blurred and ``n_duplicates``
repeat an earlier pose within 0.5 mm / 0.2 degrees (a camera held still while saving twice).
Every view carries Gaussian blur, sensor noise and an uneven light. The camera has strong
barrel distortion (k1 about -0.3), drawn per seed, and the renderer is
:class:`vision.tracking.simulate.SimulatedCamera` (inverse-mapped OpenCV distortion model).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from core.camera import CameraIntrinsics
from core.se3 import make_T, rotvec_to_R
from vision.tracking.board import BoardSpec, load_board
from vision.tracking.simulate import SimulatedCamera

logger = logging.getLogger(__name__)

BOARD_7X10 = {"type": "charuco", "dictionary": "DICT_4X4_50", "squares_x": 10, "squares_y": 7,
              "square_length_mm": 30.0, "marker_length_mm": 22.0}
"""The 7x10 ChArUco board of the issue: 10 squares across, 7 down, 30 mm squares."""


@dataclass(frozen=True)
class ViewSetSettings:
    """What a rendered view set holds.

    Attributes:
        width, height: image size in pixels.
        n_views: views in all (good + motion-blurred + duplicates).
        n_motion: motion-blurred views.
        n_duplicates: near-duplicate views (an earlier pose repeated).
        blur_px: Gaussian (defocus) sigma range.
        noise: additive noise std range (grey levels).
        motion_blur_px: motion-blur length range of the blurred views.
        light_gradient: uneven-light strength range.
        depth_mm: board-centre depth range.
        tilt_deg: tilt range away from fronto-parallel.
    """

    width: int = 1280
    height: int = 720
    n_views: int = 30
    n_motion: int = 2
    n_duplicates: int = 2
    blur_px: tuple[float, float] = (0.6, 1.3)
    noise: tuple[float, float] = (2.0, 5.0)
    motion_blur_px: tuple[float, float] = (8.0, 16.0)
    light_gradient: tuple[float, float] = (0.15, 0.45)
    depth_mm: tuple[float, float] = (380.0, 650.0)
    tilt_deg: tuple[float, float] = (10.0, 50.0)


def true_camera(rng: np.random.Generator, width: int = 1280, height: int = 720) -> CameraIntrinsics:
    """A camera with strong barrel distortion, drawn at random (monotonic over the image).

    The focal length gives a horizontal field of view of about 70 degrees; the principal point
    lies within 15 px of the centre; ``k1`` in [-0.36, -0.28] moves an image corner by about
    150 px.
    """
    while True:
        f = width / 2.0 / np.tan(np.radians(rng.uniform(66.0, 72.0)) / 2.0)
        fx, fy = f, f * (1.0 + rng.uniform(-0.002, 0.002))
        cx = (width - 1) / 2.0 + rng.uniform(-15, 15)
        cy = (height - 1) / 2.0 + rng.uniform(-10, 10)
        dist = np.array([rng.uniform(-0.36, -0.28), rng.uniform(0.08, 0.14), rng.uniform(-1e-3, 1e-3),
                         rng.uniform(-1e-3, 1e-3), rng.uniform(-0.03, 0.0)])
        k1, k2, _, _, k3 = dist
        r_max = np.hypot(max(cx, width - cx) / fx, max(cy, height - cy) / fy) * 1.6
        r = np.linspace(0, r_max, 400)
        slope = 1 + 3 * k1 * r ** 2 + 5 * k2 * r ** 4 + 7 * k3 * r ** 6
        if np.all(slope > 0.2):
            K = np.array([[fx, 0, cx], [0, fy, cy], [0, 0, 1.0]])
            return CameraIntrinsics(K=K, dist=dist, width=width, height=height, source="truth")


def _project(cam: CameraIntrinsics, T: np.ndarray, pts: np.ndarray) -> np.ndarray:
    rvec, _ = cv2.Rodrigues(T[:3, :3])
    img, _ = cv2.projectPoints(pts.reshape(-1, 1, 3), rvec, T[:3, 3], cam.K, cam.dist)
    return img.reshape(-1, 2)


def _visible(cam: CameraIntrinsics, T: np.ndarray, board: BoardSpec, margin: float = 8.0) -> np.ndarray:
    """Mask of the ChArUco corners that land inside the image (in front of the camera)."""
    pts = board.charuco_points
    pc = pts @ T[:3, :3].T + T[:3, 3]
    px = _project(cam, T, pts)
    # where the distortion polynomial is still monotonic (no fold-over), i.e. near the image
    xn = pc[:, :2] / np.maximum(pc[:, 2:3], 1e-6)
    r = np.linalg.norm(xn / np.array([1.0, 1.0]), axis=1)
    inside = ((px[:, 0] > margin) & (px[:, 0] < cam.width - 1 - margin) & (px[:, 1] > margin)
              & (px[:, 1] < cam.height - 1 - margin) & (pc[:, 2] > 50) & (r < 1.5))
    return inside


def _random_pose(rng: np.random.Generator, cam: CameraIntrinsics, board: BoardSpec, cell: tuple[int, int] | None,
                 s: ViewSetSettings) -> np.ndarray:
    """A pose whose board centre is aimed at a 3x3 grid cell of the image (or anywhere)."""
    centre = np.array([board.squares_x * board.square_length_mm / 2, board.squares_y * board.square_length_mm / 2, 0])
    for _ in range(500):
        if cell is None:
            u, v = rng.uniform(0.25, 0.75) * cam.width, rng.uniform(0.25, 0.75) * cam.height
        else:
            u = (cell[0] + 0.5 + rng.uniform(-0.3, 0.3)) / 3.0 * cam.width
            v = (cell[1] + 0.5 + rng.uniform(-0.3, 0.3)) / 3.0 * cam.height
        ray = cv2.undistortPoints(np.array([[[u, v]]], np.float64), cam.K, cam.dist).reshape(2)
        z = rng.uniform(*s.depth_mm)
        axis_ang = rng.uniform(0, 2 * np.pi)
        tilt = np.radians(rng.uniform(*s.tilt_deg))
        R_tilt = rotvec_to_R(tilt * np.array([np.cos(axis_ang), np.sin(axis_ang), 0.0]))
        R_spin = rotvec_to_R(np.array([0, 0, np.radians(rng.uniform(-25, 25))]))
        R = R_tilt @ R_spin
        t = z * np.array([ray[0], ray[1], 1.0]) - R @ centre
        T = make_T(R, t)
        n_vis = int(_visible(cam, T, board).sum())
        if n_vis >= 0.35 * len(board.charuco_points):
            return T
    raise RuntimeError("could not place the board in view; widen depth_mm")


def _perturb(rng: np.random.Generator, T: np.ndarray) -> np.ndarray:
    dR = rotvec_to_R(rng.normal(0, 1, 3) / np.sqrt(3) * np.radians(0.2))
    return make_T(dR @ T[:3, :3], T[:3, 3] + rng.normal(0, 0.5 / np.sqrt(3), 3))


def render_camera_views(out_dir: str | Path, seed: int = 0, settings: ViewSetSettings | None = None,
                        board: dict[str, Any] | None = None, progress: bool = False) -> dict[str, Any]:
    """Render a ChArUco view set with known intrinsics into ``out_dir``; returns the truth dict.

    Args:
        out_dir: folder for the PNGs, ``board.json`` and ``truth.json`` (created).
        seed: seeds the camera, the poses and the image degradations.
        settings: what to render (default :class:`ViewSetSettings`).
        board: board description (default :data:`BOARD_7X10`).
        progress: show a tqdm bar on stderr.
    """
    s = settings or ViewSetSettings()
    rng = np.random.default_rng(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    spec = load_board(dict(board or BOARD_7X10))
    cam = true_camera(rng, s.width, s.height)
    sim = SimulatedCamera(spec, cam, texture_px_per_mm=8.0, seed=seed, gray=True)
    n_good = s.n_views - s.n_motion - s.n_duplicates
    cells = [(i, j) for j in range(3) for i in range(3)]
    kinds: list[tuple[str, Any]] = [("good", None)] * n_good + [("motion_blur", None)] * s.n_motion
    plans: list[dict[str, Any]] = []
    for k, (kind, _) in enumerate(kinds):
        cell = cells[k % 9] if k < 2 * 9 else (None if rng.random() < 0.3 else cells[int(rng.integers(9))])
        plans.append({"kind": kind, "T": _random_pose(rng, cam, spec, cell, s)})
    for src in rng.choice(n_good, size=min(s.n_duplicates, n_good), replace=False):
        src = int(src)
        plans.append({"kind": "duplicate", "T": _perturb(rng, plans[src]["T"]), "duplicate_of": src})
    order = rng.permutation(len(plans))
    index_of = {int(old): new for new, old in enumerate(order)}
    views = []
    it = range(len(plans))
    if progress:
        from tqdm import tqdm
        it = tqdm(it, desc="render", unit="view")
    for new in it:
        p = plans[int(order[new])]
        blur = float(rng.uniform(*s.blur_px))
        noise = float(rng.uniform(*s.noise))
        mb = float(rng.uniform(*s.motion_blur_px)) if p["kind"] == "motion_blur" else 0.0
        grad = float(rng.uniform(*s.light_gradient))
        light = float(rng.uniform(0.75, 1.05))
        img = sim.render(p["T"], blur=blur, noise=noise, light=light, light_gradient=grad, motion_blur_px=mb, rng=rng)
        name = f"view_{new:02d}.png"
        cv2.imwrite(str(out / name), img)
        v = {"file": name, "kind": p["kind"], "T_camera_from_board": p["T"].tolist(), "blur_px": blur,
             "noise": noise, "motion_blur_px": mb, "light": light, "light_gradient": grad,
             "visible_corners": int(_visible(cam, p["T"], spec).sum())}
        if "duplicate_of" in p:
            v["duplicate_of"] = f"view_{index_of[p['duplicate_of']]:02d}.png"
        views.append(v)
    spec.save(out / "board.json")
    truth = {"seed": seed, "camera": cam.to_dict(), "views": views}
    (out / "truth.json").write_text(json.dumps(truth, indent=1) + "\n", encoding="utf-8")
    logger.info("rendered %d views into %s", len(views), out)
    return truth


def load_truth(folder: str | Path) -> tuple[CameraIntrinsics, dict[str, Any]]:
    """The true camera and the truth dict of a rendered set."""
    data = json.loads((Path(folder) / "truth.json").read_text(encoding="utf-8"))
    return CameraIntrinsics.from_dict(data["camera"], source="truth"), data


def main(argv: list[str] | None = None) -> int:
    """``python -m research.calibration.camera_views DIR [--seed N] [--views N]``."""
    import argparse

    p = argparse.ArgumentParser(description="render a ChArUco view set with known intrinsics")
    p.add_argument("out", help="output folder")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--views", type=int, default=30)
    a = p.parse_args(argv)
    render_camera_views(a.out, a.seed, ViewSetSettings(n_views=a.views), progress=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
