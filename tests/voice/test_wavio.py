"""WAV input: odd formats are converted, unusable files fail with one clear error."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.io import wavfile

from core.errors import InputError
from voice.audio.wavio import read_wav


def _tone(rate: int, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return 0.3 * np.sin(2 * np.pi * 440 * t)


def test_missing_file():
    with pytest.raises(InputError, match="not found"):
        read_wav("/nonexistent/clip.wav")


def test_not_a_wav(tmp_path):
    p = tmp_path / "x.wav"
    p.write_bytes(b"this is text, not RIFF audio" * 10)
    with pytest.raises(InputError, match="not a readable WAV"):
        read_wav(p)


def test_empty_wav(tmp_path):
    p = tmp_path / "empty.wav"
    wavfile.write(p, 16000, np.zeros(0, np.int16))
    with pytest.raises(InputError, match="no audio"):
        read_wav(p)


@pytest.mark.parametrize("rate", [8000, 44100, 48000])
def test_wrong_rate_is_resampled(tmp_path, rate):
    p = tmp_path / "r.wav"
    wavfile.write(p, rate, (_tone(rate) * 32767).astype(np.int16))
    pcm, info = read_wav(p)
    assert info.sample_rate == rate and pcm.dtype == np.int16
    assert abs(len(pcm) - 8000) <= 2


def test_stereo_8bit_and_float(tmp_path):
    x = _tone(16000)
    wavfile.write(tmp_path / "st.wav", 16000, np.stack([x, x], 1).astype(np.float32))
    wavfile.write(tmp_path / "u8.wav", 16000, (x * 127 + 128).astype(np.uint8))
    wavfile.write(tmp_path / "i32.wav", 16000, (x * 2**31).astype(np.int32))
    for name in ("st.wav", "u8.wav", "i32.wav"):
        pcm, info = read_wav(tmp_path / name)
        assert pcm.dtype == np.int16 and len(pcm) == 8000
        assert abs(np.abs(pcm).max() / 32768 - 0.3) < 0.02
    assert read_wav(tmp_path / "st.wav")[1].channels == 2


def test_clipping_is_reported(tmp_path):
    x = np.clip(_tone(16000) * 10, -1, 1)
    wavfile.write(tmp_path / "c.wav", 16000, (x * 32767).astype(np.int16))
    _, info = read_wav(tmp_path / "c.wav")
    assert info.clipped_fraction > 0.3
