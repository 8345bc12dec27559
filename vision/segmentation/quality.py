"""Image-quality score of an ultrasound view: is the image usable, are the expected structures seen.

The score multiplies an image term (brightness and contrast inside the image area, in the
spirit of no-reference B-mode quality indices, e.g. the mean/contrast checks of
Abdi et al., "Automatic Quality Assessment of Echocardiograms", IEEE TMI 2017) with a content
term from the segmentation (a certain nerve matters most; a vessel is a landmark).
"""

from __future__ import annotations

import numpy as np

from core.types import Structure, Validity

DARK_MEAN = 18.0
BRIGHT_MEAN = 190.0
LOW_CONTRAST_STD = 10.0
SATURATED_FRACTION = 0.25


def image_term(net_img: np.ndarray, content_wh: tuple[int, int]) -> tuple[float, list[str]]:
    """Score 0..1 and flags (``dark``, ``bright``, ``saturated``, ``low_contrast``) of the image area."""
    cw, ch = content_wh
    roi = net_img[:ch, :cw]
    mean = float(roi.mean())
    std = float(roi.std())
    sat = float((roi >= 250).mean())
    flags = []
    score = 1.0
    if mean < DARK_MEAN:
        flags.append("dark")
        score *= max(0.0, mean / DARK_MEAN)
    if mean > BRIGHT_MEAN:
        flags.append("bright")
        score *= max(0.0, (255.0 - mean) / (255.0 - BRIGHT_MEAN))
    if sat > SATURATED_FRACTION:
        flags.append("saturated")
        score *= max(0.0, 1.0 - (sat - SATURATED_FRACTION) / (1.0 - SATURATED_FRACTION))
    if std < LOW_CONTRAST_STD:
        flags.append("low_contrast")
        score *= std / LOW_CONTRAST_STD
    return float(np.clip(score, 0.0, 1.0)), flags


def quality(img_score: float, img_flags: list[str], structures: tuple[Structure, ...],
            moving: bool) -> tuple[float, tuple[str, ...]]:
    """Overall quality 0..1 and its flags.

    ``quality = image_term * (0.2 + 0.6 * best certain nerve confidence + 0.2 * best certain
    vessel confidence)``; flags name what lowered it (``no_nerve``, ``no_vessel``,
    ``uncertain`` when any structure is below the gate, ``moving`` while the probe moves).
    """
    flags = list(img_flags)
    best = {"nerve": 0.0, "vessel": 0.0}
    for s in structures:
        if s.validity is Validity.OK:
            best[s.cls] = max(best[s.cls], s.confidence)
    if best["nerve"] == 0.0:
        flags.append("no_nerve")
    if best["vessel"] == 0.0:
        flags.append("no_vessel")
    if any(s.validity is not Validity.OK for s in structures):
        flags.append("uncertain")
    if moving:
        flags.append("moving")
    q = img_score * (0.2 + 0.6 * best["nerve"] + 0.2 * best["vessel"])
    return float(np.clip(q, 0.0, 1.0)), tuple(flags)
