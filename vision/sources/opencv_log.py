"""Keep OpenCV's (and FFmpeg's) own console messages out of the user's way while a source opens.

OpenCV probes every capture backend it has when a device or a video file is opened and prints a
``[ WARN ]`` line for each one that fails (``cap_v4l.cpp: can't open camera by index``...), and
FFmpeg prints its own lines for a file it cannot parse (``moov atom not found``). The source then
raises one actionable :class:`~core.errors.SonoguideError`, which the CLI prints as the single
``error:`` line (DESIGN.md, "Errors"); :func:`quiet_opencv` silences the noise before it.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

import cv2

_LOCK = threading.RLock()

FFMPEG_LOGLEVEL_ENV = "OPENCV_FFMPEG_LOGLEVEL"
"""OpenCV reads FFmpeg's log level from this variable when its FFmpeg backend opens a file."""

_AV_LOG_QUIET = "-8"


@contextlib.contextmanager
def quiet_opencv(ffmpeg: bool = True) -> Iterator[None]:
    """Silence OpenCV's logging for the duration of the ``with`` block, then restore its level.

    OpenCV's log level is process-wide: the previous level is restored on exit, and a lock keeps
    two threads from restoring each other's levels out of order.

    Args:
        ffmpeg: also quieten FFmpeg through ``OPENCV_FFMPEG_LOGLEVEL`` (unless the user set it
            or ``OPENCV_FFMPEG_DEBUG``; the variable is removed again on exit). OpenCV reads it
            once, when its FFmpeg backend first opens something in the process, and FFmpeg
            keeps that level from then on: a source opened first under this block (as
            ``sonoguide run`` opens its sources) keeps FFmpeg quiet for the whole run, reads
            included (a source reports a failed read itself); if FFmpeg was used before, its
            level stays what it was. Set ``OPENCV_FFMPEG_LOGLEVEL=24`` to see FFmpeg's warnings.
    """
    with _LOCK:
        previous = cv2.utils.logging.getLogLevel()
        set_env = ffmpeg and FFMPEG_LOGLEVEL_ENV not in os.environ and "OPENCV_FFMPEG_DEBUG" not in os.environ
        if set_env:
            os.environ[FFMPEG_LOGLEVEL_ENV] = _AV_LOG_QUIET
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
        try:
            yield
        finally:
            cv2.utils.logging.setLogLevel(previous)
            if set_env:
                os.environ.pop(FFMPEG_LOGLEVEL_ENV, None)
