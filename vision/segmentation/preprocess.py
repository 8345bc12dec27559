"""Frame validation, ultrasound-sector (region of interest) detection, letterboxing and input
normalisation.

The same geometry is used in training and inference: the region of interest (ROI) of the frame
is scaled, aspect ratio preserved, so its longer side fills the network input, placed at the
top-left corner and zero-padded ("letterbox"). :class:`Letterbox` maps between the two;
:func:`normalise` turns letterboxed images into network inputs as the model card says.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from core.errors import InputError

MAX_SIDE = 8192
"""Frames with a side longer than this are refused (a screen grab is at most 4K-8K wide)."""
MIN_SIDE = 32
"""Frames with a side shorter than this cannot hold a useful view: gated, not segmented."""


def to_gray(image: object) -> np.ndarray:
    """Validate a frame and return it as a contiguous ``HxW`` uint8 grayscale image.

    Accepts uint8 grayscale, BGR or BGRA, uint16 (scaled by 1/257), and float images (values
    0..1 are scaled to 0..255, larger values clipped to 0..255).

    Raises:
        InputError: not an array, empty, wrong number of dimensions or channels, non-finite
            values, an unsupported dtype, or larger than :data:`MAX_SIDE`.
    """
    if not isinstance(image, np.ndarray):
        raise InputError(f"frame must be a numpy array, got {type(image).__name__}; pass an HxW or HxWx3 image")
    if image.size == 0:
        raise InputError(f"frame is empty (shape {image.shape}); pass a non-empty HxW or HxWx3 image")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise InputError(f"frame shape {image.shape} is not HxW, HxWx3 or HxWx4; pass a grayscale or BGR image")
    if max(image.shape[:2]) > MAX_SIDE:
        raise InputError(f"frame {image.shape[1]}x{image.shape[0]} is larger than {MAX_SIDE} px; "
                         "downscale it or crop the ultrasound region")
    dt = image.dtype
    if dt == np.uint8:
        img = image
    elif dt == np.uint16:
        img = (image.astype(np.float32) * (1.0 / 257.0) + 0.5).astype(np.uint8)
    elif dt.kind == "f":
        f = image.astype(np.float32, copy=False)
        if not np.isfinite(f).all():
            raise InputError("frame has NaN or infinite values; pass a finite image")
        if f.max(initial=0.0) <= 1.0:
            f = f * 255.0
        img = (np.clip(f, 0.0, 255.0) + 0.5).astype(np.uint8)
    else:
        raise InputError(f"frame dtype {dt} is not supported; pass uint8 (or uint16 / float) pixels")
    if img.ndim == 3:
        code = cv2.COLOR_BGR2GRAY if img.shape[2] == 3 else cv2.COLOR_BGRA2GRAY
        img = cv2.cvtColor(np.ascontiguousarray(img), code)
    return np.ascontiguousarray(img)


def detect_roi(gray: np.ndarray, threshold: int = 0, min_fraction: float = 0.05) -> tuple[int, int, int, int] | None:
    """Find the ultrasound image inside a frame (for example a grab of the scanner's screen).

    The image area is the largest connected region of non-black pixels after a morphological
    opening that removes thin text and graphics and a closing that bridges anechoic gaps (the
    scanner's background is exactly black, while even anechoic tissue carries some noise) (Gonzalez & Woods, "Digital Image Processing",
    ch. 9). Works on a 4x downsampled copy, so it costs well under a millisecond.

    Args:
        gray: ``HxW`` uint8 frame.
        threshold: grey level above which a pixel counts as image.
        min_fraction: a region smaller than this fraction of the frame is not accepted.

    Returns:
        ``(x, y, w, h)`` in frame pixels, or ``None`` when no region is large enough (blank frame).
    """
    h, w = gray.shape
    f = 4 if min(h, w) >= 128 else 1
    small = cv2.resize(gray, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_AREA) if f > 1 else gray
    mask = (small > threshold).astype(np.uint8)
    k = np.ones((5, 5), np.uint8)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, k)    # drop text, tick marks and thin lines
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, k)   # bridge anechoic holes and speckle gaps
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if n <= 1:
        return None
    i = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    if stats[i, cv2.CC_STAT_AREA] < min_fraction * mask.size:
        return None
    x, y, bw, bh = (int(v) for v in stats[i, :4])
    x0, y0 = x * f, y * f
    x1, y1 = min(w, (x + bw) * f), min(h, (y + bh) * f)
    return x0, y0, x1 - x0, y1 - y0


@dataclass(frozen=True)
class Letterbox:
    """Maps a frame's region of interest onto the ``size x size`` network input and back.

    Attributes:
        x0, y0: top-left corner of the ROI in frame pixels.
        scale: network pixels per frame pixel.
        size: network input side.
        roi_w, roi_h: ROI size in frame pixels.
    """

    x0: int
    y0: int
    roi_w: int
    roi_h: int
    scale: float
    size: int

    @staticmethod
    def fit(roi: tuple[int, int, int, int], size: int) -> "Letterbox":
        """The letterbox that fits ``roi = (x, y, w, h)`` into ``size x size``."""
        x, y, w, h = roi
        return Letterbox(x, y, w, h, size / max(w, h), size)

    @property
    def content_wh(self) -> tuple[int, int]:
        """Width and height (network pixels) of the part of the input that holds the image."""
        return (min(self.size, max(1, round(self.roi_w * self.scale))),
                min(self.size, max(1, round(self.roi_h * self.scale))))

    def matrix(self) -> np.ndarray:
        """2x3 affine matrix from frame pixels to network pixels (pixel-centre convention)."""
        s = self.scale
        return np.array([[s, 0.0, (0.5 - self.x0) * s - 0.5],
                         [0.0, s, (0.5 - self.y0) * s - 0.5]], np.float64)

    def apply(self, gray: np.ndarray) -> np.ndarray:
        """The ``size x size`` uint8 network image of ``gray`` (zero outside the ROI)."""
        cw, ch = self.content_wh
        crop = gray[self.y0:self.y0 + self.roi_h, self.x0:self.x0 + self.roi_w]
        out = np.zeros((self.size, self.size), np.uint8)
        interp = cv2.INTER_AREA if self.scale < 1.0 else cv2.INTER_LINEAR
        out[:ch, :cw] = cv2.resize(crop, (cw, ch), interpolation=interp)
        return out

    def to_frame(self, pts_net: np.ndarray) -> np.ndarray:
        """Map ``(N, 2)`` network-pixel ``(x, y)`` points to frame pixels (float32)."""
        p = (np.asarray(pts_net, np.float32) + 0.5) / self.scale - 0.5
        p[:, 0] += self.x0
        p[:, 1] += self.y0
        return p

    def probs_to_roi(self, probs: np.ndarray) -> np.ndarray:
        """Resize ``(C, size, size)`` network probabilities to the ROI (``(C, roi_h, roi_w)``)."""
        cw, ch = self.content_wh
        chans = [cv2.resize(np.ascontiguousarray(p[:ch, :cw]), (self.roi_w, self.roi_h),
                            interpolation=cv2.INTER_LINEAR) for p in probs]
        return np.stack(chans)


def normalise(batch_u8: np.ndarray, card_input: dict[str, Any]) -> np.ndarray:
    """Network inputs ``(N, 1, S, S)`` float32 of ``(N, S, S)`` uint8 images, normalised as the
    model card's ``input`` entry says: ``(grey * scale - mean) / std``."""
    std = float(card_input["std"])
    x = batch_u8.astype(np.float32)[:, None]
    x *= float(card_input["scale"]) / std
    x -= float(card_input["mean"]) / std
    return x
