"""Single-frame in-plane needle detection in a B-mode image (the full-frame search).

1. Hypotheses: lines along which a bright echo runs from where they enter the imaged field
   (:mod:`vision.needle.entry`), plus any lines the caller predicts (the tracker's tracks).
2. Measurement: each hypothesis is measured at full resolution in a band along it
   (:mod:`vision.needle.strip`): the shaft's centre line is fitted, the shaft must run from
   where the line enters the imaged field (an in-plane needle is visible from the skin or the
   image edge down to its tip; fascia, bone and vessel walls mostly lie inside the image), be
   straight, long and bright enough, and the tip is where the echo ends.
3. Candidates measured from different hypotheses that converge on the same shaft are merged.

The tracker (:mod:`vision.needle.needle_tracker`) decides which candidate is the needle: the one that
advances relative to the anatomy.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from vision.needle.config import NeedleConfig
from vision.needle.entry import EntrySearch
from vision.needle.strip import LineDetection, measure_shaft

__all__ = ["LineDetection", "detect_needle", "search_frame", "same_line"]


def same_line(a: LineDetection, b: LineDetection, angle_deg: float = 2.0, dist_px: float = 3.0) -> bool:
    """True when two detections lie on (nearly) the same line."""
    ua, ub = np.asarray(a.direction), np.asarray(b.direction)
    if abs(float(ua @ ub)) < math.cos(math.radians(angle_deg)):
        return False
    na = np.array([-ua[1], ua[0]])
    return abs(float((np.asarray(b.tip_px) - np.asarray(a.point)) @ na)) <= dist_px and abs(
        float((np.asarray(b.entry_px) - np.asarray(a.point)) @ na)) <= dist_px


def search_frame(image: np.ndarray, full: np.ndarray, mm_per_px: tuple[float, float], config: NeedleConfig,
                 entry: EntrySearch, lines: list[tuple[np.ndarray, np.ndarray]] | None = None,
                 skip: list[tuple[np.ndarray, np.ndarray]] | None = None,
                 rng: np.random.Generator | None = None, n_lines: int = 6) -> list[LineDetection]:
    """Every needle-like shaft of a frame, strongest first.

    Args:
        image: ``HxW`` uint8 frame; ``full``: the same as float32.
        mm_per_px: pixel spacing ``(row, col)``.
        config: ``[needle]``: ``detector`` measures the lines, ``tracker``'s gates decide which
            entering lines ``skip`` passes over.
        entry: the entry-line search (holds its cached sampling grid).
        n_lines: how many of the best entering lines are measured.
        lines: extra hypotheses ``(point, direction)`` in px, measured first (predicted tracks).
        skip: lines not to measure again (static anatomy already known): an entry hypothesis
            within ``tracker.gate_angle_deg`` and ``tracker.gate_px`` of one is passed over.
        rng: randomness of the line fits (repeatable when not given).
    """
    rng = rng or np.random.default_rng(0)
    hyps = [(np.asarray(p, float), np.asarray(u, float)) for p, u in (lines or [])]
    gates = config.tracker
    cos_gate = math.cos(math.radians(gates.gate_angle_deg))
    n_entry = 0
    for p, u, _ in entry.hypotheses(image, mm_per_px, config.detector, keep=n_lines + len(skip or ())):
        if skip and any(abs(float(u @ u2)) >= cos_gate
                        and abs(float((p - p2) @ np.array([-u2[1], u2[0]]))) <= gates.gate_px for p2, u2 in skip):
            continue
        hyps.append((p, u))
        n_entry += 1
        if n_entry >= n_lines:
            break
    found: list[LineDetection] = []
    for p, u in hyps:
        d = measure_shaft(full, p, u, mm_per_px, config.detector, rng=rng)
        if d is None:
            continue
        dup = next((k for k, e in enumerate(found) if same_line(e, d)), None)
        if dup is None:
            found.append(d)
        elif d.score > found[dup].score:
            found[dup] = d
    found.sort(key=lambda d: -d.score)
    return found


def detect_needle(image: np.ndarray, mm_per_px: tuple[float, float], config: NeedleConfig,
                  prior: tuple[np.ndarray, np.ndarray] | None = None,
                  rng: np.random.Generator | None = None,
                  exclude: list[tuple[np.ndarray, np.ndarray]] | None = None) -> LineDetection | None:
    """The strongest needle-like shaft in one ``HxW`` B-mode image; ``None`` when there is none.

    A single frame cannot tell a needle from a straight fascia that starts at the image edge;
    :class:`vision.needle.needle_tracker.NeedleTracker` can (the needle advances).

    Args:
        image: ``HxW`` uint8 (or ``HxWx3``) ultrasound image.
        mm_per_px: pixel spacing ``(row, col)``.
        config: ``[needle]`` (see :func:`search_frame`).
        prior: a predicted line ``(point, unit direction)``, measured as a hypothesis first.
        rng: randomness of the line fits (repeatable when not given).
        exclude: lines ``(point, unit direction)`` known not to be the needle.
    """
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    found = search_frame(image, image.astype(np.float32), mm_per_px, config, EntrySearch(),
                         lines=[prior] if prior is not None else None, skip=exclude, rng=rng)
    return found[0] if found else None
