"""The core's clock: every timestamp sonoguide puts on data, on the wire and in a recording.

A stamp is ``CLOCK_MONOTONIC`` plus one offset taken from the wall clock when the clock is
made, so stamps read like host wall time (nanoseconds since the Unix epoch) but never step: an
NTP step of the wall clock (a second backwards, say) leaves every stamp, every validity limit
and every age computed from stamps untouched. Deciding staleness from a clock that can run
backwards is the defect this avoids (POSIX ``clock_gettime``: ``CLOCK_REALTIME`` "can be set",
``CLOCK_MONOTONIC`` "cannot be set"; the same split as PTP/IEEE 1588 media clocks that keep a
monotonic time base and publish its relation to wall time).

Steps of the wall clock are *detected and announced*, not followed: :meth:`CoreClock.check`
compares the wall clock with the stamps, counts a change of their difference larger than
``step_threshold_ns`` as a step, logs it, and reports it in :class:`ClockStatus`, which the
publisher puts in every heartbeat (``clock_origin_ns``, ``clock_steps``, ``clock_wall_step_ns``),
so a headset or a recording can relate stamps to wall time after a step. ``clock_origin_ns``
identifies the mapping: it changes only when a core starts, and a client that sees it change
starts its clock estimate afresh.

Processes of one core share the mapping: the first process to make the default clock writes
its offset to the environment variable :data:`OFFSET_ENV`, which the processes it starts
inherit, so a stamp from the voice process and one from the video loop are on one time base.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger(__name__)

OFFSET_ENV = "SONOGUIDE_CLOCK_OFFSET_NS"
"""Environment variable holding the wall-minus-monotonic offset shared with child processes."""
DEFAULT_STEP_THRESHOLD_NS = 20_000_000
"""A change of wall minus stamp larger than this (20 ms) between two checks is a step (NTP
slews at most 0.5 ms/s, so a slewed clock never moves this much between heartbeats)."""


@dataclass(frozen=True)
class ClockStatus:
    """How the stamps relate to the wall clock now.

    Attributes:
        origin_ns: the stamp at which the mapping was taken; it identifies this mapping (a new
            core, or a new clock in tests).
        steps: wall-clock steps seen since then.
        wall_step_ns: the wall clock minus the stamps now (the sum of the steps, plus any slew
            below the step threshold); 0 while the wall clock has not stepped.
    """

    origin_ns: int
    steps: int
    wall_step_ns: int


class CoreClock:
    """Monotonic stamps mapped once to wall time, with step detection.

    Args:
        offset_ns: wall minus monotonic to use (``None``: measured now from ``wall`` and ``mono``).
        wall: the wall clock (``time.time_ns``; injected in tests).
        mono: the monotonic clock (``time.monotonic_ns``; injected in tests).
        step_threshold_ns: smallest change of wall minus stamp counted as a step.
    """

    def __init__(self, offset_ns: int | None = None, wall: Callable[[], int] = time.time_ns,
                 mono: Callable[[], int] = time.monotonic_ns,
                 step_threshold_ns: int = DEFAULT_STEP_THRESHOLD_NS) -> None:
        self._wall = wall
        self._mono = mono
        self.offset_ns = int(wall() - mono()) if offset_ns is None else int(offset_ns)
        self.origin_ns = self.now_ns()
        self.step_threshold_ns = int(step_threshold_ns)
        self._lock = threading.Lock()
        self._last_divergence_ns = self._wall() - self.origin_ns
        self._first_divergence_ns = self._last_divergence_ns
        self._steps = 0

    def now_ns(self) -> int:
        """The stamp now (ns, reads like wall time, never steps)."""
        return self._mono() + self.offset_ns

    def __call__(self) -> int:
        """Same as :meth:`now_ns`, so the clock can be passed where a ``time.time_ns``-like callable is expected."""
        return self.now_ns()

    def check(self) -> ClockStatus:
        """Compare with the wall clock; count, log and report a step since the last check."""
        with self._lock:
            divergence = self._wall() - self.now_ns()
            change = divergence - self._last_divergence_ns
            if abs(change) > self.step_threshold_ns:
                self._steps += 1
                log.warning("the wall clock stepped by %+.1f ms (NTP or a manual change); sonoguide's timestamps "
                            "are monotonic and did not step (heartbeat clock_wall_step_ns = %+d)", change / 1e6,
                            divergence - self._first_divergence_ns)
            self._last_divergence_ns = divergence
            return ClockStatus(origin_ns=self.origin_ns, steps=self._steps,
                               wall_step_ns=int(divergence - self._first_divergence_ns))


_default: CoreClock | None = None
_default_lock = threading.Lock()


def default_clock() -> CoreClock:
    """The process's clock: the offset inherited through :data:`OFFSET_ENV`, or measured and exported."""
    global _default
    with _default_lock:
        if _default is None:
            inherited = os.environ.get(OFFSET_ENV)
            offset = None
            if inherited is not None:
                try:
                    offset = int(inherited)
                except ValueError:
                    log.warning("ignoring %s=%r (not an integer); measuring the clock offset afresh", OFFSET_ENV,
                                inherited)
            _default = CoreClock(offset_ns=offset)
            os.environ[OFFSET_ENV] = str(_default.offset_ns)
        return _default


def now_ns() -> int:
    """The stamp now from :func:`default_clock` (use this wherever data is timestamped)."""
    return default_clock().now_ns()
