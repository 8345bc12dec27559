"""PNG report of a needle evaluation: error histograms, proximity confusion, update time."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from research.needle.evaluate import LEVELS, NeedleEvalSummary
from research.report_png import write_report_png


def _hist(values: np.ndarray, top: float, title: str, unit: str, limit: float) -> np.ndarray:
    img = np.full((300, 460, 3), 255, np.uint8)
    cv2.putText(img, title, (10, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    x0, y0, x1, y1 = 40, 40, 440, 260
    cv2.rectangle(img, (x0, y0), (x1, y1), (0, 0, 0), 1)
    if values.size:
        bins = np.linspace(0, top, 21)
        h, _ = np.histogram(np.clip(values, 0, top - 1e-9), bins)
        hmax = max(h.max(), 1)
        bw = (x1 - x0) / 20
        for i, c in enumerate(h):
            cv2.rectangle(img, (int(x0 + i * bw) + 1, int(y1 - c / hmax * (y1 - y0))), (int(x0 + (i + 1) * bw) - 1, y1),
                          (160, 90, 0), -1)
        xl = int(x0 + min(limit / top, 1.0) * (x1 - x0))
        cv2.line(img, (xl, y0), (xl, y1), (0, 0, 255), 1)
        cv2.putText(img, f"target {limit:g} {unit}", (xl + 3, y0 + 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 255), 1)
    for k in range(5):
        v = top * k / 4
        cv2.putText(img, f"{v:.1f}", (int(x0 + k * (x1 - x0) / 4) - 8, y1 + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.35,
                    (0, 0, 0), 1)
    cv2.putText(img, unit, (x1 - 30, y1 + 32), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    return img


def write_needle_report(s: NeedleEvalSummary, path: str | Path) -> Path:
    """Write the PNG report; returns its path.

    Raises:
        InputError: the file cannot be written.
    """
    st = s.stats()
    te, ae = np.asarray(s.tip_errors_mm), np.asarray(s.angle_errors_deg)
    a = _hist(te, 3.0, f"tip error, {te.size} ok frames (values > 3 mm in the last bin)", "mm", 1.0)
    b = _hist(ae, 5.0, "angle error (values > 5 deg in the last bin)", "deg", 2.0)
    c = np.full((300, 460, 3), 255, np.uint8)
    cv2.putText(c, "proximity: true level (rows) vs reported (cols)", (10, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                (0, 0, 0), 1, cv2.LINE_AA)
    for j, lv in enumerate(LEVELS):
        cv2.putText(c, lv, (150 + 90 * j, 50), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)
        cv2.putText(c, lv, (20, 80 + 35 * j), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)
        for k, lv2 in enumerate(LEVELS):
            v = s.confusion.get(lv, {}).get(lv2, 0)
            colour = (0, 120, 0) if lv == lv2 else (0, 0, 200) if v else (120, 120, 120)
            cv2.putText(c, str(v), (150 + 90 * k, 80 + 35 * j), cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1)
    y = 190
    for line in (f"agreement {100 * st['proximity_agreement']:.1f} % of {st['proximity_frames']} frames",
                 f"'safe' while truly 'stop': {st['safe_when_stop']} frames",
                 f"reached stop: {st['approaches_reaching_stop']}/{st['approaches_confirmable']} "
                 "approaches seen advancing",
                 f"false alarms {st['false_alarms']}/{st['frames_without_needle']} frames without needle"):
        cv2.putText(c, line, (20, y), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1)
        y += 24
    wall = np.asarray(s.wall_ms)
    d = _hist(wall, 20.0, f"update wall time, p50 {st['update_wall_p50_ms']} p99 {st['update_wall_p99_ms']} ms", "ms",
              5.0)
    body = np.hstack([a, b, c, d])
    head = np.full((40, body.shape[1], 3), 255, np.uint8)
    cv2.putText(head, (f"needle eval: {st['sequences']} sequences, detected {st['detected']}/{st['frames_with_tip']}, "
                       f"tip median {st['tip_median_mm']} RMSE {st['tip_rmse_mm']} p95 {st['tip_p95_mm']} mm, angle "
                       f"median {st['angle_median_deg']} RMSE {st['angle_rmse_deg']} p95 {st['angle_p95_deg']} deg"),
                (10, 26), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return write_report_png(path, np.vstack([head, body]))
