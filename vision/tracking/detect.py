"""Marker and chessboard-corner detection on one grey image.

* Markers: OpenCV's ``ArucoDetector`` (Garrido-Jurado et al., "Automatic generation and
  detection of highly reliable fiducial markers under occlusion", Pattern Recognition 47(6),
  2014) with parameters from :class:`~vision.tracking.config.DetectorConfig` (windows sized for
  small, blurred markers: a wide ignored cell margin and more samples per cell), sub-pixel
  marker corners, and ``refineDetectedMarkers`` to recover markers the board layout predicts.
  Ids that are not on the board or occur twice are dropped.
* ChArUco corners: every chessboard corner of the board is predicted from the pose of the
  decoded markers (both IPPE solutions are tried), then refined with ``cv2.cornerSubPix``
  (Förstner & Gülch, "A fast operator for detection and precise location of distinct points,
  corners and centres of circular features", 1987) in a window scaled to the local square size.
  A refined corner is kept when it stayed near its prediction and its structure tensor has
  gradient in both directions (an X-junction, not an edge or a flat occluder). Unlike OpenCV's
  own interpolation, corners far from any decoded marker are recovered too, so a board with a
  few readable markers still gives all its visible corners.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from core.camera import CameraIntrinsics
from vision.tracking.board import BoardSpec
from vision.tracking.config import DetectorConfig
from core.se3 import R_to_rotvec

logger = logging.getLogger(__name__)

_REFINE = {
    "subpix": cv2.aruco.CORNER_REFINE_SUBPIX,
    "contour": cv2.aruco.CORNER_REFINE_CONTOUR,
    "apriltag": cv2.aruco.CORNER_REFINE_APRILTAG,
    "none": cv2.aruco.CORNER_REFINE_NONE,
}


@dataclass(frozen=True)
class Markers:
    """Decoded markers of one image.

    Attributes:
        ids: ``(K,)`` int marker ids, all on the board, each once.
        corners: ``(K, 4, 2)`` float64 image corners (px, distorted image), OpenCV order.
    """

    ids: np.ndarray
    corners: np.ndarray

    def __len__(self) -> int:
        return int(self.ids.size)


def detector_parameters(config: DetectorConfig, fast: bool = False) -> cv2.aruco.DetectorParameters:
    """OpenCV ArUco detector parameters from the detector configuration.

    Args:
        config: ``[tracking.detector]``.
        fast: parameters of the single-window first pass.
    """
    p = cv2.aruco.DetectorParameters()
    if fast:
        p.adaptiveThreshWinSizeMin = p.adaptiveThreshWinSizeMax = int(config.fast_window)
        p.adaptiveThreshWinSizeStep = 10
    else:
        p.adaptiveThreshWinSizeMin = int(config.adaptive_thresh_win_min)
        p.adaptiveThreshWinSizeMax = int(config.adaptive_thresh_win_max)
        p.adaptiveThreshWinSizeStep = int(config.adaptive_thresh_win_step)
    p.adaptiveThreshConstant = float(config.fast_thresh_constant if fast else config.adaptive_thresh_constant)
    p.minMarkerPerimeterRate = float(config.min_marker_perimeter_rate)
    p.perspectiveRemoveIgnoredMarginPerCell = float(config.cell_margin)
    p.perspectiveRemovePixelPerCell = int(config.fast_pixels_per_cell if fast else config.pixels_per_cell)
    p.errorCorrectionRate = float(config.error_correction_rate)
    p.cornerRefinementMethod = _REFINE[config.corner_refinement]
    p.cornerRefinementWinSize = 3
    p.cornerRefinementMinAccuracy = 0.01
    p.cornerRefinementMaxIterations = 40
    return p


def unsharp(gray: np.ndarray, amount: float, sigma: float) -> np.ndarray:
    """``gray + amount (gray - G_sigma * gray)``, saturated to uint8: the unsharp mask, which lifts
    the contrast of detail finer than ``sigma`` (blurred marker cells) back towards the threshold."""
    return cv2.addWeighted(gray, 1.0 + amount, cv2.GaussianBlur(gray, (0, 0), sigma), -amount, 0.0)


def _quad_clusters(quads: list[np.ndarray]) -> tuple[list[list[int]], np.ndarray]:
    """Groups of candidate quads that look like one board: each member has at least three
    neighbours of similar size (0.5-2x) within three sizes; largest group first. Returns the
    groups (indices into ``quads``) and every quad's size (square root of its area, px)."""
    if len(quads) < 4:
        return [], np.zeros(len(quads))
    cen = np.array([q.mean(axis=0) for q in quads])
    size = np.array([np.sqrt(max(cv2.contourArea(q.astype(np.float32)), 1.0)) for q in quads])
    d = np.linalg.norm(cen[:, None] - cen[None], axis=2)
    ratio = size[:, None] / size[None]
    near = (d < 3.0 * np.maximum(size[:, None], size[None])) & (ratio > 0.5) & (ratio < 2.0)
    np.fill_diagonal(near, False)
    seeds = np.flatnonzero(near.sum(axis=1) >= 3)
    seed_set = set(seeds.tolist())
    label = -np.ones(len(quads), int)
    groups: list[list[int]] = []
    for s0 in seeds:  # connected groups of seeds
        if label[s0] >= 0:
            continue
        stack, members = [s0], []
        label[s0] = len(groups)
        while stack:
            i = stack.pop()
            members.append(int(i))
            for j in np.flatnonzero(near[i]):
                if label[j] < 0 and int(j) in seed_set:
                    label[j] = len(groups)
                    stack.append(j)
        groups.append(members)
    groups.sort(key=len, reverse=True)
    return groups, size


class MarkerDetector:
    """Finds the board's markers in a grey image.

    Args:
        board: the marker board (dictionary and layout).
        config: detector parameters (``[tracking.detector]``).
    """

    def __init__(self, board: BoardSpec, config: DetectorConfig) -> None:
        self.board = board
        self.config = config
        refine = cv2.aruco.RefineParameters(10.0, 3.0, True)
        self._det = cv2.aruco.ArucoDetector(board.cv_dictionary, detector_parameters(config), refine)
        self._fast = (cv2.aruco.ArucoDetector(board.cv_dictionary, detector_parameters(config, fast=True), refine)
                      if config.fast_window > 0 else None)
        self._known = set(board.marker_points)

    def _on_board(self, ids: np.ndarray) -> set[int]:
        return {int(i) for i in np.asarray(ids).ravel()} & self._known

    def detect(self, gray: np.ndarray, camera: CameraIntrinsics | None = None,
               roi: tuple[int, int, int, int] | None = None) -> Markers:
        """Decode the board's markers in ``gray`` (``HxW`` uint8).

        Passes, each only when the one before found fewer than two of the board's markers:
        the fast pass inside ``roi`` (the region where the previous pose puts the board), the
        fast single-window pass on the whole image, the full multi-window pass, the
        upsampled-region pass (:meth:`_detect_small`) for boards too small or too oblique to
        decode at the camera's resolution, then a pass on the sharpened image (:func:`unsharp`,
        :meth:`_detect_sharpened`) for defocused or smeared markers (a cube needs only one
        marker before this last pass is skipped). A board that jumped away from ``roi`` is still
        found by the whole-image passes.

        Args:
            gray: ``HxW`` uint8 image.
            camera: intrinsics, used by the board-layout refinement.
            roi: ``(x0, y0, x1, y1)`` pixel box to search first, or ``None``.
        """
        det = self._det
        corners, ids, rejected = (), None, ()
        if roi is not None and self._fast is not None:
            x0, y0, x1, y1 = roi
            c_roi, i_roi, _ = self._fast.detectMarkers(np.ascontiguousarray(gray[y0:y1, x0:x1]))
            if i_roi is not None and len(self._on_board(i_roi)) >= 2:
                off = np.array([x0, y0], np.float32)
                return self._clean([np.asarray(c, np.float32).reshape(1, 4, 2) + off for c in c_roi], i_roi)
        if self._fast is not None:
            corners, ids, rejected = self._fast.detectMarkers(gray)
            det = self._fast
        if ids is None or len(self._on_board(ids)) < 2:
            corners, ids, rejected = self._det.detectMarkers(gray)
            det = self._det
        if self.config.small_marker_regions > 0 and (ids is None or len(self._on_board(ids)) < 2):
            c2, i2 = self._detect_small(gray, list(corners), ids, rejected)
            if i2 is not None and len(self._on_board(i2)) > (0 if ids is None else len(self._on_board(ids))):
                corners, ids, rejected = c2, i2, ()
        # a ChArUco pose needs two markers to start from; a cube face carries one
        enough = 2 if self.board.type == "charuco" else 1
        if self.config.sharpen_retry > 0 and (ids is None or len(self._on_board(ids)) < enough):
            c3, i3, r3 = self._detect_sharpened(gray, list(rejected) + list(corners))
            if i3 is not None and len(self._on_board(i3)) > (0 if ids is None else len(self._on_board(ids))):
                corners, ids, rejected = c3, i3, r3  # corners stay where the sharpened image puts them
        if self.config.refine_with_board and ids is not None and len(ids) and len(rejected):
            try:
                if camera is not None:
                    corners, ids, rejected, _ = det.refineDetectedMarkers(
                        gray, self.board.cv_board, corners, ids, rejected, camera.K, camera.dist)
                else:
                    corners, ids, rejected, _ = det.refineDetectedMarkers(
                        gray, self.board.cv_board, corners, ids, rejected)
            except cv2.error as exc:  # refinement is an optional extra
                logger.debug("refineDetectedMarkers failed: %s", exc)
        return self._clean(corners, ids)

    def _detect_sharpened(self, gray: np.ndarray, candidates: list):
        """The full pass on the sharpened image, inside the box of the largest cluster of
        candidate quads when there is one (a board that is there but not readable), else the
        fast pass on the whole sharpened image; corners in full-image pixels."""
        amount, sigma = self.config.sharpen_retry, self.config.sharpen_sigma_px
        h, w = gray.shape[:2]
        quads = [np.asarray(q, np.float64).reshape(4, 2) for q in candidates]
        groups, size = _quad_clusters(quads)
        if groups:
            members = groups[0]
            pts = np.concatenate([quads[i] for i in members])
            m = 2.0 * float(np.median(size[members])) + 8.0
            x0, y0 = int(max(pts[:, 0].min() - m, 0)), int(max(pts[:, 1].min() - m, 0))
            x1, y1 = int(min(pts[:, 0].max() + m, w)), int(min(pts[:, 1].max() + m, h))
            if x1 - x0 >= 16 and y1 - y0 >= 16:
                c, i, r = self._det.detectMarkers(unsharp(np.ascontiguousarray(gray[y0:y1, x0:x1]), amount, sigma))
                off = np.array([x0, y0], np.float32)
                move = lambda qs: [np.asarray(q, np.float32).reshape(1, 4, 2) + off for q in qs]  # noqa: E731
                return move(c), i, move(r)
        return (self._fast or self._det).detectMarkers(unsharp(gray, amount, sigma))

    def _clean(self, corners, ids) -> Markers:
        """Keep the board's markers, each id once, sorted by id."""
        if ids is None or len(ids) == 0:
            return Markers(np.zeros(0, int), np.zeros((0, 4, 2)))
        ids = np.asarray(ids).ravel().astype(int)
        cs = np.asarray([np.asarray(c, np.float64).reshape(4, 2) for c in corners])
        uniq, counts = np.unique(ids, return_counts=True)
        dup = set(uniq[counts > 1].tolist())
        keep = np.array([(i in self._known) and (i not in dup) for i in ids], bool)
        if dup:
            logger.debug("dropping duplicated marker ids %s", sorted(dup))
        order = np.argsort(ids[keep], kind="stable")
        return Markers(ids[keep][order], cs[keep][order])

    def _detect_small(self, gray: np.ndarray, corners: list, ids, rejected) -> tuple[list, np.ndarray | None]:
        """Decode markers in upsampled regions where many similar quads cluster.

        A board whose cells are 1-2 px wide still yields quadrilateral candidates (its black
        squares), though its codes cannot be read. Candidates with at least three neighbours of
        similar size within three sizes are grouped; each group's bounding box (with a margin)
        is upsampled (bicubic) so a square becomes about 30 px and decoded again, and the
        corners are mapped back (pixel-centre convention of ``cv2.resize``).
        """
        quads = [np.asarray(q, np.float64).reshape(4, 2) for q in list(rejected) + list(corners)]
        groups, size = _quad_clusters(quads)
        if not groups:
            return corners, ids
        h, w = gray.shape[:2]
        out_c, out_i = list(corners), [] if ids is None else list(np.asarray(ids).ravel())
        for members in groups[: self.config.small_marker_regions]:
            pts = np.concatenate([quads[i] for i in members])
            s_med = float(np.median(size[members]))
            m = 2.0 * s_med
            x0, y0 = int(max(pts[:, 0].min() - m, 0)), int(max(pts[:, 1].min() - m, 0))
            x1, y1 = int(min(pts[:, 0].max() + m, w)), int(min(pts[:, 1].max() + m, h))
            if x1 - x0 < 8 or y1 - y0 < 8:
                continue
            scale = float(np.clip(30.0 / max(s_med, 1.0), 1.5, 4.0))
            scale = min(scale, 900.0 / max(x1 - x0, y1 - y0))
            if scale < 1.2:
                continue
            roi = cv2.resize(gray[y0:y1, x0:x1], None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
            c2, i2, _ = self._det.detectMarkers(roi)
            if i2 is None:
                continue
            for c, i in zip(c2, np.asarray(i2).ravel()):
                q = (np.asarray(c, np.float64).reshape(4, 2) + 0.5) / scale - 0.5 + np.array([x0, y0])
                out_c.append(q.reshape(1, 4, 2).astype(np.float32))
                out_i.append(int(i))
        if not out_i:
            return corners, ids
        return out_c, np.asarray(out_i, np.int32).reshape(-1, 1)

def _window_grid(hmax: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Offsets of a ``(2 hmax + 3)^2`` sampling window (one extra ring for the central differences):
    ``(xs, ys)`` over the whole window and ``(xi, yi)`` ``(1, M)`` over its inner part."""
    r = np.arange(-hmax - 1, hmax + 2, dtype=np.float32)
    ys, xs = np.meshgrid(r, r, indexing="ij")
    return xs, ys, xs[1:-1, 1:-1].ravel()[None], ys[1:-1, 1:-1].ravel()[None]


def _window_gradients(gray: np.ndarray, q: np.ndarray, xs: np.ndarray, ys: np.ndarray, w: np.ndarray,
                      wsum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Central-difference gradients ``(k, M)`` of the windows centred exactly on ``q`` (so that
    point-symmetric pixels pair up), with each window's weighted mean gradient removed: an
    X-junction's gradients cancel over the symmetric window, what does not is the light's own
    slope (vignetting, a lamp, glare), which would pull every corner the same way."""
    k, n = len(q), xs.shape[0]
    mx = (q[:, 0, None, None] + xs[None]).astype(np.float32).reshape(k * n, n)
    my = (q[:, 1, None, None] + ys[None]).astype(np.float32).reshape(k * n, n)
    patch = cv2.remap(gray, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    patch = patch.reshape(k, n, n).astype(np.float32)
    gx = (0.5 * (patch[:, 1:-1, 2:] - patch[:, 1:-1, :-2])).reshape(k, -1)
    gy = (0.5 * (patch[:, 2:, 1:-1] - patch[:, :-2, 1:-1])).reshape(k, -1)
    gx = gx - (np.einsum("ij,ij->i", w, gx) / np.maximum(wsum, 1e-9))[:, None]
    gy = gy - (np.einsum("ij,ij->i", w, gy) / np.maximum(wsum, 1e-9))[:, None]
    return gx, gy


def forstner_refine(gray: np.ndarray, pred: np.ndarray, A: np.ndarray, half: np.ndarray,
                    mask_lo_mm: np.ndarray, mask_hi_mm: float,
                    iterations: int = 6) -> tuple[np.ndarray, np.ndarray, np.ndarray, Callable]:
    """Sub-pixel X-junction positions by Förstner's least-squares intersection of edge lines.

    The estimate ``q = (sum w g g^T)^-1 sum w g g^T p`` (Förstner & Gülch 1987; the estimator
    behind ``cv2.cornerSubPix``) is computed with a Gaussian window and a *mask*: pixels whose
    board offset from the corner lies in ``[mask_lo_mm, mask_hi_mm]`` along both board axes
    are ignored. On a ChArUco board that region holds the markers' data bits,
    which differ around each corner and would otherwise pull the estimate; what stays (the
    chessboard edges and the white print around them) is point-symmetric about the corner, and
    the window is re-sampled centred on the current estimate so symmetric pixels pair up. The
    window's mean gradient is removed first: an ideal junction's gradients cancel over the
    symmetric window, so what remains is the slope of the light (vignetting, a lamp, glare),
    which would otherwise pull every corner the same way and bias the pose.

    Args:
        gray: ``HxW`` uint8 image.
        pred: ``(N, 2)`` predicted positions (px).
        A: ``(N, 2, 2)`` local Jacobians mapping board offsets (mm) to pixel offsets.
        half: ``(N,)`` half window sizes (px).
        mask_lo_mm: ``(N,)`` start of the ignored board-offset range (mm) per corner.
        mask_hi_mm: end of the ignored range (mm).
        iterations: window re-centring steps.

    Returns:
        ``(points, ratio, strength, precision)``: refined positions, the structure tensor's
        eigenvalue ratio (min/max; near 0 on an edge), its mean gradient energy, and
        ``precision(keep)``, which computes the ``(K, 2, 2)`` covariances
        (:func:`corner_covariance`) of the positions selected by ``keep`` when asked (only the
        corner set that is finally used needs them).
    """
    pred = np.asarray(pred, np.float64)
    N = len(pred)
    if N == 0:
        return np.zeros((0, 2)), np.zeros(0), np.zeros(0), lambda keep: np.zeros((0, 2, 2))
    hmax = int(np.max(half))
    xs, ys, xi, yi = _window_grid(hmax)
    h = np.asarray(half, np.float32)[:, None]
    gauss = np.exp(-(xi ** 2 + yi ** 2) / (2.0 * (0.6 * h) ** 2)) * ((np.abs(xi) <= h) & (np.abs(yi) <= h))
    Ainv = np.linalg.inv(np.asarray(A, np.float64)).astype(np.float32)
    au = np.abs(Ainv[:, 0, 0, None] * xi + Ainv[:, 0, 1, None] * yi)
    av = np.abs(Ainv[:, 1, 0, None] * xi + Ainv[:, 1, 1, None] * yi)
    lo = np.asarray(mask_lo_mm, np.float32)[:, None]
    w = (gauss * ~((au > lo) & (au < mask_hi_mm) & (av > lo) & (av < mask_hi_mm))).astype(np.float32)  # (N, M)
    wx, wy = w * xi, w * yi
    wsum = w.sum(axis=1)
    q = pred.copy()
    ratio = np.zeros(N)
    strength = np.zeros(N)
    idx = np.arange(N)  # corners still moving
    for _ in range(iterations):
        k = idx.size
        gx, gy = _window_gradients(gray, q[idx], xs, ys, w[idx], wsum[idx])
        gxx, gxy, gyy = gx * gx, gx * gy, gy * gy
        wk, wxk, wyk = w[idx], wx[idx], wy[idx]
        a = np.einsum("ij,ij->i", wk, gxx).astype(np.float64)
        b = np.einsum("ij,ij->i", wk, gxy).astype(np.float64)
        d = np.einsum("ij,ij->i", wk, gyy).astype(np.float64)
        e0 = (np.einsum("ij,ij->i", wxk, gxx) + np.einsum("ij,ij->i", wyk, gxy)).astype(np.float64)
        e1 = (np.einsum("ij,ij->i", wxk, gxy) + np.einsum("ij,ij->i", wyk, gyy)).astype(np.float64)
        det = a * d - b * b
        tr = a + d
        good = det > 1e-8 * np.maximum(tr * tr, 1e-12)
        step = np.zeros((k, 2))
        step[good, 0] = (d[good] * e0[good] - b[good] * e1[good]) / det[good]
        step[good, 1] = (a[good] * e1[good] - b[good] * e0[good]) / det[good]
        disc = np.sqrt(np.maximum(tr * tr / 4 - det, 0.0))
        lmax = tr / 2 + disc
        ratio[idx] = np.where(good & (lmax > 0), (tr / 2 - disc) / np.maximum(lmax, 1e-12), 0.0)
        strength[idx] = lmax / np.maximum(wsum[idx], 1e-9)
        q[idx[good]] += step[good]
        idx = idx[good & (np.linalg.norm(step, axis=1) >= 0.01)]
        if idx.size == 0:
            break
    return q, ratio, strength, lambda keep: corner_covariance(gray, q[keep], w[keep], hmax)


def corner_covariance(gray: np.ndarray, q: np.ndarray, w: np.ndarray, hmax: int) -> np.ndarray:
    """Precision of refined X-junctions from the image: a ``(N, 2, 2)`` covariance (px^2) per corner.

    ``N = sum w g g^T`` is the normal matrix of the edge-line intersection (Förstner & Gülch
    1987, §3) and its residuals are ``e = g^T (p - q)``; with the Gaussian window's weights the
    covariance is the sandwich ``N^-1 (sum w^2 e^2 g g^T) N^-1`` (Huber 1967; White, Econometrica
    48(4), 1980), scaled by ``n_eff / (n_eff - 2)`` for the two estimated coordinates
    (``n_eff = (sum w)^2 / sum w^2``). It is estimated from the image itself, with no noise
    model: a junction that the edge lines do not explain (compression blocks, an occluder's edge,
    glare) raises it. Measured on rendered boards it is dominated by the width of the blurred
    edges across the window (about 0.2 px per corner) and grows little with sensor noise, so it
    is a floor of the corner scatter rather than a noise estimate (BENCHMARKS.md, issue 19).
    Corners whose normal matrix is singular get an infinite covariance.

    Args:
        gray: ``HxW`` uint8 image.
        q: ``(N, 2)`` refined corner positions (px).
        w: ``(N, (2 hmax + 1)^2)`` window weights of each corner (the refinement's, with its mask).
        hmax: half size of the weight grid (px).
    """
    q = np.asarray(q, np.float64)
    out = np.full((len(q), 2, 2), np.inf)
    if len(q) == 0:
        return out
    xs, ys, xi, yi = _window_grid(hmax)
    gx, gy = _window_gradients(gray, q, xs, ys, w, w.sum(axis=1))  # as in the refinement
    gx, gy, w = gx.astype(np.float64), gy.astype(np.float64), w.astype(np.float64)
    a = np.einsum("ij,ij->i", w, gx * gx)
    b = np.einsum("ij,ij->i", w, gx * gy)
    d = np.einsum("ij,ij->i", w, gy * gy)
    e = gx * xi + gy * yi  # distance of each pixel's edge line from the corner, times |g|
    sw, sw2 = w.sum(axis=1), np.square(w).sum(axis=1)
    n_eff = sw * sw / np.maximum(sw2, 1e-12)
    w2e2 = w * w * e * e
    mxx, mxy, myy = (np.einsum("ij,ij->i", w2e2, gx * gx), np.einsum("ij,ij->i", w2e2, gx * gy),
                     np.einsum("ij,ij->i", w2e2, gy * gy))
    M = np.stack([np.stack([mxx, mxy], -1), np.stack([mxy, myy], -1)], -2)
    M *= (n_eff / np.maximum(n_eff - 2.0, 1.0))[:, None, None]
    det = a * d - b * b
    ok = det > 1e-8 * np.maximum((a + d) ** 2, 1e-12)
    inv = np.stack([np.stack([d, -b], -1), np.stack([-b, a], -1)], -2) / np.where(ok, det, 1.0)[:, None, None]
    out[ok] = inv[ok] @ M[ok] @ inv[ok]
    return out


def _no_precision() -> np.ndarray:
    return np.zeros((0, 2, 2))


def refine_chessboard_corners(gray: np.ndarray, board: BoardSpec, camera: CameraIntrinsics, T: np.ndarray,
                              config: DetectorConfig) -> tuple[np.ndarray, np.ndarray, int, Callable]:
    """Predict every ChArUco corner from pose ``T`` and refine the ones that are really there.

    Args:
        gray: ``HxW`` uint8 image.
        board: a ChArUco board.
        camera: intrinsics (with distortion) of ``gray``.
        T: ``T_camera_from_board`` used for the prediction.
        config: window and acceptance parameters (``[tracking.detector]``).

    Returns:
        ``(ids, points, n_expected, precision)``: accepted corner ids ``(M,)``, their refined
        image positions ``(M, 2)`` float64 (distorted image px), how many corners were predicted
        inside the image, and ``precision()``, which computes their ``(M, 2, 2)`` covariances
        from the image (px^2, :func:`corner_covariance`) when called.
    """
    obj = board.charuco_points
    if T[2, 3] <= 0 or obj.shape[0] == 0:
        return np.zeros(0, int), np.zeros((0, 2)), 0, _no_precision
    normal_c = T[:3, 2]
    if np.dot(normal_c, T[:3, 3]) <= 0:  # board seen from behind (its +z points towards the camera)
        return np.zeros(0, int), np.zeros((0, 2)), 0, _no_precision
    s = board.square_length_mm
    ex = obj + np.array([s, 0, 0])
    ey = obj + np.array([0, s, 0])
    allp = np.concatenate([obj, ex, ey])
    rv, tv = R_to_rotvec(T[:3, :3]), T[:3, 3]
    proj, _ = cv2.projectPoints(allp, rv, tv, camera.K, camera.dist)
    proj = proj.reshape(3, -1, 2)
    pred, px, py = proj[0], proj[1], proj[2]
    sq = np.minimum(np.linalg.norm(px - pred, axis=1), np.linalg.norm(py - pred, axis=1))
    half = np.clip(np.round(config.corner_window_frac * sq), 2, 10).astype(int)
    h, w = gray.shape[:2]
    inside = ((pred[:, 0] >= half + 1) & (pred[:, 0] < w - half - 2) & (pred[:, 1] >= half + 1)
              & (pred[:, 1] < h - half - 2) & (sq >= 4.0))
    idx = np.flatnonzero(inside)
    n_expected = int(idx.size)
    if idx.size == 0:
        return np.zeros(0, int), np.zeros((0, 2)), 0, _no_precision
    A = np.stack([(px - pred)[idx] / s, (py - pred)[idx] / s], axis=2)  # (M, 2, 2): d px / d board mm
    # ignore the markers (their borders and data bits): what remains around a corner is the
    # chessboard's X-junction and the white print between it and the markers
    mm_per_px = s / sq[idx]
    lo = np.maximum((s - board.marker_length_mm) / 2.0 - config.corner_guard_px * mm_per_px, 0.75 * mm_per_px)
    refined, ratio, strength, precision = forstner_refine(gray, pred[idx], A, half[idx], lo, 2.0 * s)
    shift = np.linalg.norm(refined - pred[idx], axis=1)
    ok = np.all(np.isfinite(refined), axis=1) & (shift <= config.corner_max_shift_frac * sq[idx])
    strong = strength >= 0.15 * np.median(strength[ok]) if np.any(ok) else np.zeros_like(ok)
    ok &= (ratio >= config.corner_min_isotropy) & strong
    return idx[ok], refined[ok], n_expected, lambda: precision(ok)
