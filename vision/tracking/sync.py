"""Time synchronisation of probe poses with ultrasound frames.

``PoseBuffer(config)`` keeps the latest poses in a ring buffer ordered by capture time.
``at(t_ns)`` answers the pose for an ultrasound frame captured at ``t_ns``: the query time is
``t_ns + temporal_offset_ms`` (the camera-to-ultrasound latency found by temporal calibration,
PLUS Toolkit's "LocalTimeOffsetSec"), and the answer is

* interpolated (SLERP on rotation, LERP on translation; Shoemake, SIGGRAPH 1985) between the
  two usable poses around the query time when they are at most ``max_interp_gap_ms`` apart;
* the nearest usable pose when the query lies after the newest one (or outside a gap) and that
  pose is at most ``max_pose_age_ms`` old, with its own capture time (so the consumer sees its age);
* ``STALE`` (with the old pose attached, never to be drawn as current) when the nearest usable
  pose is older than ``max_pose_age_ms``;
* ``LOST`` when the buffer holds nothing usable, or when the tracker reported the board lost
  more recently than the last usable pose and closer to the query.
"""

from __future__ import annotations

import bisect
import threading
from collections import deque

from vision.tracking.config import TrackingConfig
from vision.tracking.pose import PoseMeasurement
from vision.tracking.se3 import interpolate
from vision.types import Validity

_RANK = {Validity.OK: 0, Validity.OCCLUDED: 1, Validity.UNCERTAIN: 2, Validity.STALE: 3, Validity.LOST: 4}


class PoseBuffer:
    """Thread-safe ring buffer of timestamped poses with interpolated look-up.

    Args:
        config: ``buffer_size``, ``temporal_offset_ms``, ``max_pose_age_ms`` and
            ``max_interp_gap_ms`` are used.
    """

    def __init__(self, config: TrackingConfig | None = None) -> None:
        self.config = config or TrackingConfig()
        self._items: deque[PoseMeasurement] = deque(maxlen=self.config.buffer_size)
        self._times: deque[int] = deque(maxlen=self.config.buffer_size)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        """Drop every pose."""
        with self._lock:
            self._items.clear()
            self._times.clear()

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
            return PoseMeasurement.lost(q, "no_pose", source="sync")
        i = bisect.bisect_right(times, q)  # items[:i] are at or before q
        before = next((items[k] for k in range(i - 1, -1, -1) if items[k].usable), None)
        after = next((items[k] for k in range(i, len(items)) if items[k].usable), None)
        gap_ns = cfg.max_interp_gap_ms * 1e6
        # a newer "board not seen" report between the last usable pose and the query wins
        newest_before = items[i - 1] if i > 0 else None
        if (before is not None and after is not None and after.t_capture_ns - before.t_capture_ns <= gap_ns
                and not self._lost_between(items, before, after)):
            span = after.t_capture_ns - before.t_capture_ns
            s = 0.0 if span == 0 else (q - before.t_capture_ns) / span
            T = interpolate(before.T_camera_from_board, after.T_camera_from_board, s)
            worse = max(before.validity, after.validity, key=lambda v: _RANK[v])
            cov = before.cov_6x6 if s < 0.5 else after.cov_6x6
            return before.with_(T_camera_from_board=T, validity=worse, t_capture_ns=q, cov_6x6=cov,
                                reason="interpolated", source="sync")
        # nearest usable pose in time
        cands = [m for m in (before, after) if m is not None]
        if not cands:
            lost = newest_before or items[0]
            return PoseMeasurement.lost(q, lost.reason or "no_pose", lost.n_markers, source="sync")
        near = min(cands, key=lambda m: abs(m.t_capture_ns - q))
        if (newest_before is not None and not newest_before.usable and near is before
                and newest_before.t_capture_ns > before.t_capture_ns):
            # the tracker lost the board after this pose: report that, not the old pose
            return PoseMeasurement.lost(q, newest_before.reason or "lost", newest_before.n_markers, source="sync")
        age_ms = abs(q - near.t_capture_ns) / 1e6
        if age_ms > cfg.max_pose_age_ms:
            return near.with_(validity=Validity.STALE, reason=f"age_{age_ms:.0f}ms", source="sync")
        return near.with_(reason=near.reason or "nearest", source="sync")

    @staticmethod
    def _lost_between(items: list[PoseMeasurement], a: PoseMeasurement, b: PoseMeasurement) -> bool:
        return any(not m.usable and a.t_capture_ns < m.t_capture_ns < b.t_capture_ns for m in items)
