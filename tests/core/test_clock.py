"""The core clock: monotonic stamps mapped once to wall time; wall-clock steps are announced, not followed."""

from __future__ import annotations

import os
import subprocess
import sys

from core.clock import OFFSET_ENV, CoreClock, default_clock, now_ns


class _Host:
    """A host whose wall clock can be stepped while its monotonic clock runs on."""

    def __init__(self) -> None:
        self.mono = 5_000_000_000
        self.wall = 1_790_000_000_000_000_000

    def advance(self, ns: int) -> None:
        self.mono += ns
        self.wall += ns


def _clock(host: _Host) -> CoreClock:
    return CoreClock(wall=lambda: host.wall, mono=lambda: host.mono)


def test_stamps_read_like_wall_time_and_never_step_when_the_wall_clock_steps():
    host = _Host()
    clock = _clock(host)
    assert clock.now_ns() == host.wall and clock.origin_ns == host.wall
    stamps = [clock.now_ns()]
    host.advance(100_000_000)
    host.wall -= 1_000_000_000  # NTP steps the wall clock one second back
    stamps.append(clock.now_ns())
    host.advance(100_000_000)
    stamps.append(clock.now_ns())
    assert stamps == sorted(stamps) and stamps[2] - stamps[0] == 200_000_000


def test_a_step_is_counted_and_reported_once_and_slew_is_not_a_step():
    host = _Host()
    clock = _clock(host)
    host.advance(100_000_000)
    host.wall += 200_000  # NTP slew between two heartbeats (0.2 ms): not a step
    assert clock.check().steps == 0
    host.wall -= 1_000_000_000
    status = clock.check()
    assert status.steps == 1 and status.wall_step_ns == -1_000_000_000 + 200_000
    host.advance(100_000_000)
    assert clock.check().steps == 1  # the same step is not counted again
    host.wall += 2_000_000_000
    assert clock.check().steps == 2 and clock.check().wall_step_ns == 1_000_000_000 + 200_000
    assert clock.check().origin_ns == clock.origin_ns


def test_the_default_clock_is_shared_with_child_processes():
    here = now_ns()
    assert os.environ[OFFSET_ENV] == str(default_clock().offset_ns)
    code = "from core.clock import now_ns, default_clock; print(default_clock().offset_ns, now_ns())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    offset, child_now = (int(x) for x in out.stdout.split())
    assert offset == default_clock().offset_ns and here <= child_now <= now_ns()


def test_a_garbled_inherited_offset_is_ignored(monkeypatch):
    code = "from core.clock import default_clock; import time; print(abs(default_clock().now_ns() - time.time_ns()))"
    env = dict(os.environ, **{OFFSET_ENV: "not-a-number"})
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                         cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    assert int(out.stdout) < 1_000_000_000 and "ignoring" in out.stderr
