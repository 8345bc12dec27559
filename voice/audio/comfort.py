"""Comfort noise: a fixed, seeded, low white noise added to audio before any model hears it.

Digital silence (all-zero samples: a WAV file's lead-in, a clean recording, a muted headset)
never occurs at a real microphone, and the models were not built for it: the acoustic model
decodes garbage from it and the learned VAD's SNR features leave their range. Live recognition,
fine-tuning on recordings and training-set synthesis all add the same noise, so what a model
learns is what it later hears. The noise is one second of seeded Gaussian samples repeated, so a
signal gets the same noise however it is cut into blocks.
"""

from __future__ import annotations

import numpy as np

RATE = 16000
"""Samples per second of the noise table (the engines' rate)."""
SEED = 12345
"""Seed of the noise table."""


class ComfortNoise:
    """Adds the comfort noise to consecutive blocks of one stream.

    Args:
        dbfs: RMS level of the noise in dB re full scale (int16 full scale 32768).
    """

    def __init__(self, dbfs: float) -> None:
        amp = 10.0 ** (dbfs / 20.0) * 32768.0
        self._table = (np.random.default_rng(SEED).standard_normal(RATE) * amp).astype(np.float32)
        self._pos = 0

    def _next(self, n: int) -> np.ndarray:
        idx = (self._pos + np.arange(n)) % len(self._table)
        self._pos = (self._pos + n) % len(self._table)
        return self._table[idx]

    def add(self, pcm: np.ndarray) -> np.ndarray:
        """The next ``len(pcm)`` int16 samples of the stream, with the noise added (int16, clipped)."""
        return np.clip(np.asarray(pcm, np.float32) + self._next(len(pcm)), -32768, 32767).astype(np.int16)

    def add_float(self, x: np.ndarray) -> np.ndarray:
        """The same for float samples in [-1, 1] (float32)."""
        return (np.asarray(x, np.float32) + self._next(len(x)) / 32768.0).astype(np.float32)
