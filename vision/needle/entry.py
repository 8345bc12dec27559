"""Line hypotheses for the full-frame needle search: lines that run bright *from the field's edge*.

An in-plane needle enters the imaged field at its left or right edge, or at the top of the field
below the skin, and its echo is visible from there towards its tip. So instead of looking for
any line (a Hough transform, which ranks long fascia and vessel walls above a faint short
shaft), every line that enters the field is scored by how far a bright echo runs along it from
its entry:

* at quarter resolution, the echo contrast is the image minus its Gaussian-blurred
  surroundings (a top-hat; ``_BACKGROUND_MM``);
* lines start at every boundary pixel (left or right edge, and the top of the field) at every
  angle of the needle's range (``_STEP_DEG`` apart), on both sides; they are sampled over their
  first ``_REACH_MM`` (one ``cv2.remap`` for all of them; the sampling grid depends only on the
  image geometry and is cached);
* the score of a line is Page's CUSUM statistic of the contrast minus a drift ``kappa`` (the
  field's median contrast plus one robust deviation), started at the entry: the largest sum of
  ``contrast - kappa`` over a run that begins at the entry (Page, "Continuous inspection
  schemes", Biometrika 41, 1954). A shaft scores its contrast times its visible length; speckle
  and structures that do not reach the edge score little.

The best lines (after suppressing near-duplicates) are the hypotheses that
:func:`vision.needle.strip.measure_shaft` measures at full resolution.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from vision.needle.config import NeedleDetectorConfig

_LEVELS = 2  # quarter resolution
_STEP_DEG = 2.5
_REACH_MM = 10.0
_BACKGROUND_MM = 2.4
_KAPPA_MAD = 1.0
_DUP_STEPS = 2  # angle steps
_DUP_PX = 4.0  # at quarter resolution


_GRIDS: dict[tuple, tuple] = {}
"""Sampling grids by geometry, shared by every search in the process (built once: ~10-20 ms)."""
_MAX_GRIDS = 4


class EntrySearch:
    """Scores every line that enters the imaged field; the sampling grid is cached per geometry."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._grid: tuple | None = None

    @staticmethod
    def _build(h: int, w: int, sy: float, sx: float, top: float, cfg: NeedleDetectorConfig) -> tuple:
        angles = np.arange(cfg.min_angle_deg, cfg.max_angle_deg + 1e-6, _STEP_DEG)
        entries, dirs, side, ang = [], [], [], []
        ys = np.arange(math.ceil(top), h - 1, 1.0)
        xs = np.arange(0.0, w, 1.0)
        for sgn in (1.0, -1.0):
            x_edge = 0.0 if sgn > 0 else w - 1.0
            pts = np.concatenate([np.column_stack([np.full(ys.size, x_edge), ys]),
                                  np.column_stack([xs, np.full(xs.size, top)])])
            for a in angles:
                d = np.array([sgn * math.cos(math.radians(a)) / sx, math.sin(math.radians(a)) / sy])
                d /= np.linalg.norm(d)
                entries.append(pts)
                dirs.append(np.repeat(d[None], len(pts), axis=0))
                side.append(np.full(len(pts), sgn))
                ang.append(np.full(len(pts), a))
        grid_shape = (2, len(angles), len(entries[0]))  # side, angle, entry along the boundary
        e = np.concatenate(entries)
        d = np.concatenate(dirs)
        mm_along = np.hypot(d[:, 0] * sx, d[:, 1] * sy)
        n_s = int(math.ceil(_REACH_MM / float(mm_along.min())))
        i = np.arange(n_s, dtype=np.float64)[:, None]
        mx = e[None, :, 0] + i * d[None, :, 0]  # (n_s, K): one row per step along the lines
        my = e[None, :, 1] + i * d[None, :, 1]
        inside = (mx >= 0) & (mx <= w - 1) & (my >= top) & (my <= h - 1) & (i * mm_along[None, :] <= _REACH_MM)
        return (mx.astype(np.float32), my.astype(np.float32), inside, e, d, grid_shape, mm_along.astype(np.float32))

    def hypotheses(self, image: np.ndarray, mm_per_px: tuple[float, float], config: NeedleDetectorConfig,
                   keep: int) -> list[tuple[np.ndarray, np.ndarray, float]]:
        """The ``keep`` best-scoring entering lines.

        Args:
            image: ``HxW`` uint8 frame at full resolution.
            mm_per_px: pixel spacing ``(row, col)``.
            config: ``[needle.detector]`` (angle range and ``skin_mm``).
            keep: how many hypotheses to return.

        Returns:
            ``(entry point, unit direction, score)`` in full-resolution px, best first.
        """
        cfg = config
        q = image
        for _ in range(_LEVELS):
            q = cv2.pyrDown(q)
        scale = float(image.shape[0]) / q.shape[0]
        h, w = q.shape
        sy, sx = mm_per_px[0] * scale, mm_per_px[1] * scale
        top = cfg.skin_mm / sy
        key = (h, w, round(sy, 9), round(sx, 9), cfg.skin_mm, cfg.min_angle_deg, cfg.max_angle_deg)
        if key != self._key:
            if key not in _GRIDS:
                if len(_GRIDS) >= _MAX_GRIDS:
                    _GRIDS.pop(next(iter(_GRIDS)))
                _GRIDS[key] = self._build(h, w, sy, sx, top, cfg)
            self._grid = _GRIDS[key]
            self._key = key
        mx, my, inside, ents, dirs, grid_shape, mm_along = self._grid
        g = q.astype(np.float32)
        sig = max(_BACKGROUND_MM / min(sy, sx), 1.0)
        th = g - cv2.GaussianBlur(g, (0, 0), sig)
        field = th[int(math.ceil(top)):].ravel()
        med = float(np.median(field))
        kappa = med + _KAPPA_MAD * 1.4826 * float(np.median(np.abs(field - med)))
        s = cv2.remap(th, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        z = np.where(inside, s - np.float32(kappa), np.float32(-1e3))
        run = np.zeros(z.shape[1], np.float32)
        best = np.zeros(z.shape[1], np.float32)
        for row in z:  # CUSUM from the entry: running sum and its maximum
            run += row
            np.maximum(best, run, out=best)
        score = best * mm_along
        # non-maximum suppression on the (side, angle, entry) grid: near-duplicates of a line
        # (a few degrees, a few entry positions away) are not hypotheses of their own
        grid = score.reshape(grid_shape)
        kernel = np.ones((2 * _DUP_STEPS + 1, 2 * int(_DUP_PX) + 1), np.uint8)
        peak = np.stack([grid[k] >= cv2.dilate(grid[k], kernel) for k in range(grid_shape[0])]).ravel() & (score > 0)
        idx = np.flatnonzero(peak)
        if idx.size > keep:
            idx = idx[np.argpartition(-score[idx], keep - 1)[:keep]]
        idx = idx[np.argsort(-score[idx], kind="stable")]
        out = [(ents[k] * scale, dirs[k].copy(), float(score[k])) for k in idx]
        return out
