"""Synthesise the training set of the verifier and the VAD (espeak-ng speech + theatre noise).

Each *item* is one clip ``lead noise | utterance | tail noise`` stored as log-mel frames
(:mod:`voice.verifier.features`) with

- ``label``: the intent index in the command set's sorted intent list, or ``none`` (last index);
- ``start``/``end``: the utterance's first and last log-mel frame (the verifier's crops are
  drawn around them at training time);
- ``vad``: per-frame foreground-speech labels (the clean utterance's frame energy within 35 dB
  of its loudest frame, gaps of up to 80 ms filled), for the VAD.

Items vary everything the brief lists: every phrase of the command set and training chatter
(:mod:`research.voice.verifier.corpus`, including command words in context), training voices (accent x
variant, never a calibration or test variant), rates 120-210 wpm, pitches 15-85, word gaps
0-80 ms, levels -40..-12 dBFS, lead/tail silence, a random microphone tilt and band limit, small
reverberation (exponentially decaying noise impulse responses, RT60 0.1-0.5 s), and noise: pink,
monitor beeps, babble (training sentences and voices, 3-8 talkers), theatre (all three), plus
white, brown, mains hum, alarm tones and clatter the test split never contains, at 0-24 dB SNR or
clean (weighted below the 0-30 dB of the first version: the target condition is 10 dB theatre
noise); babble and theatre noise make half the noisy clips (``TrainSetConfig.noise_weights``).
A few percent are noise alone and commands after the wake word. Shards are written as ``.npz``
files by :func:`synthesize_shard`, in parallel worker processes by :func:`build_training_set`.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from voice.audio.comfort import ComfortNoise
from voice.commandset import CommandSet
from research.voice.datagen import RATE, BabbleBank, active_power, beeps, pink_noise, synthesize, trim
from research.voice.verifier.corpus import train_babble, train_chatter, train_voices
from voice.verifier.features import HOP, logmel

log = logging.getLogger(__name__)

GENERATOR_VERSION = "voice-train/4"
"""Bumped whenever items change; shards of another version are synthesised again. 2: comfort noise;
3: chatter fragments; 4: noise kinds drawn by weight (babble-heavy), babble of 3-8 talkers."""
NOISE_KINDS_TRAIN = ("pink", "beeps", "babble", "theatre", "white", "brown", "hum", "alarm", "clatter")
NONE = "none"


@dataclass(frozen=True)
class TrainSetConfig:
    """Size and mixture of the training set.

    Attributes:
        lang: command-set language.
        items: number of clips.
        seed: base seed (item ``i`` uses ``(seed, i)``).
        shard_size: clips per ``.npz`` shard.
        p_command: fraction of command clips (the rest is chatter, wake-word commands and noise).
        p_wake: fraction of clips that are a command after the wake word.
        p_noise_only: fraction of clips without speech.
        p_clean: fraction of clips without added noise.
        p_fragment: fraction of chatter clips that are a fragment of a chatter sentence (1-3 words
            with no command-phrase word, see :func:`chatter_fragment`).
        snr_db: SNR range of noisy clips.
        noise_weights: relative weight of each of :data:`NOISE_KINDS_TRAIN` (same order) among
            noisy clips. Babble and theatre noise (competing talkers) carry half the weight: that is
            where recognition lost most with uniform kinds (voice-train/3: 0.57 accuracy on fresh
            10 dB babble clips, against 0.96 on pink noise).
        babble_talkers: inclusive range of the number of overlapping talkers in each shard's
            babble track (the test split's babble has six).
        p_reverb: fraction of clips with reverberation.
        comfort_noise_dbfs: level of the comfort noise (:mod:`voice.audio.comfort`) added to
            every clip, as recognition adds it (``voice.input.comfort_noise_dbfs``).
    """

    lang: str = "en"
    items: int = 36000
    seed: int = 2026
    shard_size: int = 1000
    p_command: float = 0.47
    p_wake: float = 0.03
    p_noise_only: float = 0.05
    p_clean: float = 0.12
    p_fragment: float = 0.2
    snr_db: tuple[float, float] = (0.0, 24.0)
    noise_weights: tuple[float, ...] = (0.10, 0.08, 0.25, 0.25, 0.05, 0.05, 0.07, 0.07, 0.08)
    babble_talkers: tuple[int, int] = (3, 8)
    p_reverb: float = 0.3
    comfort_noise_dbfs: float = -50.0

    def __post_init__(self) -> None:
        w = self.noise_weights
        if len(w) != len(NOISE_KINDS_TRAIN) or min(w) < 0 or sum(w) <= 0:
            raise ValueError(f"noise_weights {w}: expected {len(NOISE_KINDS_TRAIN)} non-negative weights "
                             f"for {', '.join(NOISE_KINDS_TRAIN)}, not all zero")
        lo, hi = self.babble_talkers
        if not 1 <= lo <= hi:
            raise ValueError(f"babble_talkers {self.babble_talkers}: expected 1 <= low <= high")


def _config_key(cfg: TrainSetConfig, shard: int) -> str:
    """What shard ``shard``'s items depend on besides the generator version: the mixture and how
    many items it plans (not the total ``items``: shard ``k`` is the same whatever comes after it)."""
    d = asdict(cfg)
    d["items"] = min(cfg.items, (shard + 1) * cfg.shard_size) - shard * cfg.shard_size
    return json.dumps(d, sort_keys=True)


def label_names(command_set: CommandSet) -> list[str]:
    """Class names: the command set's intents (sorted) then ``none``."""
    return sorted(command_set.intents) + [NONE]


# ---------------------------------------------------------------------------------------------- noise
def _unit(x: np.ndarray) -> np.ndarray:
    return (x / (np.sqrt(np.mean(x ** 2)) + 1e-12)).astype(np.float32)


def _brown(n: int, rng: np.random.Generator) -> np.ndarray:
    x = np.cumsum(rng.standard_normal(n))
    x -= np.convolve(x, np.ones(801) / 801, mode="same")  # remove the drift
    return _unit(x)


def _hum(n: int, rng: np.random.Generator) -> np.ndarray:
    f0 = float(rng.choice([50.0, 60.0])) * rng.uniform(0.995, 1.005)
    t = np.arange(n) / RATE
    x = sum(rng.uniform(0.2, 1.0) / k * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3)) for k in range(1, 8))
    return _unit(x + 0.05 * pink_noise(n, rng))


def _alarm(n: int, rng: np.random.Generator) -> np.ndarray:
    """Alarm patterns: repeated one/two-tone bursts, 400-2500 Hz (wider than the test's monitor beeps)."""
    x = np.zeros(n, np.float32)
    f1, f2 = rng.uniform(400, 2500), rng.uniform(400, 2500)
    dur = int(rng.uniform(0.05, 0.4) * RATE)
    period = int(rng.uniform(0.2, 1.5) * RATE)
    t = np.arange(dur) / RATE
    k = 0
    for start in range(int(rng.integers(0, period)), n - dur, period):
        f = f1 if k % 2 == 0 or rng.random() < 0.5 else f2
        tone = np.sin(2 * np.pi * f * t) + rng.uniform(0, 0.5) * np.sin(2 * np.pi * 2 * f * t)
        x[start:start + dur] += (tone * np.hanning(dur)).astype(np.float32)
        k += 1
    return _unit(x + 10 ** (-20 / 20) * pink_noise(n, rng))


def _clatter(n: int, rng: np.random.Generator) -> np.ndarray:
    """Instrument clatter: decaying band-limited clicks at random times over low pink noise."""
    from scipy.signal import butter, lfilter

    x = np.zeros(n, np.float32)
    for _ in range(int(rng.integers(2, 3 + n // RATE * 4))):
        s = int(rng.integers(0, n))
        m = int(rng.uniform(0.01, 0.12) * RATE)
        burst = rng.standard_normal(m) * np.exp(-np.arange(m) / (m / 5))
        lo = rng.uniform(800, 3000)
        b, a = butter(2, [lo / (RATE / 2), min(0.95, (lo * rng.uniform(1.5, 4)) / (RATE / 2))], btype="band")
        burst = lfilter(b, a, burst) * rng.uniform(0.3, 1.0)
        e = min(n, s + m)
        x[s:e] += burst[:e - s].astype(np.float32)
    return _unit(x + 10 ** (-15 / 20) * pink_noise(n, rng))


def train_noise(kind: str, n: int, rng: np.random.Generator, babble: BabbleBank) -> np.ndarray:
    """Unit-RMS noise of one of :data:`NOISE_KINDS_TRAIN`."""
    if kind == "pink":
        return pink_noise(n, rng)
    if kind == "beeps":
        return beeps(n, rng)
    if kind == "babble":
        return babble.excerpt(n, rng)
    if kind == "theatre":
        return _unit(pink_noise(n, rng) * rng.uniform(0.5, 1.5) + beeps(n, rng) * rng.uniform(0.3, 1.0)
                     + babble.excerpt(n, rng) * rng.uniform(0.6, 1.6))
    if kind == "white":
        return _unit(rng.standard_normal(n))
    if kind == "brown":
        return _brown(n, rng)
    if kind == "hum":
        return _hum(n, rng)
    if kind == "alarm":
        return _alarm(n, rng)
    if kind == "clatter":
        return _clatter(n, rng)
    raise ValueError(kind)


# ---------------------------------------------------------------------------------------------- speech
def _channel(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random microphone: spectral tilt (first-order filter) and sometimes a band limit."""
    from scipy.signal import butter, lfilter

    a = rng.uniform(-0.6, 0.9)
    y = lfilter([1.0, -a], [1.0], x) if rng.random() < 0.7 else x
    if rng.random() < 0.3:
        fc = rng.uniform(3400, 7000)
        b, a2 = butter(4, fc / (RATE / 2))
        y = lfilter(b, a2, y)
    if rng.random() < 0.2:
        b, a2 = butter(2, rng.uniform(100, 400) / (RATE / 2), btype="high")
        y = lfilter(b, a2, y)
    return np.asarray(y, dtype=np.float32)


def _reverb(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Small-room reverberation: a direct path plus an exponentially decaying noise tail."""
    from scipy.signal import fftconvolve

    rt60 = rng.uniform(0.1, 0.5)
    n = int(rt60 * RATE)
    h = rng.standard_normal(n) * np.exp(-6.9 * np.arange(n) / n)
    h *= 10 ** (rng.uniform(-12, 0) / 20) / (np.sqrt(np.sum(h ** 2)) + 1e-12)
    h[0] = 1.0
    return fftconvolve(x, h)[:len(x) + n // 2].astype(np.float32)


def frame_labels(speech_feats: np.ndarray, range_db: float = 35.0, fill_frames: int = 8) -> np.ndarray:
    """Foreground-speech frames from the clean utterance's log-mel (see the module docstring)."""
    e = 10.0 * np.log10(np.sum(10.0 ** (speech_feats.astype(np.float64) / 10.0), axis=1) + 1e-12)
    act = e > e.max() - range_db
    idx = np.nonzero(act)[0]
    for a, b in zip(idx[:-1], idx[1:]):
        if 1 < b - a <= fill_frames + 1:
            act[a:b] = True
    return act.astype(np.uint8)


@dataclass(frozen=True)
class _Item:
    text: str
    label: str
    voice: str
    kind: str  # command, wake, chatter, noise


def chatter_fragment(sentence: str, command_words: frozenset[str], rng: np.random.Generator) -> str | None:
    """1-3 consecutive words of ``sentence`` with none of ``command_words``, or ``None``.

    The endpointer cuts chatter at its pauses ("resume the music | please"), and a trailing
    "please" alone sounds much like "freeze": the verifier must have heard such pieces as
    ``none``. Pieces with a command word are never made (they would teach the opposite of the
    command classes).
    """
    words = sentence.split()
    if len(words) < 2:
        return None
    for _ in range(4):
        n = int(rng.integers(1, min(3, len(words) - 1) + 1))
        a = int(rng.integers(0, len(words) - n + 1))
        piece = words[a:a + n]
        if not command_words.intersection(piece):
            return " ".join(piece)
    return None


def _plan_item(i: int, cfg: TrainSetConfig, rng: np.random.Generator, p2i: dict[str, str], wake: str,
               chatter: list[str], voices: list[str], command_words: frozenset[str]) -> _Item:
    by_intent: dict[str, list[str]] = {}
    for p, it in sorted(p2i.items()):
        by_intent.setdefault(it, []).append(p)
    u = rng.random()
    voice = str(rng.choice(voices))
    if u < cfg.p_noise_only:
        return _Item("", NONE, voice, "noise")
    u -= cfg.p_noise_only
    if u < cfg.p_command + cfg.p_wake:
        intent = str(rng.choice(sorted(by_intent)))  # intents equally often, then one of its phrases
        phrase = str(rng.choice(by_intent[intent]))
        if u < cfg.p_wake and wake:
            return _Item(f"{wake} {phrase}", intent, voice, "wake")
        return _Item(phrase, intent, voice, "command")
    text = str(rng.choice(chatter))
    if rng.random() < cfg.p_fragment:
        text = chatter_fragment(text, command_words, rng) or text
    if wake and rng.random() < 0.03:
        text = f"{wake} {text}"
    return _Item(text, NONE, voice, "chatter")


def synthesize_shard(command_set: CommandSet, cfg: TrainSetConfig, shard: int, out_dir: str | Path) -> Path:
    """Write shard ``shard`` (items ``shard * shard_size`` ...) as ``shard_<k>.npz``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"shard_{shard:03d}.npz"
    if path.is_file():
        try:
            with np.load(path) as z:
                made_by = str(z["generator"]) if "generator" in z.files else "voice-train/1"
                made_with = str(z["config"]) if "config" in z.files else None
        except (OSError, ValueError) as exc:
            made_by, made_with = f"unreadable ({exc})", None
        if made_by == GENERATOR_VERSION and made_with == _config_key(cfg, shard):
            return path
        if made_by != GENERATOR_VERSION:
            log.warning("%s was made by %s, not %s: synthesising it again", path, made_by, GENERATOR_VERSION)
        else:
            log.warning("%s was made with another training-set configuration: synthesising it again", path)
    names = label_names(command_set)
    p2i = command_set.phrase_to_intent()
    command_words = frozenset(w for p in p2i for w in p.split())
    chatter = train_chatter(command_set.lang)
    voices = train_voices(command_set.lang)
    bab_sent, bab_voices = train_babble(command_set.lang)
    brng = np.random.default_rng((cfg.seed, 10_000 + shard))
    talkers = int(brng.integers(cfg.babble_talkers[0], cfg.babble_talkers[1] + 1))
    babble = BabbleBank(command_set.lang, brng, seconds=20.0, talkers=talkers, sentences=bab_sent,
                        voices=[str(v) for v in brng.permutation(bab_voices)])
    kind_p = np.asarray(cfg.noise_weights, np.float64) / sum(cfg.noise_weights)
    feats, vads, meta = [], [], []
    lo = shard * cfg.shard_size
    for i in range(lo, min(cfg.items, lo + cfg.shard_size)):
        rng = np.random.default_rng((cfg.seed, i))
        it = _plan_item(i, cfg, rng, p2i, command_set.wake_word, chatter, voices, command_words)
        level = rng.uniform(-40, -12)
        lead, tail = int(rng.uniform(0.25, 1.0) * RATE), int(rng.uniform(0.35, 0.8) * RATE)
        if it.kind == "noise":
            s = np.zeros(int(rng.uniform(0.3, 2.0) * RATE), np.float32)
            rate = pitch = gap = 0
        else:
            rate, pitch = int(rng.integers(120, 211)), int(rng.integers(15, 86))
            gap = int(rng.choice([0, 0, 0, 1, 2, 3, 5, 8]))
            try:
                s = trim(synthesize(it.text, it.voice, rate, pitch, gap))
            except Exception as exc:  # noqa: BLE001 - one bad voice must not stop a long job
                log.warning("skipping item %d (%s): %s", i, it.voice, exc)
                continue
            s = _channel(s, rng)
            if rng.random() < cfg.p_reverb:
                s = _reverb(s, rng)
            s = s * (10 ** (level / 20) / (np.sqrt(active_power(s)) + 1e-12))
        x = np.concatenate([np.zeros(lead, np.float32), s, np.zeros(tail, np.float32)])
        clean = it.kind != "noise" and rng.random() < cfg.p_clean
        kind, snr = "clean", None
        if not clean:
            kind = str(rng.choice(NOISE_KINDS_TRAIN, p=kind_p))
            snr = float(rng.uniform(*cfg.snr_db))
            noise = train_noise(kind, len(x), rng, babble)
            ref = active_power(s) if it.kind != "noise" else 10 ** (level / 10)
            x = x + np.sqrt(ref / 10 ** (snr / 10)) * noise
        x = ComfortNoise(cfg.comfort_noise_dbfs).add_float(x)
        peak = float(np.abs(x).max())
        if peak > 0.99:
            x *= 0.99 / peak
        f = logmel(x)
        if it.kind == "noise":
            v = np.zeros(len(f), np.uint8)
            n = len(f)
            a = int(rng.integers(0, max(1, n - 40)))
            start, end = a, min(n - 1, a + int(rng.integers(20, 200)))
        else:
            fg = np.concatenate([np.zeros(lead, np.float32), s, np.zeros(tail, np.float32)])
            v = frame_labels(logmel(fg))
            on = np.nonzero(v)[0]
            start, end = (int(on[0]), int(on[-1])) if len(on) else (lead // HOP, (lead + len(s)) // HOP)
        feats.append(f.astype(np.float16))
        vads.append(v)
        meta.append({"i": i, "text": it.text, "label": it.label, "y": names.index(it.label), "voice": it.voice,
                     "kind": it.kind, "noise": kind, "snr_db": snr, "rate": rate, "pitch": pitch, "gap": gap,
                     "start": start, "end": end, "frames": len(f)})
    lengths = np.array([len(f) for f in feats], np.int32)
    np.savez(path.with_suffix(".tmp.npz"), feats=np.concatenate(feats), vad=np.concatenate(vads), lengths=lengths,
             meta=np.array(json.dumps(meta)), generator=np.array(GENERATOR_VERSION),
             config=np.array(_config_key(cfg, shard)))
    os.replace(path.with_suffix(".tmp.npz"), path)
    return path


def _worker(args) -> str:
    cs_path, cfg, shard, out = args
    from voice.commandset import load_command_set

    return str(synthesize_shard(load_command_set(cs_path), cfg, shard, out))


def build_training_set(command_set: CommandSet, cfg: TrainSetConfig, out_dir: str | Path, workers: int = 1,
                       progress: bool = True) -> list[Path]:
    """Synthesise every shard (skipping those already written); returns the shard paths."""
    from multiprocessing import get_context

    from tqdm import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps({"generator": GENERATOR_VERSION, **asdict(cfg),
                                                 "labels": label_names(command_set)}, indent=1))
    n_shards = -(-cfg.items // cfg.shard_size)
    jobs = [(command_set.source, cfg, k, str(out)) for k in range(n_shards)]
    paths: list[Path] = []
    bar = tqdm(total=n_shards, desc=f"verifier training set {cfg.lang}", unit="shard", disable=not progress)
    if workers <= 1:
        for j in jobs:
            paths.append(Path(_worker(j)))
            bar.update()
    else:
        with get_context("spawn").Pool(workers) as pool:
            for p in pool.imap_unordered(_worker, jobs):
                paths.append(Path(p))
                bar.update()
    bar.close()
    return sorted(paths)


def load_training_set(paths: list[Path]) -> tuple[list[np.ndarray], list[np.ndarray], list[dict]]:
    """All shards as per-item ``(feats float16 (T, 40), vad uint8 (T,), meta)`` lists."""
    feats, vads, metas = [], [], []
    for p in paths:
        with np.load(p) as z:
            f, v, n = z["feats"], z["vad"], z["lengths"]
            meta = json.loads(str(z["meta"]))
        offs = np.concatenate([[0], np.cumsum(n)])
        for k, m in enumerate(meta):
            feats.append(f[offs[k]:offs[k + 1]])
            vads.append(v[offs[k]:offs[k + 1]])
            metas.append(m)
    return feats, vads, metas
