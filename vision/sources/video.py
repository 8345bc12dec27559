"""Camera devices and video files through OpenCV's ``VideoCapture``.

Opening is done under :func:`~vision.sources.opencv_log.quiet_opencv`: a device or file that cannot
be opened gives one actionable error, not OpenCV's per-backend ``[ WARN ]`` lines before it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2

from core.clock import now_ns
from core.errors import DeviceError, InputError
from vision.sources.base import RateLimiter
from vision.sources.opencv_log import quiet_opencv
from core.types import Frame

log = logging.getLogger(__name__)


class VideoSource:
    """Frames from a capture device (``device:N``) or a video file.

    Args:
        spec: ``"device:N"`` for camera/frame-grabber index N, or a video file path.
        gray: convert frames to single-channel grayscale (ultrasound).
        mm_per_px: pixel spacing of ultrasound frames, attached to every frame.
        realtime: pace a video file at its own frame rate (a device is paced by the hardware).
        loop: restart a video file at its end instead of ending the stream.
        key: configuration key named in error messages.
    """

    def __init__(self, spec: str, gray: bool = False, mm_per_px: tuple[float, float] | None = None,
                 realtime: bool = True, loop: bool = False, key: str = "source") -> None:
        self.name = spec
        self._gray = gray
        self._mm = mm_per_px
        self._loop = loop
        self._seq = 0
        if spec.startswith("device:"):
            try:
                index = int(spec.split(":", 1)[1])
            except ValueError:
                raise InputError(f"{key} = {spec!r}: the device index must be an integer, e.g. device:0") from None
            with quiet_opencv():  # OpenCV warns once per capture backend that fails
                self._cap = cv2.VideoCapture(index)
                opened = self._cap.isOpened()
            self._file = False
            if not opened:
                raise DeviceError(f"capture device {index} cannot be opened ({key} = {spec!r}); check it is "
                                  "connected and not in use, or choose another source")
            fps = 0.0
        else:
            path = Path(spec)
            if not path.is_file():
                raise InputError(f"video file {path} not found ({key}); check the path")
            with quiet_opencv():
                self._cap = cv2.VideoCapture(str(path))
                opened = self._cap.isOpened()
                fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0) if opened else 0.0
            self._file = True
            if not opened:
                raise InputError(f"video file {path} cannot be decoded ({key}); convert it to MP4/AVI (H.264/MJPEG)")
        self._limiter = RateLimiter(fps if (self._file and realtime and 0 < fps < 1000) else 0.0)

    def read(self) -> Frame | None:
        """Next frame; ``None`` at the end of a file (unless looping)."""
        self._limiter.wait()
        ok, img = self._cap.read()
        if not ok and self._file and self._loop:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, img = self._cap.read()
        if not ok:
            if not self._file:
                raise DeviceError(f"capture device {self.name} stopped delivering frames; check the cable")
            return None
        t = now_ns()
        if self._gray and img.ndim == 3:
            img = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        frame = Frame(image=img, t_capture_ns=t, seq=self._seq, source=self.name, mm_per_px=self._mm)
        self._seq += 1
        return frame

    def close(self) -> None:
        """Release the capture."""
        self._cap.release()
