"""PNG report of a pose evaluation: error against depth, detection per depth bin, and the tables.

Drawn with OpenCV only (no plotting library): three panels side by side, translation error
(mm) and rotation error (degrees) against board-centre depth, with lost/uncertain frames
marked on the axis, and the detection rate per depth bin; below them the per-condition and
per-distance tables and the count of every refusal reason; the summary figures in the title.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from research.report_png import write_report_png
from research.tracking.evaluate import EvalSummary

_W, _H = 520, 400
_M = (60, 40, 20, 50)  # left, top, right, bottom margins


def _axes(title: str, xlab: str, ylab: str, xlim: tuple[float, float], ylim: tuple[float, float]):
    img = np.full((_H, _W, 3), 255, np.uint8)
    l, t, r, b = _M
    cv2.rectangle(img, (l, t), (_W - r, _H - b), (0, 0, 0), 1)
    cv2.putText(img, title, (l, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, xlab, (_W // 2 - 40, _H - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(img, ylab, (5, t - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)

    def to_px(x, y):
        fx = (np.asarray(x, float) - xlim[0]) / max(xlim[1] - xlim[0], 1e-9)
        fy = (np.asarray(y, float) - ylim[0]) / max(ylim[1] - ylim[0], 1e-9)
        return (l + fx * (_W - l - r)).astype(int), (_H - b - np.clip(fy, 0, 1.02) * (_H - t - b)).astype(int)

    for k in range(5):
        xv = xlim[0] + k * (xlim[1] - xlim[0]) / 4
        yv = ylim[0] + k * (ylim[1] - ylim[0]) / 4
        px, _ = to_px(xv, ylim[0])
        _, py = to_px(xlim[0], yv)
        cv2.putText(img, f"{xv:.0f}", (int(px) - 12, _H - b + 15), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1)
        cv2.putText(img, f"{yv:.2f}", (5, int(py) + 4), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1)
        cv2.line(img, (l, int(py)), (_W - r, int(py)), (225, 225, 225), 1)
    return img, to_px


def write_report(summary: EvalSummary, path: str | Path, title: str = "track eval") -> Path:
    """Write the PNG report; returns its path.

    Raises:
        InputError: the file cannot be written.
    """
    fr = [f for f in summary.frames if f.depth_mm is not None]
    depths = np.array([f.depth_mm for f in fr]) if fr else np.array([0.0, 1.0])
    xlim = (float(np.floor(depths.min() / 50) * 50), float(np.ceil(depths.max() / 50) * 50 + 1e-6))
    panels = []
    for key, lab, unit in (("trans_err_mm", "translation error", "mm"), ("rot_err_deg", "rotation error", "deg")):
        vals = np.array([getattr(f, key) for f in fr if getattr(f, key) is not None])
        top = float(max(np.percentile(vals, 98) * 1.2, 1e-3)) if vals.size else 1.0
        img, to_px = _axes(f"{lab} vs depth", "board depth (mm)", unit, xlim, (0.0, top))
        for f in fr:
            v = getattr(f, key)
            if v is None:
                x, _ = to_px(f.depth_mm, 0)
                colour = (0, 0, 255) if f.validity == "lost" else (0, 160, 255)
                cv2.drawMarker(img, (int(x), _H - _M[3] - 4), colour, cv2.MARKER_TILTED_CROSS, 7, 1)
            else:
                x, y = to_px(f.depth_mm, v)
                cv2.circle(img, (int(x), int(y)), 3, (160, 90, 0) if f.validity == "ok" else (0, 140, 0), -1,
                           cv2.LINE_AA)
        panels.append(img)
    img, to_px = _axes("detection rate per depth bin", "board depth (mm)", "rate", xlim, (0.0, 1.0))
    edges = np.linspace(xlim[0], xlim[1], 8)
    for a, b in zip(edges[:-1], edges[1:]):
        sel = [f for f in fr if a <= f.depth_mm < b]
        if not sel:
            continue
        rate = sum(f.detected for f in sel) / len(sel)
        x0, y0 = to_px(a, rate)
        x1, y1 = to_px(b, 0)
        cv2.rectangle(img, (int(x0) + 2, int(y0)), (int(x1) - 2, int(y1)), (160, 90, 0), -1)
        cv2.putText(img, f"n={len(sel)}", (int(x0) + 4, int(y0) - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.33, (0, 0, 0), 1)
    panels.append(img)
    body = np.hstack(panels)
    rows: list[list[str]] = []  # each row: one cell per column (a single cell spans the width)
    if summary.n_truth:
        el = summary.eligible()
        rows += [[f"eligible frames {el.n}: detected {100 * el.detection_rate:.1f} %;  gross errors "
                  f"{summary.gross_errors} (accepted > 5 mm or > 3 deg off)"], [""]]
        for title, key in (("condition", "condition"), ("depth (mm)", "band")):
            rows.append([title, "n", "detected", "trans RMSE mm", "rot RMSE deg", "gross"])
            for name, g in summary.by(key).items():
                f = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
                rows.append([name, str(g.n), f"{100 * g.detection_rate:.1f} %", f(g.trans_rmse_mm),
                             f(g.rot_rmse_deg), str(g.gross)])
            rows.append([""])
    reasons = summary.reasons()
    if reasons:
        rows.append(["not ok (validity:reason count):"])
        items = [f"{k} {v}" for k, v in reasons.items()]
        rows += [["  " + ", ".join(items[i:i + 4])] for i in range(0, len(items), 4)]
    if rows:
        cols = (20, 190, 260, 380, 530, 680)
        table = np.full((18 * len(rows) + 20, body.shape[1], 3), 255, np.uint8)
        for i, row in enumerate(rows):
            for x, cell in zip(cols if len(row) > 1 else cols[:1], row):
                cv2.putText(table, cell, (x, 24 + 18 * i), cv2.FONT_HERSHEY_PLAIN, 1.05, (0, 0, 0), 1, cv2.LINE_AA)
        body = np.vstack([body, table])
    head = np.full((60, body.shape[1], 3), 255, np.uint8)
    s = summary
    f = lambda v, d=3: "n/a" if v is None else f"{v:.{d}f}"  # noqa: E731
    line = (f"{title}: n={s.n} detected={s.detected} ({100 * s.detection_rate:.1f}%) uncertain={s.uncertain}  "
            f"trans RMSE {f(s.trans_rmse_mm)} mm (median {f(s.trans_median_mm)})  rot RMSE {f(s.rot_rmse_deg)} deg "
            f"(median {f(s.rot_median_deg)})  {s.fps:.1f} fps")
    cv2.putText(head, line, (10, 25), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    cv2.putText(head, "dots: ok (blue) / occluded (green); crosses on the axis: lost (red) / uncertain (orange)",
                (10, 48), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (80, 80, 80), 1, cv2.LINE_AA)
    return write_report_png(path, np.vstack([head, body]))
