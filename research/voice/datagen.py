"""Synthetic speech data: commands and theatre chatter, spoken by espeak-ng, mixed with noise.

Each clip is ``lead noise | utterance | tail noise`` at 16 kHz. Commands are every phrase of the
command set; chatter comes from :mod:`research.voice.corpus` (with command words in context). Voices,
rates and pitches vary (espeak-ng voice variants). Noise is one of:

- ``pink``: 1/f noise (ventilation, air handling), made by spectral shaping of white noise;
- ``beeps``: a patient monitor's pulse tones (880-1000 Hz, ~120 ms, at about 70 beats per
  minute) over low pink noise;
- ``babble``: six overlapping talkers synthesised from :data:`research.voice.corpus.BABBLE`;
- ``theatre``: all three together;

mixed at a given SNR, defined as the ratio of the speech power over its active samples to the
noise power (ITU-T P.56's active speech level, simplified to an energy gate). ``clean`` clips
have digital silence around the speech. A manifest line per clip records the expected intent
(``null`` for chatter), the text, voice, rate, pitch, noise, SNR and where the speech starts and
ends (``speech_start_s``, ``speech_end_s``) for the latency measurement.
"""

from __future__ import annotations

import io
import json
import logging
import shutil
import subprocess
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from core.errors import DeviceError, InputError
from voice.audio.resample import resample_block
from voice.audio.wavio import write_wav
from voice.commandset import CommandSet
from research.voice.corpus import BABBLE, CHATTER, VOICES

log = logging.getLogger(__name__)

RATE = 16000
NOISE_KINDS = ("pink", "beeps", "babble", "theatre")
TRAIN_BABBLE_LANGS = ("en", "ko")
"""Languages whose ``calib`` split uses the training babble (:mod:`research.voice.verifier.corpus`) rather than the test babble."""


def espeak_available() -> bool:
    """True when the ``espeak-ng`` program is on PATH."""
    return shutil.which("espeak-ng") is not None


def synthesize(text: str, voice: str, rate_wpm: int = 160, pitch: int = 50, word_gap: int = 0) -> np.ndarray:
    """Speak ``text`` with espeak-ng; float32 mono at 16 kHz (``word_gap``: extra pause between words, 10 ms units).

    Raises:
        DeviceError: espeak-ng is not installed.
        InputError: espeak-ng failed (unknown voice...).
    """
    from scipy.io import wavfile

    if not espeak_available():
        raise DeviceError("espeak-ng is not installed - 'apt-get install espeak-ng' (needed to synthesise data)")
    cmd = ["espeak-ng", "-v", voice, "-s", str(int(rate_wpm)), "-p", str(int(pitch))]
    if word_gap:
        cmd += ["-g", str(int(word_gap))]
    proc = subprocess.run([*cmd, "--stdout", text], capture_output=True, timeout=60)
    if proc.returncode != 0 or len(proc.stdout) < 100:
        raise InputError(f"espeak-ng failed for voice {voice!r}: {proc.stderr.decode(errors='replace').strip()}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # espeak writes a streaming header with an unknown length
        sr, x = wavfile.read(io.BytesIO(proc.stdout))
    x = x.astype(np.float32) / 32768.0
    return resample_block(x, int(sr), RATE) if sr != RATE else x


def trim(x: np.ndarray, rel: float = 0.01) -> np.ndarray:
    """Cut leading/trailing samples quieter than ``rel`` of the peak."""
    nz = np.nonzero(np.abs(x) > rel * (np.abs(x).max() + 1e-12))[0]
    return x[nz[0]:nz[-1] + 1] if len(nz) else x


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS pink (1/f power) noise by spectral shaping."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / RATE)
    f[0] = f[1]
    spec /= np.sqrt(f)
    x = np.fft.irfft(spec, n)
    return (x / (np.sqrt(np.mean(x ** 2)) + 1e-12)).astype(np.float32)


def beeps(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS monitor pulse tones over pink noise 15 dB below."""
    x = np.zeros(n, dtype=np.float32)
    f0 = rng.uniform(880, 1000)
    period = int(RATE * 60.0 / rng.uniform(60, 90))
    dur = int(0.12 * RATE)
    t = np.arange(dur) / RATE
    tone = np.sin(2 * np.pi * f0 * t) * np.hanning(dur)
    for start in range(int(rng.integers(0, period)), n - dur, period):
        x[start:start + dur] += tone
    x /= np.sqrt(np.mean(x ** 2)) + 1e-12
    return (x + 10 ** (-15 / 20) * pink_noise(n, rng)).astype(np.float32)


class BabbleBank:
    """A long babble track (six overlapping talkers) to cut noise excerpts from."""

    def __init__(self, lang: str, rng: np.random.Generator, seconds: float = 30.0, talkers: int = 6,
                 sentences: Sequence[str] | None = None, voices: Sequence[str] | None = None) -> None:
        n = int(seconds * RATE)
        track = np.zeros(n, dtype=np.float32)
        voices = list(voices or VOICES[lang]["babble"])
        sentences = list(sentences or BABBLE[lang])
        for k in range(talkers):
            pos = int(rng.integers(0, RATE))
            while pos < n:
                s = trim(synthesize(str(rng.choice(sentences)), voices[k % len(voices)],
                                    int(rng.integers(150, 190)), int(rng.integers(30, 70))))
                s = s / (np.sqrt(np.mean(s ** 2)) + 1e-12)
                m = min(len(s), n - pos)
                track[pos:pos + m] += s[:m]
                pos += m + int(rng.integers(0, RATE // 4))
        self.track = track / (np.sqrt(np.mean(track ** 2)) + 1e-12)

    def excerpt(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """A unit-RMS excerpt of ``n`` samples."""
        reps = -(-n // len(self.track)) + 1
        t = np.tile(self.track, reps)
        s = int(rng.integers(0, len(self.track)))
        x = t[s:s + n]
        return (x / (np.sqrt(np.mean(x ** 2)) + 1e-12)).astype(np.float32)


def make_noise(kind: str, n: int, rng: np.random.Generator, babble: BabbleBank | None) -> np.ndarray:
    """Unit-RMS noise of ``kind`` (see :data:`NOISE_KINDS`)."""
    if kind == "pink":
        return pink_noise(n, rng)
    if kind == "beeps":
        return beeps(n, rng)
    if kind == "babble":
        assert babble is not None
        return babble.excerpt(n, rng)
    if kind == "theatre":
        assert babble is not None
        x = pink_noise(n, rng) + beeps(n, rng) * 0.7 + babble.excerpt(n, rng) * 1.2
        return (x / (np.sqrt(np.mean(x ** 2)) + 1e-12)).astype(np.float32)
    raise ValueError(f"unknown noise kind {kind!r}; known: {', '.join(NOISE_KINDS)}")


def active_power(x: np.ndarray, gate_db: float = -30.0) -> float:
    """Mean power of the 10 ms frames within ``gate_db`` of the loudest frame."""
    n = len(x) // 160
    if n == 0:
        return float(np.mean(x ** 2))
    p = np.mean(x[:n * 160].reshape(n, 160) ** 2, axis=1)
    keep = p >= p.max() * 10 ** (gate_db / 10)
    return float(p[keep].mean())


@dataclass(frozen=True)
class ClipSpec:
    """What one clip contains."""

    text: str
    expect: str | None
    voice: str
    rate_wpm: int
    pitch: int
    noise: str  # "clean" or a NOISE_KINDS entry
    snr_db: float | None
    level_dbfs: float
    lead_s: float
    tail_s: float
    seed: int


def render(spec: ClipSpec, babble: BabbleBank | None, speech: np.ndarray | None = None) -> tuple[np.ndarray, float, float]:
    """Render a clip; returns ``(float32 samples, speech_start_s, speech_end_s)``."""
    rng = np.random.default_rng(spec.seed)
    s = trim(speech if speech is not None else synthesize(spec.text, spec.voice, spec.rate_wpm, spec.pitch))
    s = s * (10 ** (spec.level_dbfs / 20) / (np.sqrt(active_power(s)) + 1e-12))
    lead, tail = int(spec.lead_s * RATE), int(spec.tail_s * RATE)
    x = np.concatenate([np.zeros(lead, np.float32), s.astype(np.float32), np.zeros(tail, np.float32)])
    if spec.noise != "clean":
        noise = make_noise(spec.noise, len(x), rng, babble)
        gain = np.sqrt(active_power(s) / 10 ** (spec.snr_db / 10))
        x = x + gain * noise
    peak = np.abs(x).max()
    if peak > 0.99:
        x = x * (0.99 / peak)
    return x.astype(np.float32), lead / RATE, (lead + len(s)) / RATE


def plan(command_set: CommandSet, split: str, conditions: Sequence[tuple[str, float | None]], seed: int,
         chatter_per_voice: int | None = None, repeats: int = 1) -> Iterator[ClipSpec]:
    """Clip specifications for one split: every phrase and chatter sentence in every voice."""
    lang = command_set.lang
    if lang not in VOICES or split not in VOICES[lang]:
        raise InputError(f"no voices for language {lang!r} split {split!r}")
    rng = np.random.default_rng(seed)
    phrases = [(p, i) for p, i in sorted(command_set.phrase_to_intent().items())]
    chatter = CHATTER[lang][split]
    for voice in VOICES[lang][split]:
        items = [(p, i) for p, i in phrases] * repeats
        ch = list(chatter)
        if chatter_per_voice is not None:
            ch = [str(c) for c in rng.choice(ch, size=min(chatter_per_voice, len(ch)), replace=False)]
        items += [(c, None) for c in ch]
        for text, intent in items:
            rate, pitch = int(rng.integers(135, 195)), int(rng.integers(25, 75))
            for noise, snr in conditions:
                kind = noise if noise != "mixed" else str(rng.choice(NOISE_KINDS))
                yield ClipSpec(text=text, expect=intent, voice=voice, rate_wpm=rate, pitch=pitch, noise=kind,
                               snr_db=snr, level_dbfs=float(rng.uniform(-32, -16)), lead_s=float(rng.uniform(0.4, 0.9)),
                               tail_s=float(rng.uniform(0.6, 0.9)), seed=int(rng.integers(0, 2**31)))


def parse_conditions(text: str) -> list[tuple[str, float | None]]:
    """``"clean,mixed@20,theatre@10"`` -> ``[("clean", None), ("mixed", 20.0), ("theatre", 10.0)]``."""
    out: list[tuple[str, float | None]] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if part == "clean":
            out.append(("clean", None))
            continue
        kind, _, snr = part.partition("@")
        if kind not in (*NOISE_KINDS, "mixed") or not snr:
            raise InputError(f"bad condition {part!r}: use clean or KIND@SNR with KIND in "
                             f"{', '.join((*NOISE_KINDS, 'mixed'))}, e.g. theatre@10")
        try:
            out.append((kind, float(snr)))
        except ValueError:
            raise InputError(f"bad SNR in {part!r}") from None
    if not out:
        raise InputError("no conditions given")
    return out


def generate(command_set: CommandSet, out_dir: str | Path, split: str = "calib",
             conditions: str = "clean,mixed@20,mixed@10,mixed@5", seed: int = 1,
             chatter_per_voice: int | None = None, repeats: int = 1, progress: bool = True) -> Path:
    """Write clips and ``manifest.jsonl`` into ``out_dir``; returns the manifest path."""
    from tqdm import tqdm

    out = Path(out_dir)
    (out / "clips").mkdir(parents=True, exist_ok=True)
    conds = parse_conditions(conditions)
    specs = list(plan(command_set, split, conds, seed, chatter_per_voice, repeats))
    need_babble = any(s.noise in ("babble", "theatre") for s in specs)
    babble = None
    if need_babble:
        sentences = voices = None
        if split != "test" and command_set.lang in TRAIN_BABBLE_LANGS:
            # calibration data must not share the test split's noise: training babble instead
            from research.voice.verifier.corpus import train_babble

            sentences, voices = train_babble(command_set.lang)
        babble = BabbleBank(command_set.lang, np.random.default_rng(seed + 7), sentences=sentences, voices=voices)
    cache: dict[tuple, np.ndarray] = {}
    manifest = out / "manifest.jsonl"
    with open(manifest, "w", encoding="utf-8") as mf:
        for k, spec in enumerate(tqdm(specs, desc=f"voice data {command_set.lang}/{split}", disable=not progress,
                                      unit="clip")):
            key = (spec.text, spec.voice, spec.rate_wpm, spec.pitch)
            if key not in cache:
                cache.clear() if len(cache) > 64 else None
                cache[key] = synthesize(spec.text, spec.voice, spec.rate_wpm, spec.pitch)
            x, t0, t1 = render(spec, babble, cache[key])
            name = f"clips/{k:05d}.wav"
            write_wav(out / name, x)
            rec = {"audio": name, "expect": spec.expect, "text": spec.text, "voice": spec.voice,
                   "rate_wpm": spec.rate_wpm, "pitch": spec.pitch, "noise": spec.noise, "snr_db": spec.snr_db,
                   "speech_start_s": round(t0, 4), "speech_end_s": round(t1, 4), "split": split, "lang": command_set.lang}
            mf.write(json.dumps(rec, ensure_ascii=False) + "\n")
    log.info("wrote %d clips to %s", len(specs), out)
    return manifest


DEMO_SCRIPT = (
    ("show nerve", "show nerve"), ("the nerve looks a bit swollen today", None), ("freeze", "freeze"),
    ("pass me the gel please", None), ("unfreeze", "unfreeze"), ("hide vessel", "hide vessel"),
    ("show all", "show all"), ("hide all", "hide all"), ("confirm", "confirm"), ("show all", "show all"),
)
"""The bundled demo WAV: (text, expected intent or None), spoken in order with pauses."""


def make_demo(command_set: CommandSet, wav_path: str | Path, voice: str = "en-us", gap_s: float = 2.5,
              snr_db: float = 25.0, seed: int = 5) -> dict:
    """Write the demo script WAV and return its transcript (also written next to it as JSON)."""
    rng = np.random.default_rng(seed)
    parts: list[np.ndarray] = [np.zeros(int(1.0 * RATE), np.float32)]
    items = []
    t = 1.0
    for text, intent in DEMO_SCRIPT:
        s = trim(synthesize(text, voice, 160, 50))
        s = s * (10 ** (-22 / 20) / (np.sqrt(active_power(s)) + 1e-12))
        items.append({"text": text, "expect": intent, "start_s": round(t, 3), "end_s": round(t + len(s) / RATE, 3)})
        parts += [s.astype(np.float32), np.zeros(int(gap_s * RATE), np.float32)]
        t += len(s) / RATE + gap_s
    x = np.concatenate(parts)
    sp = active_power(np.concatenate([p for p in parts if len(p) and np.any(p)]))
    x = x + np.sqrt(sp / 10 ** (snr_db / 10)) * pink_noise(len(x), rng)
    write_wav(wav_path, x)
    transcript = {"wav": Path(wav_path).name, "voice": voice, "snr_db": snr_db, "noise": "pink",
                  "duration_s": round(len(x) / RATE, 3), "utterances": items,
                  "note": "generated by 'sonoguide voice gen-data --demo'; confirm executes the preceding hide all"}
    Path(wav_path).with_suffix(".json").write_text(json.dumps(transcript, indent=1) + "\n", encoding="utf-8")
    return transcript
