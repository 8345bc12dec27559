"""The comfort noise shared by recognition, fine-tuning and training-set synthesis."""

from __future__ import annotations

import numpy as np

from voice.audio.comfort import ComfortNoise


def test_level_and_independence_of_block_size():
    silence = np.zeros(48000, np.int16)
    whole = ComfortNoise(-50.0).add(silence)
    rms_dbfs = 20 * np.log10(np.sqrt(np.mean(whole.astype(np.float64) ** 2)) / 32768)
    assert abs(rms_dbfs - (-50.0)) < 0.3
    c = ComfortNoise(-50.0)
    pieces = np.concatenate([c.add(silence[a:b]) for a, b in ((0, 160), (160, 5000), (5000, 48000))])
    np.testing.assert_array_equal(pieces, whole)
    assert whole.any() and whole.dtype == np.int16


def test_float_and_int16_streams_get_the_same_noise():
    x = np.zeros(3000, np.float32)
    f = ComfortNoise(-40.0).add_float(x)
    i = ComfortNoise(-40.0).add(np.zeros(3000, np.int16))
    np.testing.assert_allclose(f * 32768, i, atol=1.0)


def test_loud_samples_are_clipped_not_wrapped():
    out = ComfortNoise(-20.0).add(np.full(1000, 32767, np.int16))
    assert out.max() == 32767 and out.min() > 0  # int16 overflow would wrap to negative values
