"""Distances from the needle tip and its extrapolated path to nerve and vessel contours.

Distances are Euclidean in millimetres: contours and points (image pixels ``(x, y)``) are scaled
by the pixel spacing ``(row, col)`` first, so anisotropic pixels are handled. A point inside a
structure is at distance 0. The path is the segment from the tip to the extrapolated point;
its distance to a polygon is 0 when they intersect, else the smallest point-to-segment
distance between the path's end points and the polygon's edges and vice versa.

Levels (configurable thresholds, ``NeedleConfig``):

* ``stop``: the tip is within ``stop_mm`` of a nerve or vessel;
* ``caution``: the tip is within ``caution_mm``, or the path ahead passes within ``stop_mm``;
* ``safe``: otherwise;
* ``unknown``: no usable needle, or no segmentation to compare with.
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from vision.needle.config import NeedleConfig
from vision.types import Structure

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


def _point_segments(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    ab = b - a
    t = np.clip(np.einsum("ij,ij->i", p - a, ab) / np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-12), 0, 1)
    return np.linalg.norm(a + t[:, None] * ab - p, axis=1)


def segment_polygon_mm(a_px, b_px, contour_px: np.ndarray, mm_per_px: tuple[float, float]) -> float:
    """Distance (mm) from the segment ``a``-``b`` to a closed polygon; 0 when they touch."""
    if point_polygon_mm(a_px, contour_px, mm_per_px) == 0.0 or point_polygon_mm(b_px, contour_px, mm_per_px) == 0.0:
        return 0.0
    c = _scale(contour_px, mm_per_px)
    if len(c) < 2:
        return point_polygon_mm(a_px, contour_px, mm_per_px)
    a, b = _scale(a_px, mm_per_px)[0], _scale(b_px, mm_per_px)[0]
    e0, e1 = c, np.roll(c, -1, axis=0)
    # proper intersection test (orientation signs)
    def orient(p, q, r):
        return (q[..., 0] - p[..., 0]) * (r[..., 1] - p[..., 1]) - (q[..., 1] - p[..., 1]) * (r[..., 0] - p[..., 0])
    o1, o2 = orient(a, b, e0), orient(a, b, e1)
    o3, o4 = orient(e0, e1, a[None]), orient(e0, e1, b[None])
    if np.any((o1 * o2 <= 0) & (o3 * o4 <= 0)):
        return 0.0
    d1 = _point_segments(np.repeat(a[None], len(e0), 0), e0, e1).min()
    d2 = _point_segments(np.repeat(b[None], len(e0), 0), e0, e1).min()
    ab = np.repeat(a[None], len(c), 0), np.repeat(b[None], len(c), 0)
    d3 = _point_segments(c, ab[0], ab[1]).min()
    return float(min(d1, d2, d3))


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
    for s in structures:
        if s.cls not in tip_d or s.contour_px is None or len(s.contour_px) == 0:
            continue
        d = (point_polygon_mm(tip_px, s.contour_px, mm_per_px) if tip_ahead_px is None
             else segment_polygon_mm(tip_px, tip_ahead_px, s.contour_px, mm_per_px))
        tip_d[s.cls] = d if tip_d[s.cls] is None else min(tip_d[s.cls], d)
        if path_end_px is not None:
            dp = segment_polygon_mm(tip_px, path_end_px, s.contour_px, mm_per_px)
            path_d[s.cls] = dp if path_d[s.cls] is None else min(path_d[s.cls], dp)
    return tip_d, path_d


def proximity_level(tip_d: dict[str, float | None], path_d: dict[str, float | None], config: NeedleConfig) -> str:
    """``stop`` / ``caution`` / ``safe`` from the distances (see the module docstring)."""
    tips = [d for d in tip_d.values() if d is not None]
    paths = [d for d in path_d.values() if d is not None]
    if tips and min(tips) <= config.stop_mm:
        return "stop"
    if (tips and min(tips) <= config.caution_mm) or (paths and min(paths) <= config.stop_mm):
        return "caution"
    return "safe"
