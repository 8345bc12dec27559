"""A calibrated CPU hog for the benchmarks: a process that takes a given fraction of one core.

``start_hog(fraction, seconds)`` starts a process that is busy for ``fraction`` of every 10 ms
period (``1.0``: a whole core; ``2.0``: two processes, two whole cores), for ``seconds``; the
machine left to the code under test is that much smaller ("1.5x less" CPU on 2 cores is
``fraction = 0.67``).
"""

from __future__ import annotations

import multiprocessing as mp
import time

PERIOD_S = 0.010


def _busy(fraction: float, stop_at: float) -> None:
    while time.monotonic() < stop_at:
        t0 = time.monotonic()
        while time.monotonic() - t0 < fraction * PERIOD_S:
            pass
        rest = PERIOD_S - (time.monotonic() - t0)
        if rest > 0:
            time.sleep(rest)


def start_hog(fraction: float, seconds: float) -> list[mp.Process]:
    """Start the hog processes (none for ``fraction <= 0``); stop them with :func:`stop_hog`."""
    procs = []
    stop_at = time.monotonic() + seconds
    left = fraction
    while left > 1e-6:
        share = min(1.0, left)
        p = mp.get_context("spawn").Process(target=_busy, args=(share, stop_at), daemon=True, name="cpu-hog")
        p.start()
        procs.append(p)
        left -= share
    return procs


def stop_hog(procs: list[mp.Process]) -> None:
    """End the hog processes."""
    for p in procs:
        p.terminate()
    for p in procs:
        p.join(5)
