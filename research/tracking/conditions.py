"""Imaging conditions for rendered tracking data: one named condition per frame, on a mild base.

A probe camera in theatre meets defocus, motion blur, sensor noise, vignetting and uneven
light, specular glare on the printed board, lossy video compression and a gloved hand or a
cable over part of the board. :func:`render_condition` draws one still under one named
condition on top of mild base degradations (every frame has some blur, noise and a gain away
from 1), so a per-condition table says which condition costs what.

Each frame's truth line says what was done (``condition`` and its parameters) and how much of
the board a tracker could see: ``visible_fraction`` (chessboard corners inside the image and
not under the occluder) and ``span_px`` (square root of the board's projected area).

The degradations follow the usual camera-noise models: Gaussian optics defocus and a linear
motion-blur kernel; additive Gaussian sensor noise; a cos^4-like radial vignetting and a linear
light ramp (Szeliski, *Computer Vision: Algorithms and Applications*, 2nd ed., §2.3); glare as a
saturating additive Gaussian highlight; compression by a real JPEG encoder (the block DCT that
H.264 intra frames share, with 4:2:0 chroma) at low quality.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from core.camera import CameraIntrinsics
from core.se3 import R_to_rotvec
from vision.tracking.board import BoardSpec
from vision.tracking.simulate import SimulatedCamera

CONDITIONS = ("clean", "defocus", "motion", "noise", "lighting", "glare", "compression", "occlusion")
"""The named conditions, in the order frames cycle through them."""


@dataclass(frozen=True)
class ConditionRanges:
    """Parameter ranges (uniform) of the base and of each condition.

    Attributes:
        base_blur_px: defocus sigma of every frame.
        base_noise: sensor-noise std (grey levels) of every frame.
        base_light: gain of every frame.
        defocus_px: defocus sigma of ``defocus`` frames (the upper end is a visibly soft image).
        motion_px: motion-blur length of ``motion`` frames: a probe moved at 0.1-0.3 m/s at
            0.5 m during an 8 ms exposure of a 1280x720, 60 degree camera smears 2-5 px.
        noise: noise std of ``noise`` frames.
        vignette: corner fall-off (fraction of the centre's light lost) of ``lighting`` frames.
        gradient: light-ramp strength of ``lighting`` frames.
        light: gain of ``lighting`` frames.
        jpeg_quality: JPEG quality of ``compression`` frames.
        occlusion: fraction of the board's image extent covered by a hand (a cable on a third of
            ``occlusion`` frames).
    """

    base_blur_px: tuple[float, float] = (0.4, 0.8)
    base_noise: tuple[float, float] = (1.0, 2.5)
    base_light: tuple[float, float] = (0.8, 1.15)
    defocus_px: tuple[float, float] = (0.8, 1.6)
    motion_px: tuple[float, float] = (2.0, 6.0)
    noise: tuple[float, float] = (4.0, 10.0)
    vignette: tuple[float, float] = (0.3, 0.6)
    gradient: tuple[float, float] = (0.2, 0.5)
    light: tuple[float, float] = (0.35, 1.4)
    jpeg_quality: tuple[int, int] = (12, 40)
    occlusion: tuple[float, float] = (0.1, 0.45)


def sample_condition(rng: np.random.Generator, name: str, r: ConditionRanges | None = None) -> dict[str, Any]:
    """Random parameters of condition ``name`` (on the base degradations)."""
    if name not in CONDITIONS:
        raise ValueError(f"unknown condition {name!r}; known: {', '.join(CONDITIONS)}")
    r = r or ConditionRanges()
    u = lambda lim: float(rng.uniform(*lim))  # noqa: E731
    p: dict[str, Any] = {"condition": name, "blur": u(r.base_blur_px), "noise": u(r.base_noise),
                         "light": u(r.base_light), "motion_blur_px": 0.0, "vignette": 0.0, "light_gradient": 0.0,
                         "glare": 0, "jpeg_quality": 0, "occluder": "", "occlusion": 0.0}
    if name == "defocus":
        p["blur"] = u(r.defocus_px)
    elif name == "motion":
        p["motion_blur_px"] = u(r.motion_px)
    elif name == "noise":
        p["noise"] = u(r.noise)
    elif name == "lighting":
        p.update(vignette=u(r.vignette), light_gradient=u(r.gradient), light=u(r.light))
    elif name == "glare":
        p["glare"] = int(rng.integers(1, 3))  # highlights, each 8-25 % of the board's size
    elif name == "compression":
        p["jpeg_quality"] = int(rng.integers(r.jpeg_quality[0], r.jpeg_quality[1] + 1))
    elif name == "occlusion":
        p["occluder"] = "cable" if rng.random() < 1 / 3 else "hand"
        p["occlusion"] = u(r.occlusion)
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in p.items()}


def board_outline_px(board: BoardSpec, camera: CameraIntrinsics, T: np.ndarray) -> np.ndarray:
    """Convex hull ``(K, 2)`` of the board's points projected with distortion (px)."""
    pts = np.concatenate([board.charuco_points.reshape(-1, 3)] + [p for p in board.marker_points.values()])
    uv, _ = cv2.projectPoints(pts, R_to_rotvec(T[:3, :3]), T[:3, 3], camera.K, camera.dist)
    return cv2.convexHull(uv.reshape(-1, 2).astype(np.float32)).reshape(-1, 2)


def _draw_hand(mask: np.ndarray, outline: np.ndarray, fraction: float, rng: np.random.Generator) -> None:
    """A palm (ellipse) and four fingers (thick round-capped strokes) covering about ``fraction``."""
    lo, hi = outline.min(axis=0), outline.max(axis=0)
    ext = np.maximum(hi - lo, 8.0)
    area = float(ext[0] * ext[1]) * fraction
    palm = np.sqrt(0.6 * area / np.pi)
    c = lo + rng.uniform(0.0, 1.0, 2) * ext
    ang = rng.uniform(0, 2 * np.pi)
    cv2.ellipse(mask, (int(c[0]), int(c[1])), (int(palm * 1.15), int(palm * 0.85)), float(np.degrees(ang)),
                0, 360, 255, -1, lineType=cv2.LINE_AA)
    width = max(2, int(0.35 * palm))
    for k in range(4):
        a = ang + (k - 1.5) * 0.35
        start = c + 0.7 * palm * np.array([np.cos(a), np.sin(a)])
        end = c + (1.7 + 0.3 * rng.random()) * palm * np.array([np.cos(a), np.sin(a)])
        cv2.line(mask, tuple(int(v) for v in start), tuple(int(v) for v in end), 255, width, lineType=cv2.LINE_AA)


def _draw_cable(mask: np.ndarray, outline: np.ndarray, fraction: float, rng: np.random.Generator) -> None:
    """A curved cable across the board, thick enough to cover about ``fraction`` of its extent."""
    lo, hi = outline.min(axis=0), outline.max(axis=0)
    ext = np.maximum(hi - lo, 8.0)
    c = lo + rng.uniform(0.3, 0.7, 2) * ext
    ang = rng.uniform(0, np.pi)
    d = np.array([np.cos(ang), np.sin(ang)])
    nrm = np.array([-d[1], d[0]])
    length = 2.0 * float(np.linalg.norm(ext))
    t = np.linspace(-0.5, 0.5, 24)[:, None] * length
    bend = 0.15 * float(np.linalg.norm(ext)) * rng.uniform(-1, 1) * np.sin(np.pi * (t / length + 0.5))
    pts = c + t * d + bend * nrm
    width = max(3, int(0.5 * fraction * float(np.sqrt(ext[0] * ext[1]))))
    cv2.polylines(mask, [pts.astype(np.int32)], False, 255, width, lineType=cv2.LINE_AA)


def _motion_blur(img: np.ndarray, length: float, angle_deg: float) -> np.ndarray:
    n = max(1, int(round(length)))
    k = np.zeros((n, n), np.float32)
    k[n // 2, :] = 1.0 / n
    M = cv2.getRotationMatrix2D(((n - 1) / 2, (n - 1) / 2), angle_deg, 1.0)
    k = cv2.warpAffine(k, M, (n, n))
    k /= max(float(k.sum()), 1e-6)
    return cv2.filter2D(img, -1, k)


def render_condition(cam: SimulatedCamera, board: BoardSpec, camera: CameraIntrinsics, T: np.ndarray,
                     params: dict[str, Any], rng: np.random.Generator) -> tuple[np.ndarray, dict[str, float]]:
    """Draw the board at ``T`` under ``params`` (from :func:`sample_condition`).

    Returns:
        ``(image, visibility)``: the ``HxWx3`` uint8 BGR frame, and ``visible_fraction`` and
        ``span_px`` of the board in it.
    """
    img = cam.render(T, blur=0.0, noise=0.0, light=1.0, rng=rng).astype(np.float32)
    h, w = img.shape[:2]
    outline = board_outline_px(board, camera, T)
    occ = np.zeros((h, w), np.uint8)
    if params["occluder"] == "hand":
        _draw_hand(occ, outline, params["occlusion"], rng)
    elif params["occluder"] == "cable":
        _draw_cable(occ, outline, params["occlusion"], rng)
    if occ.any():
        colour = (np.array([rng.uniform(90, 140), rng.uniform(120, 170), rng.uniform(170, 220)], np.float32)
                  if params["occluder"] == "hand" else np.full(3, rng.uniform(20, 60), np.float32))
        shade = cv2.GaussianBlur(rng.uniform(0.8, 1.1, (h // 16 + 1, w // 16 + 1)).astype(np.float32), (0, 0), 2)
        shade = cv2.resize(shade, (w, h))[..., None]
        a = (occ.astype(np.float32) / 255.0)[..., None]
        img = img * (1 - a) + colour * shade * a
    extra = np.sqrt(max(params["blur"] ** 2 - 0.4 ** 2, 0.0))
    if extra > 0.05:
        img = cv2.GaussianBlur(img, (0, 0), extra)
    if params["motion_blur_px"] >= 1.0:
        img = _motion_blur(img, params["motion_blur_px"], float(rng.uniform(0, 180)))
    gain = np.full((h, w), params["light"], np.float32)
    if params["light_gradient"] > 0:
        ang = rng.uniform(0, 2 * np.pi)
        xx = (np.arange(w, dtype=np.float32) / w - 0.5) * np.cos(ang)
        yy = (np.arange(h, dtype=np.float32) / h - 0.5) * np.sin(ang)
        gain *= 1.0 + 2.0 * params["light_gradient"] * (yy[:, None] + xx[None, :])
    if params["vignette"] > 0:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        rr = np.hypot((xx - w / 2) / (w / 2), (yy - h / 2) / (h / 2)) / np.sqrt(2.0)
        gain *= 1.0 - params["vignette"] * rr ** 2  # the centre keeps its light, the corners lose vignette
    img = img * gain[..., None]
    for _ in range(int(params["glare"])):  # specular highlight on the board's plastic or print
        lo, hi = outline.min(axis=0), outline.max(axis=0)
        c = lo + rng.uniform(0.1, 0.9, 2) * (hi - lo)
        rad = float(rng.uniform(0.08, 0.25)) * float(np.max(hi - lo))
        yy, xx = np.ogrid[0:h, 0:w]
        blob = np.exp(-((xx - c[0]) ** 2 + (yy - c[1]) ** 2) / (2.0 * max(rad, 2.0) ** 2)).astype(np.float32)
        img = img + float(rng.uniform(150, 300)) * blob[..., None]
    img = img + rng.normal(0, params["noise"], size=img.shape).astype(np.float32)
    out = np.clip(img, 0, 255).astype(np.uint8)
    if params["jpeg_quality"]:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(params["jpeg_quality"]),
                                             cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420])
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out, visibility(board, camera, T, occ, outline)


def visibility(board: BoardSpec, camera: CameraIntrinsics, T: np.ndarray, occluder: np.ndarray | None = None,
               outline: np.ndarray | None = None) -> dict[str, float]:
    """``visible_fraction`` of the chessboard corners (marker corners on a board without them) in
    front of the camera, inside the image and not occluded, and ``span_px`` (square root of the
    board's projected area)."""
    obj = board.charuco_points.reshape(-1, 3)
    if obj.shape[0] == 0:  # a marker-only board (the cube): its marker corners
        obj = np.concatenate(list(board.marker_points.values()))
    outline = board_outline_px(board, camera, T) if outline is None else outline
    span = float(np.sqrt(max(cv2.contourArea(outline.astype(np.float32)), 0.0)))
    if obj.shape[0] == 0:
        return {"visible_fraction": 0.0, "span_px": round(span, 2)}
    pc = obj @ T[:3, :3].T + T[:3, 3]
    uv, _ = cv2.projectPoints(obj, R_to_rotvec(T[:3, :3]), T[:3, 3], camera.K, camera.dist)
    uv = uv.reshape(-1, 2)
    ok = (pc[:, 2] > 0) & (uv[:, 0] >= 0) & (uv[:, 0] <= camera.width - 1) & (uv[:, 1] >= 0) & (
        uv[:, 1] <= camera.height - 1)
    if occluder is not None and np.any(ok):
        iu = np.clip(np.round(uv[:, 0]).astype(int), 0, camera.width - 1)
        iv = np.clip(np.round(uv[:, 1]).astype(int), 0, camera.height - 1)
        ok &= occluder[iv, iu] < 128
    return {"visible_fraction": round(float(np.mean(ok)), 4), "span_px": round(span, 2)}
