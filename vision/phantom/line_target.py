"""B-mode frames of a line target: the flat bottom of a water bath seen by a linear probe.

Temporal calibration (PLUS Toolkit's, Lasso et al., "PLUS: open-source toolkit for
ultrasound-guided intervention systems", IEEE TBME 61(10), 2014) moves the probe up and down over
a flat plate in water; the plate appears as one bright, nearly horizontal line whose depth follows
the probe's height. This renderer draws that image with its exact truth:

* water is anechoic: only electronic noise and a few faint floating scatterers;
* the plate is a specular reflector: a bright line with the axial point-spread function
  (Gaussian, ~0.3 mm) and a slowly varying echo strength along it (the plate's surface);
* a reverberation (the echo bouncing plate - transducer - plate) at twice the depth, weaker;
* near-field ring-down of the transducer in the first millimetre;
* everything log-compressed to grey levels as in :mod:`vision.phantom.tissue`.

Geometry: image pixels ``(x, y)`` = (column, row); ``mm_per_px = (row, col)``. The line is
given by its depth at the image's centre column, ``depth_mm``, and its tilt in the image,
``tilt_deg`` (positive: deeper on the right).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class LineTargetConfig:
    """Image geometry and appearance of the line-target frames.

    Attributes:
        width_px: image width.
        height_px: image height.
        mm_per_px: pixel spacing ``(row, col)``.
        psf_mm: axial point-spread function of the plate echo (Gaussian sigma).
        echo_db: plate echo above the display floor.
        reverb_db: the reverberation's echo relative to the plate's.
        noise_std: electronic noise, grey levels (standard deviation), new every frame.
        dynamic_range_db: displayed dynamic range.
        seed: seeds the plate's surface texture and the scatterers.
    """

    width_px: int = 320
    height_px: int = 400
    mm_per_px: tuple[float, float] = (0.1, 0.125)
    psf_mm: float = 0.3
    echo_db: float = 48.0
    reverb_db: float = -24.0
    noise_std: float = 4.0
    dynamic_range_db: float = 60.0
    seed: int = 0


class LineTargetRenderer:
    """Renders line-target frames; the plate's texture is fixed, the noise new every frame."""

    def __init__(self, config: LineTargetConfig | None = None) -> None:
        self.config = cfg = config or LineTargetConfig()
        rng = np.random.default_rng([cfg.seed, 17])
        w = cfg.width_px
        texture = cv2.GaussianBlur(rng.standard_normal((1, w)).astype(np.float32), (0, 0), sigmaX=6.0)
        texture /= float(texture.std()) + 1e-9
        self._texture_db = (3.0 * texture[0]).astype(np.float64)
        self._scatterers = rng.random((40, 3))

    def render(self, depth_mm: float, tilt_deg: float = 0.0, rng: np.random.Generator | None = None) -> np.ndarray:
        """One ``HxW`` uint8 frame with the plate at ``depth_mm`` (centre column) and ``tilt_deg``.

        Args:
            depth_mm: depth of the plate surface at the centre column (may lie outside the image).
            tilt_deg: tilt of the line in the image (positive: deeper on the right).
            rng: source of the electronic noise (default: a fresh unseeded one).
        """
        cfg = self.config
        rng = rng if rng is not None else np.random.default_rng()
        h, w = cfg.height_px, cfg.width_px
        sy, sx = cfg.mm_per_px
        x_mm = (np.arange(w, dtype=np.float64) - 0.5 * (w - 1)) * sx
        y_mm = np.arange(h, dtype=np.float64)[:, None] * sy
        line = depth_mm + math.tan(math.radians(tilt_deg)) * x_mm[None, :]
        d = y_mm - line
        amp = np.exp(-0.5 * (d / cfg.psf_mm) ** 2) * 10 ** (self._texture_db[None, :] / 20.0)
        d2 = y_mm - 2.0 * line
        amp = amp + 10 ** (cfg.reverb_db / 20.0) * np.exp(-0.5 * (d2 / (1.5 * cfg.psf_mm)) ** 2)
        amp = amp + 0.25 * np.exp(-y_mm / 0.4)  # ring-down at the transducer face
        for fx, fy, fa in self._scatterers:  # faint particles floating in the water
            cx, cy = int(fx * w), int(fy * h)
            if 0 <= cy < h and y_mm[cy, 0] < line[0, cx] - 1.0:
                amp[cy, cx] += 0.02 + 0.04 * fa
        db = 20.0 * np.log10(amp + 0.01) + cfg.echo_db  # floor: the scanner's noise 40 dB down
        grey = db * (255.0 / cfg.dynamic_range_db)
        grey = grey + rng.normal(0.0, cfg.noise_std, grey.shape)
        return np.clip(np.rint(grey), 0, 255).astype(np.uint8)
