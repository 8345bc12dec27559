"""Endpointing with the learned frame VAD (robust to monitor beeps and babble).

Same contract as :class:`voice.audio.vad.Endpointer` (push one 10 ms frame, get a
:class:`~voice.audio.vad.VadEvent`), but the speech decision per frame is the probability of the
trained :class:`~voice.verifier.nets.VadNet` (:mod:`voice.verifier.vad_model`) computed from
per-band SNR features against a minimum-statistics noise estimate. The network was trained on
synthetic clips in which only the *foreground* talker counts as speech, so stationary tones,
monitor beeps, clatter and background babble keep the probability low while they stay below the
talker. Onset: the probability reaches ``start_prob`` in ``onset_frames`` of the last
``onset_window`` frames; the utterance continues while it stays at or above ``stop_prob``
(hysteresis) and ends after ``endpoint_silence_s`` below it, or is cut at ``max_utterance_s``.

The published noise level (``noise_dbfs``) is still the broadband energy floor: a low percentile
of the frame levels outside speech, rising at most ``rise_db_per_s``.
"""

from __future__ import annotations

import numpy as np

from voice.audio.vad import EndpointState, VadEvent, frame_dbfs
from voice.verifier.features import StreamingLogMel
from voice.verifier.vad_model import VadStream, VadWeights


class LearnedEndpointer(EndpointState):
    """Frame-by-frame endpointer driven by the learned VAD.

    Args:
        weights: the loaded VAD (:func:`voice.verifier.vad_model.load_vad`).
        start_prob: onset probability.
        stop_prob: continuation probability.
        endpoint_silence_s: time below ``stop_prob`` that ends an utterance.
        preroll_s: audio kept before the onset.
        max_utterance_s: an utterance is cut (``forced``) at this length.
        onset_frames: see ``onset_window``.
        onset_window: frames in which ``onset_frames`` must reach ``start_prob``.
        warmup_s: no onset before this much audio (the noise estimate settles).
        rise_db_per_s: how fast the published noise floor may rise.
    """

    def __init__(self, weights: VadWeights, start_prob: float = 0.6, stop_prob: float = 0.6,
                 endpoint_silence_s: float = 0.15, preroll_s: float = 0.15, max_utterance_s: float = 3.5,
                 onset_frames: int = 3, onset_window: int = 4, warmup_s: float = 0.1,
                 rise_db_per_s: float = 10.0) -> None:
        super().__init__(endpoint_silence_s, preroll_s, max_utterance_s, onset_frames, onset_window,
                         rise_db_per_s, warmup_s)
        self.w = weights
        self.start_prob, self.stop_prob = start_prob, stop_prob
        self._stream = VadStream(weights)
        self._mel = StreamingLogMel()
        self.last_prob = 0.0
        """Speech probability of the last pushed frame."""

    def push(self, frame: np.ndarray, feat: np.ndarray | None = None) -> VadEvent:
        """Process one 10 ms int16 frame (``feat``: its log-mel frame, computed here when not given)."""
        if feat is None:
            feat = self._mel.push(frame)
        p = self._stream.push(feat)
        self.last_prob = p
        level = frame_dbfs(frame)
        self._n += 1
        if self.noise_dbfs is None:
            self.noise_dbfs = level
        if not self.in_speech:
            self._track(level)
            return self._onset(frame, p >= self.start_prob)
        return self._continue(frame, p >= self.stop_prob)
