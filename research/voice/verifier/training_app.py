"""Application function behind ``sonoguide voice train-verifier``."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from core.errors import InputError

log = logging.getLogger(__name__)


def train_verifier_cmd(args: argparse.Namespace, progress: bool) -> int:
    """Synthesise (or reuse) the training set and train the VAD and the verifier; or fine-tune on recordings."""
    import torch

    from voice.commandset import load_command_set
    from voice.config import VoiceConfig
    from voice.verifier.model import bundled_verifier_dir, read_card, weight_files
    from voice.verifier.nets import IntentNet, count_parameters
    from research.voice.verifier.synth import GENERATOR_VERSION, TrainSetConfig, build_training_set, label_names, \
        load_training_set
    from research.voice.verifier.train import TrainConfig, card, items_from_manifest, save_card, train_intent, train_vad, \
        write_curve_png

    cfg_v = VoiceConfig(lang=args.lang, command_set=args.command_set or "")
    cs = load_command_set(cfg_v.command_set_path())
    labels = label_names(cs)
    out = Path(args.out) if args.out else (bundled_verifier_dir(args.lang) if not args.finetune
                                           else Path("runs") / f"verifier_{args.lang}_finetuned")
    out.mkdir(parents=True, exist_ok=True)
    tcfg = TrainConfig(epochs=args.epochs, threads=args.threads, batch=args.batch)
    torch.set_num_threads(args.threads)
    if args.finetune:
        init_dir = Path(args.init) if args.init else bundled_verifier_dir(args.lang)
        base = read_card(init_dir)
        feats, metas = items_from_manifest(args.finetune, cs, cfg_v.input.comfort_noise_dbfs)
        if len(feats) < 20:
            raise InputError(f"{args.finetune}: only {len(feats)} usable clips - record at least a few per intent "
                             f"and some non-command speech")
        files = weight_files(base)  # an ensemble: every member, each from its own weights
        runs = {f: train_intent(feats, metas, labels, out / f, tcfg, init=init_dir / f, progress=progress,
                                lr_scale=0.3) for f in files}
        best, hist = runs[files[0]]
        c = dict(base)
        c["finetuned"] = {"from": str(init_dir), "manifest": str(args.finetune), "clips": len(feats),
                          "metrics_validation": best, "history": hist,
                          **({"members": {f: r[0] for f, r in runs.items()}} if len(runs) > 1 else {})}
        save_card(out / "metadata.json", c)  # the VAD is shared (voice.vad.model) and not fine-tuned here
        print(f"fine-tuned verifier in {out} (validation {best}); recalibrate with "
              f"'sonoguide voice calibrate --vad learned --verifier {out} --manifest CALIB.jsonl --out CAL.json'")
        return 0
    data = Path(args.data or f"runs/voice_train/{args.lang}")
    tsc = TrainSetConfig(lang=args.lang, items=args.items)
    paths = build_training_set(cs, tsc, data, workers=args.workers, progress=progress)
    feats, vads, metas = load_training_set(paths)
    log.info("training set: %d items from %d shards", len(feats), len(paths))
    vad_best, vad_hist, vad_out = {}, [], None
    if not args.no_vad:
        vad_out = Path(args.vad_out) if args.vad_out else cfg_v.vad.model_path()
        vad_best, vad_hist = train_vad(feats, vads, metas, vad_out, tcfg, progress=progress)
        print(f"VAD: {vad_out} (validation {vad_best})")
    best, hist = train_intent(feats, metas, labels, out / "model.pt", tcfg, progress=progress)
    n_by = {}
    for m in metas:
        n_by[m["label"]] = n_by.get(m["label"], 0) + 1
    data_card = {"generator": GENERATOR_VERSION, "items": len(feats), "per_label": n_by,
                 "set_config": json.loads((data / "config.json").read_text())}
    save_card(out / "metadata.json", card(cs, labels, count_parameters(IntentNet(len(labels))), data_card, best,
                                          vad_best, tcfg, {"history": hist, "vad_history": vad_hist},
                                          vad_file=str(vad_out) if vad_out else None))
    write_curve_png(out / "training_curve.png", hist, vad_hist, f"voice verifier {args.lang}: losses per epoch")
    print(f"verifier: {out} (validation {best}); now calibrate the fusion: 'sonoguide voice calibrate --vad learned "
          f"--verifier {out} --manifest CALIB.jsonl'")
    return 0


def combine_verifiers_cmd(args: argparse.Namespace, progress: bool) -> int:
    """``voice combine-verifiers``: write the ensemble; with ``--validate``, measure it and each member on the
    validation items of a training set (:data:`research.voice.verifier.train.VAL_VARIANTS`, never trained on)."""
    from research.voice.verifier.ensemble import check_members, combine_verifiers
    from voice.verifier.model import load_networks
    from voice.verifier.nets import EnsembleNet
    from research.voice.verifier.synth import load_training_set
    from research.voice.verifier.train import VERIFIER_VERSION, evaluate_intent, validation_items

    members = check_members(args.members)
    validation = None
    if args.validate:
        paths = sorted(Path(args.validate).glob("shard_*.npz"))
        if not paths:
            raise InputError(f"--validate {args.validate}: no training-set shards (shard_*.npz) there")
        feats, _, metas = load_training_set(paths)
        xs, ys = validation_items(feats, metas, members[0][2]["labels"])
        nets = [(str(d / f), load_networks(d, card, [f])[0]) for d, f, card in members]
        validation = {**evaluate_intent(EnsembleNet([n for _, n in nets]), xs, ys),
                      "items": f"validation items of {args.validate} ({len(paths)} shards)",
                      "members_on_the_same_items": {name: evaluate_intent(n, xs, ys) for name, n in nets}}
        log.info("ensemble validation: %s", validation)
    command = " ".join(["sonoguide voice combine-verifiers --members", *map(str, args.members), "--out", str(args.out),
                        *(["--validate", str(args.validate)] if args.validate else [])])
    card = combine_verifiers(args.members, args.out, args.version or f"{VERIFIER_VERSION}-ensemble", validation,
                             args.note, command)
    print(f"ensemble verifier {card['name']} {card['version']} ({len(card['members'])} members) in {args.out}; "
          f"calibrate it: 'sonoguide voice calibrate --verifier {args.out} --manifest CALIB.jsonl'")
    return 0
