"""Temporal consistency: motion-aware probability smoothing, structure tracking, gate hysteresis.

* Smoothing is an exponential moving average of the class probabilities whose weight falls to
  zero as the inter-frame change grows, so a still scene does not flicker and a moving probe
  gets no lag (an adaptive recursive filter in the spirit of motion-adaptive temporal noise
  reduction, e.g. Dubois & Sabri, IEEE Trans. Commun. 1984).
* Tracking associates each region with the previous frame's region of the same class with the
  greatest bounding-box overlap (intersection over union), else the nearest centroid within a
  radius, giving stable ``track_id``s.
* The confidence gate has hysteresis (a Schmitt trigger): a structure becomes certain at
  ``gate_on`` and stays certain until it falls below ``gate_off``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from vision.segmentation.postprocess import Region
from core.types import Validity


def frame_change(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute grey-level difference of two uint8 images on a 64x64 thumbnail (0..255)."""
    ta = cv2.resize(a, (64, 64), interpolation=cv2.INTER_AREA)
    tb = cv2.resize(b, (64, 64), interpolation=cv2.INTER_AREA)
    return float(cv2.absdiff(ta, tb).mean())


class ProbabilitySmoother:
    """Motion-aware exponential smoothing of ``(C, S, S)`` probabilities.

    Args:
        weight: weight of the previous estimate on a perfectly still scene (0 = off).
        motion_threshold: frame change at and above which no smoothing is applied.
    """

    def __init__(self, weight: float, motion_threshold: float) -> None:
        self.weight = weight
        self.motion_threshold = motion_threshold
        self._prev: np.ndarray | None = None
        self._prev_img: np.ndarray | None = None
        self._key: object = None
        self.last_change = 0.0

    def reset(self) -> None:
        """Forget the previous frame."""
        self._prev = self._prev_img = self._key = None
        self.last_change = 0.0

    def __call__(self, probs: np.ndarray, net_img: np.ndarray, key: object) -> np.ndarray:
        """Smoothed probabilities; ``key`` (the letterbox) changing restarts the filter."""
        if self._prev is None or key != self._key or self.weight <= 0:
            out = probs
            self.last_change = 0.0 if self._prev_img is None or key != self._key else frame_change(net_img, self._prev_img)
        else:
            self.last_change = frame_change(net_img, self._prev_img)
            a = self.weight * max(0.0, 1.0 - self.last_change / self.motion_threshold)
            out = probs if a <= 0 else (1.0 - a) * probs + a * self._prev
        self._prev, self._prev_img, self._key = out, net_img, key
        return out


@dataclass
class _Track:
    track_id: int
    cls: int
    bbox: tuple[int, int, int, int]
    centroid: tuple[float, float]
    certain: bool


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    iw = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    ih = max(0, min(ay + ah, by + bh) - max(ay, by))
    inter = iw * ih
    return inter / float(aw * ah + bw * bh - inter) if inter else 0.0


class Tracker:
    """Assigns track ids and validity (with gate hysteresis) to each frame's regions.

    Args:
        gate_on: confidence at which a new or uncertain structure becomes certain.
        gate_off: confidence below which a certain structure becomes uncertain.
        max_jump: largest centroid move (network pixels) still matched without box overlap.
    """

    def __init__(self, gate_on: float, gate_off: float, max_jump: float = 24.0) -> None:
        self.gate_on, self.gate_off, self.max_jump = gate_on, gate_off, max_jump
        self._tracks: list[_Track] = []
        self._next_id = 0

    def reset(self) -> None:
        """Forget every track (ids restart at 0)."""
        self._tracks = []
        self._next_id = 0

    def update(self, regions: list[Region]) -> list[tuple[Region, int, Validity]]:
        """``(region, track_id, validity)`` for each region of the current frame."""
        prev = list(self._tracks)
        pairs = []
        for ri, r in enumerate(regions):
            for ti, t in enumerate(prev):
                if t.cls != r.cls:
                    continue
                iou = _iou(r.bbox, t.bbox)
                dist = float(np.hypot(r.centroid[0] - t.centroid[0], r.centroid[1] - t.centroid[1]))
                if iou > 0.1 or dist < self.max_jump:
                    pairs.append((iou, -dist, ri, ti))
        pairs.sort(reverse=True)
        match: dict[int, _Track] = {}
        used: set[int] = set()
        for _, _, ri, ti in pairs:
            if ri in match or ti in used:
                continue
            match[ri] = prev[ti]
            used.add(ti)
        out = []
        tracks = []
        for ri, r in enumerate(regions):
            t = match.get(ri)
            if t is None:
                tid, was_certain = self._next_id, False
                self._next_id += 1
            else:
                tid, was_certain = t.track_id, t.certain
            certain = r.confidence >= (self.gate_off if was_certain else self.gate_on)
            tracks.append(_Track(tid, r.cls, r.bbox, r.centroid, certain))
            out.append((r, tid, Validity.OK if certain else Validity.UNCERTAIN))
        self._tracks = tracks
        return out
