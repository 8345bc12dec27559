"""Log-mel front end shared by the learned VAD and the intent verifier (NumPy only).

Frames are causal and aligned with the endpointer's 10 ms frames: log-mel frame ``k`` is the
25 ms Hann window that *ends* with the last sample of 10 ms frame ``k``, so it exists the moment
that frame arrives. :func:`logmel` (a whole signal) and :class:`StreamingLogMel` (frame by frame)
give the same numbers; the networks are trained on the first and run on the second.

Mel filterbank: the HTK formula ``mel = 2595 log10(1 + f/700)`` with triangular filters
(S. Young et al., *The HTK Book*, section 5.4), 40 bands from 60 Hz to 7.6 kHz, power spectrum of
a 512-point FFT, values in dB re full scale with a floor at :data:`FLOOR_DB`.

Two derived representations:

- :func:`utterance_input` for the verifier: the segment's log-mel, relative to its loudest value
  (level invariance), floored 70 dB below it and scaled by 1/20.
- :class:`NoiseTracker` / :func:`snr_features` for the VAD: each band relative to a
  minimum-statistics noise estimate (R. Martin, "Noise power spectral density estimation based on
  optimal smoothing and minimum statistics", IEEE Trans. Speech Audio Process. 9(5), 2001): the
  minimum over the last 1.5 s of the recursively smoothed band level (in dB).
"""

from __future__ import annotations

import collections

import numpy as np

RATE = 16000
HOP = 160
"""10 ms, the endpointer's frame."""
WIN = 400
"""25 ms analysis window."""
NFFT = 512
N_MELS = 40
FMIN, FMAX = 60.0, 7600.0
FLOOR_DB = -100.0
"""dB value of digital silence in every band."""
NOISE_WINDOW = 150
"""Frames (1.5 s) over which the minimum-statistics noise estimate looks back."""
NOISE_SMOOTH = 0.7
"""Recursive smoothing of band power before the minimum is taken."""
SNR_CLIP = (-10.0, 50.0)
UTT_RANGE_DB = 70.0


def _mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def _hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(n_mels: int = N_MELS, nfft: int = NFFT, rate: int = RATE, fmin: float = FMIN,
                   fmax: float = FMAX) -> np.ndarray:
    """Triangular HTK-style filters, shape ``(n_mels, nfft // 2 + 1)``."""
    edges = _hz(np.linspace(_mel(fmin), _mel(fmax), n_mels + 2))
    freqs = np.arange(nfft // 2 + 1) * rate / nfft
    fb = np.zeros((n_mels, len(freqs)))
    for m in range(n_mels):
        lo, c, hi = edges[m], edges[m + 1], edges[m + 2]
        up = (freqs - lo) / (c - lo)
        down = (hi - freqs) / (hi - c)
        fb[m] = np.clip(np.minimum(up, down), 0.0, None)
    return fb.astype(np.float32)


_FB = mel_filterbank()
_WINDOW = np.hanning(WIN + 2)[1:-1].astype(np.float32)
_EPS = 10.0 ** (FLOOR_DB / 10.0)


def _frames_to_logmel(frames: np.ndarray) -> np.ndarray:
    """``(n, WIN)`` float samples in [-1, 1] -> ``(n, N_MELS)`` dB."""
    spec = np.fft.rfft(frames * _WINDOW, NFFT, axis=-1)
    power = (spec.real ** 2 + spec.imag ** 2).astype(np.float32) / (WIN * 0.375)  # Hann power normalisation
    mel = power @ _FB.T
    return (10.0 * np.log10(mel + _EPS)).astype(np.float32)


def to_float(pcm: np.ndarray) -> np.ndarray:
    """int16 (or float in [-1, 1]) samples -> float32 in [-1, 1]."""
    x = np.asarray(pcm)
    if x.dtype == np.int16:
        return x.astype(np.float32) / 32768.0
    return x.astype(np.float32)


def logmel(pcm: np.ndarray) -> np.ndarray:
    """Log-mel frames of a whole signal: ``(len // HOP, N_MELS)`` float32, causal alignment."""
    x = to_float(pcm)
    n = len(x) // HOP
    if n == 0:
        return np.zeros((0, N_MELS), np.float32)
    padded = np.concatenate([np.zeros(WIN - HOP, np.float32), x[:n * HOP]])
    idx = np.arange(WIN)[None, :] + HOP * np.arange(n)[:, None]
    return _frames_to_logmel(padded[idx])


class StreamingLogMel:
    """One log-mel frame per pushed 10 ms frame (the same values as :func:`logmel`)."""

    def __init__(self) -> None:
        self._hist = np.zeros(WIN - HOP, np.float32)

    def reset(self) -> None:
        """Forget the history (the next frame starts as at the beginning of a signal)."""
        self._hist[:] = 0.0

    def push(self, frame: np.ndarray) -> np.ndarray:
        """Log-mel of the window ending with ``frame`` (exactly :data:`HOP` samples)."""
        x = to_float(frame)
        win = np.concatenate([self._hist, x])
        self._hist = win[HOP:]
        return _frames_to_logmel(win[None, :])[0]


def utterance_input(feats: np.ndarray) -> np.ndarray:
    """Verifier input for a segment's log-mel ``(T, N_MELS)``: relative to its maximum, floored, scaled."""
    if len(feats) == 0:
        return np.zeros((0, N_MELS), np.float32)
    top = float(feats.max())
    return ((np.maximum(feats, top - UTT_RANGE_DB) - top) / 20.0 + 1.75).astype(np.float32)


class NoiseTracker:
    """Per-band minimum-statistics noise estimate, updated frame by frame."""

    def __init__(self, window: int = NOISE_WINDOW, smooth: float = NOISE_SMOOTH) -> None:
        self.window, self.smooth = window, smooth
        self._ring = np.zeros((window, N_MELS), np.float32)
        self._n = 0

    def reset(self) -> None:
        """Forget the estimate."""
        self._n = 0

    def push(self, frame_db: np.ndarray) -> np.ndarray:
        """Add a log-mel frame; returns the current noise estimate per band (dB)."""
        if self._n == 0:
            s = frame_db.astype(np.float32)
        else:
            s = (self.smooth * self._ring[(self._n - 1) % self.window] + (1 - self.smooth) * frame_db).astype(np.float32)
        self._ring[self._n % self.window] = s
        self._n += 1
        return self._ring[:min(self._n, self.window)].min(axis=0)


def noise_floor_track(feats: np.ndarray, window: int = NOISE_WINDOW, smooth: float = NOISE_SMOOTH) -> np.ndarray:
    """:class:`NoiseTracker` applied to a whole ``(T, N_MELS)`` signal (same values, vectorised, for training)."""
    from scipy.ndimage import minimum_filter1d
    from scipy.signal import lfilter

    if len(feats) == 0:
        return np.zeros_like(feats)
    x = feats.astype(np.float32)
    # s_t = a s_{t-1} + (1-a) x_t with s_0 = x_0
    s, _ = lfilter([1 - smooth], [1, -smooth], x, axis=0, zi=(smooth * x[:1]).astype(np.float64))
    s = s.astype(np.float32)
    # causal running minimum over the last `window` frames (truncated at the start)
    pad = np.concatenate([np.repeat(s[:1], window - 1, axis=0), s], axis=0)
    m = minimum_filter1d(pad, size=window, axis=0, origin=(window - 1) // 2 if window % 2 else window // 2 - 1)
    return m[window - 1:].astype(np.float32)


def snr_features(feats: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Per-band a-posteriori SNR in dB, clipped to :data:`SNR_CLIP` and scaled by 1/10."""
    return (np.clip(feats - noise, *SNR_CLIP) / 10.0).astype(np.float32)
