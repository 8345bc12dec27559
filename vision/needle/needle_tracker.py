"""Needle tracking over frames: candidates, confirmation by advance, Kalman smoothing, path, proximity.

``NeedleTracker(config).update(image, t_capture_ns, mm_per_px, structures) -> NeedleResult``

* Anatomy motion: the probe slides, so the image content moves; :class:`~vision.needle.motion.
  AnatomyMotion` measures the displacement ``D`` of the content and every track lives in
  anatomy-fixed coordinates ``q - D`` (millimetres).
* Acquisition (no confirmed needle): the lines of the current candidates (moved with the
  anatomy) and the best lines entering the field that are not on a known line
  (:mod:`vision.needle.entry`: the ``search_lines`` best plus one lower-ranked line in turn)
  are measured (:func:`vision.needle.strip.measure_shaft`; at most ``_MEASURE_BUDGET`` lines per
  frame, the advancing candidates first); each shaft is associated with the
  candidate track on its line (gates ``gate_angle_deg``, ``gate_px``) or starts one (at most
  ``max_tracks``).
* Confirmation: a needle is pushed in, so its tip advances *relative to the anatomy*, while a
  straight fascia, a vessel wall or bone moves with the tissue even when its visible end moves in
  the image. A track is confirmed when the anatomy-fixed position of its tip along the shaft
  shows a monotonic trend (Mann-Kendall statistic ``Z >= confirm_z``; Mann, "Nonparametric tests
  against trend", Econometrica 13, 1945; Kendall, *Rank Correlation Methods*, 1975) and has
  advanced ``confirm_advance_mm`` (median of the last three positions against the first three)
  steadily (most steps forward, none carrying most of it: the visible end of a fascia jumps
  between places, a pushed needle moves on) on a line that does not turn (the chord of a curved
  wall cut by the image edge turns as the probe slides).
  A shaft on the line of a needle confirmed less than ``relock_s`` ago is confirmed at once. A
  candidate that has not advanced after ``max_unconfirmed`` detections is static anatomy: the
  full search no longer spends its hypotheses on its line (it is re-measured in turn, so a needle
  that was held still is confirmed when it moves).
* Tracking (a confirmed needle): only the band around its predicted line is measured
  (:func:`vision.needle.strip.measure_shaft`); the full search runs again only when that fails.
* Smoothing: the tip follows a constant-velocity Kalman filter in anatomy millimetres
  (Bar-Shalom et al. 2001, §6.3.3) with an anisotropic measurement noise (the tip is less
  certain along the shaft than across it); a tip outside the 99.9 % validation gate is not fused
  once (the frame is ``uncertain``) and the state restarts when the jump persists. The angle
  follows a random-walk Kalman filter.
* Path: the straight extrapolation of the shaft ``trajectory_mm`` beyond the tip; proximity:
  :mod:`vision.needle.proximity` against the segmented nerves and vessels.

Validity: ``ok`` for the confirmed needle measured in this frame; ``uncertain`` for a candidate
that has started to advance but is not confirmed yet, or a gated-out tip; ``lost`` otherwise (no
old tip is ever shown as current).
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from core.errors import InputError
from vision.needle.config import NeedleConfig, NeedleTrackerConfig
from vision.needle.detect import same_line, search_frame
from vision.needle.entry import EntrySearch
from vision.needle.motion import AnatomyMotion
from vision.needle.proximity import CLASSES, proximity_level, structure_distances
from vision.needle.strip import LineDetection, measure_shaft
from core.types import Structure, Validity

logger = logging.getLogger(__name__)

_CHI2_2_999 = 13.816
_TIE_MM = 0.05
_SHOW_Z = 1.0  # a candidate is shown as uncertain once its advance trend reaches this ...
_SHOW_ADVANCE = 0.3  # ... and it advanced this fraction of confirm_advance_mm
_STEADY_FRAC = 0.75
_ENTRY_RANKS = 16  # entering lines ranked per search (the best search_lines + one in turn are measured)
_SLOW_EVERY = 3  # candidates without a trend are re-measured every this many frames
_MEASURE_BUDGET = 4  # strip measurements per frame while no needle is confirmed
_MAX_STEP = 0.75
_STEADY_ANGLE_DEG = 1.5


@dataclass(frozen=True)
class NeedleResult:
    """The needle in one ultrasound frame (pixels are ``(x, y)``).

    Attributes:
        validity: ``ok``, ``uncertain`` or ``lost``.
        tip_px: smoothed tip, or ``None`` when lost.
        entry_px: where the shaft enters the image, or ``None``.
        angle_deg: shaft angle below the image horizontal, or ``None``.
        trajectory_px: ``(2, 2)`` float32 ``[tip, extrapolated point]``, or ``None``.
        tip_distance_mm: nearest nerve / vessel distance from the tip (``None`` per absent class).
        trajectory_distance_mm: the same for the extrapolated path.
        proximity: ``safe``, ``caution``, ``stop`` or ``unknown``.
        t_capture_ns: capture time of the frame.
        raw_tip_px: this frame's detected tip before smoothing (``None`` when not detected).
    """

    validity: Validity
    tip_px: tuple[float, float] | None
    entry_px: tuple[float, float] | None
    angle_deg: float | None
    trajectory_px: np.ndarray | None
    tip_distance_mm: dict = field(default_factory=lambda: {k: None for k in CLASSES})
    trajectory_distance_mm: dict = field(default_factory=lambda: {k: None for k in CLASSES})
    proximity: str = "unknown"
    t_capture_ns: int = 0
    raw_tip_px: tuple[float, float] | None = None


def mann_kendall_z(values: Sequence[float], tie: float = _TIE_MM) -> float:
    """Mann-Kendall trend statistic (normal approximation, continuity-corrected; > 0: increasing).

    Differences smaller than ``tie`` count as ties.
    """
    s = np.asarray(values, np.float64)
    n = s.size
    if n < 3:
        return 0.0
    d = s[None, :] - s[:, None]
    iu = np.triu_indices(n, 1)
    dd = d[iu]
    S = float(np.sum(dd > tie) - np.sum(dd < -tie))
    var = n * (n - 1) * (2 * n + 5) / 18.0
    if S > 0:
        return (S - 1.0) / math.sqrt(var)
    if S < 0:
        return (S + 1.0) / math.sqrt(var)
    return 0.0


class _Track:
    """One candidate line followed over frames (state in anatomy-fixed millimetres)."""

    def __init__(self, tid: int, det: LineDetection, t_ns: int, D: np.ndarray, mm: tuple[float, float],
                 cfg: NeedleTrackerConfig) -> None:
        self.id = tid
        self.cfg = cfg
        self.sign = 1.0 if det.direction[0] >= 0 else -1.0
        self.ang = det.angle_deg
        self.ang_var = 1.0
        z = self._anat_mm(det.tip_px, D, mm)
        self.x = np.array([z[0], z[1], 0.0, 0.0])
        self.P = np.diag([1.0, 1.0, 25.0, 25.0])
        self.t_ns = t_ns
        self.last_seen_ns = t_ns
        self.u0 = self.dir_mm()
        self.hist: deque[float] = deque(maxlen=cfg.history)
        self.hist.append(float(z @ self.u0))
        self.angles: deque[tuple[float, float]] = deque(maxlen=cfg.history)  # (angle, shaft length mm)
        self.angles.append((det.angle_deg, det.length_mm))
        self.hits = 1
        self.missed = 0
        self.tip_gated = 0
        self.confirmed = False
        self.static = False
        self.det = det
        self.score = det.score
        self.line_anat = np.asarray(det.tip_px, np.float64) - D  # a point of its line, anatomy px

    @staticmethod
    def _anat_mm(p_px, D: np.ndarray, mm: tuple[float, float]) -> np.ndarray:
        sy, sx = mm
        return (np.asarray(p_px, np.float64) - D) * np.array([sx, sy])

    def dir_mm(self) -> np.ndarray:
        a = math.radians(self.ang)
        return np.array([self.sign * math.cos(a), math.sin(a)])

    def dir_px(self, mm: tuple[float, float]) -> np.ndarray:
        sy, sx = mm
        d = self.dir_mm() / np.array([sx, sy])
        return d / np.linalg.norm(d)

    def predict(self, t_ns: int) -> tuple[np.ndarray, np.ndarray]:
        dt = max((t_ns - self.t_ns) / 1e9, 0.0)
        F = np.eye(4)
        F[0, 2] = F[1, 3] = dt
        q = self.cfg.tip_accel_mm_s2 ** 2
        G = np.array([[dt * dt / 2, 0], [0, dt * dt / 2], [dt, 0], [0, dt]])
        return F @ self.x, F @ self.P @ F.T + q * G @ G.T

    def line_px(self, t_ns: int, D: np.ndarray, mm: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
        """Predicted line ``(point, direction)`` in image px: the shaft's line is fixed in the
        tissue (only the tip moves along it), so it is the last measured line moved with the
        anatomy, in the smoothed direction."""
        return self.line_anat + D, self.dir_px(mm)

    def matches(self, det: LineDetection, t_ns: int, D: np.ndarray, mm: tuple[float, float]) -> float | None:
        """Distance (px) of ``det`` from this track's line, or ``None`` outside the gates."""
        cfg = self.cfg
        if (1.0 if det.direction[0] >= 0 else -1.0) != self.sign or abs(det.angle_deg - self.ang) > cfg.gate_angle_deg:
            return None
        p, u = self.line_px(t_ns, D, mm)
        n = np.array([-u[1], u[0]])
        d = max(abs(float((np.asarray(det.tip_px) - p) @ n)), abs(float((np.asarray(det.entry_px) - p) @ n)))
        return d if d <= cfg.gate_px else None

    def update(self, det: LineDetection, t_ns: int, D: np.ndarray, mm: tuple[float, float]) -> bool:
        """Fuse a detection; returns False when the tip was gated out (not fused this frame)."""
        cfg = self.cfg
        sy, sx = mm
        dt = max((t_ns - self.t_ns) / 1e9, 0.0)
        xp, Pp = self.predict(t_ns)
        # angle: random-walk Kalman
        va = self.ang_var + cfg.angle_process_deg ** 2 * dt
        ka = va / (va + 0.25)
        self.ang += ka * (det.angle_deg - self.ang)
        self.ang_var = (1 - ka) * va
        # tip: constant-velocity Kalman with anisotropic noise (along / across the shaft)
        u = self.dir_mm()
        n = np.array([-u[1], u[0]])
        s_along = cfg.tip_meas_px * max(sx, sy)
        s_across = 0.5 * s_along
        R = s_along ** 2 * np.outer(u, u) + s_across ** 2 * np.outer(n, n)
        z = self._anat_mm(det.tip_px, D, mm)
        H = np.zeros((2, 4))
        H[0, 0] = H[1, 1] = 1.0
        y = z - H @ xp
        S = H @ Pp @ H.T + R
        nis = float(y @ np.linalg.solve(S, y))
        fused = True
        if nis > _CHI2_2_999 and self.hits >= 2 and self.tip_gated < 1:
            self.x, self.P = xp, Pp  # the tip jumped: keep the prediction this frame
            self.tip_gated += 1
            fused = False
        elif nis > _CHI2_2_999 and self.hits >= 2:
            self.x = np.array([z[0], z[1], 0.0, 0.0])  # the jump persists: the needle really moved
            self.P = np.diag([s_along ** 2, s_along ** 2, 25.0, 25.0])
            self.tip_gated = 0
            fused = False
        else:
            self.tip_gated = 0
            K = Pp @ H.T @ np.linalg.inv(S)
            self.x = xp + K @ y
            self.P = (np.eye(4) - K @ H) @ Pp
        self.t_ns = t_ns
        self.last_seen_ns = t_ns
        self.hits += 1
        self.missed = 0
        self.det = det
        self.score = det.score
        self.line_anat = np.asarray(det.tip_px, np.float64) - D
        self.hist.append(float(z @ self.u0))
        self.angles.append((det.angle_deg, det.length_mm))
        return fused

    def advance(self) -> tuple[float, float]:
        """``(Mann-Kendall Z, advance in mm)`` of the tip along the shaft, anatomy-fixed."""
        h = list(self.hist)
        if len(h) < 4:
            return 0.0, 0.0
        return mann_kendall_z(h), float(np.median(h[-3:]) - np.median(h[:3]))

    def steady(self, advance_mm: float) -> bool:
        """True when the advance was made in steps, not in one jump.

        A pushed needle moves on in most frames; the visible end of a fascia or wall jumps
        between places (where its echo happens to fade) and stays there. Steps are taken two
        samples apart: at least ``_STEADY_FRAC`` of those that are not ties must be forward, and
        no single step may carry more than ``_MAX_STEP`` of the advance. The shaft's angle (median
        of the last three against the first three, of the shafts at least half as long as the
        longest: short shafts give coarse angles) must not turn by more than
        ``_STEADY_ANGLE_DEG`` meanwhile: the needle's line is fixed in the tissue,
        while the straight chord of a curved wall that starts at the image edge turns (and its
        end moves along the wall) as the probe slides.
        """
        h = np.asarray(self.hist, np.float64)
        if h.size < 5 or advance_mm <= 0:
            return False
        # angles of the shafts at least half as long as the longest (short shafts give coarse angles)
        longest = max(length for _, length in self.angles)
        a = [ang for ang, length in self.angles if length >= 0.5 * longest]
        if len(a) >= 5 and abs(float(np.median(a[-3:]) - np.median(a[:3]))) > _STEADY_ANGLE_DEG:
            return False  # a needle's line is fixed in the tissue; a chord of a curved wall turns
        steps = h[2:] - h[:-2]
        moving = steps[np.abs(steps) > _TIE_MM]
        if moving.size == 0 or np.mean(moving > 0) < _STEADY_FRAC:
            return False
        return float(np.max(np.abs(h[1:] - h[:-1]))) <= _MAX_STEP * advance_mm

    def tip_px(self, D: np.ndarray, mm: tuple[float, float]) -> np.ndarray:
        sy, sx = mm
        return self.x[:2] / np.array([sx, sy]) + D


class NeedleTracker:
    """Tracks one in-plane needle through an ultrasound stream.

    Args:
        config: ``[needle]`` section.
    """

    def __init__(self, config: NeedleConfig | None = None) -> None:
        self.config = config or NeedleConfig()
        self._entry = EntrySearch()
        self._motion = AnatomyMotion()
        self.reset()

    def reset(self) -> None:
        """Forget every track, the static lines and the anatomy motion."""
        self._tracks: list[_Track] = []
        self._next_id = 0
        self._frame = 0
        self._t_ns: int | None = None
        self._mm: tuple[float, float] | None = None
        self._relock: tuple[_Track, int] | None = None
        self._motion.reset()
        self._rr = 0
        self._looked: set[int] = set()

    # ------------------------------------------------------------------ main entry
    def update(self, image: np.ndarray, t_capture_ns: int, mm_per_px: tuple[float, float],
               structures: Sequence[Structure] | None) -> NeedleResult:
        """Track the needle in one frame.

        Args:
            image: ``HxW`` uint8 B-mode image (``HxWx3`` BGR is converted).
            t_capture_ns: capture time of the frame.
            mm_per_px: pixel spacing ``(row, col)``.
            structures: segmented nerves and vessels (``None``: no segmentation, proximity unknown).

        Raises:
            InputError: the image is not a 2-D (or 3-channel) uint8 array, or the spacing is invalid.
        """
        if not isinstance(image, np.ndarray) or image.ndim not in (2, 3) or image.size == 0:
            raise InputError("ultrasound frame must be an HxW uint8 image")
        if image.dtype != np.uint8:
            raise InputError(f"ultrasound frame has dtype {image.dtype}; expected uint8")
        if image.ndim == 3:
            if image.shape[2] != 3:
                raise InputError(f"ultrasound frame has {image.shape[2]} channels; expected 1 or 3")
            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        if min(image.shape) < 32:
            raise InputError(f"ultrasound frame of {image.shape[1]}x{image.shape[0]} px is too small (32 px minimum)")
        try:
            sy, sx = float(mm_per_px[0]), float(mm_per_px[1])
        except (TypeError, IndexError, ValueError):
            raise InputError(f"mm_per_px must be (row, col) spacing in mm, got {mm_per_px!r}") from None
        if not (sy > 0 and sx > 0 and math.isfinite(sy) and math.isfinite(sx)):
            raise InputError(f"mm_per_px must be positive, got {mm_per_px!r}")
        mm = (sy, sx)
        t = int(t_capture_ns)
        if self._t_ns is not None and (self._mm != mm or not (0 <= (t - self._t_ns) / 1e9 <= 1.0)):
            self.reset()  # a new stream, a new spacing or a time jump: start over
        self._mm = mm
        self._t_ns = t
        self._frame += 1
        cfg = self.config
        full = image.astype(np.float32)
        D = self._motion.update(cv2.pyrDown(image)).copy()
        rng = np.random.default_rng(self._frame)

        confirmed = next((k for k in self._tracks if k.confirmed), None)
        assigned: dict[int, LineDetection] = {}
        if confirmed is not None:
            p, u = confirmed.line_px(t, D, mm)
            det = measure_shaft(full, p, u, mm, cfg.detector, rng=rng)
            if det is not None and confirmed.matches(det, t, D, mm) is not None:
                assigned[confirmed.id] = det
            else:
                cands = search_frame(image, full, mm, cfg, self._entry, rng=rng)
                best = self._best_match(confirmed, cands, t, D)
                if best is not None:
                    assigned[confirmed.id] = best
            tracks = [confirmed]
        else:
            assigned = self._acquire(image, full, t, D, rng)
            tracks = self._tracks

        fused: dict[int, bool] = {}
        for k in tracks:
            if k.id in assigned:
                fused[k.id] = k.update(assigned[k.id], t, D, mm)
            elif confirmed is not None or k.id in self._looked:
                k.missed += 1
        self._confirm(t, D)
        self._prune(t, D)
        return self._output(t, D, structures, fused)

    # ------------------------------------------------------------------ acquisition
    def _acquire(self, image: np.ndarray, full: np.ndarray, t: int, D: np.ndarray,
                 rng: np.random.Generator) -> dict[int, LineDetection]:
        """Detections of this frame, assigned to tracks (new tracks are created here).

        At most ``_MEASURE_BUDGET`` lines are measured per frame, in this order: candidates whose
        tip advances, the best ``search_lines`` entering lines not on a known line, young
        candidates, one lower-ranked entering line in turn (a faint shaft among brighter fascia
        is measured every few frames; once found, it is followed on every frame), the other
        candidates every ``_SLOW_EVERY`` frames, and one static line in turn. The entering lines
        are searched on every second frame while there are candidates (on every frame otherwise).
        """
        cfg, mm = self.config.tracker, self._mm
        active = [k for k in self._tracks if not k.static]
        static = [k for k in self._tracks if k.static]
        advancing = [k for k in active if k.hits >= 5 and k.advance()[0] >= _SHOW_Z]
        young = [k for k in active if k.hits < 5]
        slow = [k for k in active if k not in advancing and k not in young
                and (self._frame + k.id) % _SLOW_EVERY == 0]
        fresh: list[tuple[np.ndarray, np.ndarray]] = []
        if not active or self._frame % 2 == 0:
            known = [k.line_px(t, D, mm) for k in self._tracks]
            cos_gate = math.cos(math.radians(cfg.gate_angle_deg))
            fresh = [(p, u) for p, u, _ in self._entry.hypotheses(image, mm, self.config.detector, keep=_ENTRY_RANKS)
                     if not any(abs(float(u @ u2)) >= cos_gate
                                and abs(float((p - p2) @ np.array([-u2[1], u2[0]]))) <= cfg.gate_px
                                for p2, u2 in known)]
        queue: list[tuple[_Track | None, tuple[np.ndarray, np.ndarray]]] = [(k, k.line_px(t, D, mm)) for k in advancing]
        queue += [(None, h) for h in fresh[:cfg.search_lines]]
        queue += [(k, k.line_px(t, D, mm)) for k in young]
        if len(fresh) > cfg.search_lines:
            queue.append((None, fresh[cfg.search_lines + self._rr % (len(fresh) - cfg.search_lines)]))
        queue += [(k, k.line_px(t, D, mm)) for k in slow]
        if static:
            k = static[self._rr % len(static)]
            queue.append((k, k.line_px(t, D, mm)))
        self._rr += 1
        queue = queue[:_MEASURE_BUDGET]
        cands: list[LineDetection] = []
        for _, (p, u) in queue:
            d = measure_shaft(full, p, u, mm, self.config.detector, rng=rng)
            if d is not None and not any(same_line(e, d) for e in cands):
                cands.append(d)
        cands.sort(key=lambda d: -d.score)
        assigned: dict[int, LineDetection] = {}
        for det in cands:
            best, best_d = None, None
            for k in self._tracks:
                if k.id in assigned:
                    continue
                d = k.matches(det, t, D, mm)
                if d is not None and (best_d is None or d < best_d):
                    best, best_d = k, d
            if best is not None:
                assigned[best.id] = det
            elif len(self._tracks) < cfg.max_tracks or self._evict():
                k = _Track(self._next_id, det, t, D, mm, cfg)
                self._next_id += 1
                if self._relock is not None:
                    old, t_lost = self._relock
                    if (t - t_lost) / 1e9 <= cfg.relock_s and old.matches(det, t, D, mm) is not None:
                        k.confirmed = True
                        logger.debug("needle track %d: on the last needle's line, confirmed at once", k.id)
                self._tracks.append(k)
        # a candidate counts a miss only when its own line was measured this frame
        self._looked = {k.id for k, _ in queue if k is not None and not k.static}
        return assigned

    def _evict(self) -> bool:
        """Make room for a new track by dropping the least useful one; False when none can go."""
        pool = [k for k in self._tracks if not k.confirmed]
        if not pool:
            return False
        worst = min(pool, key=lambda k: (not k.static, k.last_seen_ns, k.score))
        self._tracks.remove(worst)
        return True

    def _best_match(self, track: _Track, cands: list[LineDetection], t: int, D: np.ndarray) -> LineDetection | None:
        best, best_d = None, None
        for det in cands:
            d = track.matches(det, t, D, self._mm)
            if d is not None and (best_d is None or d < best_d):
                best, best_d = det, d
        return best

    # ------------------------------------------------------------------ confirmation and pruning
    def _confirm(self, t: int, D: np.ndarray) -> None:
        cfg = self.config.tracker
        if any(k.confirmed for k in self._tracks):
            return
        ready = []
        for k in self._tracks:
            if k.last_seen_ns != t:
                continue
            z, adv = k.advance()
            if z >= cfg.confirm_z and adv >= cfg.confirm_advance_mm and k.steady(adv):
                ready.append(k)
            elif not k.static and k.hits >= cfg.max_unconfirmed and not (z >= cfg.confirm_z
                                                                            and adv >= cfg.confirm_advance_mm):
                k.static = True  # it does not advance (one that advances unsteadily is not anatomy)
                logger.debug("needle track %d: did not advance in %d detections: static anatomy", k.id, k.hits)
        if ready:
            k = max(ready, key=lambda k: k.score)
            k.confirmed = True
            k.static = False
            logger.debug("needle track %d confirmed (advance %.2f mm)", k.id, k.advance()[1])

    def _prune(self, t: int, D: np.ndarray) -> None:
        cfg = self.config.tracker
        keep = []
        for k in self._tracks:
            if k.confirmed and k.missed > cfg.max_missed:
                self._relock = (k, t)
                continue
            if not k.confirmed and not k.static and k.missed > cfg.max_missed:
                continue
            if k.static and (t - k.last_seen_ns) / 1e9 > cfg.static_memory_s:
                continue
            keep.append(k)
        self._tracks = keep

    # ------------------------------------------------------------------ output
    def _output(self, t: int, D: np.ndarray, structures: Sequence[Structure] | None,
                fused: dict[int, bool]) -> NeedleResult:
        cfg = self.config.tracker
        confirmed = next((k for k in self._tracks if k.confirmed), None)
        if confirmed is not None:
            if confirmed.id not in fused:
                return NeedleResult(Validity.LOST, None, None, None, None, t_capture_ns=t)
            ok = fused[confirmed.id] and confirmed.hits >= 2
            return self._result(confirmed, t, D, Validity.OK if ok else Validity.UNCERTAIN, structures)
        shown = []
        for k in self._tracks:
            if k.static or k.id not in fused:
                continue
            z, adv = k.advance()
            if z >= _SHOW_Z and adv >= _SHOW_ADVANCE * cfg.confirm_advance_mm and k.steady(adv):
                shown.append(k)
        if shown:
            return self._result(max(shown, key=lambda k: k.score), t, D, Validity.UNCERTAIN, structures)
        return NeedleResult(Validity.LOST, None, None, None, None, t_capture_ns=t)

    def _result(self, k: _Track, t: int, D: np.ndarray, validity: Validity,
                structures: Sequence[Structure] | None) -> NeedleResult:
        sy, sx = self._mm
        tip = k.tip_px(D, self._mm)
        d = k.dir_px(self._mm)
        d_mm = float(np.linalg.norm(d * np.array([sx, sy])))
        end = tip + d * (self.config.proximity.trajectory_mm / max(d_mm, 1e-9))
        traj = np.array([tip, end], np.float32)
        tip_t = (float(tip[0]), float(tip[1]))
        if structures is None:
            tip_d = {c: None for c in CLASSES}
            path_d = {c: None for c in CLASSES}
            level = "unknown"
        else:
            ahead = tip + d * (self.config.proximity.tip_margin_mm / max(d_mm, 1e-9))
            tip_d, path_d = structure_distances(tip_t, (float(end[0]), float(end[1])), structures, (sy, sx),
                                                tip_ahead_px=(float(ahead[0]), float(ahead[1]))
                                                if self.config.proximity.tip_margin_mm > 0 else None)
            level = proximity_level(tip_d, path_d, self.config.proximity)
        return NeedleResult(validity, tip_t, k.det.entry_px, float(k.ang), traj, tip_d, path_d, level, t,
                            raw_tip_px=k.det.tip_px)
