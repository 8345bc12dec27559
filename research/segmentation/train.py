"""Training of the segmentation networks on labelled ultrasound plus synthetic phantom frames.

Protocol (identical for both architectures): seeded split by image (stratified by image
size, near-duplicates kept on one side), letterboxed ``size x size`` inputs, the augmentation
of :mod:`augment`, a fraction of phantom frames with exact labels mixed into every epoch,
loss = cross-entropy + soft Dice (Milletari et al., "V-Net", 3DV 2016) computed per image over
the classes present in it (the evaluation's per-image mean), AdamW (Loshchilov & Hutter, ICLR
2019) with a linear warm-up and cosine decay (Loshchilov & Hutter, "SGDR", ICLR 2017), and an
exponential moving average of the weights (Polyak & Juditsky, SIAM J. Control Optim. 1992),
which is what gets exported. The final epoch's averaged weights are exported (no checkpoint is
picked on the validation split, so its metrics stay an honest estimate). ``dev_fold`` trains on
three quarters of the training part and holds out the rest (cross-validation for choosing the
protocol and post-processing without touching the validation split). ``cv_fold`` instead holds
out one of ``n_cv_folds`` disjoint folds of *all* images, so that the runs of every fold together
estimate the protocol on every image once (k-fold cross-validation, Hastie, Tibshirani & Friedman,
"The Elements of Statistical Learning", 2nd ed., 2009, sec. 7.10). Checkpoints are written
every epoch and ``resume`` continues bit-for-bit from the last one.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from core.errors import InputError
from research.segmentation import augment, evaluate
from research.segmentation.data import Sample, dev_folds, load_dataset, phantom_bank, split_ids
from vision.segmentation.model import build_model, count_parameters
from vision.segmentation.modelcard import CARD_FORMAT, CLASS_SPEC, DATA_ATTRIBUTION, card_path, save_weights

log = logging.getLogger(__name__)

MODEL_VERSION = "2.0.0"
"""Version written into the card: 2 = the round-2 protocol (256 px, LinkNet-style decoder, EMA).
A final refit on every image (``val_fraction == 0``) is ``MODEL_VERSION + "-refit"``."""

MEAN = 0.2
STD = 0.2


ARCH_DEFAULTS: dict[str, dict] = {
    "ours": {"widths": [16, 32, 64, 128, 256], "dense_levels": 3, "decoder": "add"},
    "unet": {},
}
"""Architecture settings a run uses unless ``TrainConfig.arch_kwargs`` overrides them (the
weights file stores the effective settings)."""


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one training run (stored in the checkpoint and the model card).

    ``dice_mode``: ``"image"`` (soft Dice per image and class present in it, then averaged, as the
    evaluation averages) or ``"batch"`` (one Dice per class over the batch). ``ema_decay``: weight
    averaging (0 = off). ``elastic``: probability of an elastic deformation of a training image
    (:func:`augment.elastic`). ``split_seed``: seed of the validation split and development folds;
    -1 = ``seed`` (another ``seed`` with a fixed ``split_seed`` repeats a run on the same split, to
    see how much its metrics vary from run to run). ``dev_fold``: -1 trains on the whole training
    part; ``k`` in ``0..n_dev_folds-1`` trains on the other folds of the training part and
    evaluates on fold ``k`` (the validation split is then not used at all). ``cv_fold``: -1 uses the
    validation split; ``k`` in ``0..n_cv_folds-1`` holds out fold ``k`` of ``n_cv_folds`` disjoint
    folds of all images (near-duplicate groups whole, dealt by ``split_seed``) in place of the
    validation split, and trains on the others. ``threads``: torch CPU threads; 1 is the
    fastest on a shared 2-core machine (two OpenMP threads spin against other jobs).
    """

    arch: str = "ours"
    epochs: int = 300
    size: int = 256
    batch: int = 8
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_epochs: int = 3
    val_fraction: float = 0.2
    phantom_fraction: float = 0.2
    phantom_bank: int = 200
    dice_weight: float = 1.0
    dice_mode: str = "image"
    class_weights: tuple[float, float, float] = (1.0, 1.0, 1.0)
    ema_decay: float = 0.998
    elastic: float = 0.0
    seed: int = 0
    split_seed: int = -1
    threads: int = 1
    val_every: int = 10
    dev_fold: int = -1
    n_dev_folds: int = 4
    cv_fold: int = -1
    n_cv_folds: int = 4
    arch_kwargs: dict = field(default_factory=dict)

    def effective_arch_kwargs(self) -> dict:
        """The architecture settings used: :data:`ARCH_DEFAULTS` updated by ``arch_kwargs``."""
        return {**ARCH_DEFAULTS.get(self.arch, {}), **self.arch_kwargs}


class WeightAverage:
    """Exponential moving average of every floating-point entry of a model's state (weights and
    batch-norm statistics), with the usual warm-up ``decay_t = min(decay, (1 + t) / (10 + t))``
    so early averages are not dominated by the random initialisation."""

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.steps = 0
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        """Blend the model's current state into the average."""
        self.steps += 1
        d = min(self.decay, (1.0 + self.steps) / (10.0 + self.steps))
        for k, v in model.state_dict().items():
            if v.dtype.is_floating_point:
                self.state[k].mul_(d).add_(v.detach(), alpha=1.0 - d)
            else:
                self.state[k].copy_(v)

    def copy_to(self, model: torch.nn.Module) -> None:
        """Load the averaged state into ``model``."""
        model.load_state_dict(self.state)


def dice_ce_loss(logits: torch.Tensor, target: torch.Tensor, class_weights: torch.Tensor,
                 dice_weight: float, dice_mode: str = "image") -> torch.Tensor:
    """Weighted cross-entropy plus the soft Dice loss of the foreground classes.

    ``dice_mode = "image"``: Dice of each (image, foreground class present in that image's truth)
    pair, averaged; absent classes are left to the cross-entropy, so an image without a vessel
    adds no Dice term. ``"batch"``: one Dice per foreground class over the whole batch.
    """
    ce = F.cross_entropy(logits, target, weight=class_weights)
    if dice_weight <= 0:
        return ce
    probs = torch.softmax(logits, dim=1)
    onehot = F.one_hot(target, probs.shape[1]).permute(0, 3, 1, 2).float()
    if dice_mode == "batch":
        dims = (0, 2, 3)
        inter = (probs * onehot).sum(dims)
        denom = probs.sum(dims) + onehot.sum(dims)
        dice = (2 * inter + 1.0) / (denom + 1.0)
        return ce + dice_weight * (1.0 - dice[1:].mean())
    inter = (probs * onehot).sum((2, 3))[:, 1:]
    truth = onehot.sum((2, 3))[:, 1:]
    denom = probs.sum((2, 3))[:, 1:] + truth
    dice = (2 * inter + 1.0) / (denom + 1.0)
    present = truth > 0
    if not bool(present.any()):
        return ce
    return ce + dice_weight * (1.0 - dice[present].mean())


def per_image_dice(pred: np.ndarray, truth: np.ndarray, cls: int) -> float | None:
    """Dice of one class in one image; ``None`` when the class is absent in both."""
    p, t = pred == cls, truth == cls
    s = int(p.sum()) + int(t.sum())
    if s == 0:
        return None
    return 2.0 * float(np.logical_and(p, t).sum()) / s


def _batch(samples: list[Sample], size: int, rng: np.random.Generator, train: bool, elastic: float = 0.0
           ) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for s in samples:
        img, lab = augment.geometric(s.gray, s.labels, size, rng, 1.0 if train else 0.0, elastic if train else 0.0)
        xs.append(augment.photometric(img, rng, 1.0 if train else 0.0))
        ys.append(lab)
    return np.stack(xs), np.stack(ys)


def _to_input(x01: np.ndarray) -> torch.Tensor:
    t = torch.from_numpy((x01 - MEAN) / STD).unsqueeze(1)
    return t.contiguous(memory_format=torch.channels_last)


def validate(model: torch.nn.Module, samples: list[Sample], size: int) -> dict[str, float]:
    """Mean per-image Dice (network resolution, full frame, no augmentation) on ``samples``."""
    model.eval()
    scores: dict[int, list[float]] = {1: [], 2: []}
    rng = np.random.default_rng(0)
    with torch.no_grad():
        for s in samples:
            x, y = _batch([s], size, rng, train=False)
            pred = model(_to_input(x)).argmax(1)[0].numpy()
            for c in (1, 2):
                d = per_image_dice(pred, y[0], c)
                if d is not None:
                    scores[c].append(d)
    model.train()
    return {"nerve_dice": float(np.mean(scores[1])) if scores[1] else float("nan"),
            "vessel_dice": float(np.mean(scores[2])) if scores[2] else float("nan")}


def _averaged(model: torch.nn.Module, ema: WeightAverage | None) -> torch.nn.Module:
    """The model itself without averaging, else a copy holding the averaged weights."""
    if ema is None:
        return model
    import copy
    avg = copy.deepcopy(model)
    ema.copy_to(avg)
    return avg


def draw_curve(history: list[dict], path: Path) -> None:
    """Training curve PNG: loss (left axis, blue) and validation Dice (right axis, yellow/red)."""
    w, h, m = 800, 420, 50
    img = np.full((h, w, 3), 255, np.uint8)
    cv2.rectangle(img, (m, m // 2), (w - m, h - m), (0, 0, 0), 1)
    if not history:
        cv2.imwrite(str(path), img)
        return
    n = max(r["epoch"] for r in history)
    losses = [r["loss"] for r in history]
    lmax = max(losses) * 1.05

    def xy(ep: float, v: float, vmax: float) -> tuple[int, int]:
        return (int(m + (w - 2 * m) * ep / max(1, n)), int(h - m - (h - 1.5 * m) * v / vmax))

    pts = np.array([xy(r["epoch"], r["loss"], lmax) for r in history], np.int32)
    cv2.polylines(img, [pts], False, (200, 80, 0), 2)
    for key, col in (("val_nerve_dice", (0, 200, 230)), ("val_vessel_dice", (40, 40, 220))):
        vp = np.array([xy(r["epoch"], r[key], 1.0) for r in history if key in r], np.int32)
        if len(vp):
            cv2.polylines(img, [vp], False, col, 2)
            for p in vp:
                cv2.circle(img, tuple(int(a) for a in p), 3, col, -1)
    font = cv2.FONT_HERSHEY_SIMPLEX
    cv2.putText(img, f"loss (max {lmax:.2f})", (m + 5, m), font, 0.5, (200, 80, 0), 1)
    cv2.putText(img, "val nerve Dice", (m + 200, m), font, 0.5, (0, 170, 200), 1)
    cv2.putText(img, "val vessel Dice", (m + 360, m), font, 0.5, (40, 40, 220), 1)
    cv2.putText(img, f"epoch 0..{n}   right axis Dice 0..1", (m, h - 15), font, 0.5, (0, 0, 0), 1)
    cv2.imwrite(str(path), img)


def epoch_plan(n_real: int, cfg: TrainConfig) -> tuple[int, int]:
    """``(phantom frames, optimiser steps)`` of one epoch over ``n_real`` real training images."""
    n_ph = min(cfg.phantom_bank, int(round(cfg.phantom_fraction * n_real))) if cfg.phantom_fraction > 0 else 0
    return n_ph, math.ceil((n_real + n_ph) / cfg.batch)


PROTOCOL_FREE_KEYS = ("val_fraction", "split_seed", "cv_fold", "n_cv_folds", "threads", "val_every")
"""Settings a final refit may change from the held-out run that measured its protocol: what is
held out, and knobs that do not change what is learnt."""


def protocol_check(card_file: str | Path, cfg: TrainConfig) -> dict:
    """The held-out evidence for a final refit (``cfg.val_fraction == 0``): the model card of a run
    with the same protocol that kept a validation split.

    A refit has no held-out images of its own; what can be measured is its protocol, trained once
    with a split (the practice of refitting on all data after model assessment, Hastie, Tibshirani
    & Friedman, "The Elements of Statistical Learning", 2nd ed., 2009, sec. 7.10). The card's
    training settings must equal ``cfg`` except :data:`PROTOCOL_FREE_KEYS`.

    Returns:
        The ``training.protocol_check`` entry: the card's file, version, git commit, split, ids and
        validation metrics.

    Raises:
        InputError: the card cannot be read, holds no validation metrics, or was trained with
            other settings (the differing keys are named).
    """
    path = Path(card_file)
    if path.suffix == ".pt":
        path = card_path(path)
    try:
        ref = json.loads(path.read_text())
        ref_cfg, tr = ref["training"]["config"], ref["training"]
        metrics = ref["metrics"]
        for cls in ("nerve", "vessel"):
            float(metrics[cls]["dice"])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{path}: not a model card with validation metrics ({exc}); give the metadata.json of "
                         "the run that measured this protocol on a held-out split") from None
    if not tr.get("val_ids"):
        raise InputError(f"{path}: that run held out no validation split; give a run with --val-fraction > 0")
    ref_cfg = with_defaults(ref_cfg)
    differ = differing_settings(asdict(cfg), ref_cfg, PROTOCOL_FREE_KEYS)
    if differ:
        theirs = ", ".join(f"{k}={ref_cfg.get(k)!r}" for k in differ)
        raise InputError(f"{path}: trained with other settings ({theirs}); a refit must repeat the measured protocol")
    return {"card": str(path), "version": ref.get("version"), "git": ref.get("git"), "date": ref.get("date"),
            "n_train": tr.get("n_train"), "n_val": tr.get("n_val"), "split": tr.get("split"),
            "val_ids": tr["val_ids"], "val_fraction": ref_cfg.get("val_fraction"), "metrics": metrics}


def differing_settings(a: dict, b: dict, free: tuple[str, ...] = ()) -> list[str]:
    """Names of the training settings (``asdict(TrainConfig)`` or a card's ``training.config``)
    in which ``a`` and ``b`` differ, apart from ``free``; settings added since a card was written
    count as their defaults."""
    a, b = with_defaults(a), with_defaults(b)
    return sorted(k for k in set(a) | set(b) if k not in free and a.get(k) != b.get(k))


def _jsonish(v):
    """A setting as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(v))


def with_defaults(stored: dict) -> dict:
    """Stored training settings completed with today's defaults for settings added since (each new
    setting's default reproduces the training before it existed)."""
    return _jsonish({**asdict(TrainConfig(arch=stored.get("arch", "ours"))), **stored})


def train(data_dir: str | Path, out_dir: str | Path, cfg: TrainConfig, resume: bool = False,
          progress: bool = True, stop_after: int | None = None, protocol_card: str | Path | None = None) -> Path:
    """Train one network and export ``model.pt`` + ``metadata.json`` + ``curve.png`` to ``out_dir``.

    ``stop_after``: end after this epoch of the ``cfg.epochs`` schedule and export what is there
    (for a network too slow to finish the schedule on the machine; the card records both numbers).
    With ``resume`` and a checkpoint at or beyond it, nothing is trained, the checkpoint is exported.
    ``protocol_card``: for a final refit (``cfg.val_fraction == 0``), the card of the run that
    measured the same protocol on a held-out split (:func:`protocol_check`); its validation
    metrics become this card's, labelled as the protocol's estimate.

    Returns:
        Path of the exported weights.
    """
    from tqdm import tqdm

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(max(1, cfg.threads))
    ckpt_path = out / "checkpoint.pt"
    if protocol_card is not None and cfg.val_fraction > 0:
        raise InputError("a protocol card (--protocol-card) is for a final refit; add --val-fraction 0")
    if cfg.n_cv_folds < 2 or not -1 <= cfg.cv_fold < cfg.n_cv_folds:
        raise InputError(f"cross-validation fold {cfg.cv_fold} must be 0..{cfg.n_cv_folds - 1} (--cv-fold), "
                         f"with at least 2 folds (--cv-folds, now {cfg.n_cv_folds})")
    if cfg.cv_fold >= 0 and (cfg.val_fraction == 0.0 or cfg.dev_fold >= 0):
        raise InputError("--cv-fold holds out a fold of all images in place of the validation split; "
                         "it cannot be combined with --val-fraction 0 (final refit) or --dev-fold")
    check = protocol_check(protocol_card, cfg) if protocol_card is not None else None
    samples = load_dataset(data_dir)
    split_seed = cfg.seed if cfg.split_seed < 0 else cfg.split_seed
    by_id = {s.id: s for s in samples}
    if cfg.cv_fold >= 0:
        val_ids = dev_folds(samples, cfg.n_cv_folds, split_seed)[cfg.cv_fold]
        train_ids = sorted(set(by_id) - set(val_ids))
        split_note = (f"cross-validation fold {cfg.cv_fold} of {cfg.n_cv_folds} of all images (near-duplicate groups "
                      f"kept whole, dealt with seed {split_seed})")
    else:
        train_ids, val_ids = split_ids(samples, cfg.val_fraction, split_seed)
        split_note = "by image, seeded, stratified by image size, near-duplicates on the validation side"
    if cfg.val_fraction == 0.0:
        split_note = ("none: final refit on every image with a protocol measured beforehand on a held-out split; "
                      "these weights have no held-out images of their own")
    if cfg.dev_fold >= 0:
        if cfg.dev_fold >= cfg.n_dev_folds:
            raise InputError(f"dev_fold {cfg.dev_fold} must be below n_dev_folds {cfg.n_dev_folds}")
        folds = dev_folds([by_id[i] for i in train_ids], cfg.n_dev_folds, split_seed)
        val_ids = folds[cfg.dev_fold]
        train_ids = sorted(set(train_ids) - set(val_ids))
        split_note = (f"development fold {cfg.dev_fold} of {cfg.n_dev_folds} of the training part (near-duplicate "
                      "groups kept whole); the validation split is not used")
    train_s = [by_id[i] for i in train_ids]
    val_s = [by_id[i] for i in val_ids]
    if not train_s:
        raise InputError(f"{data_dir}: no training images left after the validation split")
    bank = phantom_bank(cfg.phantom_bank, cfg.seed + 1, progress=progress) if cfg.phantom_fraction > 0 else []
    log.info("train %d, val %d real images, %d phantom frames", len(train_s), len(val_s), len(bank))

    torch.manual_seed(cfg.seed)
    arch_kwargs = cfg.effective_arch_kwargs()
    model = build_model(cfg.arch, **{k: tuple(v) if isinstance(v, list) else v for k, v in arch_kwargs.items()}
                        ).to(memory_format=torch.channels_last)
    ema = WeightAverage(model, cfg.ema_decay) if cfg.ema_decay > 0 else None
    n_ph, steps_per_epoch = epoch_plan(len(train_s), cfg)
    total = steps_per_epoch * cfg.epochs
    warm = steps_per_epoch * cfg.warmup_epochs
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: (s + 1) / max(1, warm) if s < warm else 0.5 * (1 + math.cos(math.pi * (s - warm) / max(1, total - warm))))
    history: list[dict] = []
    start_epoch = 0
    elapsed = 0.0
    if resume and ckpt_path.is_file():
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        if with_defaults(ck["config"]) != _jsonish(asdict(cfg)):
            raise InputError(f"{ckpt_path}: checkpoint was made with other settings; use the same options or a new --out")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        sched.load_state_dict(ck["sched"])
        history, start_epoch, elapsed = ck["history"], ck["epoch"], ck.get("elapsed_s", 0.0)
        if ema is not None:
            ema.state, ema.steps = ck["ema"], ck["ema_steps"]
        log.info("resumed from %s at epoch %d", ckpt_path, start_epoch)
    cw = torch.tensor(cfg.class_weights, dtype=torch.float32)
    model.train()
    end_epoch = cfg.epochs if stop_after is None else max(1, min(cfg.epochs, stop_after))
    if start_epoch > end_epoch:
        raise InputError(f"{ckpt_path}: checkpoint is at epoch {start_epoch}, past --stop-after {end_epoch}")
    for epoch in range(start_epoch, end_epoch):
        t0 = time.time()
        rng = np.random.default_rng([cfg.seed, epoch])
        torch.manual_seed(cfg.seed * 100003 + epoch)
        pool = list(train_s) + [bank[i] for i in rng.choice(len(bank), n_ph, replace=False)] if n_ph else list(train_s)
        order = rng.permutation(len(pool))
        losses = []
        bar = tqdm(range(steps_per_epoch), desc=f"{cfg.arch} epoch {epoch + 1}/{cfg.epochs}", unit="step",
                   disable=not progress, leave=False)
        for step in bar:
            idx = order[step * cfg.batch:(step + 1) * cfg.batch]
            if len(idx) < 2:
                continue
            x, y = _batch([pool[i] for i in idx], cfg.size, rng, train=True, elastic=cfg.elastic)
            logits = model(_to_input(x))
            loss = dice_ce_loss(logits, torch.from_numpy(y).long(), cw, cfg.dice_weight, cfg.dice_mode)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if ema is not None:
                ema.update(model)
            losses.append(loss.item())
            bar.set_postfix(loss=f"{np.mean(losses):.3f}")
        elapsed += time.time() - t0
        rec = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "lr": sched.get_last_lr()[0],
               "elapsed_s": round(elapsed, 1)}
        if val_s and ((epoch + 1) % cfg.val_every == 0 or epoch + 1 == end_epoch):
            v = validate(_averaged(model, ema), val_s, cfg.size)
            rec.update({"val_nerve_dice": v["nerve_dice"], "val_vessel_dice": v["vessel_dice"]})
        history.append(rec)
        log.info("epoch %s", json.dumps(rec))
        if progress:
            tqdm.write(json.dumps(rec))
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "history": history, "epoch": epoch + 1, "elapsed_s": elapsed, "config": asdict(cfg),
                    "ema": ema.state if ema is not None else None, "ema_steps": ema.steps if ema is not None else 0},
                   ckpt_path.with_suffix(".tmp"))
        ckpt_path.with_suffix(".tmp").replace(ckpt_path)
        draw_curve(history, out / "curve.png")
        (out / "history.json").write_text(json.dumps(history, indent=1))

    model = _averaged(model, ema).eval()
    repo = Path(__file__).resolve().parents[2]
    card = {
        "format": CARD_FORMAT,
        "name": f"sonoguide-seg-{cfg.arch}",
        "version": MODEL_VERSION if cfg.val_fraction > 0 else MODEL_VERSION + "-refit",
        "arch": cfg.arch,
        "parameters": count_parameters(model),
        "classes": CLASS_SPEC,
        "input": {"size": [cfg.size, cfg.size], "channels": 1, "dtype": "float32", "layout": "NCHW",
                  "scale": 1.0 / 255.0, "mean": MEAN, "std": STD,
                  "geometry": "region of interest scaled (aspect kept) so its longer side is size, "
                              "placed top-left, zero padded",
                  "normalisation": "x = (pixel / 255 - mean) / std"},
        "output": {"shape": [1, len(CLASS_SPEC), cfg.size, cfg.size], "type": "logits",
                   "activation": "softmax over dim 1"},
        "training": {"data": DATA_ATTRIBUTION, "data_dir": str(data_dir), "n_train": len(train_s),
                     "n_val": len(val_s), "split": split_note,
                     "val_ids": val_ids, "phantom_frames_per_epoch": n_ph, "config": asdict(cfg),
                     "arch_kwargs": arch_kwargs, "epochs_done": end_epoch, "train_time_s": round(elapsed, 1),
                     "selection": "final epoch, weight average (EMA) if ema_decay > 0; no checkpoint "
                                  "selection on the validation split"},
        "metrics": {},
        "date": _dt.date.today().isoformat(),
        "git": evaluate.git_hash(repo),
        "torch": torch.__version__,
    }
    if check is not None:
        card["training"]["protocol_check"] = check
        card["metrics"] = {**check["metrics"],
                           "split": (f"protocol estimate, not of these weights: the same settings trained with "
                                     f"{check['n_val']} real images held out ({check['card']}, ids in "
                                     "training.protocol_check.val_ids), native resolution")}
    weights = out / "model.pt"
    save_weights(model, cfg.arch, arch_kwargs, weights, card)
    if val_s:
        what = "validation"
        if cfg.dev_fold >= 0:
            what = f"development fold {cfg.dev_fold}"
        elif cfg.cv_fold >= 0:
            what = f"cross-validation fold {cfg.cv_fold} of {cfg.n_cv_folds}"
        what += " (held-out real images"
        card["metrics"] = evaluate.card_metrics(val_s, weights, what + ", native resolution)",
                                                report_png=out / "val_worst.png", progress=progress)
        save_weights(model, cfg.arch, arch_kwargs, weights, card)
    draw_curve(history, out / "curve.png")
    return weights
