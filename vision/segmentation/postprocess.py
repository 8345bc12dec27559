"""From class probabilities to structures: connected regions, confidence, simplified contours.

Regions are the connected components (8-connectivity) of the arg-max label map; each region's
confidence is its mean class probability, and a region below ``min_confidence`` is not reported
at all (too unsure to show). Its outline is the zero level of the class margin (its probability
minus the best other class), bilinearly interpolated to a quarter of a network pixel inside the
region's box, traced by Suzuki & Abe's border following ("Topological structural analysis of
digitized binary images by border following", CVGIP 1985; ``cv2.findContours``) and simplified
by the Douglas-Peucker algorithm (Cartographica 10(2), 1973; ``cv2.approxPolyDP``), so a region's
outline never has holes. The sub-pixel outline moves continuously with the probabilities, where
a pixel outline jumps by a whole network pixel (1.5-3 frame pixels) when one boundary pixel
changes class: on a still scene that jump is most of the flicker of a small structure. The label image
applies the same rules and fills each region's holes (nerves and vessels are simply connected
in cross-section: an enclosed background island is a segmentation error, e.g. a hypoechoic
fascicle or an anechoic lumen the network left out; Soille, "Morphological Image Analysis",
2003, ch. 6, hole filling by reconstruction from the border).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

CLASS_NAMES = {1: "nerve", 2: "vessel"}


@dataclass(frozen=True)
class Region:
    """One connected region in network pixels (before mapping to the frame).

    Attributes:
        cls: class id (1 nerve, 2 vessel).
        contour: ``(N, 2)`` float32 polygon ``(x, y)``, network pixels.
        confidence: mean probability of ``cls`` inside the region.
        area: pixel count, network pixels.
        bbox: ``(x, y, w, h)`` network pixels.
        centroid: ``(x, y)`` network pixels.
    """

    cls: int
    contour: np.ndarray
    confidence: float
    area: float
    bbox: tuple[int, int, int, int]
    centroid: tuple[float, float]


def regions(probs: np.ndarray, content_wh: tuple[int, int], min_area: float, epsilon: float,
            max_per_class: int, min_confidence: float = 0.0) -> list[Region]:
    """Regions of each foreground class in ``probs`` ``(C, S, S)``, restricted to the content area.

    Args:
        probs: softmax probabilities.
        content_wh: width and height of the part of the input that holds the image.
        min_area: smallest region kept, network pixels.
        epsilon: Douglas-Peucker tolerance, network pixels.
        max_per_class: at most this many regions per class, largest first.
        min_confidence: regions whose mean probability is below this are dropped.
    """
    cw, ch = content_wh
    p = probs[:, :ch, :cw]
    labels = p.argmax(0).astype(np.uint8)
    out: list[Region] = []
    for cls in CLASS_NAMES:
        mask = (labels == cls).astype(np.uint8)
        n, cc, stats, cents = cv2.connectedComponentsWithStats(mask, connectivity=8)
        if n <= 1:
            continue
        sums = np.bincount(cc.ravel(), weights=p[cls].ravel(), minlength=n)
        order = 1 + np.argsort(-stats[1:, cv2.CC_STAT_AREA])
        kept = 0
        for i in order:
            area = float(stats[i, cv2.CC_STAT_AREA])
            if area < min_area or kept >= max_per_class:
                break
            confidence = float(sums[i] / area)
            if confidence < min_confidence:
                continue
            x, y, w, h = (int(v) for v in stats[i, :4])
            poly = _subpixel_outline(p, cc, i, cls, (x, y, w, h), epsilon)
            if poly is None:
                continue
            out.append(Region(cls, poly, confidence, area, (x, y, w, h),
                              (float(cents[i][0]), float(cents[i][1]))))
            kept += 1
    return out


SUBPIXEL = 4
"""Outline resolution: a quarter of a network pixel."""


def _subpixel_outline(p: np.ndarray, cc: np.ndarray, index: int, cls: int, bbox: tuple[int, int, int, int],
                      epsilon: float) -> np.ndarray | None:
    """Outline of component ``index`` of class ``cls``: the zero level of the class margin,
    interpolated to 1/SUBPIXEL network pixel, ``(N, 2)`` float32 in network pixels (pixel centres
    at integers, as ``cv2.findContours`` reports them)."""
    x, y, w, h = bbox
    hh, ww = cc.shape
    x0, y0, x1, y1 = max(0, x - 2), max(0, y - 2), min(ww, x + w + 2), min(hh, y + h + 2)
    crop = p[:, y0:y1, x0:x1]
    margin = crop[cls] - np.delete(crop, cls, axis=0).max(0)
    # only this component and a one-pixel rim (a neighbour of the same class stays outside)
    own = cv2.dilate((cc[y0:y1, x0:x1] == index).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    margin = np.where(own, margin, -1.0).astype(np.float32)
    up = cv2.resize(margin, ((x1 - x0) * SUBPIXEL, (y1 - y0) * SUBPIXEL), interpolation=cv2.INTER_LINEAR)
    cs, _ = cv2.findContours((up > 0).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not cs:
        return None
    c = max(cs, key=cv2.contourArea)
    if epsilon > 0 and len(c) > 3:
        c = cv2.approxPolyDP(c, epsilon * SUBPIXEL, True)
    # up-sampled pixel u covers source coordinate (u + 0.5) / SUBPIXEL - 0.5
    poly = (c.reshape(-1, 2).astype(np.float32) + 0.5) / SUBPIXEL - 0.5
    return poly + np.array([x0, y0], np.float32)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """``mask`` (bool or 0/1) with every background island not connected to the image border
    (4-connectivity of the background) set; returns a bool array."""
    m = mask.astype(bool)
    if not m.any():
        return m
    pad = np.pad(~m, 1, constant_values=True).astype(np.uint8)
    n, cc = cv2.connectedComponents(pad, connectivity=4)
    outside = cc == cc[0, 0]
    return ~outside[1:-1, 1:-1]


def label_image(probs: np.ndarray, min_area: float, min_confidence: float = 0.0, holes: bool = True,
                max_per_class: int = 64) -> np.ndarray:
    """Class-id image (uint8) from probabilities ``(C, H, W)`` by the rules of :func:`regions`:
    arg-max, connected regions of at least ``min_area`` pixels and ``min_confidence`` mean
    probability (at most ``max_per_class`` per class, largest first), each region's holes filled
    (``holes``) where they are background."""
    labels = probs.argmax(0).astype(np.uint8)
    keeps: dict[int, np.ndarray] = {}
    for cls in CLASS_NAMES:
        mask = (labels == cls).astype(np.uint8)
        n, cc, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        if n <= 1:
            keeps[cls] = np.zeros(labels.shape, bool)
            continue
        area = stats[:, cv2.CC_STAT_AREA].astype(np.float64)
        conf = np.bincount(cc.ravel(), weights=probs[cls].ravel(), minlength=n) / np.maximum(area, 1.0)
        ok = (area >= min_area) & (conf >= min_confidence)
        ok[0] = False
        if ok.sum() > max_per_class:
            ranked = np.argsort(-np.where(ok, area, -1.0))
            ok[:] = False
            ok[ranked[:max_per_class]] = True
        keeps[cls] = ok[cc]
    out = np.zeros_like(labels)
    for cls, keep in keeps.items():
        if holes:
            others = [k for c, k in keeps.items() if c != cls]
            keep = fill_holes(keep) & ~np.logical_or.reduce(others) if others else fill_holes(keep)
        out[keep] = cls
    return out


def clean_labels(labels: np.ndarray, min_area: float) -> np.ndarray:
    """Remove connected regions smaller than ``min_area`` pixels from a class-id image (in place)."""
    for cls in CLASS_NAMES:
        mask = (labels == cls).astype(np.uint8)
        n, cc, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        small = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] < min_area)
        small = small[small > 0]
        if len(small):
            labels[np.isin(cc, small)] = 0
    return labels
