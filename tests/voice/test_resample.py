"""Streaming resampler: block-invariant and equal to scipy's upfirdn with the same filter."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import upfirdn

from voice.audio.resample import StreamingResampler, resample_block


@pytest.mark.parametrize("rate_in", [48000, 44100, 22050, 8000])
def test_stream_matches_whole_signal(rate_in):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(20000)
    r = StreamingResampler(rate_in, 16000)
    parts, i = [], 0
    while i < len(x):
        n = int(rng.integers(1, 2000))
        parts.append(r.process(x[i:i + n]))
        i += n
    y = np.concatenate(parts)
    ref = upfirdn(r.h, x, r.up, r.down)[:len(y)]
    assert abs(len(y) - len(x) * 16000 / rate_in) <= 1
    assert np.max(np.abs(y - ref)) < 1e-5


def test_tone_keeps_its_frequency():
    t = np.arange(48000) / 48000.0
    y = resample_block(np.sin(2 * np.pi * 1000 * t), 48000, 16000)
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    assert abs(np.argmax(spec) * 16000 / len(y) - 1000) < 2
