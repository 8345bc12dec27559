"""``sonoguide seg ...``: train, evaluate, cross-validate, quantize and export the segmentation model.

These actions join the ``seg`` group of :mod:`vision.segmentation.cli` (which adds ``seg run``,
the real-time stage on image files).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vision.segmentation.cli import seg_actions


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``seg train``, ``seg eval``, ``seg crossval``, ``seg card``, ``seg quantize`` and ``seg export``
    to the ``sonoguide`` parser."""
    ssub = seg_actions(sub)

    t = ssub.add_parser("train", help="train a segmentation network on labelled ultrasound images")
    t.add_argument("--data", required=True, metavar="DIR", help="data set with images/ and masks/ (USGRA layout)")
    t.add_argument("--out", required=True, metavar="DIR", help="output folder: model.pt, metadata.json, curve.png, checkpoint.pt")
    t.add_argument("--arch", choices=("ours", "unet"), default="ours",
                   help="ours: compact real-time net; unet: the standard 4-level U-Net peer")
    t.add_argument("--epochs", type=int, default=None, metavar="N", help="epochs (default 300)")
    t.add_argument("--size", type=int, default=None, metavar="PX", help="network input side, multiple of 32 (default 256)")
    t.add_argument("--batch", type=int, default=None, metavar="N", help="batch size (default 8)")
    t.add_argument("--seed", type=int, default=None, help="random seed of split, augmentation and init (default 0)")
    t.add_argument("--split-seed", type=int, default=None,
                   help="seed of the validation split only (default: --seed); repeat a run on the same split "
                        "with another --seed to see the run-to-run spread")
    t.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default 1: fastest on a shared 2-core machine)")
    t.add_argument("--dev-fold", type=int, default=None, metavar="K",
                   help="cross-validation on the training part: train on the other folds, evaluate on fold K "
                        "(0..3); the validation split is not used")
    t.add_argument("--cv-fold", type=int, default=None, metavar="K",
                   help="k-fold cross-validation on all images: hold out fold K (0..N-1) of --cv-folds N "
                        "disjoint folds (near-duplicates kept together, dealt by --split-seed) in place of the "
                        "validation split; one run per fold, pooled by 'sonoguide seg crossval'")
    t.add_argument("--cv-folds", dest="n_cv_folds", type=int, default=None, metavar="N",
                   help="number of cross-validation folds (default 4)")
    t.add_argument("--val-fraction", type=float, default=None, metavar="F",
                   help="share of the images held out for validation (default 0.2); 0 = final refit on every "
                        "image, after the protocol was measured with a split (the card then lists no "
                        "validation ids)")
    t.add_argument("--protocol-card", default=None, metavar="JSON",
                   help="with --val-fraction 0: metadata.json of the run that measured the same settings on a "
                        "held-out split; its validation metrics and ids go into this card as the protocol's "
                        "estimate")
    t.add_argument("--weight-decay", type=float, default=None, metavar="W",
                   help="AdamW weight decay (default 1e-4)")
    t.add_argument("--phantom-fraction", type=float, default=None, metavar="F",
                   help="synthetic phantom frames mixed into each epoch, as a share of the real training "
                        "images (default 0.2; 0 = real images only)")
    t.add_argument("--elastic", type=float, default=None, metavar="P",
                   help="probability of an elastic deformation of each training image (default 0)")
    t.add_argument("--arch-kwargs", default=None, metavar="JSON",
                   help='architecture settings over the defaults, e.g. \'{"widths": [16, 32, 64, 128, 256]}\'')
    t.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    t.add_argument("--stop-after", type=int, default=None, metavar="N",
                   help="end after epoch N of the schedule and export (a network too slow to finish it); "
                        "with --resume at or past N: export the checkpoint")
    t.set_defaults(func=_train)

    e = ssub.add_parser("eval", help="evaluate on labelled images at native resolution")
    e.add_argument("--data", required=True, metavar="DIR", help="data set with images/ and masks/ (USGRA layout)")
    e.add_argument("--model", default="", metavar="PATH", help="weights file (default: the bundled weights)")
    e.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    e.add_argument("--report", default="seg_eval_worst.png", metavar="PNG",
                   help="overlay grid of the worst cases (default seg_eval_worst.png)")
    e.add_argument("--reliability", default="seg_eval_reliability.png", metavar="PNG",
                   help="reliability diagram of the confidence gate (share of correct structures against confidence)")
    e.add_argument("--roi", default=None, metavar="MODE", help="override segmentation.roi (auto, full or x,y,w,h)")
    e.add_argument("--per-image", metavar="FILE", help="write per-image metrics as JSON to FILE")
    e.add_argument("--split", choices=("all", "val"), default="all",
                   help="val: only the validation ids stored in the model's card (default: all images)")
    e.add_argument("--device", default=None, help="torch device (default: CUDA when present, else CPU)")
    e.add_argument("--precision", choices=("fp32", "int8", "auto"), default="fp32",
                   help="float weights (default) or the card's int8 CPU weights")
    e.add_argument("--runtime", choices=("auto", "opencv", "torch"), default="auto",
                   help="network runtime (default auto: OpenCV on the CPU, torch on CUDA and for int8)")
    e.set_defaults(func=_eval)

    x = ssub.add_parser("crossval", help="pool the runs of a k-fold cross-validation (seg train --cv-fold K): "
                                          "each fold's weights scored on its held-out images, all images summarised "
                                          "together")
    x.add_argument("runs", nargs="+", metavar="RUN", help="one run folder (or model.pt) per fold")
    x.add_argument("--data", required=True, metavar="DIR", help="the data set the folds were cut from")
    x.add_argument("--report-dir", default=".", metavar="DIR", help="folder for each fold's worst-case grid "
                                                                   "(worst_fold<K>.png) and the pooled reliability "
                                                                   "diagram of the gate (reliability.png; default .)")
    x.add_argument("--json", action="store_true", help="last line: one JSON object with the pooled figures")
    x.add_argument("--card", default=None, metavar="WEIGHTS",
                   help="also record the pooled figures in this weights file's model card (the final refit of "
                        "the same settings) as its protocol estimate")
    x.set_defaults(func=_crossval)

    c = ssub.add_parser("card", help="re-measure a model's card metrics on its validation ids with the current "
                                     "segmentation defaults (post-processing) and rewrite the card")
    c.add_argument("--data", required=True, metavar="DIR", help="the data set the model was trained on")
    c.add_argument("--model", default="", metavar="PATH", help="weights file (default: the bundled weights)")
    c.add_argument("--report", default="seg_card_worst.png", metavar="PNG", help="overlay grid of the worst cases")
    c.set_defaults(func=_card)

    q = ssub.add_parser("quantize", help="make int8 CPU weights from float weights (calibrated on training "
                                         "images), evaluate them on the validation ids, record them in the card")
    q.add_argument("--data", required=True, metavar="DIR", help="the data set the model was trained on")
    q.add_argument("--model", default="", metavar="PATH", help="weights file (default: the bundled weights)")
    q.set_defaults(func=_quantize)

    x = ssub.add_parser("export", help="write the network as an ONNX file for other runtimes, checked with "
                                       "OpenCV against torch before it is written")
    x.add_argument("--model", default="", metavar="PATH", help="weights file (default: the bundled weights)")
    x.add_argument("--out", default="sonoguide_seg.onnx", metavar="FILE", help="the ONNX file to write")
    x.set_defaults(func=_export)


def _train(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from core.errors import InputError
    from research.segmentation.train import TrainConfig, train

    cfg = TrainConfig(arch=args.arch)
    for key in ("epochs", "size", "batch", "seed", "threads", "dev_fold", "val_fraction", "weight_decay",
                "elastic", "split_seed", "phantom_fraction", "cv_fold", "n_cv_folds"):
        v = getattr(args, key)
        if v is not None:
            cfg = replace(cfg, **{key: v})
    if args.arch_kwargs:
        try:
            kw = json.loads(args.arch_kwargs)
        except json.JSONDecodeError as exc:
            raise InputError(f"--arch-kwargs is not JSON ({exc}); give an object such as '{{\"dense_levels\": 3}}'") from None
        if not isinstance(kw, dict):
            raise InputError("--arch-kwargs must be a JSON object such as '{\"dense_levels\": 3}'")
        cfg = replace(cfg, arch_kwargs=kw)
        try:
            from vision.segmentation.model import build_model
            build_model(cfg.arch, **cfg.effective_arch_kwargs())
        except (TypeError, ValueError) as exc:
            raise InputError(f"--arch-kwargs does not fit --arch {cfg.arch} ({exc})") from None
    if not -1 <= cfg.dev_fold < cfg.n_dev_folds:
        raise InputError(f"--dev-fold {cfg.dev_fold} must be 0..{cfg.n_dev_folds - 1}")
    if cfg.size % 32 or cfg.size < 64:
        raise InputError(f"--size {cfg.size} must be a multiple of 32, at least 64")
    if cfg.epochs < 1 or cfg.batch < 2:
        raise InputError("--epochs must be >= 1 and --batch >= 2")
    if not 0.0 <= cfg.val_fraction < 1.0:
        raise InputError(f"--val-fraction {cfg.val_fraction} must be in [0, 1)")
    if cfg.val_fraction == 0.0 and cfg.dev_fold >= 0:
        raise InputError("--dev-fold needs a training part to fold; it cannot be combined with --val-fraction 0")
    if not 0.0 <= cfg.phantom_fraction <= 1.0:
        raise InputError(f"--phantom-fraction {cfg.phantom_fraction} must be in [0, 1]")
    if not 0.0 <= cfg.elastic <= 1.0:
        raise InputError(f"--elastic {cfg.elastic} must be a probability in [0, 1]")
    if not 0.0 <= cfg.weight_decay < 1.0:
        raise InputError(f"--weight-decay {cfg.weight_decay} must be in [0, 1)")
    if args.stop_after is not None and args.stop_after < 1:
        raise InputError(f"--stop-after {args.stop_after} must be >= 1")
    weights = train(args.data, args.out, cfg, resume=args.resume, stop_after=args.stop_after,
                    protocol_card=args.protocol_card)
    print(f"weights: {weights}\nmodel card: {weights.with_name('metadata.json')}\n"
          f"training curve: {Path(args.out) / 'curve.png'}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from research.segmentation.evaluate import evaluate_samples, format_table, iter_dataset, list_pairs
    from research.segmentation.reliability import as_drawn, format_gate, reliability_png
    from vision.segmentation.config import SegmentationConfig
    from vision.segmentation.modelcard import BUNDLED_WEIGHTS, read_card

    if args.roi is not None:
        SegmentationConfig(roi=args.roi)  # validates, ConfigError naming the key
    list_pairs(args.data)  # InputError before the model loads
    samples = iter_dataset(args.data)
    path = Path(args.model) if args.model else BUNDLED_WEIGHTS
    card = read_card(path)
    if args.split == "all" and _same_dir(card["training"].get("data_dir"), args.data):
        held = len(card["training"].get("val_ids", []))
        kept = f"only its {held} validation images are held out (--split val)" if held else "every image of it was used"
        print(f"note: {args.data} is the data set these weights were trained on and {kept}; "
              "the figures below are not held-out figures")
    if args.split == "val":
        from core.errors import InputError
        ids = set(card["training"]["val_ids"])
        if not ids:
            raise InputError(f"{path}: these weights were refitted on every image and hold out none; "
                             "evaluate them on images they were not trained on (--split all)")
        samples = [s for s in samples if s.id in ids]
        if not samples:
            raise InputError(f"{args.data}: none of the model card's validation ids is in this data set")
    res = evaluate_samples(samples, args.model or None, roi=args.roi,
                           report_png=args.report, device=args.device, precision=args.precision,
                           runtime=args.runtime)
    per_image = res.pop("per_image")
    if args.per_image:
        Path(args.per_image).write_text(json.dumps(per_image, indent=1))
    print(format_table(res))
    print(format_gate(res["gate"]))
    png = reliability_png(res["gate"], args.reliability, f"seg eval {args.data}: {res['n_images']} images")
    print(f"worst cases: {args.report}\ngate reliability: {png}")
    if args.json:
        out = {n: {k: res[n][k] for k in ("dice", "iou", "sensitivity", "precision", "hd95_px",
                                         "detection_rate", "false_alarm_rate")} for n in ("nerve", "vessel")}
        out.update({"fps": res["fps"], "p50_ms": res["p50_ms"], "n_images": res["n_images"],
                    "runtime": res["runtime"], "gate": as_drawn(res["gate"])})
        print(json.dumps(out))
    return 0


def _crossval(args: argparse.Namespace) -> int:
    from research.segmentation.crossval import check_card, pool, record_in_card
    from research.segmentation.evaluate import format_table
    from research.segmentation.reliability import as_drawn, format_gate, reliability_png

    if args.card:
        check_card(args.card, args.runs)    # before the evaluation, not after it
    res = pool(args.data, args.runs, report_dir=args.report_dir)
    res.pop("per_image")
    if args.card:
        record_in_card(args.card, res, args.runs)
        print(f"model card updated: {Path(args.card).with_name('metadata.json')}")
    if res["folds_done"] < res["n_folds"]:
        print(f"note: {res['folds_done']} of {res['n_folds']} folds given; the pooled figures cover only their images")
    for f in res["folds"]:
        dice = ", ".join(f"{n} Dice " + ("n/a" if f[n]["dice"] is None else f"{f[n]['dice']:.3f}")
                         for n in ("nerve", "vessel"))
        print(f"fold {f['fold']}: {f['n_images']} images, {dice}  ({f['weights']})")
    print(format_table(res))
    sd = {n: res[n]["dice_fold_sd"] for n in ("nerve", "vessel")}
    if None not in sd.values():
        print(f"fold-to-fold standard deviation of Dice: nerve {sd['nerve']:.3f}, vessel {sd['vessel']:.3f}")
    print(format_gate(res["gate"]))
    png = reliability_png(res["gate"], Path(args.report_dir) / "reliability.png",
                          f"seg crossval: {res['folds_done']} folds, {res['n_images']} held-out images")
    print(f"worst cases: {Path(args.report_dir) / 'worst_fold<K>.png'}\ngate reliability: {png}")
    if args.json:
        out = {n: {k: res[n][k] for k in ("dice", "iou", "sensitivity", "precision", "hd95_px", "detection_rate",
                                         "false_alarm_rate", "dice_fold_sd")} for n in ("nerve", "vessel")}
        out.update({k: res[k] for k in ("fps", "runtime", "n_images", "n_folds", "folds_done", "folds")})
        out["gate"] = as_drawn(res["gate"])
        print(json.dumps(out))
    return 0


def _same_dir(trained_on: str | None, data: str) -> bool:
    """Whether ``data`` is the folder a card names as its training data (given relative to the
    repository root or absolute)."""
    if not trained_on:
        return False
    root = Path(__file__).resolve().parents[2]
    there = Path(trained_on) if Path(trained_on).is_absolute() else root / trained_on
    try:
        return there.resolve() == Path(data).resolve()
    except OSError:
        return False


def _card(args: argparse.Namespace) -> int:
    from core.errors import InputError
    from research.segmentation.evaluate import card_metrics, format_table, iter_dataset, list_pairs
    from vision.segmentation.modelcard import BUNDLED_WEIGHTS, read_card, write_card

    path = Path(args.model) if args.model else BUNDLED_WEIGHTS
    card = read_card(path)
    list_pairs(args.data)
    ids = set(card["training"]["val_ids"])
    if not ids:
        raise InputError(f"{path}: these weights were refitted on every image; their card carries the "
                         "protocol's held-out estimate, which only the held-out run can re-measure")
    samples = [s for s in iter_dataset(args.data) if s.id in ids]
    if len(samples) != len(ids):
        raise InputError(f"{args.data}: holds {len(samples)} of the card's {len(ids)} validation ids; "
                         "give the data set the model was trained on")
    split = card.get("metrics", {}).get("split", "validation (held-out real images, native resolution)")
    card["metrics"] = card_metrics(samples, path, split, report_png=args.report)
    write_card(path, card)
    print(format_table(card["metrics"]))
    print(f"model card updated: {path.with_name('metadata.json')}\nworst cases: {args.report}")
    return 0


def _quantize(args: argparse.Namespace) -> int:
    from research.segmentation.evaluate import list_pairs
    from research.segmentation.quantize import export_int8
    from vision.segmentation.modelcard import BUNDLED_WEIGHTS

    path = Path(args.model) if args.model else BUNDLED_WEIGHTS
    list_pairs(args.data)
    entry = export_int8(path, Path(args.data))
    m = entry.get("metrics")
    if m:
        print(f"int8 validation Dice: nerve {m['nerve']['dice']:.3f}, vessel {m['vessel']['dice']:.3f}; "
              f"{m['fps']:.1f} fps (p50 {m['p50_ms']:.1f} ms)")
    print(f"int8 weights: {path.with_name(entry['file'])} ({entry['calibration']})")
    return 0


def _export(args: argparse.Namespace) -> int:
    from research.segmentation.export import export_file
    from vision.segmentation.onnx_export import INPUT_NAME, OUTPUT_NAME

    r = export_file(args.model or None, args.out)
    print(f"{r['path']}: {r['name']} {r['version']}, ONNX opset {r['opset']}, {r['bytes'] / 1e6:.1f} MB; "
          f"input '{INPUT_NAME}' (N, 1, {r['size']}, {r['size']}) normalised as in the model card, "
          f"output '{OUTPUT_NAME}'; OpenCV reproduces torch's probabilities to {r['max_abs_diff']:.1g}")
    return 0

