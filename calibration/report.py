"""The PNG report every ``sonoguide calibrate`` command writes: a page a person can read.

A report is a title, a few lines of figures (the result, its residuals, pass or fail) and panels:
bar charts of per-station errors against their limit, scatter plots of residuals, and images
(coverage maps, detections). It is drawn with OpenCV so the report needs no plotting library;
the layout follows the calibration reports of PLUS fCal (residuals per station, the outliers
marked) in spirit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from core.errors import InputError

log = logging.getLogger(__name__)

PANEL_W, PANEL_H = 620, 340
"""Size of one panel in pixels."""
_BG, _FG, _GRID = (255, 255, 255), (30, 30, 30), (215, 215, 215)
_OK, _BAD, _LIMIT = (60, 150, 40), (40, 40, 210), (0, 140, 255)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _blank(w: int = PANEL_W, h: int = PANEL_H) -> np.ndarray:
    return np.full((h, w, 3), _BG, np.uint8)


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float = 0.45, color=_FG, thick: int = 1) -> None:
    cv2.putText(img, text, org, _FONT, scale, color, thick, cv2.LINE_AA)


def _fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:.0f}"


def bar_panel(title: str, values: Sequence[float], unit: str, limit: float | None = None,
              flagged: Sequence[bool] | None = None, labels: Sequence[str] | None = None) -> np.ndarray:
    """Bars, one per station, with the limit drawn as a line; flagged (rejected) bars in red.

    Args:
        title: panel title.
        values: one value per station (non-negative).
        unit: unit of the values, shown on the axis.
        limit: a horizontal limit line (``None``: none).
        flagged: per station, True to draw its bar red (an outlier or a rejected view).
        labels: per-station labels under the bars (default: the index).
    """
    img = _blank()
    _text(img, title, (10, 20), 0.5, thick=1)
    v = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0, posinf=0.0)
    x0, y0, x1, y1 = 60, 40, PANEL_W - 15, PANEL_H - 35
    top = max(float(v.max()) if v.size else 0.0, limit or 0.0) * 1.1 or 1.0
    for k in range(5):
        y = int(y1 - (y1 - y0) * k / 4)
        cv2.line(img, (x0, y), (x1, y), _GRID, 1)
        _text(img, _fmt(top * k / 4), (5, y + 4), 0.38)
    _text(img, unit, (5, y0 - 8), 0.38)
    n = max(len(v), 1)
    bw = (x1 - x0) / n
    flags = list(flagged) if flagged is not None else [False] * len(v)
    for i, val in enumerate(v):
        xa, xb = int(x0 + i * bw + bw * 0.15), int(x0 + (i + 1) * bw - bw * 0.15)
        ya = int(y1 - (y1 - y0) * val / top)
        cv2.rectangle(img, (xa, ya), (max(xb, xa + 1), y1), _BAD if flags[i] else _OK, -1)
        if n <= 40 and (labels is not None or n <= 30):
            _text(img, labels[i] if labels is not None else str(i), (xa, y1 + 14), 0.32)
    if limit is not None:
        yl = int(y1 - (y1 - y0) * limit / top)
        cv2.line(img, (x0, yl), (x1, yl), _LIMIT, 2)
        _text(img, f"limit {_fmt(limit)}", (x1 - 90, yl - 5), 0.38, _LIMIT)
    cv2.line(img, (x0, y1), (x1, y1), _FG, 1)
    return img


def scatter_panel(title: str, groups: Sequence[tuple[str, np.ndarray]], unit: str,
                  circle: float | None = None, equal: bool = True) -> np.ndarray:
    """2D scatter of point groups (residual vectors, positions) with an optional limit circle.

    Args:
        title: panel title.
        groups: ``(label, (N, 2) array)`` per group, drawn in distinct colours with a legend.
        unit: unit of both axes.
        circle: radius of a circle around the origin (a limit), or ``None``.
        equal: one scale for both axes.
    """
    img = _blank()
    _text(img, title, (10, 20), 0.5)
    colors = [(200, 90, 30), (40, 40, 210), (60, 150, 40), (150, 50, 150), (0, 140, 255)]
    pts = [np.asarray(p, float).reshape(-1, 2) for _, p in groups]
    allp = np.concatenate([p[np.all(np.isfinite(p), axis=1)] for p in pts] + [np.zeros((1, 2))])
    if circle:
        allp = np.concatenate([allp, [[circle, circle], [-circle, -circle]]])
    lo, hi = allp.min(axis=0), allp.max(axis=0)
    span = np.maximum(hi - lo, 1e-9)
    if equal:
        c = (lo + hi) / 2
        s = float(span.max())
        lo, hi, span = c - s / 2, c + s / 2, np.array([s, s])
    x0, y0, x1, y1 = 60, 35, PANEL_W - 130, PANEL_H - 30
    box = min(x1 - x0, y1 - y0)
    x1, y1 = x0 + box, y0 + box if equal else y1

    def to_px(p: np.ndarray) -> tuple[int, int]:
        u = x0 + (p[0] - lo[0]) / span[0] * (x1 - x0)
        w = y1 - (p[1] - lo[1]) / span[1] * (y1 - y0)
        return int(round(u)), int(round(w))

    cv2.rectangle(img, (x0, y0), (x1, y1), _GRID, 1)
    o = to_px(np.zeros(2))
    cv2.line(img, (x0, o[1]), (x1, o[1]), _GRID, 1)
    cv2.line(img, (o[0], y0), (o[0], y1), _GRID, 1)
    _text(img, f"{_fmt(lo[0])}..{_fmt(hi[0])} {unit}", (x0, y1 + 18), 0.38)
    if circle:
        r = int(round(circle / span[0] * (x1 - x0)))
        cv2.circle(img, o, r, _LIMIT, 1, cv2.LINE_AA)
    for k, ((label, _), p) in enumerate(zip(groups, pts)):
        col = colors[k % len(colors)]
        for q in p:
            if np.all(np.isfinite(q)):
                cv2.circle(img, to_px(q), 3, col, -1, cv2.LINE_AA)
        _text(img, f"{label} ({len(p)})", (x1 + 10, y0 + 15 + 18 * k), 0.4, col)
    return img


def image_panel(title: str, image: np.ndarray) -> np.ndarray:
    """An image (a coverage map, a detection) fitted into a panel with its title."""
    img = _blank()
    _text(img, title, (10, 20), 0.5)
    src = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    h, w = src.shape[:2]
    s = min((PANEL_W - 20) / w, (PANEL_H - 40) / h)
    small = cv2.resize(src, (max(1, int(w * s)), max(1, int(h * s))), interpolation=cv2.INTER_AREA)
    img[30:30 + small.shape[0], 10:10 + small.shape[1]] = small
    return img


@dataclass
class Report:
    """A calibration report page: title, figure lines, a verdict and panels in two columns.

    Attributes:
        title: first line, e.g. ``"Pivot calibration"``.
        lines: result lines (``"tip (mm): 0.12, -3.40, 151.20"``).
        passed: ``True``/``False`` draws a PASS/FAIL banner; ``None`` none.
        panels: panel images (see :func:`bar_panel`, :func:`scatter_panel`, :func:`image_panel`).
    """

    title: str
    lines: list[str] = field(default_factory=list)
    passed: bool | None = None
    panels: list[np.ndarray] = field(default_factory=list)

    def render(self) -> np.ndarray:
        """The page as a BGR image."""
        cols = 2
        rows = (len(self.panels) + cols - 1) // cols
        head = 50 + 20 * len(self.lines) + (40 if self.passed is not None else 0)
        page = np.full((head + rows * (PANEL_H + 10) + 10, cols * (PANEL_W + 10) + 10, 3), _BG, np.uint8)
        _text(page, self.title, (15, 32), 0.8, thick=2)
        y = 58
        if self.passed is not None:
            col = _OK if self.passed else _BAD
            cv2.rectangle(page, (15, y - 18), (125, y + 12), col, -1)
            _text(page, "PASS" if self.passed else "FAIL", (35, y + 5), 0.7, (255, 255, 255), 2)
            y += 40
        for line in self.lines:
            _text(page, line, (15, y), 0.5)
            y += 20
        for k, panel in enumerate(self.panels):
            r, c = divmod(k, cols)
            ya, xa = head + r * (PANEL_H + 10), 10 + c * (PANEL_W + 10)
            page[ya:ya + PANEL_H, xa:xa + PANEL_W] = panel
            cv2.rectangle(page, (xa, ya), (xa + PANEL_W - 1, ya + PANEL_H - 1), _GRID, 1)
        return page

    def save(self, path: str | Path) -> Path:
        """Write the page as a PNG (its folder created); returns the path.

        Raises:
            InputError: the file cannot be written (names the fix).
        """
        out = Path(path)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            ok = cv2.imwrite(str(out), self.render())
        except (OSError, cv2.error) as exc:
            raise InputError(f"cannot write the report {out} ({exc}); pass --report with a writable path") from None
        if not ok:
            raise InputError(f"cannot write the report {out}; pass --report with a writable path")
        log.info("calibration report written to %s", out)
        return out
