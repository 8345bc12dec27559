"""The PNG report of a temporal calibration: the two signals before and after alignment, the correlation curve.

Drawn with OpenCV in the panel size of :mod:`calibration.report`, so the page looks like every
other calibration report.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from calibration.line_detect import LineDetection
from calibration.report import PANEL_H, PANEL_W, Report, image_panel
from calibration.temporal import TemporalResult

_COLORS = ((200, 90, 30), (40, 40, 210), (60, 150, 40))
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def _put(img: np.ndarray, text: str, org: tuple[int, int], scale: float = 0.4, color=(30, 30, 30)) -> None:
    cv2.putText(img, text, org, _FONT, scale, color, 1, cv2.LINE_AA)


def line_panel(title: str, series: Sequence[tuple[str, np.ndarray, np.ndarray]], x_unit: str, y_unit: str,
               marker_x: float | None = None) -> np.ndarray:
    """Curves ``(label, x, y)`` on shared axes, with an optional vertical marker line.

    Args:
        title: panel title.
        series: the curves, drawn in distinct colours with a legend.
        x_unit: unit of the x axis.
        y_unit: unit of the y axis.
        marker_x: draw a vertical line there (the estimate), or ``None``.
    """
    img = np.full((PANEL_H, PANEL_W, 3), 255, np.uint8)
    _put(img, title, (10, 20), 0.5)
    xs = np.concatenate([np.asarray(s[1], float) for s in series] + [np.zeros(0)])
    ys = np.concatenate([np.asarray(s[2], float) for s in series] + [np.zeros(0)])
    ok = np.isfinite(xs) & np.isfinite(ys)
    if not ok.any():
        return img
    x_lo, x_hi = float(xs[ok].min()), float(xs[ok].max())
    y_lo, y_hi = float(ys[ok].min()), float(ys[ok].max())
    x_hi, y_hi = max(x_hi, x_lo + 1e-9), max(y_hi, y_lo + 1e-9)
    pad = 0.05 * (y_hi - y_lo)
    y_lo, y_hi = y_lo - pad, y_hi + pad
    x0, y0, x1, y1 = 60, 35, PANEL_W - 15, PANEL_H - 40

    def px(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        u = x0 + (x - x_lo) / (x_hi - x_lo) * (x1 - x0)
        v = y1 - (y - y_lo) / (y_hi - y_lo) * (y1 - y0)
        return np.stack([u, v], axis=1)

    for k in range(5):
        yy = y1 - (y1 - y0) * k / 4
        cv2.line(img, (x0, int(yy)), (x1, int(yy)), (215, 215, 215), 1)
        _put(img, f"{y_lo + (y_hi - y_lo) * k / 4:.3g}", (4, int(yy) + 4), 0.35)
    _put(img, y_unit, (4, y0 - 10), 0.35)
    _put(img, f"{x_lo:.4g}", (x0, y1 + 16), 0.35)
    _put(img, f"{x_hi:.4g} {x_unit}", (x1 - 90, y1 + 16), 0.35)
    cv2.rectangle(img, (x0, y0), (x1, y1), (150, 150, 150), 1)
    for k, (label, x, y) in enumerate(series):
        x, y = np.asarray(x, float), np.asarray(y, float)
        good = np.isfinite(x) & np.isfinite(y)
        pts = np.round(px(x[good], y[good]) * 16).astype(np.int32).reshape(-1, 1, 2)
        color = _COLORS[k % len(_COLORS)]
        if len(pts) > 1:
            cv2.polylines(img, [pts], False, color, 1, cv2.LINE_AA, 4)
        _put(img, label, (x0 + 10 + 200 * k, y1 + 32), 0.4, color)
    if marker_x is not None and x_lo <= marker_x <= x_hi:
        u = int(round(x0 + (marker_x - x_lo) / (x_hi - x_lo) * (x1 - x0)))
        cv2.line(img, (u, y0), (u, y1), (0, 140, 255), 1)
    return img


def _window(t: np.ndarray, centre: float, half: float) -> np.ndarray:
    return (t >= centre - half) & (t <= centre + half)


def temporal_report(result: TemporalResult, lines: list[str], frame: np.ndarray | None = None,
                    detection: LineDetection | None = None, mm_per_px: tuple[float, float] = (1.0, 1.0)) -> Report:
    """The report page.

    Args:
        result: the estimate.
        lines: the figure lines printed at the top.
        frame: one ultrasound frame to show with its detected line (optional).
        detection: the line found in ``frame``.
        mm_per_px: the frame's pixel spacing ``(row, col)``.
    """
    r = result
    centre = 0.5 * (r.us_t_s[0] + r.us_t_s[-1])
    half = min(4.0, 0.5 * (r.us_t_s[-1] - r.us_t_s[0]))
    wu = _window(r.us_t_s, centre, half)
    wp_before = _window(r.pose_t_s, centre, half)
    shifted = r.pose_t_s - r.offset_ms * 1e-3
    wp_after = _window(shifted, centre, half)
    us = ("ultrasound line", r.us_t_s[wu], r.us_mm[wu])
    panels = [
        line_panel("before alignment (pose at its own stamps)",
                   [us, ("probe height (pose)", r.pose_t_s[wp_before], r.pose_mm[wp_before])], "s", "mm"),
        line_panel(f"after alignment (pose shifted by {r.offset_ms:+.1f} ms)",
                   [us, ("probe height (pose)", shifted[wp_after], r.pose_mm[wp_after])], "s", "mm"),
        line_panel("correlation against the offset", [("correlation", r.lags_ms, r.correlation)], "ms", "r",
                   marker_x=r.offset_ms),
    ]
    near = np.abs(r.lags_ms - r.offset_ms) <= 150.0
    panels.append(line_panel("correlation near the peak", [("correlation", r.lags_ms[near], r.correlation[near])],
                             "ms", "r", marker_x=r.offset_ms))
    if frame is not None:
        img = frame if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        img = img.copy()
        if detection is not None:
            w = img.shape[1]
            slope = np.tan(np.radians(detection.tilt_deg))
            ends = []
            for col in (0, w - 1):
                x_mm = (col - 0.5 * (w - 1)) * mm_per_px[1]
                ends.append((col, int(round((detection.depth_mm + slope * x_mm) / mm_per_px[0]))))
            cv2.line(img, ends[0], ends[1], (0, 140, 255), 1, cv2.LINE_AA)
        panels.append(image_panel("a frame with the detected plate line", img))
    return Report(title="Temporal calibration (ultrasound vs pose)", lines=lines, passed=None, panels=panels)
