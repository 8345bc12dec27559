"""Temporal calibration: the lag between the ultrasound stream and the pose stream.

The probe is moved up and down over a flat plate (the bottom of a water bath). The same motion is
seen twice: in the ultrasound images as the plate line's distance from the transducer
(:mod:`calibration.line_detect`), and in the pose stream as the probe's height above the plate.
The lag is the time shift that makes the two signals agree best, found by normalised
cross-correlation, the method of PLUS Toolkit's temporal calibration (Lasso et al., "PLUS:
open-source toolkit for ultrasound-guided intervention systems", IEEE TBME 61(10), 2014,
``vtkPlusTemporalCalibrationAlgo``); this module is our own implementation of that idea, with one
change: PLUS projects the marker's position on its direction of largest motion, which mixes the
marker's lever arm times the probe's tilts into the signal and leaves its sign unknown. Here the
probe's height along the plate's normal, ``n . (R c + t)`` for the unknown normal ``n`` and
transducer point ``c`` in the marker frame, is linear in the pose's twelve entries, so it is
fitted (least squares) at each shift, and the correlation is the multiple correlation of that fit.

1. both streams are detrended (a straight line in time removed, so a slow drift of the hand does
   not correlate) and smoothed by local quadratic regression, which is symmetric in time and so
   lowers the noise without shifting either stream;
2. the sparser stream keeps its own samples and the denser one is resampled at their shifted
   times by linear interpolation (a sample that falls in a gap of the other stream - missing
   frames, lost poses - is left out, never bridged), so different and uneven frame rates need no
   common grid;
3. the correlation is evaluated on a coarse grid of shifts (``coarse_step_ms``) within
   ``max_lag_ms``; the best shift is refined continuously (bounded Brent search between the grid
   neighbours), which gives sub-sample precision;
4. samples far from their neighbours (a misdetected line, a marker glitch; Hampel's filter) are
   dropped before smoothing, and samples whose residual after alignment is far out are dropped
   and the shift refined again.

Sign convention (the one :class:`vision.tracking.config.SyncConfig` uses): the result
``offset_ms`` is the value of ``[tracking.sync] temporal_offset_ms``, *added to an ultrasound
frame's capture time before the pose is looked up*: the pose stamped ``t + offset_ms`` shows the
probe where the ultrasound frame stamped ``t`` saw it. With stream latencies ``d_us`` and
``d_pose`` (from the event to its stamp) it is ``d_pose - d_us``: positive when the poses are
stamped later than the images.

Refusals (:class:`~core.errors.CalibrationError`, naming the motion to add): a recording shorter
than ``min_duration_s``, an up-down motion smaller than ``min_motion_mm`` or with fewer than
``min_cycles`` strokes, a correlation peak below ``min_correlation``, a best shift at the edge
of the search range, and a motion so regular (strokes all alike) that a shift by one stroke
matches as well.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize_scalar

from core.errors import CalibrationError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TemporalConfig:
    """Search range and refusal thresholds of the temporal calibration.

    Attributes:
        max_lag_ms: shifts searched, +- this.
        coarse_step_ms: grid step of the coarse search.
        max_gap_ms: a stream's gap longer than this (missing frames) is not interpolated over.
        min_duration_s: the two streams must overlap at least this long.
        min_motion_mm: the line must move up and down by at least this much (5th to 95th percentile).
        min_cycles: up-down cycles needed.
        min_correlation: the correlation peak needed to trust the result.
        min_samples: samples needed in each stream.
        outlier_mad: residuals beyond this many robust standard deviations are dropped.
        smooth_ms: half-width of the zero-phase smoothing of both streams (0: none).
        ambiguity: refuse when another local peak of the correlation (over 100 ms away) leaves
            less than this many times the best one's unexplained variance (``1 - r^2``): a motion
            so periodic that a shift by one stroke matches as well.
    """

    max_lag_ms: float = 1000.0
    coarse_step_ms: float = 2.0
    max_gap_ms: float = 250.0
    min_duration_s: float = 5.0
    min_motion_mm: float = 5.0
    min_cycles: int = 3
    min_correlation: float = 0.8
    min_samples: int = 50
    outlier_mad: float = 5.0
    smooth_ms: float = 100.0
    ambiguity: float = 2.0


@dataclass(frozen=True)
class TemporalResult:
    """The estimated lag and the figures that say how much to trust it.

    Attributes:
        offset_ms: value for ``[tracking.sync] temporal_offset_ms`` (see the module docstring).
        peak_correlation: correlation of the line's distance with the fitted probe height at
            ``offset_ms`` (1 is a perfect match).
        scale: millimetres of line motion per millimetre of marker motion along the fitted
            direction (about 1 when the pixel spacing is right and the probe moves straight).
        residual_rms_mm: RMS of the line's distance minus the fitted, aligned probe height.
        std_ms: the offset's standard error from the residuals and the motion's speed (the
            first-order variance of the shift, with residuals summed over blocks of twice the
            smoothing's width so their correlation is counted).
        halves_ms: the offset from the first and from the second half of the recording alone.
        motion_mm: the line's motion range (5th to 95th percentile).
        cycles: up-down strokes counted.
        duration_s: overlap of the two streams.
        n_us: ultrasound samples; n_pose: pose samples; n_used: pairs used; n_outliers: dropped.
        lags_ms: the coarse shifts; correlation: the correlation at each.
        us_t_s, us_mm: the detrended line distance (times from the first sample, s).
        pose_t_s, pose_mm: the fitted probe height at the pose samples, in the line's millimetres.
    """

    offset_ms: float
    peak_correlation: float
    scale: float
    residual_rms_mm: float
    std_ms: float
    halves_ms: tuple[float, float]
    motion_mm: float
    cycles: int
    duration_s: float
    n_us: int
    n_pose: int
    n_used: int
    n_outliers: int
    lags_ms: np.ndarray = field(repr=False)
    correlation: np.ndarray = field(repr=False)
    us_t_s: np.ndarray = field(repr=False)
    us_mm: np.ndarray = field(repr=False)
    pose_t_s: np.ndarray = field(repr=False)
    pose_mm: np.ndarray = field(repr=False)


def pose_features(T_tracker_from_marker: np.ndarray) -> np.ndarray:
    """The twelve entries of each pose (translation, then rotation row by row), ``(N, 12)``.

    The transducer's height above the plate is ``n . (R c + t) + d`` for the plate's normal ``n``
    and the transducer's (unknown) point ``c`` in the marker frame: a linear function of these
    entries, so a linear fit of the line's distance on them recovers the height signal without
    knowing ``n`` or ``c``, and the marker's lever arm and the probe's tilts do not blur it.
    """
    T = np.asarray(T_tracker_from_marker, dtype=np.float64)
    return np.concatenate([T[:, :3, 3], T[:, :3, :3].reshape(-1, 9)], axis=1)


def motion_range_mm(T_tracker_from_marker: np.ndarray) -> float:
    """The marker's motion range along its direction of largest motion (5th to 95th percentile)."""
    p = np.asarray(T_tracker_from_marker, dtype=np.float64)[:, :3, 3]
    centred = p - p.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    lo, hi = np.percentile(centred @ vt[0], [5, 95])
    return float(hi - lo)


def _detrend(t: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``v`` (one column or several) minus its least-squares straight line in ``t``."""
    A = np.stack([t - t.mean(), np.ones_like(t)], axis=1)
    coef, *_ = np.linalg.lstsq(A, v, rcond=None)
    return v - A @ coef


def _smooth(t: np.ndarray, v: np.ndarray, half_s: float) -> np.ndarray:
    """Local quadratic regression (LOESS, Cleveland, JASA 74(368), 1979) with tricube weights.

    Symmetric in time, so it lowers the noise without shifting the signal: the estimated lag is
    not biased. Works on uneven sampling; a sample with fewer than 5 neighbours within
    ``half_s`` is kept as it is.
    """
    out = np.array(v, dtype=np.float64, copy=True)
    lo = np.searchsorted(t, t - half_s)
    hi = np.searchsorted(t, t + half_s, side="right")
    for i in range(len(t)):
        if hi[i] - lo[i] < 5:
            continue
        d = t[lo[i]:hi[i]] - t[i]
        w = (1.0 - (np.abs(d) / half_s) ** 3) ** 3
        A = np.stack([np.ones_like(d), d, d * d], axis=1) * w[:, None]
        coef, *_ = np.linalg.lstsq(A, v[lo[i]:hi[i]] * (w[:, None] if v.ndim == 2 else w), rcond=None)
        out[i] = coef[0]
    return out


def _spikes(t: np.ndarray, v: np.ndarray, half_s: float, k: float) -> np.ndarray:
    """Samples far from a local quadratic fit through their neighbours: a misdetected line, a marker glitch.

    Hampel's idea (outlier = far from a local robust estimate, in robust standard deviations) with
    the local quadratic of :func:`_smooth` as the estimate, so the turning points of the strokes,
    where a local median lags, are not taken for glitches.
    """
    v2 = v.reshape(len(v), -1)
    dev = np.abs(v2 - _smooth(t, v2, half_s))
    scale = 1.4826 * np.median(dev, axis=0) + 1e-9
    floor = 0.05 * (np.percentile(v2, 95, axis=0) - np.percentile(v2, 5, axis=0))
    return np.any(dev > k * np.maximum(scale, floor), axis=1)


def _cycles(v: np.ndarray) -> int:
    """Up-down strokes: crossings of the median with a hysteresis of a quarter of the range."""
    lo, hi = np.percentile(v, [5, 95])
    mid, band = float(np.median(v)), 0.25 * float(hi - lo)
    state, crossings = 0, 0
    for x in v:
        s = 1 if x > mid + band else (-1 if x < mid - band else 0)
        if s and s != state:
            crossings += state != 0
            state = s
    return crossings // 2


class _Pairs:
    """Pairs (line distance, pose features) at any shift ``o``: the ultrasound at ``t``, the pose at ``t + o``.

    The sparser stream is the reference and keeps its samples; the other is interpolated.
    """

    def __init__(self, us_t: np.ndarray, us_v: np.ndarray, pose_t: np.ndarray, pose_f: np.ndarray,
                 max_gap_s: float) -> None:
        self.us_is_ref = len(us_t) <= len(pose_t)
        us_v = us_v.reshape(-1, 1)
        if self.us_is_ref:
            self.ref_t, self.ref_v, self.mov_t, self.mov_v, self.direction = us_t, us_v, pose_t, pose_f, 1.0
        else:
            self.ref_t, self.ref_v, self.mov_t, self.mov_v, self.direction = pose_t, pose_f, us_t, us_v, -1.0
        self.max_gap_s = max_gap_s
        self.keep = np.ones(len(self.ref_t), bool)

    def at(self, offset_s: float, subset: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(line distances (n,), pose features (n, k), reference indices)`` of the valid pairs."""
        q = self.ref_t + self.direction * offset_s
        k = np.searchsorted(self.mov_t, q)
        inside = (k > 0) & (k < len(self.mov_t))
        kk = np.clip(k, 1, len(self.mov_t) - 1)
        t0, t1 = self.mov_t[kk - 1], self.mov_t[kk]
        ok = inside & (t1 - t0 <= self.max_gap_s) & self.keep
        if subset is not None:
            ok &= subset
        idx = np.flatnonzero(ok)
        s = ((q[idx] - t0[idx]) / np.maximum(t1[idx] - t0[idx], 1e-12))[:, None]
        a, b = self.mov_v[kk[idx] - 1], self.mov_v[kk[idx]]
        mov = a + s * (b - a)
        if self.us_is_ref:
            return self.ref_v[idx, 0], mov, idx
        return mov[:, 0], self.ref_v[idx], idx

    def fit(self, offset_s: float, subset: np.ndarray | None = None
            ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(correlation, weights, residuals, reference indices, fitted)`` of the linear fit at ``offset_s``."""
        u, P, idx = self.at(offset_s, subset)
        if u.size < 3 * P.shape[1]:
            return 0.0, np.zeros(P.shape[1] + 1), u, idx, u
        A = np.concatenate([P, np.ones((len(u), 1))], axis=1)
        w, *_ = np.linalg.lstsq(A, u, rcond=1e-9)
        fitted = A @ w
        r = u - fitted
        sst = float(np.sum((u - u.mean()) ** 2))
        r2 = 1.0 - float(r @ r) / sst if sst > 0 else 0.0
        return math.sqrt(max(r2, 0.0)), w, r, idx, fitted

    def correlation(self, offset_s: float, subset: np.ndarray | None = None) -> float:
        return self.fit(offset_s, subset)[0]


def _refine(pairs: _Pairs, centre_s: float, half_width_s: float, subset: np.ndarray | None = None) -> float:
    res = minimize_scalar(lambda o: -pairs.correlation(o, subset), method="bounded",
                          bounds=(centre_s - half_width_s, centre_s + half_width_s), options={"xatol": 1e-6})
    return float(res.x)


def _check_stream(t_ns: np.ndarray, values: np.ndarray, name: str, cfg: TemporalConfig) -> None:
    if len(t_ns) < cfg.min_samples:
        raise CalibrationError(f"only {len(t_ns)} {name} samples; at least {cfg.min_samples} are needed - "
                               "record longer while moving the probe up and down")
    if np.any(np.diff(t_ns) <= 0):
        raise CalibrationError(f"the {name} capture times are not strictly increasing; sort the samples by "
                               "t_ns and drop duplicates")
    if not np.all(np.isfinite(values)):
        raise CalibrationError(f"the {name} stream contains NaN or infinite values")


def estimate_lag(us_t_ns: np.ndarray, us_mm: np.ndarray, pose_t_ns: np.ndarray, T_tracker_from_marker: np.ndarray,
                 config: TemporalConfig | None = None) -> TemporalResult:
    """The temporal offset between the ultrasound and the pose stream.

    Args:
        us_t_ns: capture times of the ultrasound frames where the line was found (ns).
        us_mm: the plate line's distance from the transducer in those frames (mm).
        pose_t_ns: capture times of the tracked poses (ns).
        T_tracker_from_marker: ``(N, 4, 4)`` probe marker poses (mm).
        config: search range and thresholds.

    Raises:
        CalibrationError: too short, too little motion or too few strokes, no clear correlation
            peak, or a peak at the edge of the search range; the message names what to record.
    """
    cfg = config or TemporalConfig()
    us_t_ns = np.asarray(us_t_ns, dtype=np.int64)
    pose_t_ns = np.asarray(pose_t_ns, dtype=np.int64)
    us_v = np.asarray(us_mm, dtype=np.float64)
    feats = pose_features(T_tracker_from_marker)
    _check_stream(us_t_ns, us_v, "ultrasound (frames with the line found)", cfg)
    _check_stream(pose_t_ns, feats, "pose", cfg)
    t0 = int(min(us_t_ns[0], pose_t_ns[0]))
    ut = (us_t_ns - t0).astype(np.float64) * 1e-9
    pt = (pose_t_ns - t0).astype(np.float64) * 1e-9
    overlap = min(ut[-1], pt[-1]) - max(ut[0], pt[0])
    motion_advice = (f"move the probe up and down over the plate by at least {cfg.min_motion_mm:g} mm "
                     f"(10-20 mm is best), at least {max(cfg.min_cycles, 5)} times, for 20-30 s, varying the speed")
    if overlap < cfg.min_duration_s:
        raise CalibrationError(f"the ultrasound and pose recordings overlap for only {max(overlap, 0.0):.1f} s; "
                               f"at least {cfg.min_duration_s:g} s are needed - {motion_advice}")
    lo, hi = np.percentile(us_v, [5, 95])
    motion = float(hi - lo)
    if motion < cfg.min_motion_mm:
        raise CalibrationError(f"the plate line moved only {motion:.1f} mm in the images; {motion_advice}")
    pose_motion = motion_range_mm(T_tracker_from_marker)
    if pose_motion < 0.5 * cfg.min_motion_mm:
        raise CalibrationError(f"the probe marker moved only {pose_motion:.1f} mm in the pose stream while the line "
                               "moved in the images: is the marker tracked, and is it the probe's? "
                               f"Then {motion_advice}")
    cycles = _cycles(us_v)
    if cycles < cfg.min_cycles:
        raise CalibrationError(f"the recording holds only {cycles} up-down stroke(s), at least {cfg.min_cycles} are "
                               f"needed; {motion_advice}")

    spikes_us = _spikes(ut, us_v, 0.15, cfg.outlier_mad)
    spikes_pose = _spikes(pt, feats, 0.15, cfg.outlier_mad)
    n_spikes = int(spikes_us.sum() + spikes_pose.sum())
    ut, us_v, pt, feats = ut[~spikes_us], us_v[~spikes_us], pt[~spikes_pose], feats[~spikes_pose]
    uv = _smooth(ut, _detrend(ut, us_v), cfg.smooth_ms * 1e-3)
    pf = _smooth(pt, _detrend(pt, feats), cfg.smooth_ms * 1e-3)
    pairs = _Pairs(ut, uv, pt, pf, cfg.max_gap_ms * 1e-3)
    step = cfg.coarse_step_ms * 1e-3
    lags = np.arange(-cfg.max_lag_ms, cfg.max_lag_ms + 0.5 * cfg.coarse_step_ms, cfg.coarse_step_ms) * 1e-3
    curve = np.array([pairs.correlation(o) for o in lags])
    i_best = int(np.argmax(curve))
    if i_best < 2 or i_best > len(lags) - 3:
        raise CalibrationError(f"the best match lies at the edge of the search range ({lags[i_best] * 1e3:+.0f} ms); "
                               "the lag is larger than --max-lag-ms: raise it, or check that both streams use "
                               "one clock")
    inner = curve[1:-1]
    maxima = np.flatnonzero((inner >= curve[:-2]) & (inner >= curve[2:])) + 1
    rivals = maxima[np.abs(lags[maxima] - lags[i_best]) > 0.1]
    unexplained = 1.0 - np.minimum(curve, 1.0) ** 2
    if rivals.size and unexplained[rivals].min() < cfg.ambiguity * unexplained[i_best]:
        k = int(rivals[np.argmax(curve[rivals])])
        raise CalibrationError(f"the motion is too regular: shifts of {lags[i_best] * 1e3:+.0f} ms and "
                               f"{lags[k] * 1e3:+.0f} ms match equally well (correlation {curve[i_best]:.4f} and "
                               f"{curve[k]:.4f}); {motion_advice}")
    offset = _refine(pairs, lags[i_best], step)
    n_out = n_spikes
    for _ in range(3):
        _, _, r, idx, _ = pairs.fit(offset)
        mad = 1.4826 * float(np.median(np.abs(r - np.median(r)))) + 1e-9
        bad = np.abs(r - np.median(r)) > cfg.outlier_mad * mad
        if not bad.any():
            break
        pairs.keep[idx[bad]] = False
        n_out += int(bad.sum())
        offset = _refine(pairs, offset, 2.0 * step)
    peak, w, r, idx, _ = pairs.fit(offset)
    if peak < cfg.min_correlation:
        raise CalibrationError(f"the two streams match poorly (correlation peak {peak:.2f}, at least "
                               f"{cfg.min_correlation:g} needed): is the plate line detected in the images and the "
                               f"probe's marker tracked? Then {motion_advice}")
    resid = float(np.sqrt(np.mean(r ** 2)))
    h = 1e-3  # the fitted height's rate at the pairs, by central differences of the fit's prediction
    u_p, P_p, i_p = pairs.at(offset + h)
    u_m, P_m, i_m = pairs.at(offset - h)
    both = np.intersect1d(i_p, i_m)
    rate = ((P_p[np.searchsorted(i_p, both)] - P_m[np.searchsorted(i_m, both)]) @ w[:-1]) / (2 * h)
    if not pairs.us_is_ref:
        rate = ((u_p[np.searchsorted(i_p, both)] - u_m[np.searchsorted(i_m, both)])) / (2 * h)
    # residuals are correlated over the smoothing window: sum the score over blocks of twice its
    # width before squaring (a block "sandwich" variance, Newey-West in spirit)
    r_both = r[np.searchsorted(idx, both)] if np.all(np.isin(both, idx)) else np.zeros(len(both))
    block = np.floor(pairs.ref_t[both] / max(4.0 * cfg.smooth_ms * 1e-3, 0.05)).astype(np.int64)
    score = np.bincount(block - block.min(), weights=r_both * rate)
    std_ms = 1e3 * math.sqrt(float(score @ score)) / max(float(rate @ rate), 1e-12)
    mid = 0.5 * (pairs.ref_t[0] + pairs.ref_t[-1])
    halves = [_refine(pairs, offset, 2.0 * step, sub) * 1e3 for sub in (pairs.ref_t < mid, pairs.ref_t >= mid)]
    height = pf @ w[:-1]  # the fitted probe height at every pose sample, in the line's mm
    scale = float(np.linalg.norm(w[:3]))
    log.info("temporal offset %.2f ms (correlation %.4f, scale %.3f, residual %.3f mm)", offset * 1e3, peak, scale,
             resid)
    return TemporalResult(
        offset_ms=offset * 1e3, peak_correlation=peak, scale=scale, residual_rms_mm=resid, std_ms=std_ms,
        halves_ms=(float(halves[0]), float(halves[1])), motion_mm=motion, cycles=cycles,
        duration_s=float(overlap), n_us=len(ut), n_pose=len(pt), n_used=int(idx.size), n_outliers=n_out,
        lags_ms=lags * 1e3, correlation=curve, us_t_s=ut, us_mm=uv, pose_t_s=pt, pose_mm=height)
