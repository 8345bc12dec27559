"""Ultrasound probe calibration with an N-wire phantom: dots, N patterns, rigid-plus-scale fit.

The method follows the N-wire literature (Comeau et al., Med. Phys. 27(4), 2000; Pagoulatos et
al., "Rapid calibration of 3-D freehand ultrasound", Ultrasound Med. Biol. 27(10), 2001; Chen et
al., "Ultrasound calibration using an N-wire phantom", Proc. SPIE 7261, 2009; PLUS fCal):

1. **Dots.** Each wire crossing the image plane is a bright blob, wider laterally than axially.
   The image is smoothed; candidates are local maxima far above the speckle background (a
   multiple of its upper spread), and each dot's centre is the intensity-weighted centroid of
   the connected part of its blob above a fixed fraction of its own peak (symmetric, so unbiased
   by the blob's width). Reverberations (weaker copies straight below a dot) are dropped.
2. **N patterns.** One layer's three wires lie in one plane, so its three dots are collinear in
   the image; triplets of dots on a line with the middle one between the others are grouped,
   the best disjoint triplets kept, and ordered by depth to match the phantom's layers.
3. **3D position of the middle dot.** The side wires are parallel; the diagonal runs from ``D1``
   on wire 1's line to ``D3`` on wire 3's line. Similar triangles give, for image dots ``a``
   (wire 1), ``b`` (diagonal), ``c`` (wire 3), ``b_phantom = D1 + (|ab| / |ac|) (D3 - D1)``.
   The ratio is measured in pixels: collinear ratios are invariant under the affine image-to-plane
   map, so the unknown pixel spacing does not enter.
4. **Fit.** Each middle dot gives ``b_phantom = T_phantom_from_tracker_i T_tracker_from_marker_i
   T_marker_from_image (u, v, 0, 1)``, with ``T_marker_from_image = [R diag(sx, sy, s) | t]``. A
   linear least-squares solution of the affine 3x3 map initialises a robust nonlinear least
   squares (SciPy ``least_squares``, soft-L1 loss) over the rotation vector, translation and the
   two pixel spacings. Which end of each triplet is wire 1 (the probe may be held either way
   round) and whether the layers appear top-down or bottom-up are chosen by the smaller linear
   residual.
5. **Validation.** Leave-one-frame-out: the fit without frame ``i`` reconstructs frame ``i``'s
   middle dots (point reconstruction error, PRE) and its side dots, whose distance to their known
   wire lines is a target registration error (TRE) at independent targets: neither the frame nor
   the side wires entered that fit.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import cv2
import numpy as np
from scipy.optimize import least_squares

from core.errors import CalibrationError, InputError
from core.se3 import R_to_rotvec, invert, orthonormalize, rotation_angle_deg, rotvec_to_R

log = logging.getLogger(__name__)

MIN_FRAMES = 10
"""Fewest frames with every N found that a calibration accepts."""
MIN_TRANSLATION_MM = 5.0
"""Smallest extent of the probe's positions over a sweep (phantom frame) that is not degenerate."""
MIN_ROTATION_DEG = 5.0
"""Smallest spread of the probe's orientations over a sweep that is not degenerate."""
LOSS_SCALE_MM = 1.0
"""Soft-L1 scale of the robust fit: residuals beyond ~1 mm are down-weighted."""


# ---------------------------------------------------------------------------------------- geometry
@dataclass(frozen=True)
class NWireLayer:
    """One N: side wire 1, the diagonal from ``d1`` (on wire 1's line) to ``d3`` (on wire 3's line),
    side wire 3; points in the phantom frame, mm."""

    wire1: np.ndarray
    diag: np.ndarray
    wire3: np.ndarray

    @property
    def d1(self) -> np.ndarray:
        """Diagonal end on wire 1's line."""
        return self.diag[0]

    @property
    def d3(self) -> np.ndarray:
        """Diagonal end on wire 3's line."""
        return self.diag[1]


@dataclass(frozen=True)
class NWirePhantomGeometry:
    """The layers of an N-wire phantom (shallowest first as imaged)."""

    layers: tuple[NWireLayer, ...]
    name: str = "N-wire phantom"

    @property
    def n_layers(self) -> int:
        """Number of N layers."""
        return len(self.layers)


def _line_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    d = (b - a) / np.linalg.norm(b - a)
    r = p - a
    return float(np.linalg.norm(r - (r @ d) * d))


def parse_geometry(data: Any, source: str = "phantom") -> NWirePhantomGeometry:
    """Check and parse an N-wire phantom description (see :mod:`vision.phantom.nwire` for the layout).

    Args:
        data: the ``{"layers": [{"wires": [w1, diagonal, w3]}, ...]}`` object.
        source: the file, for messages.

    Raises:
        InputError: wrong layout, a wire of zero length, side wires not parallel or the diagonal's
            ends off the side wires' lines (names the layer).
    """
    if not isinstance(data, Mapping) or not isinstance(data.get("layers"), list) or not data["layers"]:
        raise InputError(f"{source}: the N-wire phantom must be an object with a non-empty 'layers' list, each "
                         "layer {\"wires\": [wire1, diagonal, wire3]} with wires as [[x, y, z], [x, y, z]] in mm")
    layers = []
    for k, layer in enumerate(data["layers"]):
        try:
            w = np.asarray(layer["wires"], dtype=np.float64)
        except (TypeError, ValueError, KeyError):
            w = np.zeros(0)
        if w.shape != (3, 2, 3) or not np.all(np.isfinite(w)):
            raise InputError(f"{source}: layer {k} must hold 'wires': three wires, each two finite points [x, y, z] mm "
                             "(wire 1, diagonal, wire 3)")
        lengths = np.linalg.norm(w[:, 1] - w[:, 0], axis=1)
        if np.any(lengths < 1.0):
            raise InputError(f"{source}: layer {k} has a wire shorter than 1 mm; check its endpoints")
        u1 = (w[0, 1] - w[0, 0]) / lengths[0]
        u3 = (w[2, 1] - w[2, 0]) / lengths[2]
        if abs(abs(float(u1 @ u3)) - 1.0) > 1e-3:
            raise InputError(f"{source}: layer {k}: side wires 1 and 3 are not parallel; an N needs parallel side "
                             "wires (check the endpoints)")
        tol = 0.05 + 1e-3 * float(lengths.max())
        if _line_distance(w[1, 0], w[0, 0], w[0, 1]) > tol or _line_distance(w[1, 1], w[2, 0], w[2, 1]) > tol:
            raise InputError(f"{source}: layer {k}: the diagonal must start on wire 1's line and end on wire 3's "
                             "line (list the wires as wire 1, diagonal, wire 3)")
        layers.append(NWireLayer(wire1=w[0], diag=w[1], wire3=w[2]))
    return NWirePhantomGeometry(layers=tuple(layers), name=str(data.get("name", "N-wire phantom")))


# ---------------------------------------------------------------------------------------- dots
@dataclass(frozen=True)
class DotDetectorConfig:
    """Wire-dot segmentation.

    Attributes:
        smooth_px: Gaussian smoothing before the search, pixels.
        k_spread: a dot must peak this many times the background's upper spread (90th percentile
            minus median of the smoothed image, which the dots, a few % of the image at most,
            hardly move) above the median. Fully developed speckle's log-compressed upper tail is
            short (its intensity is exponentially distributed: Burckhardt 1978), so speckle stays
            below about 2.9 spreads while wires, 25 dB and more brighter, reach 3.2 and more.
        peak_margin: and at least this many grey levels above the median.
        centroid_level: the dot is the connected region above this fraction of the way from the
            median to its peak; its centre is the intensity-weighted centroid of that region.
        min_area_px: smallest dot region.
        max_dots: keep at most this many dots (the brightest).
        max_width_fraction: a region wider than this part of the image is a wall, not a wire.
        reverb_heights: a weaker dot straight below a brighter one, within this many of the
            brighter dot's heights, is its reverberation and is dropped.
    """

    smooth_px: float = 1.2
    k_spread: float = 3.1
    peak_margin: float = 40.0
    centroid_level: float = 0.6
    min_area_px: int = 6
    max_dots: int = 40
    max_width_fraction: float = 0.15
    reverb_heights: float = 5.0


def detect_dots(image: np.ndarray, config: DotDetectorConfig | None = None) -> np.ndarray:
    """Centres of the bright wire dots of one B-mode image.

    Local maxima of the smoothed image far above the speckle background are the candidate dots;
    each one's region is flood-filled from its peak down to ``centroid_level`` of its own height
    (so two dots that touch at the background level are still separated), and the region's
    intensity-weighted centroid is the dot's centre.

    Args:
        image: ``HxW`` (or colour, converted) 8-bit image.
        config: detector settings.

    Returns:
        ``(M, 3)``: ``u, v`` (pixels, column and row) and the peak height above background, the
        brightest first.
    """
    cfg = config or DotDetectorConfig()
    img = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    f = cv2.GaussianBlur(img.astype(np.float32), (0, 0), cfg.smooth_px)
    h, w = f.shape
    med = float(np.median(f))
    spread = float(np.percentile(f, 90.0)) - med
    peak_thr = med + max(cfg.k_spread * spread, cfg.peak_margin)
    local_max = f >= cv2.dilate(f, np.ones((5, 5), np.uint8))
    rows, cols = np.nonzero(local_max & (f > peak_thr))
    order = np.argsort(-f[rows, cols])
    covered = np.zeros((h + 2, w + 2), np.uint8)
    out = []
    for r, c in zip(rows[order], cols[order]):
        if covered[r + 1, c + 1]:
            continue
        peak = float(f[r, c])
        level = med + cfg.centroid_level * (peak - med)
        mask = np.zeros((h + 2, w + 2), np.uint8)
        flags = 8 | cv2.FLOODFILL_MASK_ONLY | cv2.FLOODFILL_FIXED_RANGE | (1 << 8)
        cv2.floodFill(f, mask, (int(c), int(r)), 0, loDiff=peak - level, upDiff=1e9, flags=flags)
        region = (mask[1:-1, 1:-1] > 0) & (covered[1:-1, 1:-1] == 0)  # not a brighter dot's pixels
        covered |= mask
        ys, xs = np.nonzero(region)
        bw, bh = int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)
        if len(xs) < cfg.min_area_px or bw > cfg.max_width_fraction * w:
            continue  # a speck, or a wall / the phantom's floor rather than a wire
        if xs.min() == 0 or ys.min() == 0 or xs.max() == w - 1 or ys.max() == h - 1:
            continue  # cut by the image edge: its centre would be biased
        # axially, only as far below the peak as the region reaches above it: a reverberation tail
        # merged under the dot would pull the centre down
        sym = ys <= r + (r - ys.min())
        xs, ys = xs[sym], ys[sym]
        wgt = f[ys, xs] - level
        sw = float(wgt.sum())
        if sw <= 0:
            continue
        out.append((float(wgt @ xs / sw), float(wgt @ ys / sw), peak - med, float(bw), float(bh)))
    kept: list[tuple[float, ...]] = []
    for d in out:  # brightest first
        # a reverberation: a weaker copy straight below a brighter dot, within a few dot heights
        if any(abs(d[0] - k[0]) < 0.5 * k[3] and 0.0 < d[1] - k[1] < cfg.reverb_heights * k[4]
               and d[2] < 0.9 * k[2] for k in kept):
            continue
        kept.append(d)
    return np.asarray([d[:3] for d in kept[:cfg.max_dots]], dtype=np.float64).reshape(-1, 3)


def find_n_patterns(dots: np.ndarray, n_layers: int, max_angle_deg: float = 35.0) -> np.ndarray:
    """Group dots into N patterns: triplets on a line, the middle dot between the others.

    Args:
        dots: ``(M, >=2)`` dot centres ``u, v`` (pixels), optionally with their peak heights
            (third column, as :func:`detect_dots` gives): triplets of weak dots then rank lower.
        n_layers: how many N layers the phantom has (at most this many triplets are returned).
        max_angle_deg: a layer's line may tilt at most this much from the image's horizontal.

    Returns:
        ``(K, 3, 2)`` triplets (left dot, middle dot, right dot), sorted by depth (mean row), ``K``
        at most ``n_layers``; each dot used once.
    """
    arr = np.asarray(dots, dtype=np.float64)
    if arr.size == 0:
        return np.zeros((0, 3, 2))
    arr = arr.reshape(len(arr), -1)
    p = arr[:, :2]
    m = len(p)
    # a weak dot (a speckle peak, a dot cut by the image edge) costs up to one collinearity tolerance
    weak = np.clip(1.0 - arr[:, 2] / np.median(arr[:, 2]), 0.0, 1.0) if arr.shape[1] > 2 and m else np.zeros(m)
    cands = []
    tan_max = math.tan(math.radians(max_angle_deg))
    for i, j in itertools.combinations(range(m), 2):
        a, c = (p[i], p[j]) if p[i, 0] <= p[j, 0] else (p[j], p[i])
        ia, ic = (i, j) if p[i, 0] <= p[j, 0] else (j, i)
        d = c - a
        length = float(np.hypot(*d))
        if length < 8.0 or abs(d[1]) > tan_max * abs(d[0]):
            continue
        dirn = d / length
        for k in range(m):
            if k in (i, j):
                continue
            r = p[k] - a
            t = float(r @ dirn) / length
            if not 0.08 < t < 0.92:
                continue
            off = abs(float(r[0] * dirn[1] - r[1] * dirn[0]))
            tol = max(2.0, 0.02 * length)
            if off <= tol:
                cands.append((off / tol + float(weak[[ia, k, ic]].max()), ia, k, ic))
    cands.sort()
    chosen = _best_disjoint(cands[:80], n_layers, p)
    trip = np.asarray([[p[a], p[b], p[c]] for a, b, c in chosen], dtype=np.float64).reshape(-1, 3, 2)
    return trip[np.argsort(trip[:, :, 1].mean(axis=1))] if len(trip) else trip


def _best_disjoint(cands: list[tuple[float, int, int, int]], n_layers: int, p: np.ndarray
                   ) -> list[tuple[int, int, int]]:
    """The set of disjoint triplets with the most members (up to ``n_layers``), then the best fit:
    the smallest sum of collinearity errors plus the spread of the lines' angles (the layers of a
    phantom are parallel planes, so their lines in the image are near-parallel)."""
    best: tuple[tuple[float, float], list[tuple[int, int, int]]] = ((0.0, 0.0), [])

    def angle(t: tuple[float, int, int, int]) -> float:
        d = p[t[3]] - p[t[1]]
        return math.degrees(math.atan2(d[1], d[0]))

    def visit(start: int, used: frozenset, picked: list[tuple[float, int, int, int]]) -> None:
        nonlocal best
        if picked:
            angs = [angle(t) for t in picked]
            score = (float(len(picked)), -(sum(t[0] for t in picked) + (max(angs) - min(angs)) / 5.0))
            if score > best[0]:
                best = (score, [t[1:] for t in picked])
        if len(picked) == n_layers:
            return
        for k in range(start, len(cands)):
            t = cands[k]
            if used.isdisjoint(t[1:]):
                visit(k + 1, used | set(t[1:]), picked + [t])

    visit(0, frozenset(), [])
    return best[1]


def middle_point(layer: NWireLayer, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Phantom-frame position of the middle dot ``b`` of an N (``a`` on wire 1, ``c`` on wire 3).

    Chen et al. 2009, eq. (1): ``b_phantom = D1 + |ab| / |ac| (D3 - D1)``; the ratio is taken as
    the projection of ``ab`` on ``ac`` (exact for collinear dots, least-squares otherwise).
    """
    ac = np.asarray(c, float) - np.asarray(a, float)
    t = float((np.asarray(b, float) - np.asarray(a, float)) @ ac) / float(ac @ ac)
    return layer.d1 + t * (layer.d3 - layer.d1)


# ---------------------------------------------------------------------------------------- solver
@dataclass
class NWireResult:
    """An N-wire calibration and its validation.

    Attributes:
        T_marker_from_image: 4x4, linear part = rotation times ``diag(sx, sy, (sx + sy) / 2)``.
        spacing_mm_per_px: ``(sx, sy)`` lateral and axial pixel spacing.
        frames_used: indices of the frames that entered the fit.
        point_frame: per fitted point, its frame index.
        point_px: per fitted point, its pixel.
        point_phantom: per fitted point, its phantom position (from the N geometry).
        residuals_mm: per fitted point, the fit's 3D error.
        inlier: per fitted point, within the robust cut (3 robust sigmas, at least 1.5 mm).
        rms_mm: RMS of the inliers' residuals.
        loo_pre_mm: per frame used, RMS error of its middle dots reconstructed by the fit without it.
        loo_tre_mm: per frame used, RMS distance of its side dots to their wires, fit without it.
        linear_T: the linear least-squares solution (initial guess and baseline).
        flipped: triplets were read right-to-left (wire 1 on the image's right).
        reversed_layers: layers appear deepest-first.
        pose_spread: ``(translation extent mm, rotation spread deg)`` of the sweep.
    """

    T_marker_from_image: np.ndarray
    spacing_mm_per_px: tuple[float, float]
    frames_used: list[int]
    point_frame: np.ndarray
    point_px: np.ndarray
    point_phantom: np.ndarray
    residuals_mm: np.ndarray
    inlier: np.ndarray
    rms_mm: float
    loo_pre_mm: np.ndarray
    loo_tre_mm: np.ndarray
    linear_T: np.ndarray
    flipped: bool
    reversed_layers: bool
    pose_spread: tuple[float, float]
    extra: dict[str, Any] = field(default_factory=dict)


def _compose(x: np.ndarray) -> np.ndarray:
    R = rotvec_to_R(x[:3])
    s = np.array([x[6], x[7], 0.5 * (x[6] + x[7])])
    T = np.eye(4)
    T[:3, :3] = R * s[None, :]
    T[:3, 3] = x[3:6]
    return T


def _params(T: np.ndarray) -> np.ndarray:
    lin = T[:3, :3]
    sx, sy = np.linalg.norm(lin[:, 0]), np.linalg.norm(lin[:, 1])
    return np.concatenate([R_to_rotvec(lin / np.array([sx, sy, np.linalg.norm(lin[:, 2])])), T[:3, 3], [sx, sy]])


def _affine_to_T(A: np.ndarray) -> np.ndarray:
    """3x3 affine ``[a1 a2 t]`` (pixel -> marker) to the nearest rotation-times-scale transform."""
    sx, sy = float(np.linalg.norm(A[:, 0])), float(np.linalg.norm(A[:, 1]))
    e1, e2 = A[:, 0] / max(sx, 1e-12), A[:, 1] / max(sy, 1e-12)
    R = orthonormalize(np.column_stack([e1, e2, np.cross(e1, e2)]))
    T = np.eye(4)
    T[:3, :3] = R * np.array([sx, sy, 0.5 * (sx + sy)])[None, :]
    T[:3, 3] = A[:, 2]
    return T


def solve_linear(px: np.ndarray, p_marker: np.ndarray) -> np.ndarray:
    """Closed-form least squares of ``p_marker = A (u, v, 1)``, projected to rotation times scale."""
    X = np.column_stack([px, np.ones(len(px))])
    A, *_ = np.linalg.lstsq(X, p_marker, rcond=None)
    return _affine_to_T(A.T)


def _map(T_phantom_from_marker: np.ndarray, T_marker_from_image: np.ndarray, px: np.ndarray) -> np.ndarray:
    """Pixels (N, 2) with their frames' poses (N, 4, 4) to phantom points (N, 3)."""
    q = T_marker_from_image[:3, :2] @ px.T + T_marker_from_image[:3, 3:4]  # (3, N) marker
    return np.einsum("nij,jn->ni", T_phantom_from_marker[:, :3, :3], q) + T_phantom_from_marker[:, :3, 3]


def solve_robust(px: np.ndarray, target: np.ndarray, T_pm: np.ndarray, T0: np.ndarray) -> np.ndarray:
    """Robust nonlinear least squares (soft-L1) of the rigid-plus-scale map from ``T0``.

    Args:
        px: ``(N, 2)`` pixels.
        target: ``(N, 3)`` their phantom positions.
        T_pm: ``(N, 4, 4)`` ``T_phantom_from_marker`` of each point's frame.
        T0: initial ``T_marker_from_image``.
    """
    def fun(x: np.ndarray) -> np.ndarray:
        return (_map(T_pm, _compose(x), px) - target).ravel()

    sol = least_squares(fun, _params(T0), loss="soft_l1", f_scale=LOSS_SCALE_MM, x_scale="jac", method="trf")
    return _compose(sol.x)


def _pose_spread(T_pm: np.ndarray) -> tuple[float, float]:
    """Extent of the marker positions (largest principal extent, mm) and the largest rotation from
    the median orientation (deg) over a sweep."""
    pos = T_pm[:, :3, 3]
    c = pos - pos.mean(axis=0)
    ext = float(np.ptp(c @ np.linalg.svd(c, full_matrices=False)[2][0])) if len(pos) > 1 else 0.0
    rv = np.array([R_to_rotvec(T_pm[0, :3, :3].T @ T[:3, :3]) for T in T_pm])
    mid = rotvec_to_R(np.median(rv, axis=0))
    ref = T_pm[0, :3, :3] @ mid
    rot = max(rotation_angle_deg(ref, T[:3, :3]) for T in T_pm)
    return ext, rot


def _points(obs: Sequence[np.ndarray], geom: NWirePhantomGeometry, assigned: Sequence[tuple[int, int, int]],
            flip: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray], np.ndarray]:
    """Middle dots (frame, px, phantom) and side dots ((frame, px), wire line) of the triplets
    ``assigned`` as ``(frame, triplet index, layer)``; ``flip``: wire 1 is the triplet's right dot."""
    fr, px, tg, side = [], [], [], []
    for i, k, lay in assigned:
        trip = obs[i][k]
        layer = geom.layers[lay]
        a, b, c = (trip[2], trip[1], trip[0]) if flip else (trip[0], trip[1], trip[2])
        fr.append(i)
        px.append(b)
        tg.append(middle_point(layer, a, b, c))
        side.append((i, a, layer.wire1))
        side.append((i, c, layer.wire3))
    sfr = np.array([s[0] for s in side], int)
    spx = np.array([s[1] for s in side], float).reshape(-1, 2)
    swire = np.array([s[2] for s in side], float).reshape(-1, 2, 3)
    return np.array(fr, int), np.array(px, float).reshape(-1, 2), np.array(tg, float).reshape(-1, 3), \
        (sfr, spx), swire


def _assign_partial(obs: Sequence[np.ndarray], geom: NWirePhantomGeometry, frames: Sequence[int], T_pm: np.ndarray,
                    T: np.ndarray, flip: bool, tol_mm: float = 3.0) -> list[tuple[int, int, int]]:
    """Layers of the triplets of frames that show only some N's: the layer whose wires the fitted
    calibration puts within ``tol_mm`` of the triplet's three dots (each layer used once a frame)."""
    sx, sy = float(np.linalg.norm(T[:3, 0])), float(np.linalg.norm(T[:3, 1]))
    out = []
    for i in frames:
        pred = predicted_dots(geom, T_pm[i] @ T).reshape(geom.n_layers, 3, 2)
        if flip:
            pred = pred[:, ::-1]
        taken: set[int] = set()
        for k, trip in enumerate(obs[i]):
            d = np.hypot((trip[None, :, 0] - pred[:, :, 0]) * sx, (trip[None, :, 1] - pred[:, :, 1]) * sy).max(axis=1)
            d[~np.isfinite(d)] = np.inf
            lay = int(np.argmin(d))
            if d[lay] <= tol_mm and lay not in taken:
                taken.add(lay)
                out.append((i, k, lay))
    return out


def _line_dist(p: np.ndarray, wires: np.ndarray) -> np.ndarray:
    a, b = wires[:, 0], wires[:, 1]
    d = (b - a) / np.linalg.norm(b - a, axis=1, keepdims=True)
    r = p - a
    return np.linalg.norm(r - np.sum(r * d, axis=1, keepdims=True) * d, axis=1)


def calibrate_nwire(observations: Sequence[np.ndarray], T_tracker_from_marker: np.ndarray,
                    T_tracker_from_phantom: np.ndarray, geometry: NWirePhantomGeometry,
                    min_frames: int = MIN_FRAMES,
                    progress: Callable[[Iterable[int]], Iterable[int]] | None = None) -> NWireResult:
    """Solve ``T_marker_from_image`` (rotation times per-axis mm/px) from N-wire frames.

    Args:
        observations: per frame, the ``(K, 3, 2)`` triplets of :func:`find_n_patterns` (sorted by
            depth). Frames showing every layer start the fit; frames showing only some join
            once the first fit predicts which layer each of their triplets is.
        T_tracker_from_marker: ``(N, 4, 4)`` probe marker pose per frame.
        T_tracker_from_phantom: ``(N, 4, 4)`` phantom pose per frame (repeat a static one).
        geometry: the phantom.
        min_frames: fewest complete frames accepted.
        progress: wraps the leave-one-out loop (a progress bar), or ``None``.

    Returns:
        The calibration with its fit residuals and leave-one-frame-out validation.

    Raises:
        CalibrationError: too few frames with every N found, a sweep without motion (names the
            motion to add), dots all on one line, or a fit that does not converge to a plausible
            pixel spacing.
    """
    n = len(observations)
    T_pm = np.einsum("nij,njk->nik", np.linalg.inv(T_tracker_from_phantom), T_tracker_from_marker)
    complete = [i for i, o in enumerate(observations) if len(o) == geometry.n_layers]
    if len(complete) < min_frames:
        partial = sum(1 for o in observations if 0 < len(o) < geometry.n_layers)
        raise CalibrationError(
            f"only {len(complete)} of {n} frames show all {geometry.n_layers} N patterns ({partial} show some), at "
            f"least {min_frames} are needed: record more frames with every wire layer inside the image (adjust "
            "depth and gain so each N shows three bright dots)")
    ext, rot = _pose_spread(T_pm[complete])
    if ext < MIN_TRANSLATION_MM and rot < MIN_ROTATION_DEG:
        raise CalibrationError(
            f"degenerate sweep: the {len(complete)} usable frames show nearly the same probe pose (positions within "
            f"{ext:.1f} mm, orientations within {rot:.1f} deg); slide the probe along the wires by at least "
            f"{2 * MIN_TRANSLATION_MM:.0f} mm and rock/tilt it by at least {2 * MIN_ROTATION_DEG:.0f} deg while "
            "recording")

    best = None
    for flip, rev in ((False, False), (True, False), (False, True), (True, True)):
        order = list(range(geometry.n_layers))[::-1] if rev else list(range(geometry.n_layers))
        assigned = [(i, k, order[k]) for i in complete for k in range(geometry.n_layers)]
        fr, px, tg, _, _ = _points(observations, geometry, assigned, flip)
        p_marker = np.einsum("nij,nj->ni", invert_all(T_pm[fr]), np.column_stack([tg, np.ones(len(tg))]))[:, :3]
        T_lin = solve_linear(px, p_marker)
        res = np.linalg.norm(_map(T_pm[fr], T_lin, px) - tg, axis=1)
        score = float(np.median(res))
        if best is None or score < best[0]:
            best = (score, flip, rev, assigned, T_lin)
    _, flip, rev, assigned, T_lin = best
    fr, px, tg, _, _ = _points(observations, geometry, assigned, flip)
    cen = px - px.mean(axis=0)
    sv = np.linalg.svd(cen, compute_uv=False) / math.sqrt(len(px))
    if sv[1] < 5.0:
        raise CalibrationError(
            "the wire dots lie on one line in the image (spread across it %.1f px): tilt and move the probe so the "
            "dots cover the image at several depths, or use a phantom with two or more N layers" % sv[1])
    T = solve_robust(px, tg, T_pm[fr], T_lin)
    partial = [i for i, o in enumerate(observations) if 0 < len(o) < geometry.n_layers]
    extra = _assign_partial(observations, geometry, partial, T_pm, T, flip) if partial else []
    if extra:  # frames that show only some N's join once the fit tells which layer each one is
        assigned = sorted(assigned + extra)
        fr, px, tg, _, _ = _points(observations, geometry, assigned, flip)
        T = solve_robust(px, tg, T_pm[fr], T)
    fr, px, tg, (sfr, spx), swire = _points(observations, geometry, assigned, flip)
    used = sorted({a[0] for a in assigned})
    sx, sy = float(np.linalg.norm(T[:3, 0])), float(np.linalg.norm(T[:3, 1]))
    if not (1e-3 < sx < 10.0 and 1e-3 < sy < 10.0):
        raise CalibrationError(f"the fit gives an implausible pixel spacing ({sx:.4g}, {sy:.4g} mm/px): check that the "
                               "phantom geometry matches the phantom imaged and that the poses are in mm")
    res = np.linalg.norm(_map(T_pm[fr], T, px) - tg, axis=1)
    mad = 1.4826 * float(np.median(np.abs(res - np.median(res))))
    cut = max(1.5, float(np.median(res)) + 3.0 * mad)
    inlier = res <= cut
    rms = float(np.sqrt(np.mean(res[inlier] ** 2)))

    pre = np.full(len(used), np.nan)
    tre = np.full(len(used), np.nan)
    loop = progress(range(len(used))) if progress is not None else range(len(used))
    for j in loop:
        i = used[j]
        keep = fr != i
        Ti = solve_robust(px[keep], tg[keep], T_pm[fr[keep]], T)
        held = ~keep
        e = np.linalg.norm(_map(T_pm[fr[held]], Ti, px[held]) - tg[held], axis=1)
        pre[j] = float(np.sqrt(np.mean(e ** 2)))
        sh = sfr == i
        ps = _map(T_pm[sfr[sh]], Ti, spx[sh])
        tre[j] = float(np.sqrt(np.mean(_line_dist(ps, swire[sh]) ** 2)))
    log.info("N-wire calibration: %d frames, %d points, rms %.3f mm, LOO PRE %.3f mm, TRE %.3f mm",
             len(used), len(px), rms, float(np.sqrt(np.mean(pre ** 2))), float(np.sqrt(np.mean(tre ** 2))))
    return NWireResult(T_marker_from_image=T, spacing_mm_per_px=(sx, sy), frames_used=used, point_frame=fr,
                       point_px=px, point_phantom=tg, residuals_mm=res, inlier=inlier, rms_mm=rms,
                       loo_pre_mm=pre, loo_tre_mm=tre, linear_T=T_lin, flipped=flip, reversed_layers=rev,
                       pose_spread=(ext, rot))


def predicted_dots(geometry: NWirePhantomGeometry, T_phantom_from_image: np.ndarray) -> np.ndarray:
    """Where every wire crosses an image plane, pixels ``(3L, 2)`` (NaN where it does not, within
    the wire's length): the calibrated prediction drawn over a frame."""
    M = np.asarray(T_phantom_from_image, float)
    n = np.cross(M[:3, 0], M[:3, 1])
    out = []
    for layer in geometry.layers:
        for p0, p1 in (layer.wire1, layer.diag, layer.wire3):
            d = p1 - p0
            den = float(d @ n)
            t = float((M[:3, 3] - p0) @ n) / den if abs(den) > 1e-12 else np.nan
            if not 0.0 <= t <= 1.0:
                out.append((np.nan, np.nan))
                continue
            q = np.linalg.lstsq(M[:3, :2], p0 + t * d - M[:3, 3], rcond=None)[0]
            out.append((float(q[0]), float(q[1])))
    return np.asarray(out, float).reshape(-1, 2)


def invert_all(T: np.ndarray) -> np.ndarray:
    """Inverse of each rigid ``(N, 4, 4)`` transform."""
    return np.stack([invert(t) for t in T]) if len(T) else np.zeros((0, 4, 4))


__all__ = ["DotDetectorConfig", "NWireLayer", "NWirePhantomGeometry", "NWireResult", "calibrate_nwire",
           "detect_dots", "find_n_patterns", "middle_point", "parse_geometry", "predicted_dots",
           "solve_linear",
           "solve_robust"]
