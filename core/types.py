"""Data types shared by every vision stage.

Every result that could be shown to a clinician carries a :class:`Validity` so that
an absent, unsure or old result is *data*, never a silently missing or silently old value
(DESIGN.md, "Validity is data").
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np


class Validity(str, enum.Enum):
    """Status of a pose, detection or overlay element.

    The string values travel on the wire unchanged (see ``ar_bridge/PROTOCOL.md``).
    """

    OK = "ok"
    """Measured now and trusted."""
    UNCERTAIN = "uncertain"
    """Measured now but below the confidence gate: draw as uncertain, never as certain."""
    OCCLUDED = "occluded"
    """Partly visible (for example some marker faces hidden); usable with care."""
    LOST = "lost"
    """Not found in the current data."""
    STALE = "stale"
    """Last known value is older than its validity limit: must not be shown as current."""


@dataclass(frozen=True)
class Frame:
    """One captured image from any source (ultrasound or camera).

    Attributes:
        image: ``HxW`` uint8 grayscale or ``HxWx3`` uint8 BGR image.
        t_capture_ns: the core clock (:func:`core.clock.now_ns`: monotonic, reads like wall time) at capture of the source data.
        seq: per-source frame counter, +1 per frame.
        source: short source name (``"phantom"``, ``"video:foo.mp4"``, ...).
        mm_per_px: pixel spacing (row, col) in millimetres for ultrasound images, else ``None``.
        truth: optional ground truth attached by synthetic sources (phantom, renderer).
    """

    image: np.ndarray
    t_capture_ns: int
    seq: int
    source: str
    mm_per_px: tuple[float, float] | None = None
    truth: dict | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Structure:
    """One segmented anatomical structure (a connected region of one class).

    Attributes:
        cls: class name, ``"nerve"`` or ``"vessel"``.
        contour_px: ``(N, 2)`` float32 closed polygon, ``(x, y)`` in *frame* image pixels.
        confidence: mean foreground probability inside the region, 0..1.
        area_px: region area in frame pixels.
        validity: ``Validity.OK`` (draw as certain) or ``Validity.UNCERTAIN`` (below the gate).
        track_id: stable id across frames for the same structure (-1 if untracked).
    """

    cls: str
    contour_px: np.ndarray
    confidence: float
    area_px: float
    validity: Validity
    track_id: int = -1


@dataclass(frozen=True)
class SegmentationResult:
    """Output of one segmentation call on one frame.

    Attributes:
        structures: every structure found, certain and uncertain.
        labels: ``HxW`` uint8 label image at frame resolution (0 background, 1 nerve,
            2 vessel), or ``None`` when not requested.
        quality: image-quality score 0..1 (is the view adequate, are the expected
            structures visible).
        quality_flags: short reasons that lowered the quality (``"no_nerve"``, ``"dark"``...).
        t_capture_ns: capture time of the frame this result belongs to.
    """

    structures: tuple[Structure, ...]
    labels: np.ndarray | None
    quality: float
    quality_flags: tuple[str, ...]
    t_capture_ns: int
