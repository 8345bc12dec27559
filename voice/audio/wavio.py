"""Reading WAV files into the engines' format: mono, 16 kHz, int16.

Accepts what people actually hand over - other rates (resampled), stereo (averaged, with a
warning), 8-bit unsigned, 24/32-bit integer and float WAVs (converted) - and refuses, with one
clear :class:`~core.errors.InputError`, what cannot be audio: a missing file, a file that is
not a WAV, an empty one.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import InputError
from voice.audio.resample import resample_block

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WavInfo:
    """What the file was before conversion (for logs and checks)."""

    path: str
    sample_rate: int
    channels: int
    dtype: str
    duration_s: float
    clipped_fraction: float


def to_float(x: np.ndarray) -> np.ndarray:
    """Integer or float PCM -> float32 in [-1, 1] (8-bit WAV is unsigned with offset 128)."""
    if x.dtype == np.uint8:
        return (x.astype(np.float32) - 128.0) / 128.0
    if x.dtype == np.int16:
        return x.astype(np.float32) / 32768.0
    if x.dtype == np.int32:
        return (x.astype(np.float64) / 2147483648.0).astype(np.float32)
    if np.issubdtype(x.dtype, np.floating):
        return np.clip(x.astype(np.float32), -1.0, 1.0)
    raise InputError(f"unsupported sample type {x.dtype}")


def float_to_int16(x: np.ndarray) -> np.ndarray:
    """float in [-1, 1] -> int16 (clipped)."""
    return (np.clip(x, -1.0, 32767.0 / 32768.0) * 32768.0).astype(np.int16)


def read_wav(path: str | Path, rate: int = 16000) -> tuple[np.ndarray, WavInfo]:
    """Read ``path`` as mono int16 at ``rate``.

    Returns:
        ``(pcm, info)``: int16 samples and what the file originally was.

    Raises:
        InputError: the file is missing, unreadable, not a WAV, or has no samples.
    """
    from scipy.io import wavfile  # lazy: scipy import is slow

    p = Path(path)
    if not p.is_file():
        raise InputError(f"WAV file {p} not found - check the path")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sr, data = wavfile.read(str(p))
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"{p} is not a readable WAV file ({exc}) - convert it with "
                         f"'sox IN -r 16000 -c 1 -b 16 OUT.wav'") from None
    data = np.asarray(data)
    if data.size == 0:
        raise InputError(f"{p} contains no audio samples")
    channels = 1 if data.ndim == 1 else int(data.shape[1])
    x = to_float(data)
    clipped = float(np.mean(np.abs(x) >= 0.999))
    if channels > 1:
        log.warning("%s has %d channels; averaging them to mono", p, channels)
        x = x.mean(axis=1)
    if sr != rate:
        log.info("%s is %d Hz; resampling to %d Hz", p, sr, rate)
        x = resample_block(x, int(sr), rate)
    if clipped > 0.001:
        log.warning("%s: %.1f%% of samples are clipped; recognition may suffer", p, 100 * clipped)
    info = WavInfo(path=str(p), sample_rate=int(sr), channels=channels, dtype=str(data.dtype),
                   duration_s=len(x) / rate, clipped_fraction=clipped)
    return float_to_int16(x), info


def write_wav(path: str | Path, pcm: np.ndarray, rate: int = 16000) -> None:
    """Write mono int16 (or float in [-1, 1]) samples as a 16-bit WAV."""
    from scipy.io import wavfile

    a = np.asarray(pcm)
    if a.dtype != np.int16:
        a = float_to_int16(a.astype(np.float32))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    wavfile.write(str(path), rate, a)
