"""Single-frame in-plane needle detection in a B-mode image.

1. Ridge filtering: the shaft of an in-plane needle is a bright, thin, straight specular echo.
   The Hessian of the Gaussian-smoothed image (scale ``ridge_sigma_px``) has a strongly
   negative eigenvalue across such a ridge and one near zero along it (Frangi et al.,
   "Multiscale vessel enhancement filtering", MICCAI 1998); the response
   ``sigma^2 (-lambda_2 - |lambda_1|)`` keeps lines and suppresses blobs, and the eigenvector of
   ``lambda_1`` gives the ridge direction. The bright near field (``skin_mm``) is ignored.
2. Line hypotheses: the Hough transform of all ridge pixels (Duda & Hart, "Use of the Hough
   transformation to detect lines and curves in pictures", CACM 15(1), 1972), which collects a
   long faint shaft's evidence, RANSAC pairs (Fischler & Bolles, "Random sample consensus",
   CACM 24(6), 1981) among the strongest ridge pixels, and the tracker's predicted line. A
   pixel supports a line when it lies within ``inlier_px`` of it *and* its own ridge direction
   agrees; the angle is limited to the range an in-plane needle can have.
3. Shaft: the best few distinct lines are refined by weighted total least squares (in a band
   that narrows to ``inlier_px``). The supporting pixels are split where the echo is
   interrupted for more than ``gap_mm``; the shaft is the run that starts where the line enters
   the image (within ``max_entry_gap_mm``): an in-plane needle is visible from the skin or the
   image edge down to its tip, while fascia, bone and vessel walls mostly lie inside the image.
   Lines the tracker has found to be static anatomy are skipped.
4. Tip: walking along the line while the ridge stays on it, then where the echo profile (a
   3-pixel band) falls below ``tip_level`` between the background beside the shaft and the
   shaft's median (the needle tip is "where the echo ends").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from vision.needle.config import NeedleConfig


@dataclass(frozen=True)
class LineDetection:
    """A needle shaft found in one frame (pixels are ``(x, y)``, column/row).

    Attributes:
        point: a point on the shaft's line.
        direction: unit direction along the shaft towards the tip (downwards: ``dy >= 0``).
        entry_px: where the visible shaft begins (on the image border when it enters there).
        tip_px: where the echo ends.
        angle_deg: shaft angle below the image horizontal, in millimetre space.
        length_mm: visible shaft length.
        support: supporting ridge pixels.
        strength: mean ridge response of the support.
        contrast: median echo on the shaft minus the background beside it (grey levels).
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


def ridge_filter(image: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bright-ridge response and the ridge's unit direction per pixel.

    Returns:
        ``(response, dir_x, dir_y)``, float32 ``HxW`` each.
    """
    img = image.astype(np.float32)
    g = cv2.GaussianBlur(img, (0, 0), sigma)
    ixx = cv2.Sobel(g, cv2.CV_32F, 2, 0, ksize=3)
    iyy = cv2.Sobel(g, cv2.CV_32F, 0, 2, ksize=3)
    ixy = cv2.Sobel(g, cv2.CV_32F, 1, 1, ksize=3)
    half_tr = 0.5 * (ixx + iyy)
    disc = np.sqrt(0.25 * (ixx - iyy) ** 2 + ixy ** 2)
    l1 = half_tr + disc  # larger (along a bright ridge: ~0)
    l2 = half_tr - disc  # smaller (across a bright ridge: strongly negative)
    resp = np.maximum(-l2 - np.abs(l1), 0.0) * np.float32(sigma * sigma)
    # eigenvector of l1: angle phi with tan(2 phi) = 2 ixy / (ixx - iyy)
    phi = 0.5 * np.arctan2(2.0 * ixy, ixx - iyy)
    return resp, np.cos(phi).astype(np.float32), np.sin(phi).astype(np.float32)


def _angle_below_horizontal(dx: float, dy: float, sx: float, sy: float) -> float:
    return math.degrees(math.atan2(abs(dy) * sy, abs(dx) * sx))


def _fit_line(xy: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted total-least-squares line: centroid and unit direction."""
    c = np.average(xy, axis=0, weights=w)
    d = xy - c
    C = (d * w[:, None]).T @ d
    evals, evecs = np.linalg.eigh(C)
    u = evecs[:, 1]
    if u[1] < 0 or (u[1] == 0 and u[0] < 0):
        u = -u
    return c, u


def _border_intersection(p: np.ndarray, u: np.ndarray, w: int, h: int) -> np.ndarray:
    """Point where the line ``p + s u`` (going backwards, s < 0) leaves the image rectangle."""
    best = -np.inf
    for k, lim in ((0, 0.0), (0, w - 1.0), (1, 0.0), (1, h - 1.0)):
        if abs(u[k]) < 1e-9:
            continue
        s = (lim - p[k]) / u[k]
        if s <= 0:
            q = p + s * u
            if -0.5 <= q[0] <= w - 0.5 and -0.5 <= q[1] <= h - 0.5:
                best = max(best, s)
    return p + (best if np.isfinite(best) else 0.0) * u


def detect_needle(image: np.ndarray, mm_per_px: tuple[float, float], config: NeedleConfig,
                  prior: tuple[np.ndarray, np.ndarray] | None = None,
                  rng: np.random.Generator | None = None,
                  exclude: list[tuple[np.ndarray, np.ndarray]] | None = None) -> LineDetection | None:
    """Find the needle shaft in one ``HxW`` B-mode image; ``None`` when there is none.

    Args:
        image: ``HxW`` uint8 (or ``HxWx3``) ultrasound image.
        mm_per_px: pixel spacing ``(row, col)``.
        config: detector parameters.
        prior: predicted line ``(point, unit direction)``, tried as a hypothesis first.
        exclude: lines ``(point, unit direction)`` known not to be the needle (static shaft-like
            anatomy); a shaft within 3 degrees and ``exclude_px`` of one is skipped.
        rng: randomness of RANSAC (seeded per call when not given, so results are repeatable).
    """
    if image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    h, w = image.shape
    sy, sx = float(mm_per_px[0]), float(mm_per_px[1])
    cfg = config
    rng = rng or np.random.default_rng(0)
    resp, ux, uy = ridge_filter(image, cfg.ridge_sigma_px)
    m = 3  # ignore the filter's border
    resp[:m], resp[-m:], resp[:, :m], resp[:, -m:] = 0, 0, 0, 0
    # ignore the bright, textured near field under the transducer (skin and coupling layer)
    resp[: int(round(cfg.skin_mm / sy))] = 0
    peak = float(resp.max())
    if peak < cfg.ridge_min:
        return None
    thr = max(cfg.ridge_min, cfg.ridge_rel * peak)
    ang = np.degrees(np.arctan2(np.abs(uy) * sy, np.abs(ux) * sx))
    cand = (resp >= thr) & (ang >= cfg.min_angle_deg - cfg.orientation_tol_deg) & (
        ang <= cfg.max_angle_deg + cfg.orientation_tol_deg)
    ys, xs = np.nonzero(cand)
    if xs.size < 4:
        return None
    r = resp[ys, xs]
    xy = np.column_stack([xs, ys]).astype(np.float64)
    dirs = np.column_stack([ux[ys, xs], uy[ys, xs]]).astype(np.float64)
    cos_tol = math.cos(math.radians(cfg.orientation_tol_deg))
    cands = _Candidates(xy, dirs, r, cos_tol)

    hyps: list[tuple[np.ndarray, np.ndarray]] = []
    if prior is not None:
        hyps.append((np.asarray(prior[0], float), np.asarray(prior[1], float)))
    # Hough transform of all candidates: collinear evidence over the whole length, so a long
    # but faint shaft among brighter short speckle and fascia still gets a hypothesis
    binary = np.zeros((h, w), np.uint8)
    binary[ys, xs] = 255
    min_votes = max(int(cfg.min_length_mm / max(sx, sy) * 0.6), 10)
    lines = cv2.HoughLines(binary, 1.0, np.pi / 180.0, min_votes)
    hough: list[tuple[np.ndarray, np.ndarray]] = []
    if lines is not None:
        for rho, theta in lines[:, 0]:
            nrm = np.array([math.cos(theta), math.sin(theta)])
            u = np.array([-nrm[1], nrm[0]])
            if u[1] < 0:
                u = -u
            if cfg.min_angle_deg <= _angle_below_horizontal(u[0], u[1], sx, sy) <= cfg.max_angle_deg:
                hough.append((nrm * rho, u))
            if len(hough) >= cfg.hough_lines:
                break
    # RANSAC pairs among the strongest candidates
    strong = np.argsort(-r)[: cfg.max_candidates]
    xy_s, dirs_s, r_s = xy[strong], dirs[strong], r[strong]
    prob = np.sqrt(r[strong])
    prob /= prob.sum()
    pairs = strong[rng.choice(strong.size, size=(cfg.ransac_iterations, 2), p=prob)]
    for i, j in pairs:
        d = xy[j] - xy[i]
        L = math.hypot(d[0], d[1])
        if L < 3.0:
            continue
        u = d / L
        if u[1] < 0:
            u = -u
        hyps.append((xy[i], u))
    scored = []
    for p, u in hyps[1:] if prior is not None else hyps:
        a = _angle_below_horizontal(u[0], u[1], sx, sy)
        if not (cfg.min_angle_deg <= a <= cfg.max_angle_deg):
            continue
        # score on the strongest candidates only (cheap); the full set is used in _shaft
        n_ = np.array([-u[1], u[0]])
        ok_ = (np.abs((xy_s - p) @ n_) <= cfg.inlier_px) & (np.abs(dirs_s @ u) >= cos_tol)
        scored.append((float(r_s[ok_].sum()), p, u))
    scored.sort(key=lambda x: -x[0])
    # the prior, the strongest Hough lines and the best-scored samples are checked in full:
    # refined, and the shaft must run from where the line enters the image (a needle is
    # visible from the skin or the image edge down to its tip; fascia, bone and vessel walls
    # lie inside the image)
    order = hyps[:1] if prior is not None else []
    order += hough + [(p, u) for _, p, u in scored]
    tried: list[tuple[np.ndarray, np.ndarray]] = []
    best = None
    for p, u in order:
        if any(abs(float(u @ u2)) > math.cos(math.radians(3.0)) and abs(float((p - p2) @ np.array([-u2[1], u2[0]]))) < 4.0
               for p2, u2 in tried):
            continue
        tried.append((p, u))
        if len(tried) > cfg.max_hypotheses:
            break
        cand = _shaft(p, u, cands, w, h, sx, sy, cfg)
        if cand is not None and exclude and _near_any(cand[1], cand[2], exclude, cfg.exclude_px):
            continue
        if cand is not None and (best is None or cand[0] > best[0]):
            best = cand
    if best is None:
        return None
    _, p, u, t0, t1, n_run, strength = best
    a = _angle_below_horizontal(u[0], u[1], sx, sy)
    mm_along = math.hypot(u[0] * sx, u[1] * sy)
    t_tip, contrast = _refine_tip(image, (resp, ux, uy), p, u, t0, t1, cfg, mm_along)
    if contrast < cfg.min_contrast:
        return None
    # the shaft was required to start near where its line enters the image: that is the entry
    entry = _border_intersection(p + t0 * u, u, w, h)
    tip = p + t_tip * u
    length_mm = (t_tip - float((entry - p) @ u)) * mm_along
    return LineDetection(point=p, direction=u, entry_px=(float(entry[0]), float(entry[1])),
                         tip_px=(float(tip[0]), float(tip[1])), angle_deg=a, length_mm=float(length_mm),
                         support=n_run, strength=strength, contrast=contrast)


def _near_any(p: np.ndarray, u: np.ndarray, lines: list[tuple[np.ndarray, np.ndarray]], dist_px: float) -> bool:
    """True when the line ``(p, u)`` lies within 3 degrees and ``dist_px`` of one of ``lines``."""
    for p2, u2 in lines:
        n2 = np.array([-u2[1], u2[0]])
        if abs(float(u @ u2)) > math.cos(math.radians(3.0)) and abs(float((p - p2) @ n2)) < dist_px:
            return True
    return False


@dataclass(frozen=True)
class _Candidates:
    """Ridge pixels: positions ``(N, 2)``, unit ridge directions ``(N, 2)``, responses ``(N,)``."""

    xy: np.ndarray
    dirs: np.ndarray
    r: np.ndarray
    cos_tol: float

    def support(self, p: np.ndarray, u: np.ndarray, band: float) -> np.ndarray:
        """Pixels within ``band`` of the line ``p + s u`` whose ridge runs along it."""
        n = np.array([-u[1], u[0]])
        return (np.abs((self.xy - p) @ n) <= band) & (np.abs(self.dirs @ u) >= self.cos_tol)

    def subset(self, mask: np.ndarray) -> "_Candidates":
        """The candidates selected by ``mask``."""
        return _Candidates(self.xy[mask], self.dirs[mask], self.r[mask], self.cos_tol)


def _shaft(p, u, cands: _Candidates, w, h, sx, sy, cfg: NeedleConfig):
    """Refine one line hypothesis and find its shaft; ``None`` when it is not a needle.

    The fit starts in a wide band (a hypothesis a few degrees off still collects the whole
    shaft) and narrows to ``inlier_px``; after a first pass over all candidates only those
    near the line are examined.
    """
    near = cands.subset(cands.support(p, u, 4.0 * cfg.inlier_px))
    xy, r = near.xy, near.r

    def support(p, u, band=cfg.inlier_px):
        return near.support(p, u, band)

    for band in (2.5 * cfg.inlier_px, 1.5 * cfg.inlier_px, cfg.inlier_px):
        s = support(p, u, band)
        if s.sum() < 3:
            return None
        p, u = _fit_line(xy[s], r[s])
    a = _angle_below_horizontal(u[0], u[1], sx, sy)
    if not (cfg.min_angle_deg <= a <= cfg.max_angle_deg):
        return None
    s = support(p, u)
    mm_along = math.hypot(u[0] * sx, u[1] * sy)  # mm per pixel step along u
    order = np.argsort((xy[s] - p) @ u)
    t = ((xy[s] - p) @ u)[order]
    rs = r[s][order]
    t_border = float((_border_intersection(p, u, w, h) - p) @ u)
    gap_px = max(cfg.gap_mm / mm_along, 2.0)
    breaks = np.flatnonzero(np.diff(t) > gap_px)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [t.size - 1]])
    # the run that begins nearest the entry (within max_entry_gap_mm of it)
    k = 0
    if (t[starts[k]] - t_border) * mm_along > cfg.max_entry_gap_mm:
        return None
    t0, t1 = float(t[starts[k]]), float(t[ends[k]])
    n_run = int(ends[k] - starts[k] + 1)
    length_mm = (t1 - t0) * mm_along
    if length_mm < cfg.min_length_mm or n_run < cfg.min_support * length_mm:
        return None
    score = float(rs[starts[k]:ends[k] + 1].sum())
    return score, p, u, t0, t1, n_run, float(rs[starts[k]:ends[k] + 1].mean())


def _refine_tip(image: np.ndarray, ridge: tuple[np.ndarray, np.ndarray, np.ndarray], p: np.ndarray, u: np.ndarray,
                t0: float, t1: float, cfg: NeedleConfig, mm_along: float) -> tuple[float, float]:
    """Position along the line (``t``, px) where the shaft's echo ends, sub-pixel, and the contrast.

    Walks along the line from the start of the shaft while the ridge stays *on the line*: ridge
    response above half the shaft's median with its direction aligned to the line (so a
    curved bright wall that the needle touches does not extend the shaft), tolerating gaps of
    ``tip_gap_mm``; then the tip is placed where the echo intensity along the line crosses
    ``tip_level`` between the background beside the shaft and the shaft's median echo.
    """
    resp, ux, uy = ridge
    step = 0.5
    ts = np.arange(t0, t1 + 60.0, step)
    n = np.array([-u[1], u[0]])
    line = p[None, :] + ts[:, None] * u[None, :]
    lx, ly = line[:, 0:1].astype(np.float32), line[:, 1:2].astype(np.float32)
    valid = ((line[:, 0] >= 0) & (line[:, 0] <= image.shape[1] - 1) & (line[:, 1] >= 0)
             & (line[:, 1] <= image.shape[0] - 1))
    rr = cv2.remap(resp, lx, ly, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0).ravel()
    dx = cv2.remap(ux, lx, ly, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0).ravel()
    dy = cv2.remap(uy, lx, ly, cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0).ravel()
    aligned = np.abs(dx * u[0] + dy * u[1]) >= math.cos(math.radians(cfg.orientation_tol_deg))
    on_line = rr * aligned * valid
    inside = (ts <= t1) & valid
    if inside.sum() < 3:
        return t1, 0.0
    med = float(np.median(on_line[inside]))
    good = on_line >= max(0.5 * med, cfg.ridge_min)
    gap = max(int(round(cfg.tip_gap_mm / (mm_along * step))), 2)  # samples
    last = int(np.searchsorted(ts, t1))
    last = min(max(last, 0), len(ts) - 1)
    i = 0
    end = 0
    while i < len(ts):
        if good[i]:
            end = i
        elif i - end > gap and i > last:
            break
        i += 1
    t_ridge = float(ts[end])
    # intensity crossing near the ridge end
    smooth = cv2.GaussianBlur(image.astype(np.float32), (0, 0), 1.0)
    band = []
    for off in (-1.0, 0.0, 1.0):
        q = line + off * n[None, :]
        band.append(cv2.remap(smooth, q[:, 0:1].astype(np.float32), q[:, 1:2].astype(np.float32), cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE).ravel())
    prof = np.mean(band, axis=0)
    side = []
    for off in (-8.0, 8.0):
        q = line + off * n[None, :]
        side.append(cv2.remap(smooth, q[:, 0:1].astype(np.float32), q[:, 1:2].astype(np.float32), cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE).ravel())
    shaft = float(np.median(prof[inside]))
    bg = float(np.median(np.minimum(side[0], side[1])[inside]))
    if shaft - bg < 5.0:
        return t_ridge, shaft - bg
    level = bg + cfg.tip_level * (shaft - bg)
    j = end
    lo, hi = max(int(end - 3 / step), 0), min(int(end + 3 / step), len(ts) - 2)
    # the last crossing from above to below the level within +-3 px of the ridge end
    cross = [k for k in range(lo, hi + 1) if prof[k] >= level > prof[k + 1]]
    if cross:
        j = cross[-1]
        f = (prof[j] - level) / max(prof[j] - prof[j + 1], 1e-6)
        return float(ts[j] + f * step), shaft - bg
    return t_ridge, shaft - bg
