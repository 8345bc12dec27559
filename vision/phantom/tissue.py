"""Precomputed world-fixed fields of the phantom: echogenicity, speckle, attenuation.

The B-mode model is the usual log-domain one (Jensen, *Estimation of Blood Velocities Using
Ultrasound*, 1996, ch. 2; Burckhardt, "Speckle in ultrasound B-mode scans", IEEE Trans. Sonics
Ultrason. 25(1), 1978): the received envelope is a tissue reflectivity times a speckle term
whose magnitude is Rayleigh distributed (a sum of many random scatterers convolved with the
point-spread function), attenuated exponentially with depth (round trip), then amplified by
time-gain compensation and log-compressed for display. In dB every factor becomes a sum::

    echo_dB = tissue_dB + speckle_dB - cumulative_attenuation_dB(y) + tgc_dB(y) + gain_dB

Everything here is computed once per configuration on a world grid that is wider than the
image by the probe-motion margin, so the per-frame work is only a slice and a few additions.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from vision.phantom.anatomy import Anatomy
from vision.phantom.config import PhantomConfig

FAT_DB = -9.0
MUSCLE_DB = -5.0
CONNECTIVE_DB = -2.0
SKIN_DB = 8.0
FASCIA_DB = 13.0
NERVE_BASE_DB = 5.0
NERVE_RIM_DB = 11.0
FASCICLE_DB = -13.0
LUMEN_DB = -38.0
WALL_DB = 9.0
BONE_DB = 22.0


def speckle_db(rng: np.random.Generator, shape: tuple[int, int], mm_per_px: tuple[float, float]
               ) -> np.ndarray:
    """Log-compressed fully developed speckle, zero mean, in dB.

    A complex Gaussian scatterer field is convolved with a separable Gaussian point-spread
    function (axial resolution ~0.25 mm, lateral ~0.5 mm at 10 MHz); the magnitude of the result
    is Rayleigh distributed (Burckhardt 1978) and its log has a standard deviation of ~5.6 dB.
    """
    sy, sx = mm_per_px
    field = rng.standard_normal((2, *shape), dtype=np.float32)
    sig_y, sig_x = max(0.6, 0.11 / sy), max(0.6, 0.24 / sx)
    re = cv2.GaussianBlur(field[0], (0, 0), sigmaX=sig_x, sigmaY=sig_y)
    im = cv2.GaussianBlur(field[1], (0, 0), sigmaX=sig_x, sigmaY=sig_y)
    mag = cv2.magnitude(re, im)
    mag /= float(np.sqrt(np.mean(mag * mag))) + 1e-12
    out = 20.0 * np.log10(np.maximum(mag, 1e-4))
    out -= float(out.mean())
    return out.astype(np.float32)


def _px(points_mm, off_x_mm: float, mm_per_px: tuple[float, float]) -> np.ndarray:
    sy, sx = mm_per_px
    pts = np.asarray(points_mm, dtype=np.float64)
    return np.stack([(pts[:, 0] + off_x_mm) / sx, pts[:, 1] / sy], axis=1)


def _fixed(pts_px: np.ndarray) -> np.ndarray:
    """Pixel coordinates to OpenCV's fixed point (shift=4) int32 polyline."""
    return np.round(pts_px * 16.0).astype(np.int32).reshape(-1, 1, 2)


def _ellipse(img: np.ndarray, cx: float, cy: float, ax: float, ay: float, ang: float,
             value: float, off_x_mm: float, mm_per_px: tuple[float, float],
             thickness: int = -1) -> None:
    sy, sx = mm_per_px
    c = (int(round((cx + off_x_mm) / sx * 16)), int(round(cy / sy * 16)))
    axes = (max(1, int(round(ax / sx * 16))), max(1, int(round(ay / sy * 16))))
    cv2.ellipse(img, c, axes, ang, 0, 360, value, thickness, cv2.LINE_8, 4)


def column_profile(poly_mm, off_x_mm: float, width: int, mm_per_px: tuple[float, float]
                   ) -> np.ndarray:
    """Depth (px) of a polyline at every world column (linear interpolation)."""
    p = _px(poly_mm, off_x_mm, mm_per_px)
    return np.interp(np.arange(width, dtype=np.float64), p[:, 0], p[:, 1])


def build_world(cfg: PhantomConfig, anatomy: Anatomy, shape: tuple[int, int], off_x_mm: float
                ) -> dict[str, np.ndarray]:
    """Rasterises the static anatomy on the world grid.

    Args:
        cfg: configuration.
        anatomy: what to draw (world mm).
        shape: world grid ``(rows, cols)``; rows equal the image height.
        off_x_mm: world column 0 lies at ``x = -off_x_mm``.

    Returns:
        ``tissue`` (dB, vessels excluded), ``alpha`` (round-trip attenuation per pixel, dB,
        vessels included at rest size), ``nerve_mask`` (uint8 0/1), ``speckle`` (dB).
    """
    h, w = shape
    mpp = cfg.mm_per_px
    sy, sx = mpp
    rng = np.random.default_rng([cfg.seed, 2])

    # --- background layers: skin, fat with septa, muscle with striations -------------------
    rows = np.arange(h, dtype=np.float64)[:, None]
    fat_bottom = column_profile(anatomy.fat_depth, off_x_mm, w, mpp)[None, :]
    fat_noise = rng.standard_normal((h, w), dtype=np.float32)
    septa = cv2.GaussianBlur(fat_noise, (0, 0), sigmaX=6.0 / sx * 0.1 * 10, sigmaY=0.6)
    septa = np.clip(septa / (septa.std() + 1e-9) - 1.2, 0, None) * 6.0
    fat = FAT_DB + septa
    mus_noise = rng.standard_normal((h, w), dtype=np.float32)
    stri = cv2.GaussianBlur(mus_noise, (0, 0), sigmaX=1.5 / sx, sigmaY=0.12 / sy)
    stri = stri / (stri.std() + 1e-9)
    muscle = MUSCLE_DB + 3.5 * stri
    if anatomy.muscles:
        region = np.zeros((h, w), np.uint8)
        for poly in anatomy.muscles:
            cv2.fillPoly(region, [_fixed(_px(poly, off_x_mm, mpp))], 1, cv2.LINE_8, 4)
        deep = np.where(region > 0, muscle, CONNECTIVE_DB + 1.5 * stri)
    else:
        deep = muscle
    tissue = np.where(rows < fat_bottom, fat, deep).astype(np.float32)
    skin_px = 1.2 / sy
    tissue[rows[:, 0] < skin_px, :] = SKIN_DB

    # --- fascia ----------------------------------------------------------------------------
    fascia = np.zeros((h, w), np.float32)
    thick = max(1, int(round(0.35 / sy)))
    for poly in anatomy.fascia:
        cv2.polylines(fascia, [_fixed(_px(poly, off_x_mm, mpp))], False, 1.0, thick, cv2.LINE_8, 4)
    fascia = cv2.GaussianBlur(fascia, (0, 0), 0.8)
    tissue += fascia * (FASCIA_DB - MUSCLE_DB)

    # --- nerves: hyperechoic rim, bright epineurium, dark fascicles (honeycomb) --------------
    nerve_mask = np.zeros((h, w), np.uint8)
    nerve_img = np.zeros((h, w), np.float32)
    rim = max(1, int(round(0.4 / sy)))
    for n in anatomy.nerves:
        _ellipse(nerve_mask, n.cx, n.cy, n.ax, n.ay, n.angle_deg, 1, off_x_mm, mpp)
        _ellipse(nerve_img, n.cx, n.cy, n.ax, n.ay, n.angle_deg, NERVE_BASE_DB, off_x_mm, mpp)
        for fx, fy, fr in n.fascicles:
            _ellipse(nerve_img, fx, fy, fr, fr, 0.0, FASCICLE_DB, off_x_mm, mpp)
        _ellipse(nerve_img, n.cx, n.cy, n.ax, n.ay, n.angle_deg, NERVE_RIM_DB, off_x_mm, mpp, rim)
    nerve_img = cv2.GaussianBlur(nerve_img, (0, 0), 0.7)
    soft = cv2.GaussianBlur(nerve_mask.astype(np.float32), (0, 0), 0.7)
    tissue = tissue * (1.0 - soft) + nerve_img * soft + np.where(nerve_mask > 0, 0, 0)

    # --- attenuation (round trip, dB per pixel) ----------------------------------------------
    alpha = np.full((h, w), cfg.imaging.attenuation_db_per_cm * sy / 10.0, np.float32)
    lumen = np.zeros((h, w), np.uint8)
    for v in anatomy.vessels:
        _ellipse(lumen, v.cx, v.cy, v.ax, v.ay, v.angle_deg, 1, off_x_mm, mpp)
    alpha[lumen > 0] *= 0.1  # blood attenuates far less: posterior acoustic enhancement

    # --- bone: bright surface, near-total attenuation beneath (acoustic shadow) --------------
    if anatomy.bone is not None:
        surf = column_profile(anatomy.bone, off_x_mm, w, mpp)[None, :]
        b = np.zeros((h, w), np.float32)
        cv2.polylines(b, [_fixed(_px(anatomy.bone, off_x_mm, mpp))], False, 1.0,
                      max(1, int(round(0.6 / sy))), cv2.LINE_8, 4)
        b = cv2.GaussianBlur(b, (0, 0), 0.8)
        tissue = np.where(rows > surf, tissue, tissue) + b * (BONE_DB - MUSCLE_DB)
        alpha = np.where(rows > surf + 0.5 / sy, np.float32(4.0), alpha).astype(np.float32)

    tissue = cv2.GaussianBlur(tissue.astype(np.float32), (0, 0), sigmaX=0.6, sigmaY=0.5)
    spk = speckle_db(rng, (h, w), mpp) * np.float32(cfg.imaging.speckle_strength)
    return {"tissue": tissue, "alpha": alpha, "nerve_mask": nerve_mask, "speckle": spk,
            "cum_alpha": _cumulative(alpha)}


def _cumulative(alpha: np.ndarray) -> np.ndarray:
    """Attenuation accumulated above each pixel (the pixel itself excluded), dB."""
    c = np.cumsum(alpha, axis=0, dtype=np.float64)
    return (c - alpha).astype(np.float32)


def to_display(echo_db: np.ndarray, cfg: PhantomConfig) -> np.ndarray:
    """Log-compressed dB to grey levels 0..255 (float32, unclipped).

    0 dB (ordinary soft tissue at the skin) maps to ~45 % grey; ``dynamic_range_db`` spans
    the 255 levels.
    """
    dr = float(cfg.imaging.dynamic_range_db)
    return ((echo_db + 0.45 * dr) * (255.0 / dr)).astype(np.float32)


def depth_gain_db(cfg: PhantomConfig, h: int) -> np.ndarray:
    """Time-gain compensation plus overall gain per row, dB (column vector)."""
    y_cm = np.arange(h, dtype=np.float32) * np.float32(cfg.mm_per_px[0] / 10.0)
    return (cfg.imaging.tgc_db_per_cm * y_cm + cfg.imaging.gain_db).astype(np.float32)[:, None]


def quantise(display: np.ndarray) -> np.ndarray:
    """Clips float grey levels to 0..255 and rounds to uint8."""
    return np.clip(np.rint(display), 0, 255).astype(np.uint8)


__all__ = ["build_world", "speckle_db", "to_display", "depth_gain_db", "quantise", "column_profile",
           "LUMEN_DB", "WALL_DB", "math"]
