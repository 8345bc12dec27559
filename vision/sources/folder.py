"""A folder of still images as a frame source (sorted by file name)."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2

from core.clock import now_ns
from core.errors import InputError
from vision.sources.base import RateLimiter
from vision.sources.opencv_log import quiet_opencv
from core.types import Frame

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


class ImageFolderSource:
    """Reads ``*.png``/``*.jpg``... in name order; unreadable files are skipped with a warning.

    Args:
        folder: the image folder.
        fps: pacing rate (0: as fast as read).
        gray: load as single-channel grayscale.
        mm_per_px: pixel spacing attached to every frame.
        loop: start again after the last image.
    """

    def __init__(self, folder: str | Path, fps: float = 0.0, gray: bool = False,
                 mm_per_px: tuple[float, float] | None = None, loop: bool = False) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise InputError(f"image folder {self.folder} not found; check the path")
        self.files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise InputError(f"image folder {self.folder} holds no images ({', '.join(IMAGE_SUFFIXES)})")
        self.name = f"folder:{self.folder}"
        self._gray, self._mm, self._loop = gray, mm_per_px, loop
        self._i = 0
        self._seq = 0
        self._limiter = RateLimiter(fps)
        self.skipped: list[Path] = []

    def read(self) -> Frame | None:
        """Next readable image, or ``None`` after the last one."""
        while True:
            if self._i >= len(self.files):
                if not self._loop or len(self.skipped) == len(self.files):
                    return None
                self._i = 0
            path = self.files[self._i]
            self._i += 1
            with quiet_opencv(ffmpeg=False):  # the warning below replaces OpenCV's own
                img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE if self._gray else cv2.IMREAD_COLOR)
            if img is None:
                log.warning("skipping unreadable image %s", path)
                if path not in self.skipped:
                    self.skipped.append(path)
                continue
            self._limiter.wait()
            frame = Frame(image=img, t_capture_ns=now_ns(), seq=self._seq, source=str(path),
                          mm_per_px=self._mm)
            self._seq += 1
            return frame

    def close(self) -> None:
        """Nothing to release."""
