"""Time synchronisation of probe poses with ultrasound frames.

``PoseBuffer(config)`` keeps the latest poses in a ring buffer ordered by capture time.
``at(t_ns)`` answers the pose for an ultrasound frame captured at ``t_ns``: the query time is
``t_ns + temporal_offset_ms`` (the camera-to-ultrasound latency found by temporal calibration,
PLUS Toolkit's "LocalTimeOffsetSec"), and the answer is

* interpolated (SLERP on rotation, LERP on translation; Shoemake, SIGGRAPH 1985) between the
  two usable poses around the query time when they are at most ``max_interp_gap_ms`` apart;
* the nearest usable pose when the query lies after the newest one (or outside a gap) and
  :class:`PoseAgeGate` calls its age current, with its own capture time (so the consumer sees its
  true age);
* ``STALE`` (with the old pose attached, never to be drawn as current) when the gate does not;
* ``LOST`` when the buffer holds nothing usable, or when the tracker reported the board not
  usable in the last ``lost_confirm_frames`` camera frames after the last usable pose. A shorter
  run of misses (one blurred or refused frame) is a dropout: it is bridged by interpolation or
  the nearest pose, within the same age limits, so the guidance does not blink; a board that
  really left the view is reported lost ``lost_confirm_frames - 1`` camera frames later than
  its first miss.

The gate is a Schmitt trigger (hysteresis with two thresholds) on the pose age, so that one late
camera frame does not flip the status to ``stale`` and back: a pose at most ``max_pose_age_ms``
old is current; a current pose stays current while its age lies between ``max_pose_age_ms`` and
``max_pose_age_hard_ms`` for at most ``pose_age_grace_ms``; a pose older than
``max_pose_age_hard_ms`` is stale at once (the safety bound: no older pose is ever reported
current); a stale pose is current again only when a pose at most ``max_pose_age_ms`` old answers.
"""

from __future__ import annotations

import bisect
import threading
from collections import deque

from vision.tracking.config import SyncConfig
from core.pose import PoseMeasurement
from core.se3 import interpolate
from core.types import Validity

_RANK = {Validity.OK: 0, Validity.OCCLUDED: 1, Validity.UNCERTAIN: 2, Validity.STALE: 3, Validity.LOST: 4}


class PoseAgeGate:
    """Schmitt trigger on the age of the pose answered for successive ultrasound frames.

    A plain threshold on the pose age flips the status at every camera frame that arrives a
    little late (CPU contention, a dropped frame) and back at the next one; two thresholds with
    memory between them (hysteresis, O. H. Schmitt, "A thermionic trigger", J. Sci. Instrum.
    15, 1938) keep the status steady through such single late frames without ever letting a
    really old pose count as current:

    * ``age <= max_age_ms``: current (and the grace timer stops);
    * ``age > hard_limit_ms``: stale at once, whatever came before (the safety bound);
    * in between: current only when the previous answer was current and the age has been above
      ``max_age_ms`` for less than ``grace_ms`` (query time); otherwise stale.

    Look-ups must come in capture-time order (one ultrasound stream); an earlier query than the
    last one is answered with the plain threshold ``max_age_ms`` and leaves the state alone. Not
    thread-safe on its own (:class:`PoseBuffer` calls it under its lock).

    Args:
        max_age_ms: lower threshold: a pose this old or younger is current, and a stale pose
            becomes current again only at or below it.
        hard_limit_ms: upper threshold: a pose older than this is never current (>= ``max_age_ms``).
        grace_ms: longest stretch of query time a current pose stays current while its age is
            between the thresholds; 0 disables the hysteresis (a plain threshold at ``max_age_ms``).
    """

    def __init__(self, max_age_ms: float, hard_limit_ms: float, grace_ms: float) -> None:
        if not 0.0 < max_age_ms <= hard_limit_ms or grace_ms < 0.0:
            raise ValueError(f"need 0 < max_age_ms <= hard_limit_ms and grace_ms >= 0, got {max_age_ms}, "
                             f"{hard_limit_ms}, {grace_ms}")
        self.max_age_ms = float(max_age_ms)
        self.hard_limit_ms = float(hard_limit_ms)
        self.grace_ms = float(grace_ms)
        self.reset()

    def reset(self) -> None:
        """Forget the history: the next answer is the plain threshold ``max_age_ms``."""
        self._current = False
        self._late_since_ns: int | None = None
        self._last_query_ns: int | None = None

    def current(self, t_query_ns: int, age_ms: float) -> bool:
        """Whether a pose ``age_ms`` old counts as current for the query at ``t_query_ns``."""
        q = int(t_query_ns)
        if self._last_query_ns is not None and q < self._last_query_ns:
            return age_ms <= self.max_age_ms  # out of order: no hysteresis, no state change
        self._last_query_ns = q
        if age_ms <= self.max_age_ms:
            self._current, self._late_since_ns = True, None
        elif age_ms > self.hard_limit_ms or not self._current:
            self._current, self._late_since_ns = False, None
        else:  # current until now, late but under the hard limit: hold for the grace period
            if self._late_since_ns is None:
                self._late_since_ns = q
            self._current = (q - self._late_since_ns) / 1e6 < self.grace_ms
            if not self._current:
                self._late_since_ns = None
        return self._current

    def lost(self, t_query_ns: int) -> None:
        """Record a look-up that found no pose: the next pose must be fresh to count as current."""
        q = int(t_query_ns)
        if self._last_query_ns is None or q >= self._last_query_ns:
            self._last_query_ns = q
            self._current, self._late_since_ns = False, None


class PoseBuffer:
    """Thread-safe ring buffer of timestamped poses with interpolated look-up.

    ``at`` keeps the state of a :class:`PoseAgeGate`, so it expects the look-ups of one
    ultrasound stream in capture-time order (an earlier look-up gets the plain age threshold).

    Args:
        config: ``[tracking.sync]`` (buffer size, temporal offset, pose-age limits, largest
            interpolation gap).
    """

    def __init__(self, config: SyncConfig | None = None) -> None:
        self.config = config or SyncConfig()
        self._items: deque[PoseMeasurement] = deque(maxlen=self.config.buffer_size)
        self._times: deque[int] = deque(maxlen=self.config.buffer_size)
        self._lock = threading.Lock()
        self._gate = PoseAgeGate(self.config.max_pose_age_ms, self.config.max_pose_age_hard_ms,
                                 self.config.pose_age_grace_ms)

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        """Drop every pose (and the age gate's history)."""
        with self._lock:
            self._items.clear()
            self._times.clear()
            self._gate.reset()

    def push(self, m: PoseMeasurement) -> None:
        """Add a measurement (any validity); out-of-order measurements are inserted in place."""
        with self._lock:
            t = int(m.t_capture_ns)
            if not self._times or t >= self._times[-1]:
                self._items.append(m)
                self._times.append(t)
                return
            items, times = list(self._items), list(self._times)
            i = bisect.bisect_right(times, t)
            items.insert(i, m)
            times.insert(i, t)
            n = self.config.buffer_size
            self._items = deque(items[-n:], maxlen=n)
            self._times = deque(times[-n:], maxlen=n)

    def latest(self) -> PoseMeasurement | None:
        """The newest measurement of any validity, or ``None``."""
        with self._lock:
            return self._items[-1] if self._items else None

    def at(self, t_ns: int) -> PoseMeasurement:
        """The pose for an ultrasound frame captured at ``t_ns`` (see the module docstring)."""
        cfg = self.config
        q = int(t_ns) + int(round(cfg.temporal_offset_ms * 1e6))
        with self._lock:
            items = list(self._items)
            times = list(self._times)
        if not items:
            self._gate_lost(q)
            return PoseMeasurement.lost(q, "no_pose", source="sync")
        i = bisect.bisect_right(times, q)  # items[:i] are at or before q
        before = next((items[k] for k in range(i - 1, -1, -1) if items[k].usable), None)
        after = next((items[k] for k in range(i, len(items)) if items[k].usable), None)
        gap_ns = cfg.max_interp_gap_ms * 1e6
        # a run of "board not seen" reports after the last usable pose wins once it is confirmed
        newest_before = items[i - 1] if i > 0 else None
        confirm = cfg.lost_confirm_frames
        if (before is not None and after is not None and after.t_capture_ns - before.t_capture_ns <= gap_ns
                and self._misses_between(items, before, after) < confirm):
            span = after.t_capture_ns - before.t_capture_ns
            s = 0.0 if span == 0 else (q - before.t_capture_ns) / span
            T = interpolate(before.T_camera_from_board, after.T_camera_from_board, s)
            worse = max(before.validity, after.validity, key=lambda v: _RANK[v])
            cov = before.cov_6x6 if s < 0.5 else after.cov_6x6
            self._gate_current(q, 0.0)
            return before.with_(T_camera_from_board=T, validity=worse, t_capture_ns=q, cov_6x6=cov,
                                reason="interpolated", source="sync")
        # nearest usable pose in time
        cands = [m for m in (before, after) if m is not None]
        if not cands:
            lost = newest_before or items[0]
            self._gate_lost(q)
            return PoseMeasurement.lost(q, lost.reason or "no_pose", lost.n_markers, source="sync")
        near = min(cands, key=lambda m: abs(m.t_capture_ns - q))
        if (newest_before is not None and not newest_before.usable and near is before
                and newest_before.t_capture_ns > before.t_capture_ns
                and sum(1 for k in range(i) if items[k].t_capture_ns > before.t_capture_ns) >= confirm):
            # the tracker lost the board after this pose: report that, not the old pose
            self._gate_lost(q)
            return PoseMeasurement.lost(q, newest_before.reason or "lost", newest_before.n_markers, source="sync")
        age_ms = abs(q - near.t_capture_ns) / 1e6
        if not self._gate_current(q, age_ms):
            return near.with_(validity=Validity.STALE, reason=f"age_{age_ms:.0f}ms", source="sync")
        return near.with_(reason=near.reason or "nearest", source="sync")

    def _gate_current(self, q: int, age_ms: float) -> bool:
        with self._lock:
            return self._gate.current(q, age_ms)

    def _gate_lost(self, q: int) -> None:
        with self._lock:
            self._gate.lost(q)

    @staticmethod
    def _misses_between(items: list[PoseMeasurement], a: PoseMeasurement, b: PoseMeasurement) -> int:
        return sum(1 for m in items if not m.usable and a.t_capture_ns < m.t_capture_ns < b.t_capture_ns)
