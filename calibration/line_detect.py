"""Finding the bright line of a flat plate (a water bath's bottom) in an ultrasound image.

Temporal calibration needs, in every frame, how far the plate lies from the transducer. The line
is found as PLUS Toolkit's temporal calibration does in spirit (Lasso et al., "PLUS: open-source
toolkit for ultrasound-guided intervention systems", IEEE TBME 61(10), 2014: a line fitted to the
strongest echo of each scan line), with our own steps:

1. the image is smoothed and differentiated along the depth axis; in every column the strongest
   dark-to-bright step (the plate's leading edge; water above it is anechoic) is taken, refined to
   a sub-pixel row by a parabola through the three gradient samples around the peak;
2. a straight line is fitted to those edge points in millimetres by RANSAC (Fischler and Bolles,
   CACM 24(6), 1981) and refined by least squares on its inliers, so speckle, particles in the
   water, the reverberation and columns where the echo is weak do not pull it;
3. the frame is refused (``None``) when too few columns agree on one line.

The result is the line's perpendicular distance from the transducer face's centre (the image's
top-centre point), which follows the probe's height above the plate and does not change when the
probe is tilted about that point.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import cv2
import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LineDetectConfig:
    """Parameters of the line detector.

    Attributes:
        skip_top_mm: rows nearer the transducer than this are ignored (ring-down).
        smooth_px: Gaussian smoothing (sigma, pixels) before differentiation.
        inlier_mm: RANSAC inlier distance.
        min_inlier_fraction: the share of columns that must lie on the line.
        iterations: RANSAC hypotheses.
    """

    skip_top_mm: float = 1.5
    smooth_px: float = 1.5
    inlier_mm: float = 0.5
    min_inlier_fraction: float = 0.3
    iterations: int = 200


@dataclass(frozen=True)
class LineDetection:
    """A line found in one frame, in image millimetres (x lateral from the centre column, y depth).

    Attributes:
        distance_mm: perpendicular distance from the transducer face centre to the line.
        depth_mm: depth of the line at the centre column.
        tilt_deg: tilt of the line (positive: deeper on the right).
        inlier_fraction: share of columns on the line.
        rms_mm: RMS distance of the inlier edge points from the line.
    """

    distance_mm: float
    depth_mm: float
    tilt_deg: float
    inlier_fraction: float
    rms_mm: float


def _edge_points(image: np.ndarray, mm_per_px: tuple[float, float], cfg: LineDetectConfig
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per column: sub-pixel row of the strongest dark-to-bright step, its strength, and the column."""
    img = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    f = cv2.GaussianBlur(img.astype(np.float32), (0, 0), sigmaX=cfg.smooth_px, sigmaY=cfg.smooth_px)
    g = np.zeros_like(f)
    g[1:-1] = 0.5 * (f[2:] - f[:-2])
    top = int(math.ceil(cfg.skip_top_mm / mm_per_px[0])) + 1
    g[:top] = 0.0
    g[-1] = 0.0
    rows = np.argmax(g, axis=0)
    cols = np.arange(g.shape[1])
    peak = g[rows, cols]
    r = np.clip(rows, 1, g.shape[0] - 2)
    a, b, c = g[r - 1, cols], g[r, cols], g[r + 1, cols]
    den = a - 2.0 * b + c
    shift = np.where(np.abs(den) > 1e-9, 0.5 * (a - c) / np.where(np.abs(den) > 1e-9, den, 1.0), 0.0)
    return r + np.clip(shift, -0.5, 0.5), peak, cols


def detect_line(image: np.ndarray, mm_per_px: tuple[float, float],
                config: LineDetectConfig | None = None) -> LineDetection | None:
    """The plate's line in one frame, or ``None`` when no line is clear enough.

    Args:
        image: ``HxW`` grey (or BGR) ultrasound frame.
        mm_per_px: pixel spacing ``(row, col)`` in mm.
        config: detector parameters.
    """
    cfg = config or LineDetectConfig()
    sy, sx = float(mm_per_px[0]), float(mm_per_px[1])
    rows, strength, cols = _edge_points(image, (sy, sx), cfg)
    w = image.shape[1]
    # a step must stand out of the gradient noise of the image
    noise = 1.4826 * float(np.median(np.abs(strength - np.median(strength)))) + 1e-6
    keep = strength > max(np.median(strength) * 0.25, 3.0 * noise, 2.0)
    x = (cols[keep] - 0.5 * (w - 1)) * sx
    y = rows[keep] * sy
    n_min = max(8, int(cfg.min_inlier_fraction * w))
    if x.size < n_min:
        return None
    rng = np.random.default_rng(12345)
    i = rng.integers(0, x.size, cfg.iterations)
    j = rng.integers(0, x.size, cfg.iterations)
    ok = np.abs(x[i] - x[j]) > 5.0 * sx
    i, j = i[ok], j[ok]
    if i.size == 0:
        return None
    slope = (y[j] - y[i]) / (x[j] - x[i])
    icpt = y[i] - slope * x[i]
    res = np.abs(y[None, :] - (slope[:, None] * x[None, :] + icpt[:, None])) / np.sqrt(1.0 + slope[:, None] ** 2)
    best = int(np.argmax((res < cfg.inlier_mm).sum(axis=1)))
    inl = res[best] < cfg.inlier_mm
    for _ in range(2):  # least-squares refinement on the inliers, then the inliers again
        if inl.sum() < n_min:
            return None
        a, b = np.polyfit(x[inl], y[inl], 1)
        d = np.abs(y - (a * x + b)) / math.sqrt(1.0 + a * a)
        inl = d < cfg.inlier_mm
    if inl.sum() < n_min:
        return None
    rms = float(np.sqrt(np.mean(d[inl] ** 2)))
    return LineDetection(distance_mm=float(b / math.sqrt(1.0 + a * a)), depth_mm=float(b),
                         tilt_deg=math.degrees(math.atan(a)), inlier_fraction=float(inl.sum()) / w, rms_mm=rms)
