"""Measuring a needle shaft in a band (strip) along a line hypothesis.

A line hypothesis (from the full-frame Hough search or from the tracker's prediction) is
resampled into a straightened strip: column ``i`` is the position along the line from where it
enters the imaged field, row ``j`` the signed distance across it (one affine warp, bilinear).
In the strip an in-plane needle is a horizontal bright band, so every step is a cheap 1-D one:

1. Fit: the brightest row of every column (after smoothing along the line) is a noisy sample
   of the shaft's centre; a line through those samples is found by RANSAC (Fischler & Bolles,
   "Random sample consensus", CACM 24(6), 1981) with the tilt limited to ``max_tilt_deg``, and
   refined by weighted least squares on its inliers.
2. Profiles: a second strip along the fitted line gives, per position, the echo on the shaft,
   the echo of two background bands either side (the darker one is the background, so a bright
   structure on one side or the needle's own reverberation tail does not hide the shaft) and
   whether the brightest row stays on the line (a structure that *crosses* the line does not).
3. Extent: the shaft is the run of high-contrast positions that starts where the line enters
   the field (within ``max_entry_gap_mm``) and bridges dropouts up to ``gap_mm``; it must be
   ``min_length_mm`` long, ``min_contrast`` grey levels and ``min_snr`` noise deviations above the
   background, and straight (``max_wobble_px``).
4. Tip: the extent is found again with the threshold raised to 60 % of the median contrast of
   its proximal half (tissue beyond the tip that is merely brighter than its surroundings, such as
   a nerve's honeycomb, is far fainter than a needle), unless the fainter echo runs along the
   line (the shaft across an anechoic lumen) or the echo on the line is as strong as the shaft's
   against its usual background (a bright fascia crossing the shaft, which brightens the bands
   beside it too); after a gap in the echo, the shaft
   continues only when the echo runs on for at least ``gap_mm`` and three times the gap (a
   dropout, not a nerve's rim or septum beyond the tip);
   trailing positions where the local ridge does not run along the line are trimmed (a
   structure the tip touches; the needle's parallel reverberation lines do run along it). The
   tip is where the contrast falls below ``tip_level`` of the shaft's median contrast at that
   end, with sub-pixel interpolation ("the echo ends").

Everything is in image pixels ``(x, y)``; angles and lengths are converted to millimetres with
the pixel spacing, so anisotropic pixels are handled.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from vision.needle.config import NeedleDetectorConfig

_RANSAC_HYPOTHESES = 48
_INLIER_PX = 1.5
_EXTENT_LEVEL = 0.6  # second pass: fraction of the proximal shaft's contrast that is still shaft


@dataclass(frozen=True)
class LineDetection:
    """A needle shaft measured in one frame (pixels are ``(x, y)``, column/row).

    Attributes:
        point: a point on the shaft's line (px).
        direction: unit direction along the shaft towards the tip (downwards: ``dy >= 0``).
        entry_px: where the line enters the imaged field.
        tip_px: where the echo ends.
        angle_deg: shaft angle below the image horizontal, in millimetre space.
        length_mm: shaft length from the entry to the tip.
        support: positions along the shaft where its echo was found.
        strength: the same as ``contrast`` (kept for callers of the first version).
        contrast: median echo on the shaft minus the darker background beside it (grey levels).
        snr: ``contrast`` over the noise deviation of the background bands.
        wobble_px: RMS distance of the echo centre from the fitted line.
        score: evidence for the shaft (sum of its contrast along its length).
    """

    point: np.ndarray
    direction: np.ndarray
    entry_px: tuple[float, float]
    tip_px: tuple[float, float]
    angle_deg: float
    length_mm: float
    support: int
    strength: float
    contrast: float = 0.0
    snr: float = 0.0
    wobble_px: float = 0.0
    score: float = 0.0


def angle_below_horizontal(u: np.ndarray, mm_per_px: tuple[float, float]) -> float:
    """Angle (degrees, 0..90) of the pixel direction ``u`` below the horizontal, in mm space."""
    sy, sx = mm_per_px
    return math.degrees(math.atan2(abs(float(u[1])) * sy, abs(float(u[0])) * sx))


def downward(u: np.ndarray) -> np.ndarray:
    """``u`` normalised and flipped to point into the depth (``dy >= 0``)."""
    u = np.asarray(u, np.float64)
    u = u / max(float(np.hypot(u[0], u[1])), 1e-12)
    if u[1] < 0 or (u[1] == 0 and u[0] < 0):
        u = -u
    return u


def clip_to_field(p: np.ndarray, u: np.ndarray, w: int, h: int, top: float) -> tuple[float, float] | None:
    """Parameters ``(t_in, t_out)`` where the line ``p + t u`` enters and leaves the field.

    The field is ``0 <= x <= w - 1``, ``top <= y <= h - 1`` (the near field above ``top`` is
    excluded). Liang & Barsky, "A new concept and method for line clipping", ACM TOG 3(1), 1984.
    """
    t0, t1 = -np.inf, np.inf
    for k, lo, hi in ((0, 0.0, w - 1.0), (1, float(top), h - 1.0)):
        if abs(u[k]) < 1e-12:
            if not (lo <= p[k] <= hi):
                return None
            continue
        a, b = (lo - p[k]) / u[k], (hi - p[k]) / u[k]
        t0, t1 = max(t0, min(a, b)), min(t1, max(a, b))
    if not (np.isfinite(t0) and np.isfinite(t1)) or t1 - t0 < 2.0:
        return None
    return float(t0), float(t1)


def _warp(image: np.ndarray, c0: np.ndarray, u: np.ndarray, half: int, length: int) -> np.ndarray:
    """Strip of ``2 half + 1`` rows and ``length`` columns: column ``i`` at ``c0 + i u``, row ``j``
    at ``(j - half)`` px along the normal ``n = (-u_y, u_x)``."""
    n = np.array([-u[1], u[0]])
    o = c0 - half * n
    M = np.array([[u[0], n[0], o[0]], [u[1], n[1], o[1]]], np.float64)
    return cv2.warpAffine(image, M, (length, 2 * half + 1), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REPLICATE)


def _column_peaks(s: np.ndarray, centre: int, half: int) -> tuple[np.ndarray, np.ndarray]:
    """Sub-pixel row offset (from ``centre``) and value of each column's maximum within ``+-half``."""
    band = s[centre - half - 1:centre + half + 2]  # one row either side for the parabola
    k = np.argmax(band[1:-1], axis=0) + 1
    cols = np.arange(band.shape[1])
    v0, vm, vp = band[k, cols], band[k - 1, cols], band[k + 1, cols]
    den = vm - 2.0 * v0 + vp
    ok = den < -1e-6
    frac = np.zeros(k.size, np.float64)
    frac[ok] = np.clip(0.5 * (vm[ok] - vp[ok]) / den[ok], -0.5, 0.5)
    return k - (half + 1) + frac, v0


def _ransac_line(i: np.ndarray, off: np.ndarray, w: np.ndarray, max_slope: float,
                 rng: np.random.Generator) -> tuple[float, float] | None:
    """Robust line ``off = a + b i`` through weighted points, ``|b| <= max_slope``."""
    if i.size < 4:
        return None
    n = i.size
    idx = rng.integers(0, n, size=(_RANSAC_HYPOTHESES, 2))
    i1, i2 = i[idx[:, 0]], i[idx[:, 1]]
    di = i2 - i1
    ok = np.abs(di) >= 3.0
    if not ok.any():
        return None
    b = np.where(ok, (off[idx[:, 1]] - off[idx[:, 0]]) / np.where(ok, di, 1.0), 0.0)
    ok &= np.abs(b) <= max_slope
    # always also try the hypothesis itself (no tilt, no offset): it is usually close
    a = np.concatenate([off[idx[ok, 0]] - b[ok] * i1[ok], [0.0]])
    b = np.concatenate([b[ok], [0.0]])
    res = np.abs(off[None, :] - (a[:, None] + b[:, None] * i[None, :]))
    score = ((res <= _INLIER_PX) * w[None, :]).sum(axis=1)
    best = int(np.argmax(score))
    a0, b0 = float(a[best]), float(b[best])
    for _ in range(2):  # weighted least squares on the inliers
        inl = np.abs(off - (a0 + b0 * i)) <= _INLIER_PX
        if inl.sum() < 3:
            return None
        fit = _wls(i[inl], off[inl], w[inl])
        if fit is None:
            return None
        a0, b0 = fit[0], float(np.clip(fit[1], -max_slope, max_slope))
    return a0, b0


def _wls(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[float, float] | None:
    """Weighted least-squares line ``y = a + b x`` (closed form)."""
    sw = float(w.sum())
    if sw <= 0:
        return None
    mx, my = float(w @ x) / sw, float(w @ y) / sw
    dx = x - mx
    sxx = float(w @ (dx * dx))
    if sxx <= 1e-9:
        return None
    b = float(w @ (dx * (y - my))) / sxx
    return my - b * mx, b


def _along_line(strip: np.ndarray, centre: int, tol_deg: float) -> np.ndarray:
    """Per column: does a bright ridge on the centre row run along the strip (within ``tol_deg``)?

    The Hessian of the lightly smoothed strip gives the local ridge direction (the eigenvector
    of the larger eigenvalue; Frangi et al., MICCAI 1998). The shaft and its reverberation lines
    are parallel to the strip; a nerve's rim, a septum or a fascia that crosses the line beyond
    the tip is not, so the shaft's echo is not extended onto it.
    """
    band = cv2.GaussianBlur(strip[centre - 4:centre + 5], (0, 0), sigmaX=1.5, sigmaY=1.2)
    sxx = cv2.Sobel(band, cv2.CV_32F, 2, 0, ksize=3)[4]
    syy = cv2.Sobel(band, cv2.CV_32F, 0, 2, ksize=3)[4]
    sxy = cv2.Sobel(band, cv2.CV_32F, 1, 1, ksize=3)[4]
    phi = 0.5 * np.degrees(np.arctan2(2.0 * sxy, sxx - syy))
    return (np.abs(phi) <= tol_deg) & (syy < 0)


def _extent(good: np.ndarray, tip_gap: int, gap: int, max_start: float) -> tuple[int, int] | None:
    """First and last index of the shaft: the piece that starts within ``max_start`` of the entry,
    continued across interruptions of at most ``gap`` samples by pieces at least ``gap`` and
    three times the interruption long (pieces are split at interruptions over ``tip_gap``)."""
    pieces = _runs(good, tip_gap)
    if not pieces or pieces[0][0] > max_start:
        return None
    i0, i1 = pieces[0]
    for a, b in pieces[1:]:
        g = a - i1 - 1
        if g > gap or (b - a + 1) < max(gap, 3 * g):
            break
        i1 = b
    return i0, i1


def _lag_noise(x: np.ndarray, lag: int = 6) -> float:
    """Robust noise deviation of a profile: MAD of differences ``lag`` samples apart (past the
    smoothing's correlation length), so slow structure does not count as noise."""
    if x.size <= lag + 2:
        return float("inf")
    d = np.abs(x[lag:] - x[:-lag])  # differences of a stationary profile have zero median
    m = d.size // 2
    return 1.4826 * float(np.partition(d, m)[m]) / math.sqrt(2.0)


def _runs(good: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """Runs ``(first, last)`` of True indices, bridging gaps of up to ``gap`` False entries."""
    idx = np.flatnonzero(good)
    if idx.size == 0:
        return []
    br = np.flatnonzero(np.diff(idx) > gap + 1)
    starts = np.concatenate([[idx[0]], idx[br + 1]])
    ends = np.concatenate([idx[br], [idx[-1]]])
    return list(zip(starts.tolist(), ends.tolist()))


def measure_shaft(image: np.ndarray, point: np.ndarray, direction: np.ndarray, mm_per_px: tuple[float, float],
                  config: NeedleDetectorConfig, search_px: int | None = None,
                  rng: np.random.Generator | None = None) -> LineDetection | None:
    """Find and measure the shaft near the line ``point + t direction``; ``None`` when there is none.

    Args:
        image: ``HxW`` float32 B-mode image.
        point, direction: the line hypothesis (px); the direction's sign is ignored.
        mm_per_px: pixel spacing ``(row, col)``.
        config: thresholds (``[needle.detector]``).
        search_px: how far across the hypothesis the shaft may lie (default ``strip_half_px``).
        rng: randomness of the RANSAC fit (seeded per call when not given: repeatable).
    """
    cfg = config
    h, w = image.shape
    sy, sx = float(mm_per_px[0]), float(mm_per_px[1])
    top = cfg.skin_mm / sy
    search = int(search_px if search_px is not None else cfg.strip_half_px)
    b0, b1 = cfg.background_px
    u = downward(direction)
    p = np.asarray(point, np.float64)
    clip = clip_to_field(p, u, w, h, top)
    if clip is None:
        return None
    mm_along = math.hypot(u[0] * sx, u[1] * sy)
    if (clip[1] - clip[0]) * mm_along < cfg.min_length_mm:
        return None
    # 1. fit the shaft's centre line in a band around the hypothesis
    c0 = p + clip[0] * u
    length = int(clip[1] - clip[0]) + 1
    s = _warp(image, c0, u, search + 1, length)
    sa = cv2.GaussianBlur(s, (0, 0), sigmaX=2.0, sigmaY=0.8)
    off, val = _column_peaks(sa, search + 1, search)
    cc = val - sa[1:-1].mean(axis=0)
    keep = cc > 0
    cols = np.flatnonzero(keep).astype(np.float64)
    rng = rng or np.random.default_rng(0)
    fit = _ransac_line(cols, off[keep], cc[keep], math.tan(math.radians(cfg.max_tilt_deg)), rng)
    if fit is None:
        return None
    a, b = fit
    n = np.array([-u[1], u[0]])
    p2 = c0 + a * n
    u2 = downward(u + b * n)
    ang = angle_below_horizontal(u2, (sy, sx))
    if not (cfg.min_angle_deg <= ang <= cfg.max_angle_deg):
        return None
    clip2 = clip_to_field(p2, u2, w, h, top)
    if clip2 is None:
        return None
    # 2. profiles along the fitted line
    mm_along = math.hypot(u2[0] * sx, u2[1] * sy)
    c2 = p2 + clip2[0] * u2
    length = int(clip2[1] - clip2[0]) + 1
    s2 = _warp(image, c2, u2, b1, length)
    k = cfg.shaft_half_px
    sa = cv2.GaussianBlur(s2, (0, 0), sigmaX=2.0, sigmaY=0.7)
    on = sa[b1 - k:b1 + k + 1].mean(axis=0)
    up = sa[b1 - b1:b1 - b0 + 1].mean(axis=0)
    dn = sa[b1 + b0:b1 + b1 + 1].mean(axis=0)
    bg = np.minimum(up, dn)
    c = on - bg
    noise = min(_lag_noise(up), _lag_noise(dn))
    thr = max(cfg.min_contrast, cfg.min_snr * noise)
    off2, _ = _column_peaks(sa, b1, 2)
    good = c >= thr
    # 3. the shaft starts at the entry; where its echo is interrupted (by more than tip_gap_mm),
    # it continues only when the echo resumes within gap_mm and then runs on for at least gap_mm
    # and three times the gap (a dropout along the shaft), not for a short piece (the bright
    # rim or septa of a nerve, a vessel wall beyond the tip)
    tip_gap = max(int(round(cfg.tip_gap_mm / mm_along)), 1)
    gap = max(int(round(cfg.gap_mm / mm_along)), tip_gap)
    span = _extent(good, tip_gap, gap, cfg.max_entry_gap_mm / mm_along)
    if span is None:
        return None
    # second pass against the shaft's own echo: beyond the tip, tissue that is merely brighter
    # than its surroundings (a nerve's honeycomb) is far fainter than the shaft; a fainter echo
    # still counts where it runs along the line (the shaft across an anechoic lumen)
    along = _along_line(s2, b1, cfg.orientation_tol_deg)
    prox = slice(span[0], span[0] + (span[1] - span[0]) // 2 + 1)  # proximal half: no overshoot
    ref = float(np.median(c[prox]))
    level = max(thr, _EXTENT_LEVEL * ref)
    # where a bright structure crosses the shaft, the bands beside it are bright too: the echo on
    # the line against the shaft's usual background still says shaft
    crossing = (on - float(np.median(bg[prox]))) >= level
    good = (c >= level) | (good & along) | crossing
    span = _extent(good, tip_gap, gap, cfg.max_entry_gap_mm / mm_along)
    if span is None:
        return None
    i0, i1 = span
    # where the echo at the end does not run along the line, a structure crossing the line
    # continues it (a nerve's rim touched by the tip): the shaft ends where the echo last ran
    # along the line (the needle's parallel reverberation lines do run along it)
    last = np.flatnonzero(along[i0:i1 + 1] & good[i0:i1 + 1])
    if last.size == 0:
        return None
    i1 = i0 + int(last[-1])
    if (i1 - i0) * mm_along < cfg.min_length_mm:
        return None
    seg = slice(i0, i1 + 1)
    support = int(good[seg].sum())
    if support < 0.5 * (i1 - i0 + 1):
        return None
    contrast = float(np.median(c[seg]))
    if contrast < thr:
        return None
    # straightness and the final line through the shaft's echo centre
    cols = np.flatnonzero(good[seg]) + i0
    wts = np.maximum(c[cols], 1e-3).astype(np.float64)
    sol = _wls(cols.astype(np.float64), off2[cols], wts)
    if sol is None:
        return None
    wobble = float(np.sqrt(np.average((off2[cols] - (sol[0] + sol[1] * cols)) ** 2, weights=wts)))
    if wobble > cfg.max_wobble_px:
        return None
    n2 = np.array([-u2[1], u2[0]])
    p3 = c2 + sol[0] * n2
    u3 = downward(u2 + sol[1] * n2)
    # 4. tip: the contrast (less smoothed along the line) falls below tip_level of the shaft's
    sb = cv2.GaussianBlur(s2, (0, 0), sigmaX=1.0, sigmaY=0.7)
    cb = sb[b1 - k:b1 + k + 1].mean(axis=0) - np.minimum(sb[0:b1 - b0 + 1].mean(axis=0),
                                                           sb[b1 + b0:].mean(axis=0))
    level = cfg.tip_level * contrast
    lo, hi = max(i1 - 4, i0), min(i1 + 4, cb.size - 2)
    t_tip = float(i1)
    for j in range(hi, lo - 1, -1):
        if cb[j] >= level > cb[j + 1]:
            t_tip = j + (cb[j] - level) / max(cb[j] - cb[j + 1], 1e-6)
            break
    s_tip = float((c2 + t_tip * u2 - p3) @ u3)
    tip = p3 + s_tip * u3
    s_in = float((c2 - p3) @ u3)
    entry = p3 + s_in * u3
    mm3 = math.hypot(u3[0] * sx, u3[1] * sy)
    length_mm = (s_tip - s_in) * mm3
    return LineDetection(point=p3, direction=u3, entry_px=(float(entry[0]), float(entry[1])),
                         tip_px=(float(tip[0]), float(tip[1])), angle_deg=angle_below_horizontal(u3, (sy, sx)),
                         length_mm=float(length_mm), support=support, strength=contrast, contrast=contrast,
                         snr=contrast / max(noise, 1e-6), wobble_px=wobble,
                         score=float(np.clip(c[seg], 0, None).sum() * mm_along))
