"""Energy voice-activity detection with a running noise floor, and endpointing.

Frame energies (10 ms, dBFS) are compared with a noise floor that follows the quiet frames: a
low percentile of the last second of non-speech frames, rising at a limited rate (a simplified
form of minimum statistics,
R. Martin, "Noise power spectral density estimation based on optimal smoothing and minimum
statistics", IEEE Trans. Speech Audio Process. 9(5), 2001). Speech starts when most of the last
few frames are ``start_db`` above the floor, continues while frames stay ``stop_db`` above it
(hysteresis), and ends after ``endpoint_silence_s`` of quiet or at ``max_utterance_s``. The floor
is the noise level published in the state (``noise_dbfs``).
"""

from __future__ import annotations

import collections
import enum
from dataclasses import dataclass

import numpy as np

FRAME = 160
"""Samples per VAD frame at 16 kHz (10 ms)."""
FLOOR_DBFS = -96.0
"""Level given to digital silence (16-bit quantisation floor)."""


def frame_dbfs(frame: np.ndarray) -> float:
    """Mean power of an int16 frame in dB relative to full scale (full-scale square wave = 0)."""
    x = frame.astype(np.float64) / 32768.0
    p = float(np.mean(x * x)) if len(x) else 0.0
    return max(FLOOR_DBFS, 10.0 * np.log10(p + 1e-12))


class VadKind(enum.Enum):
    """What a pushed frame means."""

    NONE = 0
    START = 1
    SPEECH = 2
    END = 3


@dataclass(frozen=True)
class VadEvent:
    """Result of :meth:`Endpointer.push`.

    ``START`` carries the pre-roll frames (the onset frames included) in ``frames``;
    ``SPEECH`` carries the pushed frame; ``END`` carries the trailing frames and the
    utterance's ``speech_frames`` (from first to last speech frame) and ``forced`` (max length).
    """

    kind: VadKind
    frames: tuple[np.ndarray, ...] = ()
    speech_frames: int = 0
    trailing_frames: int = 0
    forced: bool = False
    loud: bool = False
    """For ``SPEECH``: the frame is above the continuation threshold."""


class EndpointState:
    """Onset/endpoint bookkeeping shared by the energy and the learned endpointer.

    Holds the pre-roll, the onset window, the utterance counters and the running noise floor
    (a low percentile of recent quiet frames, rising at most ``rise_db_per_s``).
    """

    def __init__(self, endpoint_silence_s: float, preroll_s: float, max_utterance_s: float,
                 onset_frames: int, onset_window: int, rise_db_per_s: float, warmup_s: float) -> None:
        self._end_frames = max(1, round(endpoint_silence_s * 100))
        self._pre: collections.deque = collections.deque(maxlen=max(onset_window, round(preroll_s * 100)))
        self._max_frames = round(max_utterance_s * 100)
        self._onset_frames, self._onset_window = onset_frames, onset_window
        self._rise = rise_db_per_s / 100.0
        self._warmup = round(warmup_s * 100)
        self._above: collections.deque = collections.deque(maxlen=onset_window)
        self._quiet_levels: collections.deque = collections.deque(maxlen=100)
        self.noise_dbfs: float | None = None
        self.in_speech = False
        self._n = 0
        self._speech_len = 0      # frames since start
        self._last_speech = 0     # frames since start of the last speech frame (+1)
        self._quiet = 0

    def reset(self) -> None:
        """Forget any utterance in progress (keeps the noise floor)."""
        self.in_speech = False
        self._pre.clear()
        self._above.clear()
        self._quiet = 0

    @property
    def quiet_frames(self) -> int:
        """Frames since the last speech frame of the current utterance."""
        return self._quiet

    def _track(self, level: float) -> None:
        # the floor is a low percentile of the recent quiet frames, limited in how fast it rises
        self._quiet_levels.append(level)
        est = float(np.percentile(np.asarray(self._quiet_levels), 30))
        n = self.noise_dbfs
        self.noise_dbfs = est if est < n else n + min(est - n, self._rise)

    def _onset(self, frame: np.ndarray, above: bool) -> VadEvent:
        """Before speech: keep ``frame`` in the pre-roll; ``START`` once the onset window has
        ``onset_frames`` frames ``above`` the start threshold (speech began at the first of them)."""
        self._pre.append(frame)
        self._above.append(above)
        if self._n <= self._warmup or sum(self._above) < self._onset_frames:
            return VadEvent(VadKind.NONE)
        self.in_speech = True
        first = list(self._above).index(True)
        self._speech_len = len(self._above) - first
        self._last_speech = self._speech_len
        self._quiet = 0
        self._started()
        frames = tuple(self._pre)
        self._pre.clear()
        self._above.clear()
        return VadEvent(VadKind.START, frames)

    def _started(self) -> None:
        """Hook: an utterance has just started (the onset window is still filled)."""

    def _continue(self, frame: np.ndarray, speaking: bool) -> VadEvent:
        """In speech: count ``frame`` as speech or quiet; ``END`` after the endpointing silence or at
        the maximum length (``forced``), else ``SPEECH``."""
        self._speech_len += 1
        if speaking:
            self._last_speech = self._speech_len
            self._quiet = 0
        else:
            self._quiet += 1
        if self._quiet < self._end_frames and self._speech_len < self._max_frames:
            return VadEvent(VadKind.SPEECH, (frame,), loud=self._quiet == 0)
        forced = self._quiet < self._end_frames
        self.in_speech = False
        self._ended(forced)
        self._above.clear()
        return VadEvent(VadKind.END, (frame,), speech_frames=self._last_speech,
                        trailing_frames=self._speech_len - self._last_speech, forced=forced)

    def _ended(self, forced: bool) -> None:
        """Hook: the utterance has just ended (``forced``: cut at the maximum length)."""


class Endpointer(EndpointState):
    """Frame-by-frame speech detector (feed exactly :data:`FRAME` samples per call).

    Args:
        start_db: onset threshold above the noise floor.
        stop_db: continuation threshold above the noise floor.
        endpoint_silence_s: quiet time that ends an utterance.
        preroll_s: audio kept before the onset.
        max_utterance_s: an utterance is cut (``forced``) at this length.
        onset_frames: how many of the last ``onset_window`` frames must exceed ``start_db``.
        onset_window: see ``onset_frames``.
        rise_db_per_s: how fast the floor may rise.
        warmup_s: no onset before this much audio has set the floor.
    """

    def __init__(self, start_db: float = 8.0, stop_db: float = 4.0, endpoint_silence_s: float = 0.2,
                 preroll_s: float = 0.2, max_utterance_s: float = 3.0, onset_frames: int = 4,
                 onset_window: int = 6, rise_db_per_s: float = 10.0, warmup_s: float = 0.15,
                 peak_drop_db: float = 14.0) -> None:
        super().__init__(endpoint_silence_s, preroll_s, max_utterance_s, onset_frames, onset_window,
                         rise_db_per_s, warmup_s)
        self.start_db, self.stop_db = start_db, stop_db
        self.peak_drop_db = peak_drop_db
        self._peak = FLOOR_DBFS
        self._recent: collections.deque = collections.deque(maxlen=150)  # last 1.5 s of levels

    def push(self, frame: np.ndarray, feat: np.ndarray | None = None) -> VadEvent:
        """Process one 10 ms int16 frame (``feat``, its log-mel frame, is not used by the energy VAD)."""
        level = frame_dbfs(frame)
        self._n += 1
        self._recent.append(level)
        if self.noise_dbfs is None:
            self.noise_dbfs = level
        if not self.in_speech:
            self._track(level)
            return self._onset(frame, level > self.noise_dbfs + self.start_db)
        self._peak = max(self._peak, level)
        # speech continues while clearly above the noise floor *and* within peak_drop_db of the
        # utterance's loudest frame, so steady noise after the speech ends it promptly
        # (the allowed drop shrinks when the utterance is only a little above the noise)
        drop = min(self.peak_drop_db, max(8.0, self._peak - self.noise_dbfs - 5.0))
        return self._continue(frame, level > max(self.noise_dbfs + self.stop_db, self._peak - drop))

    def _started(self) -> None:
        # the utterance's loudest frame so far: among the onset window's loud frames
        loud = [lv for lv, a in zip(list(self._recent)[-len(self._above):], self._above) if a]
        self._peak = max(loud) if loud else self._recent[-1]

    def _ended(self, forced: bool) -> None:
        if forced:  # the floor may have jumped (a new noise source): re-estimate it
            self.noise_dbfs = float(np.percentile(np.asarray(self._recent), 20))
            self._quiet_levels.clear()
            self._quiet_levels.extend(x for x in self._recent if x <= self.noise_dbfs + self.stop_db)
