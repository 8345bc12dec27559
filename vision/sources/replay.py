"""A recording played back as a frame source (PLUS Toolkit's SavedDataSource idea).

:class:`ReplaySource` reads the ``frame`` records of a recording (``--record DIR``) and hands
them to the same pipeline as a live source; with each frame it keeps what was recorded with it
(the pose it was processed with and the clinician's view: freeze, visible layers) and the
recorded overlay, so the replay can be compared with the recording frame by frame. Frames come
as fast as the stages take them (a deterministic re-run), or at the recorded pace
(``realtime=True``, for a headset watching the replay). :attr:`ReplaySource.offset_ns` maps
recorded capture times to now, so that a published replay is current on arrival.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from core.clock import now_ns
from core.errors import RecordingError
from core.recording import RecordedFrame, frame_from_record, read_meta, read_records
from core.types import Frame

log = logging.getLogger(__name__)


class ReplaySource:
    """The frames of a recording, in order, as a :class:`~vision.sources.base.FrameSource`.

    Args:
        directory: the recording folder.
        realtime: deliver frames at the recorded pace (default: as fast as they are read).

    Raises:
        RecordingError: the folder is not a readable recording.
    """

    def __init__(self, directory: str | Path, realtime: bool = False) -> None:
        self.directory = Path(directory)
        self.meta = read_meta(self.directory)  # a clear error now if this is not a recording
        self.name = f"replay:{self.directory}"
        self.realtime = realtime
        self._records: Iterator[Any] = read_records(self.directory)
        self._lock = threading.Lock()
        self._frames: dict[int, RecordedFrame] = {}
        self.overlays: dict[int, tuple[Mapping[str, Any], dict[str, np.ndarray]]] = {}
        """Recorded overlays by frame seq: ``(body, arrays)`` (filled as the recording is read)."""
        self.frames_read = 0
        self.offset_ns = 0
        """Added to a recorded capture time to give the replay's time (set at the first frame)."""
        self._t0_wall: float | None = None
        self._t0_rec = 0

    def read(self) -> Frame | None:
        """The next recorded frame, or ``None`` at the end of the recording."""
        for rec in self._records:
            if rec.type == "overlay":
                with self._lock:
                    self.overlays[int(rec.header["frame_seq"])] = (rec.header["body"], rec.arrays())
            elif rec.type == "frame":
                recorded = frame_from_record(rec)
                frame = recorded.frame
                self._pace(frame.t_capture_ns)
                with self._lock:
                    self._frames[frame.seq] = recorded
                self.frames_read += 1
                return frame
        if self.frames_read == 0:
            raise RecordingError(f"{self.directory} holds no frames to replay")
        return None

    def _pace(self, t_capture_ns: int) -> None:
        if self._t0_wall is None:
            self._t0_wall, self._t0_rec = time.monotonic(), t_capture_ns
            self.offset_ns = now_ns() - t_capture_ns
            return
        if self.realtime:
            delay = self._t0_wall + (t_capture_ns - self._t0_rec) / 1e9 - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def recorded(self, seq: int) -> RecordedFrame:
        """What was recorded with frame ``seq`` (its pose and view); forgotten once asked for."""
        with self._lock:
            return self._frames.pop(seq)

    def close(self) -> None:
        """Stop reading the recording."""
        close = getattr(self._records, "close", None)
        if close is not None:
            close()
