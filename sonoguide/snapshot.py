"""``snapshot``: the current ultrasound frame with its overlay drawn, as PNG plus JSON."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np

from ar_bridge.messages import OverlayMessage
from core.types import Frame

COLOURS_BGR = {"nerve": (0, 215, 255), "vessel": (60, 60, 230)}
"""Nerve yellow, vessel red (BGR), as drawn on snapshots."""
PROXIMITY_BGR = {"safe": (80, 200, 80), "caution": (0, 190, 255), "stop": (40, 40, 255), "unknown": (200, 200, 200)}


def draw_overlay(image: np.ndarray, overlay: OverlayMessage) -> np.ndarray:
    """BGR picture of ``image`` with the overlay's contours and needle (uncertain: dashed look, thin)."""
    out = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image.copy()
    for s in overlay.structures:
        pts = np.round(np.asarray(s.contour_px)).astype(np.int32).reshape(-1, 1, 2)
        colour = COLOURS_BGR.get(s.cls, (255, 255, 255))
        if s.validity == "ok":
            cv2.polylines(out, [pts], True, colour, 2, cv2.LINE_AA)
        else:  # uncertain: every other segment only, never drawn as certain
            for i in range(0, len(pts) - 1, 2):
                cv2.line(out, tuple(pts[i, 0]), tuple(pts[i + 1, 0]), colour, 1, cv2.LINE_AA)
    n = overlay.needle
    if n is not None and n.tip_px is not None:
        colour = PROXIMITY_BGR.get(n.proximity, (255, 255, 255))
        if n.entry_px is not None:
            cv2.line(out, tuple(int(round(v)) for v in n.entry_px), tuple(int(round(v)) for v in n.tip_px),
                     colour, 2, cv2.LINE_AA)
        if n.trajectory_px is not None:
            a, b = np.asarray(n.trajectory_px)[:2]
            cv2.line(out, tuple(int(round(v)) for v in a), tuple(int(round(v)) for v in b), colour, 1, cv2.LINE_AA)
        cv2.circle(out, tuple(int(round(v)) for v in n.tip_px), 4, colour, -1, cv2.LINE_AA)
    label = "FROZEN" if overlay.frozen else time.strftime("%H:%M:%S", time.localtime(overlay.t_capture_ns / 1e9))
    cv2.putText(out, label, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def write_snapshot(directory: Path, frame: Frame, overlay: OverlayMessage) -> Path:
    """Write ``snap-<time>-<seq>.png`` and its ``.json`` overlay body; returns the PNG path."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / f"snap-{time.strftime('%Y%m%d-%H%M%S', time.localtime(frame.t_capture_ns / 1e9))}-{frame.seq:06d}"
    png = stem.with_suffix(".png")
    if not cv2.imwrite(str(png), draw_overlay(frame.image, overlay)):
        raise OSError(5, "PNG encoder failed")
    body, _ = overlay.to_body()
    stem.with_suffix(".json").write_text(json.dumps({"t_capture_ns": frame.t_capture_ns, "overlay": body},
                                                    indent=1) + "\n", encoding="utf-8")
    return png
