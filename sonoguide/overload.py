"""Overload detection for the guidance loop: when the machine cannot keep up, say so.

The loop already degrades the safe way: a one-slot, latest-wins mailbox between capture and
processing drops whole frames early instead of queueing them, so what is shown stays fresh
while the rate falls. What was missing is that nobody was told. :class:`OverloadMonitor` watches
the ultrasound path over a sliding window and declares the loop *overloaded* when

* more than ``max_drop_fraction`` of the captured frames were dropped before processing (the
  loop runs slower than the source), or
* the 95th percentile of capture-to-overlay latency exceeds ``latency_budget_ms``,

for at least ``enter_s``; it declares it recovered once neither holds for ``leave_s``
(hysteresis, so the state does not flicker at the boundary). The runtime puts the verdict in the
state (``overloaded``), the status line and the headset's HUD, with the rate the loop achieves.

The two signals are the ones a real-time system watches for a missed deadline and for a backlog
(Liu and Layland's utilisation argument: above full utilisation deadlines are missed; Buttazzo,
*Hard Real-Time Computing Systems*, ch. 8, "overload management": shed load, keep the most
important task's deadline, and signal it).
"""

from __future__ import annotations

import collections
import threading
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OverloadConfig:
    """Thresholds of :class:`OverloadMonitor`.

    Attributes:
        window_s: the sliding window the figures are taken over.
        max_drop_fraction: dropped / captured frames above this is overload.
        latency_budget_ms: p95 capture-to-overlay latency above this is overload.
        enter_s: a condition must hold this long before the loop is called overloaded.
        leave_s: and be absent this long before it is called recovered.
        warmup_s: frames of the first seconds after the first capture are not judged (the
            network's first calls and the sockets' start are slow once, not an overload).
    """

    window_s: float = 2.0
    max_drop_fraction: float = 0.1
    latency_budget_ms: float = 50.0
    enter_s: float = 2.0
    leave_s: float = 2.0
    warmup_s: float = 3.0


@dataclass(frozen=True)
class OverloadStatus:
    """The verdict and the figures behind it (over the window).

    Attributes:
        overloaded: the loop cannot keep up.
        loop_hz: frames processed per second.
        source_hz: frames captured per second.
        drop_fraction: dropped / captured.
        latency_p95_ms: capture-to-overlay latency, 95th percentile (``None`` without frames).
        reason: why it is (or would be) overloaded, empty when it is not.
    """

    overloaded: bool
    loop_hz: float
    source_hz: float
    drop_fraction: float
    latency_p95_ms: float | None
    reason: str


class OverloadMonitor:
    """Thread-safe: capture, drop and processing events come from different threads.

    Args:
        config: thresholds.
    """

    def __init__(self, config: OverloadConfig | None = None) -> None:
        self.config = config or OverloadConfig()
        self._lock = threading.Lock()
        self._captured: collections.deque[float] = collections.deque()
        self._dropped: collections.deque[float] = collections.deque()
        self._processed: collections.deque[tuple[float, float]] = collections.deque()
        self._overloaded = False
        self._since: float | None = None  # when the current condition (bad while ok, good while overloaded) began
        self.overloaded_s = 0.0
        """Seconds spent overloaded so far."""
        self._last_eval: float | None = None
        self._t_first: float | None = None

    def on_captured(self, t_s: float) -> None:
        """A source frame arrived (monotonic seconds)."""
        with self._lock:
            if self._t_first is None:
                self._t_first = t_s
            self._captured.append(t_s)

    def on_dropped(self, t_s: float) -> None:
        """A frame was replaced in the mailbox before processing."""
        with self._lock:
            self._dropped.append(t_s)

    def on_processed(self, t_s: float, latency_ms: float) -> None:
        """A frame became an overlay ``latency_ms`` after its capture."""
        with self._lock:
            self._processed.append((t_s, latency_ms))

    def _trim(self, now: float) -> None:
        lo = now - self.config.window_s
        if self._t_first is not None:
            lo = max(lo, self._t_first + self.config.warmup_s)
        for d in (self._captured, self._dropped):
            while d and d[0] < lo:
                d.popleft()
        while self._processed and self._processed[0][0] < lo:
            self._processed.popleft()

    def evaluate(self, now: float) -> OverloadStatus:
        """The verdict at ``now`` (monotonic seconds); call it regularly (e.g. twice a second)."""
        cfg = self.config
        with self._lock:
            self._trim(now)
            captured, dropped = len(self._captured), len(self._dropped)
            lat = np.fromiter((l for _, l in self._processed), dtype=np.float64, count=len(self._processed))
            processed = len(lat)
            drop = dropped / captured if captured else 0.0
            p95 = float(np.percentile(lat, 95)) if processed else None
            reasons = []
            if captured >= 5 and drop > cfg.max_drop_fraction:
                reasons.append(f"{100 * drop:.0f} % of frames dropped")
            if p95 is not None and processed >= 5 and p95 > cfg.latency_budget_ms:
                reasons.append(f"latency p95 {p95:.0f} ms over {cfg.latency_budget_ms:.0f} ms")
            bad = bool(reasons)
            if self._last_eval is not None and self._overloaded:
                self.overloaded_s += max(0.0, now - self._last_eval)
            self._last_eval = now
            if bad != self._overloaded:
                if self._since is None:
                    self._since = now
                if now - self._since >= (cfg.enter_s if bad else cfg.leave_s):
                    self._overloaded, self._since = bad, None
            else:
                self._since = None
            judged_from = self._t_first + cfg.warmup_s if self._t_first is not None else now
            window = min(cfg.window_s, now - judged_from)
            window = max(window, 1e-3)
            return OverloadStatus(overloaded=self._overloaded, loop_hz=processed / window, source_hz=captured / window,
                                  drop_fraction=drop, latency_p95_ms=p95, reason="; ".join(reasons))
