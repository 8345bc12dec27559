"""Ultrasound-specific data augmentation for training.

Geometric: region-of-interest choice (full frame or detected sector), depth crop (a shallower
imaging depth), rotation (±15°) and scale (±25 %), lateral shift and horizontal flip, applied as one
affine warp so image and labels stay aligned; optionally a smooth elastic deformation (Simard et
al., "Best Practices for Convolutional Neural Networks Applied to Visual Document Analysis", ICDAR
2003; the augmentation Ronneberger et al. name as key for U-Net with few training images), which
mimics tissue compressed by the probe. Photometric: overall gain, gamma, a depth-gain
(TGC) ramp, multiplicative speckle, additive electronic noise, acoustic shadows below a random
point, and slight blur. The choices follow common practice for B-mode images (e.g. Tirindelli
et al., "Rethinking Ultrasound Augmentation: A Physics-Inspired Approach", MICCAI 2021).
"""

from __future__ import annotations

import cv2
import numpy as np

from vision.segmentation.preprocess import Letterbox, detect_roi


def elastic(img: np.ndarray, labels: np.ndarray, rng: np.random.Generator, grid: int = 4,
            sigma: float = 0.025) -> tuple[np.ndarray, np.ndarray]:
    """Smooth random deformation of an image and its labels.

    Displacements drawn on a ``grid x grid`` lattice (normal, ``sigma`` of the image side) are
    interpolated bicubically to every pixel, as the U-Net paper's 3x3 lattice with 10 px steps.

    Returns:
        ``(image, labels)`` deformed alike (labels by nearest neighbour).
    """
    h, w = img.shape
    disp = rng.normal(0.0, sigma * max(h, w), (2, grid, grid)).astype(np.float32)
    dx = cv2.resize(disp[0], (w, h), interpolation=cv2.INTER_CUBIC)
    dy = cv2.resize(disp[1], (w, h), interpolation=cv2.INTER_CUBIC)
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    mx, my = gx + dx, gy + dy
    return (cv2.remap(img, mx, my, cv2.INTER_LINEAR, borderValue=0),
            cv2.remap(labels, mx, my, cv2.INTER_NEAREST, borderValue=0))


def geometric(gray: np.ndarray, labels: np.ndarray, size: int, rng: np.random.Generator,
              strength: float = 1.0, elastic_p: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Warp an image and its labels into a ``size x size`` letterboxed network input.

    Args:
        gray: ``HxW`` uint8 image.
        labels: ``HxW`` uint8 class ids.
        size: network input side.
        rng: random generator.
        strength: 0 = no augmentation (plain letterbox of the full frame), 1 = full.
        elastic_p: probability of an :func:`elastic` deformation after the warp (with strength > 0).

    Returns:
        ``(image, labels)``, both ``size x size`` uint8.
    """
    h, w = gray.shape
    roi = (0, 0, w, h)
    if strength > 0 and rng.random() < 0.5:
        roi = detect_roi(gray) or roi
    x, y, rw, rh = roi
    if strength > 0 and rng.random() < 0.3:        # depth crop: a shallower imaging depth
        rh = max(16, int(rh * rng.uniform(0.65, 1.0)))
    lb = Letterbox.fit((x, y, rw, rh), size)
    m = np.vstack([lb.matrix(), [0.0, 0.0, 1.0]])
    if strength > 0:
        cw, ch = lb.content_wh
        cx, cy = cw / 2.0, ch / 2.0
        ang = rng.uniform(-15, 15) * strength
        sc = float(np.exp(rng.uniform(-0.25, 0.25) * strength))
        aug = cv2.getRotationMatrix2D((cx, cy), ang, sc)
        aug[:, 2] += rng.uniform(-0.08, 0.08, 2) * size * strength
        a = np.vstack([aug, [0.0, 0.0, 1.0]])
        if rng.random() < 0.5:
            a = np.array([[-1.0, 0.0, cw - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]) @ a
        m = a @ m
    img = cv2.warpAffine(gray, m[:2], (size, size), flags=cv2.INTER_LINEAR, borderValue=0)
    lab = cv2.warpAffine(labels, m[:2], (size, size), flags=cv2.INTER_NEAREST, borderValue=0)
    if strength > 0 and rh < roi[3]:
        ch = lb.content_wh[1]
        img[ch:] = 0          # below the new depth there is no image (approximate after warp)
    if strength > 0 and elastic_p > 0 and rng.random() < elastic_p:
        img, lab = elastic(img, lab, rng, sigma=0.025 * strength)
    return img, lab


def photometric(img: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """Intensity augmentation of a uint8 image; returns float32 in 0..1."""
    x = img.astype(np.float32) * (1.0 / 255.0)
    if strength <= 0:
        return x
    size_y, size_x = x.shape
    valid = img > 0
    x = x ** float(np.exp(rng.uniform(-0.35, 0.35) * strength))                  # gamma
    x *= float(np.exp(rng.uniform(-0.35, 0.35) * strength))                      # gain
    if rng.random() < 0.5:                                                       # TGC ramp
        k = rng.uniform(-0.5, 0.5) * strength
        x *= (1.0 + k * (np.linspace(-0.5, 0.5, size_y, dtype=np.float32)))[:, None]
    if rng.random() < 0.3:                                                       # acoustic shadow
        cx = rng.uniform(0, size_x)
        half = rng.uniform(0.03, 0.12) * size_x
        top = int(rng.uniform(0.2, 0.7) * size_y)
        cols = np.arange(size_x, dtype=np.float32)
        prof = np.clip((half - np.abs(cols - cx)) / (0.3 * half), 0.0, 1.0)
        depth_w = np.clip((np.arange(size_y, dtype=np.float32) - top) / 8.0, 0.0, 1.0)
        x *= 1.0 - rng.uniform(0.4, 0.85) * depth_w[:, None] * prof[None, :]
    if rng.random() < 0.5:                                                       # speckle
        s = rng.uniform(0.05, 0.3) * strength
        n = rng.standard_normal((size_y // 2, size_x // 2)).astype(np.float32)
        n = cv2.resize(n, (size_x, size_y), interpolation=cv2.INTER_LINEAR)
        x *= np.exp(s * n)
    if rng.random() < 0.2:                                                       # blur
        x = cv2.GaussianBlur(x, (0, 0), rng.uniform(0.5, 1.2))
    if rng.random() < 0.5:                                                       # electronic noise
        x += rng.normal(0.0, rng.uniform(0.005, 0.03), x.shape).astype(np.float32)
    x[~valid] = 0.0
    return np.clip(x, 0.0, 1.0)
