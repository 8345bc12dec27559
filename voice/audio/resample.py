"""Rational-ratio resampling, whole blocks and streams.

A polyphase FIR resampler (Crochiere & Rabiner, *Multirate Digital Signal Processing*, 1983):
upsample by ``L``, low-pass at ``min(1/L, 1/M)`` of the upsampled Nyquist rate, keep every
``M``-th sample - computed without forming the upsampled signal. :class:`StreamingResampler`
keeps the filter history between blocks, so a stream cut into any blocks gives the same samples
as :func:`scipy.signal.upfirdn` on the whole signal with the same filter.
"""

from __future__ import annotations

from functools import lru_cache
from math import gcd

import numpy as np


@lru_cache(maxsize=16)
def design_filter(up: int, down: int, half_len_per_phase: int = 10) -> np.ndarray:
    """Kaiser-windowed low-pass for ``up/down`` resampling, gain ``up`` (float64)."""
    from scipy.signal import firwin

    cutoff = 1.0 / max(up, down)
    n = 2 * half_len_per_phase * max(up, down) + 1
    return firwin(n, cutoff, window=("kaiser", 5.0)) * up


def resample_block(x: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample a whole float signal (zero-phase, :func:`scipy.signal.resample_poly`)."""
    from scipy.signal import resample_poly

    if rate_in == rate_out:
        return np.asarray(x, dtype=np.float32)
    g = gcd(int(rate_in), int(rate_out))
    return resample_poly(np.asarray(x, dtype=np.float64), rate_out // g, rate_in // g).astype(np.float32)


class StreamingResampler:
    """Resample a float stream block by block from ``rate_in`` to ``rate_out``.

    The output is delayed by the filter's group delay, ``(len(h) - 1) / 2`` input-rate samples
    at the upsampled rate (a few milliseconds), as any causal FIR filter must be.
    """

    def __init__(self, rate_in: int, rate_out: int) -> None:
        if rate_in <= 0 or rate_out <= 0:
            raise ValueError(f"sample rates must be positive, got {rate_in} -> {rate_out}")
        g = gcd(int(rate_in), int(rate_out))
        self.up, self.down = rate_out // g, rate_in // g
        self.h = design_filter(self.up, self.down) if (self.up, self.down) != (1, 1) else np.ones(1)
        self._taps = -(-len(self.h) // self.up)  # taps per phase (ceil)
        hp = np.zeros(self._taps * self.up)
        hp[:len(self.h)] = self.h
        self._poly = hp.reshape(self._taps, self.up).T.copy()  # [phase, k] = h[phase + k*up]
        self._hist = np.zeros(self._taps - 1)  # last inputs, oldest first
        self._n_in = 0   # input samples consumed so far
        self._n_out = 0  # output samples produced so far

    def process(self, x: np.ndarray) -> np.ndarray:
        """Feed a block; return the output samples it completes (float32)."""
        x = np.asarray(x, dtype=np.float64).ravel()
        if self.up == 1 and self.down == 1:
            return x.astype(np.float32)
        buf = np.concatenate([self._hist, x])
        n_total = self._n_in + len(x)
        # output n needs input index floor(n*down/up) <= n_total - 1
        n_end = (n_total * self.up + self.down - 1) // self.down  # first n with t >= n_total*up
        n = np.arange(self._n_out, n_end)
        t = n * self.down  # position at the upsampled rate
        phase = t % self.up
        idx = t // self.up  # newest input index used, absolute
        # buf[j] holds absolute input index (self._n_in - len(hist) + j)
        base = idx - (self._n_in - len(self._hist))
        k = np.arange(self._taps)
        gather = base[:, None] - k[None, :]
        vals = np.where(gather >= 0, buf[np.clip(gather, 0, len(buf) - 1)], 0.0)
        y = np.einsum("nk,nk->n", vals, self._poly[phase])
        self._n_out = n_end
        self._n_in = n_total
        keep = self._taps - 1
        self._hist = buf[-keep:] if keep else np.zeros(0)
        if len(self._hist) < keep:
            self._hist = np.concatenate([np.zeros(keep - len(self._hist)), self._hist])
        return y.astype(np.float32)
