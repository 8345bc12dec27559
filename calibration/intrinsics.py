"""Camera intrinsics from ChArUco views: detection, view checks, OpenCV calibration, refinement.

The calibration itself is OpenCV's (``cv2.calibrateCameraExtended``: Zhang, "A flexible new
technique for camera calibration", IEEE TPAMI 22(11), 2000, with the Brown-Conrady distortion
model, 5 coefficients). Around it:

* **Corners**: ``cv2.aruco.CharucoDetector`` (Garrido-Jurado et al., Pattern Recognition 47(6),
  2014); after a first calibration every view is detected again with the camera known: markers
  are also searched in the undistorted image (strong barrel distortion squashes those near the
  border) and corners next to a single marker are kept.
* **View checks**: motion-blurred views (the edge width across the board's two edge directions,
  relative to the set: a motion blur widens the edges along its direction) and near-duplicates
  (the same corners within a few pixels of another view) are left out and reported.
* **Model choice**: ``k3`` free or fixed at 0, chosen on the final corners by the reprojection
  error of held-out views (k-fold over views; each held-out view's pose by ``solvePnP`` with the
  trained model; the median over views).
* **Outliers**: corners whose residual is far above the set's robust spread (a corner pulled by
  clutter), then views whose RMS is far above the set's, are left out and the set recalibrated.
* **Iterative refinement of control points** (Datta, Kim and Kanade, "Accurate camera
  calibration using iterative refinement of control points", ICCV Workshops 2009): with the
  current model and pose, the board around each corner is resampled into a fronto-parallel,
  undistorted patch, the corner is found there (where it is a straight X-junction: by
  ``cornerSubPix``, then as the intersection of its two edge lines fitted over nearly a whole
  square), mapped back through the model into the image, and the camera recalibrated; repeated.

The functions take a ``cv2.aruco.CharucoBoard``; they do not know the board file format.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Sequence

import cv2
import numpy as np

from core.errors import CalibrationError, InputError

log = logging.getLogger(__name__)


@dataclass
class ViewCorners:
    """ChArUco corners found in one view.

    Attributes:
        name: the view's name (file name).
        ids: ``(N,)`` ChArUco corner ids.
        corners: ``(N, 2)`` float64 image positions, px.
        edge_width_px: blur measure: the larger of the edge widths along the board's two
            directions (px; about 2.5 sigma for a Gaussian blur, the length of a motion blur).
        status: ``"used"`` or why the view was left out (``"blurred"``, ``"duplicate of X"``,
            ``"too few corners"``, ``"outlier"``).
    """

    name: str
    ids: np.ndarray
    corners: np.ndarray
    edge_width_px: float = float("nan")
    status: str = "used"


@dataclass(frozen=True)
class IntrinsicsOptions:
    """How the calibration runs (every default lives here).

    Attributes:
        min_corners: corners a view needs to count.
        min_views: usable views needed to calibrate.
        blur_ratio: a view whose edge width exceeds this times the set's median is blurred.
        blur_margin_px: ... and exceeds the median by at least this much.
        duplicate_px: two views whose shared corners lie within this (median distance, px) and
            share most corners are duplicates; the sharper one is kept.
        outlier_ratio: a view whose RMS exceeds this times the median view RMS (and
            ``outlier_floor_px``) is an outlier.
        outlier_floor_px: the smallest view RMS ever called an outlier.
        refine_iterations: rounds of control-point refinement (0: none).
        min_tilt_deg: at least two views must show the board tilted this much (else refused).
        max_focal_std: a relative 1-sigma focal uncertainty above this is refused.
        edge_lines: in the refinement, locate each corner from its two edge lines (else
            ``cornerSubPix`` alone).
        corner_outlier_sigma: a corner whose residual exceeds this many robust sigmas (and
            ``corner_outlier_floor_px``) is left out (a corner pulled by clutter or a neighbour).
        corner_outlier_floor_px: the smallest corner residual ever called an outlier.
        folds: folds of the held-out model choice (k3 free or fixed).
    """

    min_corners: int = 8
    min_views: int = 6
    blur_ratio: float = 1.4
    blur_margin_px: float = 0.4
    duplicate_px: float = 4.0
    outlier_ratio: float = 3.0
    outlier_floor_px: float = 0.5
    refine_iterations: int = 3
    min_tilt_deg: float = 10.0
    max_focal_std: float = 0.02
    edge_lines: bool = True
    corner_outlier_sigma: float = 6.0
    corner_outlier_floor_px: float = 0.25
    folds: int = 5


@dataclass
class IntrinsicsResult:
    """A calibrated camera and the evidence for it.

    Attributes:
        K: 3x3 camera matrix.
        dist: the 5 distortion coefficients ``k1, k2, p1, p2, k3``.
        size: ``(width, height)``.
        rms_px: reprojection RMS over the used views, px.
        views: every view with its status and, for used views, ``view_rms_px``.
        view_rms_px: name -> RMS of the used (and, re-projected, of the outlier) views.
        k3_fixed: ``k3`` was fixed at 0 by the held-out choice.
        heldout_px: held-out RMS for ``"k3 free"`` and ``"k3 fixed"``.
        std_K: standard deviations of ``fx, fy, cx, cy`` from OpenCV, px.
        rvecs, tvecs: per used view pose (board to camera).
    """

    K: np.ndarray
    dist: np.ndarray
    size: tuple[int, int]
    rms_px: float
    views: list[ViewCorners]
    view_rms_px: dict[str, float] = field(default_factory=dict)
    k3_fixed: bool = False
    heldout_px: dict[str, float] = field(default_factory=dict)
    std_K: np.ndarray = field(default_factory=lambda: np.zeros(4))
    rvecs: dict[str, np.ndarray] = field(default_factory=dict)
    tvecs: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def used(self) -> list[ViewCorners]:
        """Views the result rests on."""
        return [v for v in self.views if v.status == "used"]


# --------------------------------------------------------------------------- corners


def _square_px(corners: np.ndarray, ids: np.ndarray, board: cv2.aruco.CharucoBoard) -> np.ndarray:
    """Per corner, the image length of one square near it (from its grid neighbours)."""
    nx = board.getChessboardSize()[0] - 1
    pos = {int(i): k for k, i in enumerate(ids)}
    out = np.full(len(ids), np.nan)
    for k, i in enumerate(ids):
        i = int(i)
        d = []
        for j in (i - 1, i + 1, i - nx, i + nx):
            if j in pos and (abs(j - i) == nx or j // nx == i // nx):
                d.append(np.linalg.norm(corners[pos[j]] - corners[k]))
        if d:
            out[k] = float(np.median(d))
    if np.all(np.isnan(out)):
        return np.full(len(ids), 20.0)
    return np.where(np.isnan(out), np.nanmedian(out), out)


def edge_width(gray: np.ndarray, corners: np.ndarray, ids: np.ndarray, board: cv2.aruco.CharucoBoard) -> float:
    """Blur of a view in px: the larger edge width of the board's two edge directions.

    Around each corner the image gradient is split by its direction into the two chessboard
    edge families (the board's x and y directions, from the neighbouring corners); per family
    the width is ``contrast / (sqrt(2 pi) * p90 of the strongest gradients)``, which is the sigma
    of a Gaussian edge and grows with a motion blur across that family's edges.
    """
    if len(ids) < 4:
        return float("nan")
    g = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 0.7)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    nx = board.getChessboardSize()[0] - 1
    pos = {int(i): k for k, i in enumerate(ids)}
    sq = _square_px(corners, ids, board)
    per_family: list[list[float]] = [[], []]
    contrast: list[float] = []
    h, w = gray.shape[:2]
    for k, i in enumerate(ids):
        i = int(i)
        axes = []
        for j, step in ((i + 1, 1), (i - 1, -1)):
            if j in pos and j // nx == i // nx:
                axes.append(step * (corners[pos[j]] - corners[k]))
                break
        for j, step in ((i + nx, 1), (i - nx, -1)):
            if j in pos:
                axes.append(step * (corners[pos[j]] - corners[k]))
                break
        if len(axes) != 2:
            continue
        r = int(max(3, 0.45 * sq[k]))
        x, y = int(round(corners[k, 0])), int(round(corners[k, 1]))
        if x - r < 1 or y - r < 1 or x + r >= w - 1 or y + r >= h - 1:
            continue
        px = g[y - r:y + r + 1, x - r:x + r + 1]
        contrast.append(float(np.percentile(px, 95) - np.percentile(px, 5)))
        G = np.stack([gx[y - r:y + r + 1, x - r:x + r + 1].ravel(), gy[y - r:y + r + 1, x - r:x + r + 1].ravel()], 1)
        # an edge along the board's x axis has its gradient along the normal of x
        for fam, a in enumerate(axes):
            n = np.array([-a[1], a[0]]) / (np.linalg.norm(a) + 1e-9)
            along = np.abs(G @ n)
            across = np.abs(G @ (a / (np.linalg.norm(a) + 1e-9)))
            sel = along > 2.0 * across
            if sel.sum() >= 4:
                per_family[fam].append(float(np.percentile(along[sel], 90)))
    if not contrast or not per_family[0] or not per_family[1]:
        return float("nan")
    c = float(np.median(contrast))
    widths = [c / (np.sqrt(2 * np.pi) * max(float(np.median(f)), 1e-6)) for f in per_family]
    return float(max(widths))


def detect_view(gray: np.ndarray, board: cv2.aruco.CharucoBoard, name: str = "",
                detector: cv2.aruco.CharucoDetector | None = None) -> ViewCorners:
    """ChArUco corners of one gray view (OpenCV's detection and sub-pixel refinement), with its edge width."""
    det = detector or cv2.aruco.CharucoDetector(board)
    cc, ci, _, _ = det.detectBoard(gray)
    if ci is None or len(ci) == 0:
        return ViewCorners(name, np.zeros(0, int), np.zeros((0, 2)), status="board not found")
    ids = ci.ravel().astype(int)
    corners = cc.reshape(-1, 2).astype(np.float64)
    v = ViewCorners(name, ids, corners, edge_width(gray, corners, ids, board))
    return v


def redetect_view(gray: np.ndarray, board: cv2.aruco.CharucoBoard, K: np.ndarray, dist: np.ndarray,
                  name: str = "") -> ViewCorners:
    """Second detection with a first calibration: markers also found in an undistorted image.

    Strong barrel distortion squashes the markers near the image border so the detector misses
    them; the view is undistorted onto a larger canvas (same focal length), markers found there
    are mapped back through the distortion model and joined with those found in the original
    image; then the ChArUco corners are interpolated from the approximate pose (the camera
    known, so a corner next to a single marker is found too) and refined by OpenCV.
    """
    h, w = gray.shape[:2]
    pad = int(0.25 * max(w, h))
    Kc = K.copy()
    Kc[0, 2] += pad
    Kc[1, 2] += pad
    size = (w + 2 * pad, h + 2 * pad)
    m1, m2 = cv2.initUndistortRectifyMap(K, dist, None, Kc, size, cv2.CV_32FC1)
    und = cv2.remap(gray, m1, m2, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=128)
    aruco = cv2.aruco.ArucoDetector(board.getDictionary())
    mc_o, mi_o, _ = aruco.detectMarkers(gray)
    mc_u, mi_u, _ = aruco.detectMarkers(und)
    found: dict[int, np.ndarray] = {}
    board_ids = set(int(i) for i in board.getIds().ravel())
    if mi_u is not None:
        for c, i in zip(mc_u, mi_u.ravel()):
            pts = c.reshape(-1, 2).astype(np.float64)
            norm = np.column_stack([(pts - Kc[:2, 2]) / np.diag(Kc)[:2], np.ones(4)])
            back, _ = cv2.projectPoints(norm, np.zeros(3), np.zeros(3), K, dist)
            found[int(i)] = back.reshape(1, 4, 2).astype(np.float32)
    if mi_o is not None:
        for c, i in zip(mc_o, mi_o.ravel()):
            found[int(i)] = c.reshape(1, 4, 2).astype(np.float32)
    found = {i: c for i, c in found.items() if i in board_ids}
    if not found:
        return ViewCorners(name, np.zeros(0, int), np.zeros((0, 2)), status="board not found")
    ids_m = np.array(sorted(found), np.int32).reshape(-1, 1)
    corners_m = tuple(found[int(i)] for i in ids_m.ravel())
    cp = cv2.aruco.CharucoParameters()
    cp.cameraMatrix = K
    cp.distCoeffs = np.asarray(dist, np.float64).reshape(-1, 1)
    cp.minMarkers = 1
    det = cv2.aruco.CharucoDetector(board, cp)
    cc, ci, _, _ = det.detectBoard(gray, None, None, corners_m, ids_m)
    if ci is None or len(ci) == 0:
        return ViewCorners(name, np.zeros(0, int), np.zeros((0, 2)), status="board not found")
    ids = ci.ravel().astype(int)
    corners = cc.reshape(-1, 2).astype(np.float64)
    return ViewCorners(name, ids, corners, edge_width(gray, corners, ids, board))


# --------------------------------------------------------------------------- view checks


def flag_blurred(views: Sequence[ViewCorners], opts: IntrinsicsOptions) -> None:
    """Mark views whose edge width is far above the set's median as ``"blurred"``."""
    w = np.array([v.edge_width_px for v in views if v.status == "used"])
    w = w[np.isfinite(w)]
    if len(w) < 3:
        return
    med = float(np.median(w))
    limit = max(opts.blur_ratio * med, med + opts.blur_margin_px)
    for v in views:
        if v.status == "used" and np.isfinite(v.edge_width_px) and v.edge_width_px > limit:
            v.status = "blurred"
            log.info("%s: edge width %.2f px > %.2f px (median %.2f): left out as blurred",
                     v.name, v.edge_width_px, limit, med)


def flag_duplicates(views: Sequence[ViewCorners], opts: IntrinsicsOptions) -> None:
    """Mark near-duplicate views (same corners within ``duplicate_px``); the sharper is kept."""
    used = [v for v in views if v.status == "used"]
    for a_i, a in enumerate(used):
        if a.status != "used":
            continue
        for b in used[a_i + 1:]:
            if b.status != "used":
                continue
            common, ia, ib = np.intersect1d(a.ids, b.ids, return_indices=True)
            if len(common) < 0.8 * min(len(a.ids), len(b.ids)) or len(common) < 4:
                continue
            d = float(np.median(np.linalg.norm(a.corners[ia] - b.corners[ib], axis=1)))
            if d < opts.duplicate_px:
                wa = a.edge_width_px if np.isfinite(a.edge_width_px) else np.inf
                wb = b.edge_width_px if np.isfinite(b.edge_width_px) else np.inf
                keep, drop = (a, b) if (len(a.ids), -wa) >= (len(b.ids), -wb) else (b, a)
                drop.status = f"duplicate of {keep.name}"
                log.info("%s: corners within %.1f px of %s: left out as a duplicate", drop.name, d, keep.name)
                if drop is a:
                    break


# --------------------------------------------------------------------------- calibration


def _object_points(board: cv2.aruco.CharucoBoard, ids: np.ndarray) -> np.ndarray:
    return np.asarray(board.getChessboardCorners(), np.float64).reshape(-1, 3)[ids]


def _flags(k3_fixed: bool) -> int:
    return cv2.CALIB_FIX_K3 if k3_fixed else 0


def _calibrate(views: Sequence[ViewCorners], board: cv2.aruco.CharucoBoard, size: tuple[int, int],
               k3_fixed: bool, guess: tuple[np.ndarray, np.ndarray] | None = None):
    obj = [_object_points(board, v.ids).astype(np.float32) for v in views]
    img = [v.corners.astype(np.float32).reshape(-1, 1, 2) for v in views]
    flags = _flags(k3_fixed)
    K0, d0 = None, None
    if guess is not None:
        K0, d0 = guess[0].copy(), guess[1].copy().reshape(-1, 1)
        if k3_fixed:
            d0[4] = 0.0
        flags |= cv2.CALIB_USE_INTRINSIC_GUESS
    crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 100, 1e-12)
    try:
        out = cv2.calibrateCameraExtended(obj, img, size, K0, d0, flags=flags, criteria=crit)
    except cv2.error as exc:
        raise CalibrationError(f"OpenCV calibration failed ({str(exc).strip().splitlines()[-1]}); "
                               "add views with the board tilted in different directions") from None
    rms, K, dist, rvecs, tvecs, std_in, _, per_view = out
    return float(rms), K, dist.ravel()[:5], rvecs, tvecs, std_in.ravel(), per_view.ravel()


def _pnp_rms(v: ViewCorners, board: cv2.aruco.CharucoBoard, K: np.ndarray, dist: np.ndarray) -> float:
    obj = _object_points(board, v.ids)
    try:
        ok, rvec, tvec = cv2.solvePnP(obj, v.corners, K, dist, flags=cv2.SOLVEPNP_ITERATIVE)
        if not ok:
            return float("inf")
        rvec, tvec = cv2.solvePnPRefineLM(obj, v.corners, K, dist, rvec, tvec)
    except cv2.error:
        return float("inf")
    proj, _ = cv2.projectPoints(obj, rvec, tvec, K, dist)
    return float(np.sqrt(np.mean(np.sum((proj.reshape(-1, 2) - v.corners) ** 2, axis=1))))


def heldout_error(views: Sequence[ViewCorners], board: cv2.aruco.CharucoBoard, size: tuple[int, int],
                  k3_fixed: bool, folds: int) -> float:
    """Median over views of each held-out view's reprojection RMS (k-fold over views), px.

    The median, not the mean: one held-out view far outside its training views' reach (the
    polynomial extrapolated) should not decide the model of a fit that will include it.
    """
    n = len(views)
    folds = max(2, min(folds, n // 3))
    errs = []
    for f in range(folds):
        test = [v for k, v in enumerate(views) if k % folds == f]
        train = [v for k, v in enumerate(views) if k % folds != f]
        try:
            _, K, dist, *_ = _calibrate(train, board, size, k3_fixed)
        except CalibrationError:
            return float("inf")
        errs += [_pnp_rms(v, board, K, dist) for v in test]
    return float(np.median(errs))


def _fronto_patch(gray: np.ndarray, centre_mm: np.ndarray, r: int, ppm: float, rvec: np.ndarray, tvec: np.ndarray,
                  K: np.ndarray, dist: np.ndarray) -> tuple[np.ndarray, bool]:
    """The board plane around ``centre_mm`` resampled at ``ppm`` px/mm through the camera model.

    Returns the patch and whether all of it lies inside the image.
    """
    xs = np.arange(-r, r + 1, dtype=np.float64) / ppm
    gx, gy = np.meshgrid(xs + centre_mm[0], xs + centre_mm[1])
    plane = np.column_stack([gx.ravel(), gy.ravel(), np.zeros(gx.size)])
    m, _ = cv2.projectPoints(plane, rvec, tvec, K, dist)
    m = m.reshape(gx.shape + (2,)).astype(np.float32)
    h, w = gray.shape[:2]
    inside = bool(np.all((m[..., 0] >= 1) & (m[..., 0] <= w - 2) & (m[..., 1] >= 1) & (m[..., 1] <= h - 2)))
    patch = cv2.remap(gray, m[..., 0], m[..., 1], cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return patch.astype(np.float32), inside


def _edge_lines_corner(patch: np.ndarray, r: int, band: int, near: int, far: int) -> np.ndarray | None:
    """Corner of a fronto-parallel X-junction at the patch centre from its two edge lines, px offset.

    In the rectified patch the chessboard edges through the corner are the lines ``y = 0`` and
    ``x = 0`` (up to the small offset sought). Per column ``x`` (``near <= |x| <= far``) the
    horizontal edge's position is the centroid of ``|d/dy|`` within ``band`` rows of the centre;
    a line fitted to those positions (weighted by edge strength) and the same for the vertical
    edge give the corner as their intersection. The band stays inside the white margin around
    the markers, so no marker edge enters; using the edges out to nearly the next corner uses
    many more pixels than a small ``cornerSubPix`` window.
    """
    gy = cv2.Sobel(patch, cv2.CV_32F, 0, 1, ksize=3)
    gx = cv2.Sobel(patch, cv2.CV_32F, 1, 0, ksize=3)
    offs = np.arange(-band, band + 1, dtype=np.float64)
    lines = []
    for grad, transpose in ((gy, False), (gx, True)):
        g = np.abs(grad.T if transpose else grad)  # rows: across the edge, columns: along it
        strip = g[r - band:r + band + 1, :].astype(np.float64)
        cols = np.arange(g.shape[1]) - r
        sel = (np.abs(cols) >= near) & (np.abs(cols) <= far)
        S = strip[:, sel]
        i = np.argmax(S, axis=0)
        j = np.arange(S.shape[1])
        ok = (i > 0) & (i < S.shape[0] - 1)
        i, j = i[ok], j[ok]
        lo, mid, hi = (np.log(np.maximum(S[i + k, j], 1e-6)) for k in (-1, 0, 1))
        curv = lo - 2 * mid + hi
        ok2 = curv < -1e-9
        if np.count_nonzero(ok2) < 6:
            return None
        # three-point Gaussian peak interpolation of the edge's gradient profile per column
        pos = offs[i[ok2]] + 0.5 * (lo[ok2] - hi[ok2]) / curv[ok2]
        w = S[i[ok2], j[ok2]]
        x_cols = cols[sel][ok][ok2]
        A = np.column_stack([np.ones(len(pos)), x_cols])
        sw = np.sqrt(w)
        coef, *_ = np.linalg.lstsq(A * sw[:, None], pos * sw, rcond=None)
        lines.append(coef)  # horizontal: y = a + b x ; vertical: x = c + d y
    (a, b), (c, d) = lines
    # y = a + b x, x = c + d y  ->  x = c + d (a + b x)
    den = 1.0 - d * b
    if abs(den) < 1e-6:
        return None
    x = (c + d * a) / den
    return np.array([x, a + b * x])


def _fronto_refine(gray: np.ndarray, v: ViewCorners, board: cv2.aruco.CharucoBoard, K: np.ndarray,
                   dist: np.ndarray, rvec: np.ndarray, tvec: np.ndarray, edges: bool = True) -> np.ndarray:
    """Datta et al. 2009: refine the corners in an undistorted fronto-parallel resampling of the view.

    The board plane around each corner is resampled through the full camera model and the
    view's pose at ``ppm`` px/mm (one square 48-96 px: small squares are upsampled) so the
    corner is a straight, right-angled X-junction; with ``edges`` it is located as the
    intersection of its two edge lines (:func:`_edge_lines_corner`, twice: the second patch is
    centred on the first estimate), else by ``cornerSubPix`` in a window inside the white margin.
    The refined board-plane position is projected back into the image through the same model.
    Corners whose patch leaves the image keep their position.
    """
    sq_mm = board.getSquareLength()
    margin_mm = (sq_mm - board.getMarkerLength()) / 2.0
    sq_img = float(np.median(_square_px(v.corners, v.ids, board)))
    ppm = float(np.clip(sq_img, 48.0, 96.0)) / sq_mm  # one square: 48-96 px in the patch
    half = max(2, int(np.floor(0.85 * margin_mm * ppm)))
    sq_px = sq_mm * ppm
    near = int(max(3, np.ceil(0.15 * sq_px)))
    far = int(np.floor(sq_px - near))
    band = max(2, int(np.floor(0.75 * margin_mm * ppm)))
    obj = _object_points(board, v.ids)
    out = v.corners.copy()
    r_small = half + 4
    r_big = max(r_small, far + 2)
    crit = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 50, 0.001)
    for k, p in enumerate(obj):
        d = np.zeros(2)
        if not edges:
            patch, inside = _fronto_patch(gray, p[:2], r_small, ppm, rvec, tvec, K, dist)
            if not inside:
                continue  # a corner at the image border keeps its OpenCV position
            c = np.array([[[r_small, r_small]]], np.float32)
            cv2.cornerSubPix(patch, c, (half, half), (-1, -1), crit)
            d = (c.reshape(2) - r_small) / ppm
            if np.linalg.norm(d) > 0.3 * sq_mm:
                continue
        if edges and far - near >= 6:
            ok = True
            for _ in range(2):  # the second pass centres the patch on the first estimate
                big, inside = _fronto_patch(gray, p[:2] + d, r_big, ppm, rvec, tvec, K, dist)
                e = _edge_lines_corner(big, r_big, band, near, far) if inside else None
                if e is None or np.linalg.norm(e) > band:
                    ok = False
                    break
                d = d + e / ppm
            if not ok or np.linalg.norm(d) > 0.2 * sq_mm:
                continue
        q, _ = cv2.projectPoints(np.array([[p[0] + d[0], p[1] + d[1], 0.0]]), rvec, tvec, K, dist)
        out[k] = q.reshape(2)
    return out


def calibrate_views(images: Sequence[tuple[str, np.ndarray]] | None, views: list[ViewCorners],
                    board: cv2.aruco.CharucoBoard, size: tuple[int, int],
                    opts: IntrinsicsOptions = IntrinsicsOptions(),
                    progress: Callable[[Iterable, str], Iterable] | None = None) -> IntrinsicsResult:
    """Calibrate from detected views: checks, model choice, outliers, refinement.

    Args:
        images: ``(name, gray image)`` per view, for the control-point refinement (``None``: no
            refinement).
        views: the detections of :func:`detect_view` (statuses are updated in place).
        board: the ChArUco board.
        size: image ``(width, height)``.
        opts: thresholds and rounds.
        progress: wraps an iterable with a progress bar (``progress(iterable, label)``).

    Raises:
        CalibrationError: too few usable views (names what to add).
    """
    wrap = progress or (lambda it, _label: it)
    for v in views:
        if v.status in ("used", "too few corners") and len(v.ids) >= opts.min_corners:
            v.status = "used"
        if v.status == "used" and len(v.ids) < opts.min_corners:
            v.status = "too few corners"
    flag_blurred(views, opts)
    flag_duplicates(views, opts)
    used = [v for v in views if v.status == "used"]
    _need_views(views, used, opts)
    k3_fixed = False
    rms, K, dist, rvecs, tvecs, std, per_view = _calibrate(used, board, size, k3_fixed)
    _check_tilts(rvecs, opts)
    for _ in range(2):
        dropped = _drop_outlier_corners(used, board, K, dist, rvecs, tvecs, opts)
        if not dropped:
            break
        rms, K, dist, rvecs, tvecs, std, per_view = _calibrate(used, board, size, k3_fixed, (K, dist))
    # outlier views: far above the set's median RMS
    med = float(np.median(per_view))
    bad = [v for v, e in zip(used, per_view) if e > max(opts.outlier_ratio * med, opts.outlier_floor_px)]
    if bad and len(used) - len(bad) >= opts.min_views:
        for v in bad:
            v.status = "outlier"
        used = [v for v in used if v.status == "used"]
        rms, K, dist, rvecs, tvecs, std, per_view = _calibrate(used, board, size, k3_fixed, (K, dist))
    if images is not None and opts.refine_iterations > 0:
        gray_of = dict(images)
        for it in range(opts.refine_iterations):
            for v, rv, tv in wrap(list(zip(used, rvecs, tvecs)), f"refine {it + 1}/{opts.refine_iterations}"):
                v.corners = _fronto_refine(gray_of[v.name], v, board, K, dist, rv, tv, opts.edge_lines)
            rms, K, dist, rvecs, tvecs, std, per_view = _calibrate(used, board, size, k3_fixed, (K, dist))
            if _drop_outlier_corners(used, board, K, dist, rvecs, tvecs, opts):
                rms, K, dist, rvecs, tvecs, std, per_view = _calibrate(used, board, size, k3_fixed, (K, dist))
            log.info("refinement %d: RMS %.4f px", it + 1, rms)
    heldout: dict[str, float] = {}
    if opts.folds >= 2:  # the model, chosen on the final corners
        heldout = {"k3 free": heldout_error(used, board, size, False, opts.folds),
                   "k3 fixed": heldout_error(used, board, size, True, opts.folds)}
        log.info("held-out RMS (median view): k3 free %.4f px, k3 fixed %.4f px", heldout["k3 free"], heldout["k3 fixed"])
        if heldout["k3 fixed"] < heldout["k3 free"]:
            k3_fixed = True
            rms, K, dist, rvecs, tvecs, std, per_view = _calibrate(used, board, size, True, (K, dist))
    rel = float(np.max(np.asarray(std[:2]) / np.diag(K)[:2]))
    if not np.isfinite(rel) or rel > opts.max_focal_std:
        raise CalibrationError(f"the focal length is uncertain by {100 * rel:.1f} % (1 sigma); add views with the board "
                               "tilted 20-45 degrees in different directions and filling more of the image")
    result = IntrinsicsResult(K=K, dist=np.asarray(dist, float), size=size, rms_px=rms, views=list(views),
                              k3_fixed=k3_fixed, heldout_px=heldout, std_K=np.asarray(std[:4], float))
    for v, e, rv, tv in zip(used, per_view, rvecs, tvecs):
        result.view_rms_px[v.name] = float(e)
        result.rvecs[v.name], result.tvecs[v.name] = rv.ravel(), tv.ravel()
    for v in views:
        if v.status != "used" and len(v.ids) >= 6:
            result.view_rms_px[v.name] = _pnp_rms(v, board, K, dist)
    return result


def calibrate_images(images: Sequence[tuple[str, np.ndarray]], board: cv2.aruco.CharucoBoard,
                     opts: IntrinsicsOptions = IntrinsicsOptions(),
                     progress: Callable[[Iterable, str], Iterable] | None = None) -> IntrinsicsResult:
    """The whole method on gray views of one size: detect, calibrate, re-detect, calibrate and refine.

    Args:
        images: ``(name, gray image)`` per view.
        board: the ChArUco board.
        opts: thresholds and rounds.
        progress: wraps an iterable with a progress bar (``progress(iterable, label)``).

    Raises:
        InputError: views of different sizes.
        CalibrationError: the board is found in too few views.
    """
    wrap = progress or (lambda it, _label: it)
    size = check_sizes({n: (g.shape[1], g.shape[0]) for n, g in images})
    det = cv2.aruco.CharucoDetector(board)
    views = [detect_view(g, board, n, det) for n, g in wrap(images, "detect")]
    first = calibrate_views(None, [ViewCorners(v.name, v.ids, v.corners, v.edge_width_px, v.status) for v in views],
                            board, size, replace(opts, refine_iterations=0, folds=0))
    again = [redetect_view(g, board, first.K, first.dist, n) for n, g in wrap(images, "re-detect")]
    views = [b if len(b.ids) >= len(a.ids) else a for a, b in zip(views, again)]
    return calibrate_views(images, views, board, size, opts, progress)


def _drop_outlier_corners(views: Sequence[ViewCorners], board: cv2.aruco.CharucoBoard, K: np.ndarray,
                          dist: np.ndarray, rvecs, tvecs, opts: IntrinsicsOptions) -> int:
    """Remove corners whose residual is far above the set's robust spread; returns how many."""
    res = []
    for v, rv, tv in zip(views, rvecs, tvecs):
        proj, _ = cv2.projectPoints(_object_points(board, v.ids), rv, tv, K, dist)
        res.append(np.linalg.norm(proj.reshape(-1, 2) - v.corners, axis=1))
    allr = np.concatenate(res)
    sigma = float(np.median(allr)) / 1.1774  # the median radius of a 2-D Gaussian is 1.1774 sigma
    limit = max(opts.corner_outlier_sigma * sigma, opts.corner_outlier_floor_px)
    n = 0
    for v, r in zip(views, res):
        keep = r <= limit
        if not np.all(keep) and keep.sum() >= opts.min_corners:
            n += int((~keep).sum())
            v.ids, v.corners = v.ids[keep], v.corners[keep]
    if n:
        log.info("left out %d corners with residuals above %.3f px", n, limit)
    return n


def view_tilt_deg(rvec: np.ndarray) -> float:
    """Angle between the board normal and the camera's optical axis, degrees."""
    R, _ = cv2.Rodrigues(np.asarray(rvec, np.float64).reshape(3, 1))
    return float(np.degrees(np.arccos(np.clip(abs(R[2, 2]), 0.0, 1.0))))


def _check_tilts(rvecs, opts: IntrinsicsOptions) -> None:
    """Refuse views that all face the camera: planar views without tilt leave the focal length free.

    Zhang (2000), section 3: a view related to another by a pure translation (here: every board
    parallel to the image) adds no constraint on the intrinsics.
    """
    tilts = np.array([view_tilt_deg(r) for r in rvecs])
    n = int(np.sum(tilts >= opts.min_tilt_deg))
    if n < 2:
        raise CalibrationError(f"only {n} view(s) show the board tilted by {opts.min_tilt_deg:.0f} degrees or more "
                               f"(largest tilt {tilts.max():.1f} degrees); the focal length is undetermined: add views "
                               "with the board tilted 20-45 degrees about its horizontal and its vertical axis")


def _need_views(views: Sequence[ViewCorners], used: Sequence[ViewCorners], opts: IntrinsicsOptions) -> None:
    if len(used) >= opts.min_views:
        return
    counts: dict[str, int] = {}
    for v in views:
        key = "duplicate" if v.status.startswith("duplicate") else v.status
        counts[key] = counts.get(key, 0) + 1
    why = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()) if k != "used")
    raise CalibrationError(
        f"only {len(used)} of {len(views)} views are usable ({why or 'none left out'}); need at least "
        f"{opts.min_views}: add sharp views of the whole board, held still, at different places in the image "
        "and tilted in different directions")


def check_sizes(sizes: dict[str, tuple[int, int]]) -> tuple[int, int]:
    """The one image size of the set.

    Raises:
        InputError: images of different sizes (names two of them).
    """
    distinct: dict[tuple[int, int], str] = {}
    for name, s in sizes.items():
        distinct.setdefault(s, name)
    if len(distinct) > 1:
        (s1, n1), (s2, n2) = list(distinct.items())[:2]
        raise InputError(f"views differ in size: {n1} is {s1[0]}x{s1[1]} but {n2} is {s2[0]}x{s2[1]}; "
                         "calibrate one camera at one resolution")
    if not distinct:
        raise InputError("no views")
    return next(iter(distinct))
