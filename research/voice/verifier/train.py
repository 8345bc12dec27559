"""Training of the frame VAD and the intent verifier on the synthesised set (or on recordings).

Model selection uses only training data: the items spoken with :data:`VAL_VARIANTS` (a few of
the training voice variants) are held out of the gradient steps and pick the epoch. The
calibration and test splits are never read here.

:func:`train_intent` crops each item around its utterance the way the endpointer cuts it
(pre-roll jitter 20-360 ms before the first speech frame, 30 ms before to 120 ms after the last),
normalises it (:func:`voice.verifier.features.utterance_input`), warps the mel axis by 0.88-1.12
for half of the items (:func:`_warp_bands`, a vocal-tract-length perturbation), applies
SpecAugment-style masking (D. S. Park et al., "SpecAugment", Interspeech 2019: one band mask of up
to 5 bands, one time mask of up to 8 frames) and minimises label-smoothed cross-entropy with AdamW and a cosine
learning-rate schedule. :func:`train_vad` fits :class:`~voice.verifier.nets.VadNet` on frames
sampled from the same items (binary cross-entropy against the foreground-speech labels).

:func:`finetune_on_manifest` adapts a trained verifier to *recorded* commands: a ``voice eval``
style manifest (``audio``, ``expect``, optional ``speech_start_s``/``speech_end_s``) is turned into
items and training continues from the given weights at a lower learning rate.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from voice.verifier.features import HOP, N_MELS, logmel, utterance_input
from voice.verifier.vad_model import vad_inputs_from_logmel

log = logging.getLogger(__name__)

VAL_VARIANTS = frozenset({"caleb", "Hugo", "linda", "miguel", "steph2", "klatt5", "norbert"})
"""Training variants whose items are held out for model selection."""
MAX_FRAMES = 300
VERIFIER_VERSION = "2.1.0"
"""Version written into new model cards. 1.0.0: ``voice-train/1`` (0-30 dB, no comfort noise);
2.0.0: ``voice-train/3`` (comfort noise, 0-24 dB, chatter fragments); 2.1.0: ``voice-train/4``
(babble-weighted). The bundled English verifier, ``2.1.0-ensemble``, combines a 2.0.0 and a 2.1.0
network (``voice combine-verifiers``)."""
PAD_VALUE = float(utterance_input(np.array([[0.0], [-200.0]], np.float32))[1, 0])
"""The normalised floor value (padding looks like silence)."""


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of :func:`train_intent` and :func:`train_vad`."""

    epochs: int = 12
    batch: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-3
    label_smoothing: float = 0.05
    vad_epochs: int = 10
    vad_items: int = 12000
    vad_frames_per_item: int = 40
    threads: int = 1
    seed: int = 0


def is_validation(meta: dict) -> bool:
    """True when the item's voice variant is one of :data:`VAL_VARIANTS`."""
    return meta.get("voice", "").partition("+")[2] in VAL_VARIANTS


def validation_items(feats: list[np.ndarray], metas: list[dict], labels: list[str]
                     ) -> tuple[list[np.ndarray], np.ndarray]:
    """The validation items of a training set (voices of :data:`VAL_VARIANTS`) as model inputs and labels."""
    idx = [i for i, m in enumerate(metas) if is_validation(m)]
    return [_crop(feats[i], metas[i], None) for i in idx], np.array([labels.index(metas[i]["label"]) for i in idx],
                                                                     np.int64)


def _crop(f: np.ndarray, m: dict, rng: np.random.Generator | None) -> np.ndarray:
    n = len(f)
    if m.get("kind") == "noise":
        a, b = m["start"], m["end"]
    elif rng is None:
        a, b = m["start"] - 18, m["end"] + 5
    else:
        a, b = m["start"] - int(rng.integers(2, 37)), m["end"] + int(rng.integers(-3, 13))
    a, b = max(0, a), min(n - 1, b)
    if b - a + 1 > MAX_FRAMES:
        b = a + MAX_FRAMES - 1
    return utterance_input(f[a:b + 1].astype(np.float32))


def _warp_bands(x: np.ndarray, alpha: float) -> np.ndarray:
    """Stretch the mel axis by ``alpha`` (a vocal-tract-length perturbation on log-mel frames, after
    N. Jaitly and G. Hinton, "Vocal Tract Length Perturbation (VTLP) improves speech recognition", ICML
    workshop 2013)."""
    src = np.clip(np.arange(N_MELS) / alpha, 0, N_MELS - 1)
    lo = np.floor(src).astype(int)
    hi = np.minimum(lo + 1, N_MELS - 1)
    fr = (src - lo).astype(np.float32)
    return x[:, lo] * (1 - fr) + x[:, hi] * fr


def _spec_augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    x = _warp_bands(x, float(rng.uniform(0.88, 1.12))) if rng.random() < 0.5 else x.copy()
    if rng.random() < 0.5:
        w = int(rng.integers(1, 6))
        f0 = int(rng.integers(0, N_MELS - w))
        x[:, f0:f0 + w] = PAD_VALUE
    if rng.random() < 0.3 and len(x) > 40:
        w = int(rng.integers(1, 9))
        t0 = int(rng.integers(0, len(x) - w))
        x[t0:t0 + w] = PAD_VALUE
    return x


def _batches(xs: list[np.ndarray], ys: np.ndarray, batch: int, rng: np.random.Generator | None):
    """Length-bucketed batches: shuffle, sort within chunks of 20 batches by length, pad."""
    import torch

    order = np.arange(len(xs)) if rng is None else rng.permutation(len(xs))
    chunk = batch * 20
    groups = []
    for c in range(0, len(order), chunk):
        part = sorted(order[c:c + chunk], key=lambda i: len(xs[i]))
        groups += [part[k:k + batch] for k in range(0, len(part), batch)]
    if rng is not None:
        rng.shuffle(groups)
    for g in groups:
        t = max(len(xs[i]) for i in g)
        x = np.full((len(g), t, N_MELS), PAD_VALUE, np.float32)
        mask = np.zeros((len(g), t), np.float32)
        for k, i in enumerate(g):
            x[k, :len(xs[i])] = xs[i]
            mask[k, :len(xs[i])] = 1.0
        yield torch.from_numpy(x), torch.from_numpy(mask), torch.from_numpy(ys[g])


def evaluate_intent(model, xs: list[np.ndarray], ys: np.ndarray, batch: int = 128) -> dict:
    """Loss, accuracy, commands accepted as another class and ``none`` items taken for commands (argmax)."""
    import torch

    model.eval()
    probs = []
    with torch.inference_mode():
        for x, mask, _ in _batches(xs, ys, batch, None):
            probs.append(torch.softmax(model(x, mask), dim=1).numpy())
    order = []
    chunk = batch * 20
    for c in range(0, len(xs), chunk):
        part = sorted(range(c, min(len(xs), c + chunk)), key=lambda i: len(xs[i]))
        order += part
    p = np.zeros((len(xs), probs[0].shape[1]), np.float32)
    p[order] = np.concatenate(probs)
    none = p.shape[1] - 1
    pred = p.argmax(1)
    nll = float(-np.mean(np.log(p[np.arange(len(ys)), ys] + 1e-9)))
    cmd = ys != none
    return {"loss": round(nll, 4), "accuracy": round(float(np.mean(pred == ys)), 4),
            "command_accuracy": round(float(np.mean(pred[cmd] == ys[cmd])), 4),
            "none_as_command": round(float(np.mean(pred[~cmd] != none)), 4), "n": int(len(ys))}


def train_intent(feats: list[np.ndarray], metas: list[dict], labels: list[str], out_path: Path,
                 cfg: TrainConfig = TrainConfig(), init: Path | None = None, progress: bool = True,
                 lr_scale: float = 1.0) -> tuple[dict, list[dict]]:
    """Train :class:`IntentNet`; writes the best state dict (by validation loss) to ``out_path``.

    Returns:
        ``(best validation metrics, per-epoch history)``.
    """
    import torch
    from tqdm import tqdm

    from voice.verifier.nets import IntentNet

    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed)
    ys = np.array([labels.index(m["label"]) for m in metas], np.int64)
    val = np.array([is_validation(m) for m in metas])
    if not val.any() or val.all():  # recordings without our voice names: a random tenth
        val = rng.random(len(metas)) < 0.1
    tr_idx, va_idx = np.nonzero(~val)[0], np.nonzero(val)[0]
    va_x = [_crop(feats[i], metas[i], None) for i in va_idx]
    model = IntentNet(len(labels))
    if init is not None:
        model.load_state_dict(torch.load(init, map_location="cpu", weights_only=True))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr * lr_scale, weight_decay=cfg.weight_decay)
    steps = cfg.epochs * math.ceil(len(tr_idx) / cfg.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr * lr_scale, total_steps=max(1, steps),
                                                pct_start=0.15)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    best, history = None, []
    for ep in range(cfg.epochs):
        t0 = time.time()
        model.train()
        xs = [_spec_augment(_crop(feats[i], metas[i], rng), rng) for i in tr_idx]
        total, n = 0.0, 0
        bar = tqdm(_batches(xs, ys[tr_idx], cfg.batch, rng), total=math.ceil(len(xs) / cfg.batch),
                   desc=f"verifier epoch {ep + 1}/{cfg.epochs}", disable=not progress, unit="batch")
        for x, mask, y in bar:
            opt.zero_grad()
            loss = loss_fn(model(x, mask), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            total += loss.item() * len(y)
            n += len(y)
            bar.set_postfix(loss=f"{total / n:.3f}")
        m = evaluate_intent(model, va_x, ys[va_idx])
        m.update({"epoch": ep + 1, "train_loss": round(total / max(n, 1), 4), "seconds": round(time.time() - t0, 1)})
        history.append(m)
        log.info("epoch %d: %s", ep + 1, m)
        out_path.with_suffix(".history.json").write_text(json.dumps(history, indent=1))  # progress for long runs
        if best is None or m["loss"] < best["loss"]:
            best = m
            torch.save(model.state_dict(), out_path)
    return best, history


def _vad_sequences(feats, vads, idx, rng, per_seq: int = 3):
    """Concatenate ``per_seq`` random items into one stream (the noise changes abruptly between them)."""
    idx = rng.permutation(idx)
    out = []
    for k in range(0, len(idx) - per_seq + 1, per_seq):
        g = idx[k:k + per_seq]
        f = np.concatenate([feats[i].astype(np.float32) for i in g])
        v = np.concatenate([vads[i] for i in g]).astype(np.float32)
        out.append((vad_inputs_from_logmel(f), v))
    return out


def _vad_weights(v: np.ndarray) -> np.ndarray:
    """Frame weights: x3 for the 40 frames after each end of speech (where the endpoint latency is made)."""
    w = np.ones(len(v), np.float32)
    for e in np.nonzero((v[:-1] > 0.5) & (v[1:] < 0.5))[0]:
        w[e + 1:e + 41] = 3.0
    return w


def train_vad(feats: list[np.ndarray], vads: list[np.ndarray], metas: list[dict], out_path: Path,
              cfg: TrainConfig = TrainConfig(), progress: bool = True) -> tuple[dict, list[dict]]:
    """Train the recurrent :class:`VadNet` on streams of three concatenated items (weighted BCE,
    see :func:`_vad_weights`); writes the best (validation loss) as ``.npz`` to ``out_path``."""
    import torch
    from tqdm import tqdm

    from voice.verifier.nets import VadNet
    from voice.verifier.vad_model import save_vad

    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    rng = np.random.default_rng(cfg.seed + 1)
    val = np.array([is_validation(m) for m in metas])
    tr_all = np.nonzero(~val)[0]
    va = rng.permutation(np.nonzero(val)[0])[:max(600, cfg.vad_items // 10)]
    va_seq = _vad_sequences(feats, vads, va, rng)
    model = VadNet()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    bs = 32
    n_seq = min(len(tr_all), cfg.vad_items) // 3
    steps = cfg.vad_epochs * math.ceil(n_seq / bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.1)

    def batches(seqs, shuffle):
        order = rng.permutation(len(seqs)) if shuffle else np.arange(len(seqs))
        for k in range(0, len(order), bs):
            g = [seqs[i] for i in order[k:k + bs]]
            t = max(len(x) for x, _ in g)
            x = np.zeros((len(g), t, N_MELS), np.float32)
            y = np.zeros((len(g), t), np.float32)
            w = np.zeros((len(g), t), np.float32)
            for j, (xi, yi) in enumerate(g):
                x[j, :len(xi)], y[j, :len(yi)], w[j, :len(yi)] = xi, yi, _vad_weights(yi)
            yield torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(w)

    def loss_of(z, y, w):
        return (torch.nn.functional.binary_cross_entropy_with_logits(z, y, reduction="none") * w).sum() / w.sum()

    best, history = None, []
    for ep in range(cfg.vad_epochs):
        sub = rng.permutation(tr_all)[:n_seq * 3]
        seqs = _vad_sequences(feats, vads, sub, rng)
        model.train()
        total, n = 0.0, 0
        for x, y, w in tqdm(batches(seqs, True), total=math.ceil(len(seqs) / bs), disable=not progress,
                            desc=f"VAD epoch {ep + 1}/{cfg.vad_epochs}", unit="batch", leave=False):
            opt.zero_grad()
            loss = loss_of(model(x), y, w)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            sched.step()
            total += loss.item()
            n += 1
        model.eval()
        vl, acc, cnt = 0.0, 0.0, 0.0
        with torch.inference_mode():
            for x, y, w in batches(va_seq, False):
                z = model(x)
                vl += loss_of(z, y, w).item() * float(w.sum())
                acc += float((((z > 0).float() == y).float() * (w > 0).float()).sum())
                cnt += float(w.sum())
        m = {"epoch": ep + 1, "train_loss": round(total / max(n, 1), 4), "loss": round(vl / cnt, 4),
             "frame_accuracy": round(acc / float(sum(len(v) for _, v in va_seq)), 4)}
        history.append(m)
        log.info("VAD epoch %d: %s", ep + 1, m)
        if best is None or m["loss"] < best["loss"]:
            best = m
            save_vad(out_path, model.state_dict(), {"sequences_per_epoch": len(seqs), "validation_sequences": len(va_seq)})
    return best, history


def items_from_manifest(manifest: str | Path, command_set, comfort_noise_dbfs: float = -50.0
                        ) -> tuple[list[np.ndarray], list[dict]]:
    """Recorded clips of a manifest as training items (utterance bounds from the manifest or the energy envelope).

    Each clip hears the comfort noise recognition adds (:mod:`voice.audio.comfort`).
    """
    from voice.audio.comfort import ComfortNoise
    from voice.audio.wavio import read_wav
    from research.voice.evaluate import read_manifest
    from research.voice.verifier.synth import NONE

    feats, metas = [], []
    for rec in read_manifest(manifest):
        pcm, _ = read_wav(rec["_path"], 16000)
        f = logmel(ComfortNoise(comfort_noise_dbfs).add(pcm))
        if len(f) < 10:
            continue
        if rec.get("speech_start_s") is not None and rec.get("speech_end_s") is not None:
            a, b = int(rec["speech_start_s"] * 16000 / HOP), int(rec["speech_end_s"] * 16000 / HOP)
        else:
            e = 10 * np.log10(np.sum(10 ** (f / 10), axis=1) + 1e-12)
            on = np.nonzero(e > e.max() - 35)[0]
            a, b = int(on[0]), int(on[-1])
        label = rec["expect"] if rec["expect"] is not None else NONE
        if label != NONE and label not in command_set.intents:
            continue
        feats.append(f.astype(np.float16))
        metas.append({"label": label, "start": a, "end": min(b, len(f) - 1), "kind": "recorded",
                      "voice": str(rec.get("speaker", rec.get("voice", "")))})
    return feats, metas


def write_curve_png(path: Path, history: list[dict], vad_history: list[dict], title: str) -> None:
    """Training curves (loss per epoch) as a small PNG."""
    import cv2

    w, h = 900, 420
    img = np.full((h, w, 3), 255, np.uint8)
    cv2.putText(img, title, (20, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
    series = [("verifier train loss", [m["train_loss"] for m in history], (200, 120, 40)),
              ("verifier val loss", [m["loss"] for m in history], (40, 40, 210)),
              ("VAD val loss", [m["loss"] for m in vad_history], (60, 160, 60))]
    allv = [v for _, s, _ in series for v in s]
    if not allv:
        cv2.imwrite(str(path), img)
        return
    hi = max(allv) * 1.1
    x0, y0, pw, ph = 60, 60, 800, 300
    cv2.rectangle(img, (x0, y0), (x0 + pw, y0 + ph), (0, 0, 0), 1)
    for k, (name, s, col) in enumerate(series):
        pts = [(int(x0 + i / max(1, len(s) - 1) * pw), int(y0 + ph - v / hi * ph)) for i, v in enumerate(s)]
        for a, b in zip(pts[:-1], pts[1:]):
            cv2.line(img, a, b, col, 2)
        cv2.putText(img, name, (x0 + 10 + 260 * k, y0 + ph + 30), cv2.FONT_HERSHEY_SIMPLEX, 0.45, col, 1)
    cv2.putText(img, f"{hi:.2f}", (10, y0 + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    cv2.putText(img, "0", (40, y0 + ph), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1)
    cv2.imwrite(str(path), img)


def card(command_set, labels: list[str], params: int, data: dict, metrics: dict, vad_metrics: dict,
         cfg: TrainConfig, extra: dict | None = None, vad_file: str | None = None) -> dict:
    """The model card (``metadata.json`` in the verifier directory).

    ``vad_file``: the VAD trained in the same run (it lives apart from the verifier, shared by
    every language: ``voice.vad.model``); ``None`` when the run did not train one.
    """
    from research.voice.verifier.corpus import HELD_OUT_VARIANTS, TRAIN_VARIANTS

    return {
        "format": "sonoguide.voice-verifier/1",
        "name": f"sonoguide-voice-verifier-{command_set.lang}",
        "version": VERIFIER_VERSION,
        "date": _dt.date.today().isoformat(),
        "lang": command_set.lang,
        "arch": "IntentNet (TC-ResNet-style 1-D convolutions, BiGRU, attention + mean pooling)",
        "parameters": params,
        "labels": labels,
        "phrases": dict(sorted(command_set.phrase_to_intent().items())),
        "wake_word": command_set.wake_word,
        "input": {"features": f"log-mel, {N_MELS} bands 60-7600 Hz, 25 ms Hann window, 10 ms hop, dB re full scale",
                  "normalisation": "utterance_input: relative to the segment maximum, floored 70 dB below, /20 + 1.75",
                  "layout": "(batch, frames, bands) + (batch, frames) mask", "max_frames": MAX_FRAMES},
        "output": {"type": "logits", "activation": "softmax over labels"},
        "vad": ({"file": vad_file, "inputs": "per-band SNR of the log-mel frame vs a minimum-statistics noise floor",
                 "metrics": vad_metrics} if vad_file else {"file": None, "note": "no VAD trained in this run"}),
        "training": {"config": asdict(cfg), "data": data,
                     "voices": "espeak-ng English accents x training variants " + ", ".join(TRAIN_VARIANTS),
                     "held_out_variants_never_trained": sorted(HELD_OUT_VARIANTS),
                     "selection": f"validation items spoken with variants {sorted(VAL_VARIANTS)} (not trained on)"},
        "metrics_validation": metrics,
        "limitations": ("Trained on synthetic speech (espeak-ng) only. It must be fine-tuned on recorded commands "
                        "from the intended users, microphones and theatre before clinical use: "
                        "'sonoguide voice train-verifier --finetune MANIFEST.jsonl'. Retrain whenever the command "
                        "set's phrases change (the verifier refuses a command set it was not trained for)."),
        **(extra or {}),
    }


def save_card(path: Path, data: dict) -> None:
    """Write a model card as JSON."""
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
