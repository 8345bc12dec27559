"""The synthetic ultrasound phantom as a live frame source."""

from __future__ import annotations

import logging
import time

from core.clock import now_ns
from core.configtools import require
from vision.phantom import Phantom, PhantomConfig
from vision.sources.base import RateLimiter
from core.types import Frame

log = logging.getLogger(__name__)


class PhantomSource:
    """Renders phantom frames at a fixed rate, stamped with the host capture time.

    Args:
        config: the phantom.
        fps: frame rate; frames are paced in real time unless ``realtime`` is False.
        realtime: pace frames at ``fps`` (live demo); False renders as fast as asked (tests,
            benchmarks) with phantom time advancing by ``1/fps`` per frame.
        duration_s: end the stream after this phantom time (``None``: endless).
    """

    def __init__(self, config: PhantomConfig | None = None, fps: float = 25.0, realtime: bool = True,
                 duration_s: float | None = None) -> None:
        require(fps > 0, "ultrasound.fps", "a number > 0", fps)
        self.phantom = Phantom(config)
        self.name = f"phantom:{self.phantom.config.anatomy.preset}"
        self.fps = fps
        self._realtime = realtime
        self._duration = duration_s
        self._limiter = RateLimiter(fps if realtime else 0.0)
        self._seq = 0
        self._t0 = time.monotonic()

    def read(self) -> Frame | None:
        """Render the next frame (phantom time = frame index / fps)."""
        t_s = self._seq / self.fps
        if self._duration is not None and t_s > self._duration:
            return None
        self._limiter.wait()
        pf = self.phantom.render(t_s)
        frame = Frame(image=pf.image, t_capture_ns=now_ns(), seq=self._seq, source=self.name,
                      mm_per_px=pf.mm_per_px, truth=pf.truth())
        self._seq += 1
        return frame

    def close(self) -> None:
        """Nothing to release."""
