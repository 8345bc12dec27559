"""Errors of estimated camera intrinsics against the truth of a rendered set, and the plain baseline.

* :func:`intrinsics_errors` -- focal error (%), principal-point error (px) and the distortion
  field error: for a grid over the whole image, each pixel's true ray (undistorted with the true
  model) is projected with the estimated model; the RMS and max distance to the pixel, in px.
* :func:`plain_opencv` -- the anchor: ``cv2.aruco.CharucoDetector`` with default parameters on
  every view, then ``cv2.calibrateCamera`` (5 coefficients, no flags) on all views found.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from core.camera import CameraIntrinsics


def distortion_field_error(est: CameraIntrinsics, truth: CameraIntrinsics, step: int = 16) -> tuple[float, float]:
    """RMS and max px distance between each grid pixel and where ``est`` puts its true ray."""
    xs = np.arange(0, truth.width, step, dtype=np.float64)
    ys = np.arange(0, truth.height, step, dtype=np.float64)
    xs = np.append(xs, truth.width - 1) if xs[-1] != truth.width - 1 else xs
    ys = np.append(ys, truth.height - 1) if ys[-1] != truth.height - 1 else ys
    g = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 1, 2)
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-10)
    rays = cv2.undistortPoints(g, truth.K, truth.dist, None, None, None, crit).reshape(-1, 2)
    pts3 = np.column_stack([rays, np.ones(len(rays))]).reshape(-1, 1, 3)
    proj, _ = cv2.projectPoints(pts3, np.zeros(3), np.zeros(3), est.K, est.dist)
    d = np.linalg.norm(proj.reshape(-1, 2) - g.reshape(-1, 2), axis=1)
    return float(np.sqrt(np.mean(d ** 2))), float(d.max())


def intrinsics_errors(est: CameraIntrinsics, truth: CameraIntrinsics) -> dict[str, float]:
    """``focal_pct`` (mean |f - f_true| / f_true of fx, fy, in %), ``pp_px``, ``field_rms_px``, ``field_max_px``."""
    f_err = 100.0 * np.mean(np.abs(np.diag(est.K)[:2] - np.diag(truth.K)[:2]) / np.diag(truth.K)[:2])
    pp = float(np.linalg.norm(est.K[:2, 2] - truth.K[:2, 2]))
    rms, mx = distortion_field_error(est, truth)
    return {"focal_pct": float(f_err), "pp_px": pp, "field_rms_px": rms, "field_max_px": mx}


def plain_opencv(folder: str | Path, board: cv2.aruco.CharucoBoard) -> tuple[CameraIntrinsics, float, int]:
    """The anchor on every PNG of ``folder``: returns (intrinsics, rms px, views used)."""
    det = cv2.aruco.CharucoDetector(board)
    obj, img, size = [], [], None
    for p in sorted(Path(folder).glob("*.png")):
        im = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        size = (im.shape[1], im.shape[0])
        cc, ci, _, _ = det.detectBoard(im)
        if ci is None or len(ci) < 6:
            continue
        o, i = board.matchImagePoints(cc, ci)
        xy = o.reshape(-1, 3)[:, :2]
        if np.linalg.svd(xy - xy.mean(axis=0), compute_uv=False)[1] < 1e-6:
            continue  # corners on one board row: OpenCV's homography initialisation asserts on it
        obj.append(o)
        img.append(i)
    rms, K, dist, _, _ = cv2.calibrateCamera(obj, img, size, None, None)
    cam = CameraIntrinsics(K=K, dist=dist.ravel()[:5], width=size[0], height=size[1], source="plain OpenCV")
    return cam, float(rms), len(obj)
