"""Coverage of a camera calibration: where in the image the corners were, how the board was tilted.

Intrinsics are only as good as the views behind them: the distortion model extrapolates badly
into image regions no corner reached, and the focal length and principal point are tied
together unless the board was tilted about both axes (Zhang 2000, section 3: views related by a
pure translation add no constraint). This module measures both and writes the advice an
engineer follows ("add views with the board in the top-left corner", "tilt the board more about
its vertical axis"), and draws the coverage map and the distortion field for the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import cv2
import numpy as np

CELL_NAMES = (("top-left corner", "top edge", "top-right corner"),
              ("left edge", "centre", "right edge"),
              ("bottom-left corner", "bottom edge", "bottom-right corner"))
"""The 3x3 cells of the image, row by row."""


@dataclass(frozen=True)
class CoverageLimits:
    """When coverage is good enough.

    Attributes:
        min_corners_per_cell: corners (over all used views) each 3x3 image cell needs.
        min_views_per_cell: views that put corners into each cell.
        tilt_deg: a view counts as tilted about an axis when the board normal leans this far.
        min_tilted_views: views tilted about each axis (either way) needed.
    """

    min_corners_per_cell: int = 20
    min_views_per_cell: int = 2
    tilt_deg: float = 20.0
    min_tilted_views: int = 3


@dataclass
class Coverage:
    """Coverage figures and the advice derived from them.

    Attributes:
        corners_per_cell: 3x3 corner counts.
        views_per_cell: 3x3 counts of views with a corner in the cell.
        tilts_deg: per view ``(about x, about y)``: the board normal's lean up/down and left/right.
        covered: 3x3, the cells with enough corners from enough views.
        advice: what to add, one line each (empty when coverage is good).
    """

    corners_per_cell: np.ndarray
    views_per_cell: np.ndarray
    tilts_deg: np.ndarray
    covered: np.ndarray
    advice: list[str] = field(default_factory=list)

    @property
    def good(self) -> bool:
        """No advice left."""
        return not self.advice

    @property
    def cells_covered(self) -> int:
        """How many of the 9 cells are covered (enough corners from enough views)."""
        return int(np.sum(self.covered))


def board_tilt_deg(rvec: np.ndarray) -> tuple[float, float]:
    """Lean of the board normal away from the optical axis: about the camera x and y axes, degrees."""
    R, _ = cv2.Rodrigues(np.asarray(rvec, np.float64).reshape(3, 1))
    n = R[:, 2]
    if n[2] < 0:
        n = -n
    return float(np.degrees(np.arctan2(n[1], n[2]))), float(np.degrees(np.arctan2(n[0], n[2])))


def measure_coverage(corner_sets: Sequence[np.ndarray], rvecs: Sequence[np.ndarray], size: tuple[int, int],
                     limits: CoverageLimits = CoverageLimits()) -> Coverage:
    """Coverage of the used views and the advice lines.

    Args:
        corner_sets: per used view, its ``(N, 2)`` corner positions in px.
        rvecs: per used view, the board rotation (Rodrigues vector) from the calibration.
        size: image ``(width, height)``.
        limits: what counts as covered.
    """
    w, h = size
    cpc = np.zeros((3, 3), int)
    vpc = np.zeros((3, 3), int)
    for c in corner_sets:
        c = np.asarray(c, float).reshape(-1, 2)
        if not len(c):
            continue
        col = np.clip((c[:, 0] / w * 3).astype(int), 0, 2)
        row = np.clip((c[:, 1] / h * 3).astype(int), 0, 2)
        seen = np.zeros((3, 3), bool)
        np.add.at(cpc, (row, col), 1)
        seen[row, col] = True
        vpc += seen
    tilts = np.array([board_tilt_deg(r) for r in rvecs]).reshape(-1, 2)
    advice = []
    covered = (cpc >= limits.min_corners_per_cell) & (vpc >= limits.min_views_per_cell)
    for r in range(3):
        for c in range(3):
            if not covered[r, c]:
                advice.append(f"add views with the board in the {CELL_NAMES[r][c]} of the image "
                              f"({cpc[r, c]} corners from {vpc[r, c]} views so far)")
    names = ("its horizontal axis (top edge towards or away from you)", "its vertical axis (left edge towards or "
             "away from you)")
    for k in range(2):
        n = int(np.sum(np.abs(tilts[:, k]) >= limits.tilt_deg)) if len(tilts) else 0
        if n < limits.min_tilted_views:
            advice.append(f"add views tilted more about {names[k]}, {limits.tilt_deg:.0f}-45 degrees "
                          f"({n} of {limits.min_tilted_views} so far)")
    return Coverage(cpc, vpc, tilts, covered, advice)


def coverage_map(corner_sets: Sequence[np.ndarray], size: tuple[int, int], cov: Coverage,
                 scale: float = 0.5) -> np.ndarray:
    """The image with the corner density as a heat map, the 3x3 cells and their corner counts."""
    w, h = int(size[0] * scale), int(size[1] * scale)
    acc = np.zeros((h, w), np.float32)
    for c in corner_sets:
        for x, y in np.asarray(c, float).reshape(-1, 2) * scale:
            if 0 <= x < w and 0 <= y < h:
                acc[int(y), int(x)] += 1.0
    acc = cv2.GaussianBlur(acc, (0, 0), max(w, h) / 60.0)
    acc = (255 * acc / max(float(acc.max()), 1e-9)).astype(np.uint8)
    img = cv2.applyColorMap(acc, cv2.COLORMAP_VIRIDIS)
    for k in (1, 2):
        cv2.line(img, (k * w // 3, 0), (k * w // 3, h), (255, 255, 255), 1)
        cv2.line(img, (0, k * h // 3), (w, k * h // 3), (255, 255, 255), 1)
    for r in range(3):
        for c in range(3):
            col = (255, 255, 255) if cov.covered[r, c] else (60, 60, 255)
            cv2.putText(img, str(int(cov.corners_per_cell[r, c])), (c * w // 3 + 8, r * h // 3 + 24),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.7, col, 2, cv2.LINE_AA)
    return img


def distortion_field_image(K: np.ndarray, dist: np.ndarray, size: tuple[int, int], step: int = 80) -> tuple[np.ndarray, float]:
    """Arrows from where an ideal pinhole puts each grid point to where the lens puts it.

    Returns the drawing and the largest displacement in px.
    """
    w, h = size
    img = np.full((h, w, 3), 255, np.uint8)
    xs, ys = np.meshgrid(np.arange(step / 2, w, step), np.arange(step / 2, h, step))
    ideal = np.column_stack([xs.ravel(), ys.ravel()])
    norm = np.column_stack([(ideal - K[:2, 2]) / np.diag(K)[:2], np.ones(len(ideal))])
    real, _ = cv2.projectPoints(norm, np.zeros(3), np.zeros(3), K, np.asarray(dist, np.float64))
    real = real.reshape(-1, 2)
    mag = np.linalg.norm(real - ideal, axis=1)
    top = max(float(mag.max()), 1e-9)
    for p, q, m in zip(ideal, real, mag):
        colour = tuple(int(v) for v in cv2.applyColorMap(np.uint8([[int(255 * m / top)]]), cv2.COLORMAP_JET)[0, 0])
        cv2.arrowedLine(img, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), colour, 2, cv2.LINE_AA, tipLength=0.25)
    cv2.rectangle(img, (0, 0), (w - 1, h - 1), (0, 0, 0), 2)
    cv2.putText(img, f"max {top:.0f} px", (10, h - 15), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 2, cv2.LINE_AA)
    return img, top
