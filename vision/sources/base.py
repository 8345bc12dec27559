"""The source interfaces (frames, ready-made poses) and a real-time pacing helper."""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

from core.pose import PoseMeasurement
from core.types import Frame


@runtime_checkable
class FrameSource(Protocol):
    """Anything that yields :class:`~core.types.Frame` objects.

    ``read()`` blocks until the next frame is captured and returns it stamped with its capture
    time (the core clock, :func:`core.clock.now_ns`); it returns ``None`` at the end of a finite stream. Opening a
    source that cannot work (missing device, unreadable file) raises
    :class:`~core.errors.DeviceError` or :class:`~core.errors.InputError`.
    """

    name: str

    def read(self) -> Frame | None:
        """Next frame, or ``None`` at the end of the stream."""
        ...

    def close(self) -> None:
        """Release the device or file."""
        ...


@runtime_checkable
class PoseSource(Protocol):
    """Anything that delivers probe poses ready-made (an external tracker over OpenIGTLink).

    Unlike a camera, whose frames the pipeline turns into poses with its marker tracker, a pose
    source hands over :class:`~core.pose.PoseMeasurement` objects directly. ``read`` waits at
    most ``timeout_s`` and returns the newest measurement (``lost`` before the first one,
    ``stale`` when the tracker went quiet); it never returns ``None``.
    """

    name: str

    def read(self, timeout_s: float = 0.0) -> PoseMeasurement:
        """The newest pose measurement."""
        ...

    def close(self) -> None:
        """Disconnect."""
        ...


class RateLimiter:
    """Paces a loop at a fixed rate against the monotonic clock, without drift.

    Args:
        hz: target rate; ``0`` or less disables pacing.
    """

    def __init__(self, hz: float) -> None:
        self.period = 1.0 / hz if hz > 0 else 0.0
        self._next = time.monotonic()

    def wait(self) -> None:
        """Sleep until the next tick; if the loop fell behind, restart the schedule from now."""
        if self.period <= 0:
            return
        self._next += self.period
        delay = self._next - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        elif delay < -self.period:
            self._next = time.monotonic()
