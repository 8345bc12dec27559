"""Pooling the runs of a k-fold cross-validation into one estimate on every image.

Each fold's run (``seg train --cv-fold K``) held out a disjoint fold of all images; its weights are
evaluated on that fold, and the per-image metrics of all folds are summarised together, so each
image is scored once by a model that never saw it (k-fold cross-validation, Hastie, Tibshirani &
Friedman, "The Elements of Statistical Learning", 2nd ed., 2009, sec. 7.10). The pooled figure
estimates the training protocol, not any one fold's weights; a final refit on every image
(``--val-fraction 0 --protocol-card``) is what gets shipped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InputError
from research.segmentation.data import list_pairs, read_pair
from research.segmentation.evaluate import card_entry, evaluate_samples, summarise
from research.segmentation.reliability import summarise_gate
from research.segmentation.train import differing_settings, with_defaults
from vision.segmentation.modelcard import card_path, read_card, write_card

log = logging.getLogger(__name__)

FOLD_FREE_KEYS = ("cv_fold", "threads", "val_every")
"""Settings in which the runs of one cross-validation may differ."""


@dataclass(frozen=True)
class FoldRun:
    """One fold's run: its weights, fold index, fold count, split seed and held-out ids."""

    weights: Path
    fold: int
    n_folds: int
    split_seed: int
    val_ids: tuple[str, ...]
    config: dict


def read_fold(run: str | Path) -> FoldRun:
    """The fold run in ``run`` (a run folder or its ``model.pt``).

    Raises:
        InputError: no readable card, or the run is not a cross-validation fold.
    """
    weights = Path(run)
    if weights.is_dir():
        weights = weights / "model.pt"
    card = read_card(weights)
    tr = card.get("training", {})
    cfg = with_defaults(tr.get("config", {}))
    fold = cfg["cv_fold"]
    if not isinstance(fold, int) or fold < 0:
        raise InputError(f"{card_path(weights)}: not a cross-validation fold run; train each fold with "
                         "'sonoguide seg train --cv-fold K'")
    seed = cfg["split_seed"]
    return FoldRun(weights, fold, int(cfg["n_cv_folds"]), int(cfg["seed"] if seed < 0 else seed),
                   tuple(tr.get("val_ids", ())), cfg)


def check_folds(runs: list[FoldRun]) -> None:
    """Raise :class:`InputError` unless the runs are distinct folds of one cross-validation: the
    same fold count, split seed and training settings (apart from :data:`FOLD_FREE_KEYS`), and
    disjoint held-out ids."""
    if not runs:
        raise InputError("no fold runs given")
    first = runs[0]
    seen: dict[int, Path] = {}
    ids: set[str] = set()
    for r in runs:
        if r.fold in seen:
            raise InputError(f"{r.weights} and {seen[r.fold]} are both fold {r.fold}; give each fold once")
        seen[r.fold] = r.weights
        if (r.n_folds, r.split_seed) != (first.n_folds, first.split_seed):
            raise InputError(f"{r.weights}: fold {r.fold} of {r.n_folds} with split seed {r.split_seed}, but "
                             f"{first.weights} is of {first.n_folds} with split seed {first.split_seed}; "
                             "pool folds of one cross-validation only")
        differ = differing_settings(r.config, first.config, FOLD_FREE_KEYS)
        if differ:
            raise InputError(f"{r.weights}: trained with other settings than {first.weights} ({', '.join(differ)}); "
                             "the folds of one cross-validation share one protocol")
        if ids & set(r.val_ids):
            raise InputError(f"{r.weights}: its held-out images overlap another fold's")
        ids |= set(r.val_ids)


def pool(data_dir: str | Path, run_dirs: list[str | Path], report_dir: str | Path | None = None,
         progress: bool = True) -> dict[str, Any]:
    """Evaluate every fold run on its held-out images of ``data_dir`` and summarise them together.

    Args:
        data_dir: the data set the folds were cut from (USGRA layout).
        run_dirs: one run folder (or ``model.pt``) per fold.
        report_dir: where to write each fold's worst-case grid (``worst_fold{K}.png``).
        progress: show progress bars.

    Returns:
        The pooled per-class summary (as :func:`~research.segmentation.evaluate.summarise`) with
        ``n_images``, ``fps`` (all images at batch size 1), the ``runtime`` that ran the network,
        ``folds_done`` / ``n_folds``, and ``folds``: each fold's own summary and image count.
    """
    runs = sorted((read_fold(r) for r in run_dirs), key=lambda r: r.fold)
    check_folds(runs)
    pairs = {sid: (ip, mp) for sid, ip, mp in list_pairs(data_dir)}
    rows: list[dict[str, Any]] = []
    folds = []
    seconds = 0.0
    for r in runs:
        missing = [i for i in r.val_ids if i not in pairs]
        if missing or not r.val_ids:
            raise InputError(f"{data_dir}: lacks {len(missing) or 'all'} of fold {r.fold}'s held-out images "
                             f"(e.g. {(missing or ['?'])[0]}); give the data set the folds were cut from")
        samples = (read_pair(*pairs[i], i) for i in r.val_ids)
        png = Path(report_dir) / f"worst_fold{r.fold}.png" if report_dir else None
        res = evaluate_samples(samples, r.weights, progress=progress, report_png=png)
        rows += res["per_image"]
        seconds += res["n_images"] / res["fps"]
        folds.append({"fold": r.fold, "weights": str(r.weights), "n_images": res["n_images"],
                      **{n: {k: res[n][k] for k in ("dice", "iou")} for n in ("nerve", "vessel")}})
        log.info("fold %d: %d images, nerve Dice %.3f, vessel Dice %.3f", r.fold, res["n_images"],
                 res["nerve"]["dice"] or float("nan"), res["vessel"]["dice"] or float("nan"))
    out: dict[str, Any] = {**summarise(rows), "n_images": len(rows), "fps": len(rows) / seconds,
                           "runtime": res["runtime"], "n_folds": runs[0].n_folds, "folds_done": len(runs),
                           "folds": folds, "gate": summarise_gate(rows, res["gate"]["gate_on"])}
    for name in ("nerve", "vessel"):
        per_fold = [f[name]["dice"] for f in folds if f[name]["dice"] is not None]
        out[name]["dice_fold_sd"] = float(np.std(per_fold, ddof=1)) if len(per_fold) > 1 else None
    out["per_image"] = rows
    return out


def check_card(weights: str | Path, run_dirs: list[str | Path]) -> tuple[dict[str, Any], list[FoldRun]]:
    """The model card of ``weights`` and the fold runs (by fold) if a cross-validation of
    ``run_dirs`` may be recorded in it: every fold given, and the weights trained with the folds'
    settings (apart from what is held out and the thread count). Cheap; call it before
    :func:`pool` to fail early.

    Raises:
        InputError: a fold is missing, or a setting differs (named).
    """
    from research.segmentation.train import PROTOCOL_FREE_KEYS

    path = Path(weights)
    card = read_card(path)
    runs = sorted((read_fold(r) for r in run_dirs), key=lambda r: r.fold)
    check_folds(runs)
    if len(runs) < runs[0].n_folds:
        raise InputError(f"only {len(runs)} of {runs[0].n_folds} folds given; a model card records a complete "
                         "cross-validation")
    differ = differing_settings(card.get("training", {}).get("config", {}), runs[0].config,
                                PROTOCOL_FREE_KEYS + FOLD_FREE_KEYS)
    if differ:
        raise InputError(f"{path}: trained with other settings than the folds ({', '.join(differ)}); record a "
                         "cross-validation only in the card of the same protocol's weights")
    return card, runs


def record_in_card(weights: str | Path, result: dict[str, Any], run_dirs: list[str | Path]) -> dict[str, Any]:
    """Write a pooled cross-validation (:func:`pool`) into the model card of ``weights``, the final
    refit of the same protocol: ``training.protocol_crossval`` holds the folds and the pooled
    figures, which also become the card's ``metrics`` (labelled as the protocol's estimate, not of
    these weights). Returns the new card.

    Raises:
        InputError: as :func:`check_card`.
    """
    path = Path(weights)
    card, runs = check_card(path, run_dirs)
    summary = {n: dict(result[n]) for n in ("nerve", "vessel")}
    n = result["n_images"]
    card["metrics"] = card_entry(
        {**summary, "fps": result["fps"], "runtime": result["runtime"], "n_images": n,
         **({"gate": result["gate"]} if "gate" in result else {})},
        f"protocol estimate, not of these weights: {result['n_folds']}-fold cross-validation of the same "
        f"settings, each of the {n} images held out once (training.protocol_crossval), native resolution")
    card.setdefault("training", {})["protocol_crossval"] = {
        "n_folds": result["n_folds"], "split_seed": runs[0].split_seed, "n_images": n,
        "folds": [{**f, "val_ids": list(r.val_ids)} for f, r in zip(result["folds"], runs)],
        "metrics": summary, **{k: card["metrics"][k] for k in ("measured", "git")}}
    write_card(path, card)
    return card


__all__ = ["FOLD_FREE_KEYS", "FoldRun", "check_card", "check_folds", "pool", "read_fold", "record_in_card"]
