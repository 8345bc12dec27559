"""CPU time of a process, for the figures of where the CPU goes (Linux ``/proc``, else own process only).

``/proc/<pid>/stat`` fields 14 and 15 (``utime``, ``stime``, in clock ticks) give the CPU time of
any process of the user (proc(5)); for the calling process :func:`time.process_time` is used.
"""

from __future__ import annotations

import os
import time


def process_cpu_seconds(pid: int | None = None) -> float | None:
    """User + system CPU seconds of ``pid`` (the calling process when ``None``); ``None`` if unknown."""
    if pid is None or pid == os.getpid():
        return time.process_time()
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode("ascii", "replace")
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2:].split()  # after "pid (comm) ": field 3 is fields[0]
    try:
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (IndexError, ValueError):
        return None
