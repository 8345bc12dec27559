"""Log-mel front end: streaming equals batch, level invariance of the verifier input, noise tracking."""

from __future__ import annotations

import numpy as np

from voice.verifier.features import (HOP, N_MELS, NoiseTracker, StreamingLogMel, logmel, noise_floor_track,
                                     utterance_input)


def _signal(seconds=1.5, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    x = 0.2 * np.sin(2 * np.pi * 440 * t) * (t > 0.5) + 0.01 * rng.standard_normal(len(t))
    return (x * 32767).astype(np.int16)


def test_streaming_frames_equal_batch_frames():
    x = _signal()
    batch = logmel(x)
    s = StreamingLogMel()
    stream = np.stack([s.push(x[i * HOP:(i + 1) * HOP]) for i in range(len(x) // HOP)])
    assert batch.shape == (len(x) // HOP, N_MELS)
    np.testing.assert_allclose(stream, batch, atol=1e-3)


def test_frames_are_causal():
    x = _signal()
    y = x.copy()
    y[8000:] = 0  # change only the future of frame 49
    np.testing.assert_array_equal(logmel(x)[:50], logmel(y)[:50])
    assert not np.array_equal(logmel(x)[50:60], logmel(y)[50:60])


def test_tone_lands_in_its_mel_band():
    f = logmel(_signal())
    loud = f[80:].mean(axis=0)
    assert 4 <= int(np.argmax(loud)) <= 12  # 440 Hz: a low band of 40 between 60 Hz and 7.6 kHz


def test_verifier_input_is_level_invariant_and_bounded():
    f = logmel(_signal())
    a = utterance_input(f)
    b = utterance_input(f + 12.0)  # 12 dB louder
    np.testing.assert_allclose(a, b, atol=1e-5)
    assert a.max() == np.float32(1.75) and a.min() >= -1.75 - 1e-6


def test_noise_tracker_streaming_equals_vectorised_and_follows_the_floor():
    rng = np.random.default_rng(1)
    f = (-60 + 3 * rng.standard_normal((400, N_MELS))).astype(np.float32)
    f[150:200] += 30  # a loud event
    t = NoiseTracker()
    stream = np.stack([t.push(r) for r in f])
    np.testing.assert_allclose(stream, noise_floor_track(f), atol=1e-3)
    assert np.all(stream[190] < -55)  # the event does not lift the minimum statistics
