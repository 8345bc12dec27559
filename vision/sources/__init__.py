"""Frame sources: every input device behind one small interface, each with a synthetic twin.

PLUS Toolkit's idea of a saved-data/replay device for every real one: the whole system runs
and is tested without hardware.
"""

from vision.sources.base import FrameSource, RateLimiter

__all__ = ["FrameSource", "RateLimiter"]
