"""Distances from the needle tip and its extrapolated path to nerve and vessel contours.

Distances are Euclidean in millimetres: contours and points (image pixels ``(x, y)``) are scaled
by the pixel spacing ``(row, col)`` first, so anisotropic pixels are handled. A point inside a
structure is at distance 0. The path is the segment from the tip to the extrapolated point;
its distance to a polygon is 0 when they intersect, else the smallest point-to-segment
distance between the path's end points and the polygon's edges and vice versa.

Levels (configurable thresholds, ``[needle.proximity]``):

* ``stop``: the tip is within ``stop_mm`` of a nerve or vessel;
* ``caution``: the tip is within ``caution_mm``, or the path ahead passes within ``stop_mm``;
* ``safe``: otherwise;
* ``unknown``: no usable needle, or no segmentation to compare with.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from vision.needle.config import ProximityConfig
from core.types import Structure

CLASSES = ("nerve", "vessel")


def _scale(points_px: np.ndarray, mm_per_px: tuple[float, float]) -> np.ndarray:
    p = np.asarray(points_px, np.float64).reshape(-1, 2)
    return p * np.array([mm_per_px[1], mm_per_px[0]])


def point_polygon_mm(p_px, contour_px: np.ndarray, mm_per_px: tuple[float, float]) -> float:
    """Distance (mm) from a point to a closed polygon; 0 inside."""
    c = _scale(contour_px, mm_per_px).astype(np.float32)
    if len(c) < 3:
        if len(c) == 0:
            return float("inf")
        return float(np.min(np.linalg.norm(c - _scale(p_px, mm_per_px)[0], axis=1)))
    q = _scale(p_px, mm_per_px)[0]
    d = cv2.pointPolygonTest(c.reshape(-1, 1, 2), (float(q[0]), float(q[1])), True)
    return max(0.0, -float(d))


def _segment_to_polygon(a: np.ndarray, b: np.ndarray, c: np.ndarray, e1: np.ndarray, c32: np.ndarray) -> float:
    """Distance (mm) between the segment ``a``-``b`` and the closed polygon ``c`` (all in mm).

    ``e1`` is ``c`` rolled by one vertex (the edges are ``c[i]``-``e1[i]``) and ``c32`` the
    polygon as OpenCV's float32 contour; 0 when they touch or a point is inside.
    """
    for q in (a, b):
        if cv2.pointPolygonTest(c32, (float(q[0]), float(q[1])), False) >= 0:
            return 0.0
    ab = b - a
    # proper or touching intersection of the segment with an edge (orientation signs)
    o1 = ab[0] * (c[:, 1] - a[1]) - ab[1] * (c[:, 0] - a[0])
    o2 = ab[0] * (e1[:, 1] - a[1]) - ab[1] * (e1[:, 0] - a[0])
    ed = e1 - c
    o3 = ed[:, 0] * (a[1] - c[:, 1]) - ed[:, 1] * (a[0] - c[:, 0])
    o4 = ed[:, 0] * (b[1] - c[:, 1]) - ed[:, 1] * (b[0] - c[:, 0])
    if np.any((o1 * o2 <= 0) & (o3 * o4 <= 0)):
        return 0.0
    # end points to edges, and vertices to the segment
    ee = np.maximum(np.einsum("ij,ij->i", ed, ed), 1e-12)
    best = np.inf
    for q in (a, b):
        t = np.clip(((q - c) * ed).sum(axis=1) / ee, 0.0, 1.0)
        best = min(best, float(np.min(np.hypot(c[:, 0] + t * ed[:, 0] - q[0], c[:, 1] + t * ed[:, 1] - q[1]))))
    t = np.clip(((c - a) @ ab) / max(float(ab @ ab), 1e-12), 0.0, 1.0)
    best = min(best, float(np.min(np.hypot(a[0] + t * ab[0] - c[:, 0], a[1] + t * ab[1] - c[:, 1]))))
    return best


def segment_polygon_mm(a_px, b_px, contour_px: np.ndarray, mm_per_px: tuple[float, float]) -> float:
    """Distance (mm) from the segment ``a``-``b`` to a closed polygon; 0 when they touch."""
    c = _scale(contour_px, mm_per_px)
    if len(c) < 2:
        return point_polygon_mm(a_px, contour_px, mm_per_px) if len(c) else float("inf")
    if len(c) == 2:
        c = np.vstack([c, c[:1]])
    a, b = _scale(a_px, mm_per_px)[0], _scale(b_px, mm_per_px)[0]
    return _segment_to_polygon(a, b, c, np.roll(c, -1, axis=0), c.astype(np.float32).reshape(-1, 1, 2))


def structure_distances(tip_px, path_end_px, structures: Iterable[Structure], mm_per_px: tuple[float, float],
                        tip_ahead_px=None) -> tuple[dict[str, float | None], dict[str, float | None]]:
    """Nearest distance per class from the tip and from the path; ``None`` when a class is absent.

    Args:
        tip_ahead_px: when given, the tip distance is measured from the short segment between
            the tip and this point (the tip's localisation margin ahead of it), so an uncertain
            tip errs towards warning early.
    """
    tip_d: dict[str, float | None] = {k: None for k in CLASSES}
    path_d: dict[str, float | None] = {k: None for k in CLASSES}
    tip = _scale(tip_px, mm_per_px)[0]
    ahead = _scale(tip_ahead_px, mm_per_px)[0] if tip_ahead_px is not None else None
    end = _scale(path_end_px, mm_per_px)[0] if path_end_px is not None else None
    for s in structures:
        if s.cls not in tip_d or s.contour_px is None or len(s.contour_px) == 0:
            continue
        if len(s.contour_px) < 3:
            d = point_polygon_mm(tip_px, s.contour_px, mm_per_px)
            dp = d
        else:
            c = _scale(s.contour_px, mm_per_px)
            e1 = np.roll(c, -1, axis=0)
            c32 = c.astype(np.float32).reshape(-1, 1, 2)
            if ahead is None:
                d = max(0.0, -float(cv2.pointPolygonTest(c32, (float(tip[0]), float(tip[1])), True)))
            else:
                d = _segment_to_polygon(tip, ahead, c, e1, c32)
            dp = _segment_to_polygon(tip, end, c, e1, c32) if end is not None else None
        tip_d[s.cls] = d if tip_d[s.cls] is None else min(tip_d[s.cls], d)
        if dp is not None:
            path_d[s.cls] = dp if path_d[s.cls] is None else min(path_d[s.cls], dp)
    return tip_d, path_d


def proximity_level(tip_d: dict[str, float | None], path_d: dict[str, float | None],
                    config: ProximityConfig) -> str:
    """``stop`` / ``caution`` / ``safe`` from the distances (see the module docstring)."""
    tips = [d for d in tip_d.values() if d is not None]
    paths = [d for d in path_d.values() if d is not None]
    if tips and min(tips) <= config.stop_mm:
        return "stop"
    if (tips and min(tips) <= config.caution_mm) or (paths and min(paths) <= config.stop_mm):
        return "caution"
    return "safe"
