"""``sonoguide voice ...`` research sub-commands (thin argument parsing).

- ``voice eval --manifest FILE.jsonl [--json]``: accuracy, false accepts, latency, RTF.
- ``voice calibrate --manifest FILE.jsonl``: fusion weights and thresholds from labelled clips.
- ``voice gen-data``: synthesise commands and chatter with espeak-ng and mix theatre noise.
- ``voice train-verifier``: train the learned intent verifier and frame VAD (or fine-tune on recordings).
- ``voice combine-verifiers``: combine trained verifiers into one ensemble verifier.

These actions join the ``voice`` group of :mod:`voice.cli` (which adds ``voice listen``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys

from voice.cli import common_options, voice_actions, voice_config


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``voice eval``, ``voice calibrate``, ``voice gen-data``, ``voice train-verifier`` and
    ``voice combine-verifiers``."""
    from research.voice.thresholds import FA_TARGET

    vsub = voice_actions(sub)

    s = vsub.add_parser("eval", help="score recognition on a manifest of labelled clips")
    common_options(s)
    s.add_argument("--manifest", required=True, metavar="FILE.jsonl",
                   help='JSON lines {"audio": "clips/0001.wav", "expect": "show nerve" or null}')
    s.add_argument("--json", action="store_true", help="end with one JSON line of the headline figures")
    s.add_argument("--naive", action="store_true", help="baseline: grammar-only recogniser, no false-accept defence")
    s.add_argument("--report", metavar="PNG", help="write a PNG report (default: next to the manifest)")
    s.add_argument("--results", metavar="JSONL", help="write per-clip results")
    s.add_argument("--limit", type=int, metavar="N", help="only the first N clips")
    s.set_defaults(func=_eval)

    s = vsub.add_parser("calibrate", help="fit the fusion and its threshold(s) on labelled clips")
    common_options(s)
    s.add_argument("--manifest", required=True, metavar="FILE.jsonl")
    s.add_argument("--out", metavar="FILE.json", help="calibration file to write (default: the bundled one)")
    s.add_argument("--fa-target", type=_rate, default=FA_TARGET,
                   help=f"largest false-accept rate allowed on the calibration clips (default {FA_TARGET}: "
                        f"1 per 100; with --policy shared: its 95%% upper confidence bound)")
    s.add_argument("--safety-quantile", type=float, default=75.0,
                   help="per-intent thresholds: none below this percentile of non-command scores (default 75)")
    s.add_argument("--policy", choices=("shared", "per-intent"), default="shared",
                   help="with the verifier: one threshold for every intent whose false-accept rate's 95%% upper "
                        "confidence bound is within --fa-target (default), or a threshold per intent; without "
                        "the verifier the engine score always gets per-intent thresholds")
    s.add_argument("--samples", metavar="JSON", help="save the per-clip scores here, or reuse them if it exists")
    s.add_argument("--garbage-penalty", type=float, metavar="LOG10",
                   help="PocketSphinx garbage phone log10 probability to use and store")
    s.set_defaults(func=_calibrate)

    s = vsub.add_parser("gen-data", help="synthesise command and chatter clips with theatre noise (espeak-ng)")
    s.add_argument("--lang", default="en", help="command-set language (default en)")
    s.add_argument("--command-set", metavar="TOML", help="command set (default: bundled for --lang)")
    s.add_argument("--out", metavar="DIR", help="output directory (manifest.jsonl + clips/)")
    s.add_argument("--split", default="calib", choices=("calib", "test"),
                   help="voice and sentence split: calib (for thresholds) or test (held out)")
    s.add_argument("--conditions", default="clean,mixed@20,mixed@10,mixed@5",
                   help="comma list: clean, KIND@SNR (KIND: pink, beeps, babble, theatre, mixed)")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--chatter-per-voice", type=int, metavar="N", help="sample N chatter sentences per voice")
    s.add_argument("--repeats", type=int, default=1, help="repeat each command phrase per voice (new rate/pitch)")
    s.add_argument("--demo", metavar="WAV", help="instead: write the scripted demo WAV (+ transcript JSON)")
    s.set_defaults(func=_gen_data)

    s = vsub.add_parser("train-verifier", help="train the learned intent verifier and frame VAD on synthetic "
                                               "speech, or fine-tune the verifier on recorded commands")
    s.add_argument("--lang", default="en", help="command-set language (default en)")
    s.add_argument("--command-set", metavar="TOML", help="command set (default: bundled for --lang)")
    s.add_argument("--data", metavar="DIR", help="training-set shards (synthesised when missing; default "
                                                 "runs/voice_train/<lang>)")
    s.add_argument("--items", type=int, default=36000, help="clips to synthesise (default 36000)")
    s.add_argument("--workers", type=int, default=1, help="synthesis processes (default 1)")
    s.add_argument("--out", metavar="DIR", help="verifier directory (default: the bundled voice/data/verifier_<lang>)")
    s.add_argument("--vad-out", metavar="NPZ", help="VAD file (default: the bundled voice/data/vad.npz)")
    s.add_argument("--no-vad", action="store_true", help="do not train the VAD")
    s.add_argument("--epochs", type=int, default=12)
    s.add_argument("--batch", type=int, default=64)
    s.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    s.add_argument("--finetune", metavar="MANIFEST", help="fine-tune on recorded clips (voice eval manifest with "
                                                          "expect labels) instead of training from scratch")
    s.add_argument("--init", metavar="DIR", help="verifier to fine-tune (default: the bundled one)")
    s.set_defaults(func=_train_verifier)

    s = vsub.add_parser("combine-verifiers", help="combine trained verifiers into one ensemble verifier")
    s.add_argument("--members", metavar="DIR", nargs="+", required=True, help="two or more verifier directories")
    s.add_argument("--out", metavar="DIR", required=True, help="the ensemble's directory")
    s.add_argument("--validate", metavar="DIR", help="training-set shards whose validation items (held-out "
                                                     "training variants) measure the ensemble and each member")
    s.add_argument("--note", default="", help="why these members (kept in the model card)")
    s.add_argument("--version", help="the ensemble's version (default: the training recipe's version + '-ensemble')")
    s.set_defaults(func=_combine_verifiers)


def _rate(text: str) -> float:
    """A false-accept rate in [0, 1) for argparse."""
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not 0.0 <= v < 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a rate in [0, 1) (e.g. 0.005 = 0.5 per 100)")
    return v


def _eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    from research.voice.evaluate import evaluate, write_report_png

    cfg = voice_config(args, {"defence.naive": True if args.naive else None, "audit_log": ""})
    summary, results = evaluate(cfg, args.manifest, progress=sys.stderr.isatty(), limit=args.limit)
    report = Path(args.report) if args.report else Path(args.manifest).with_name(
        f"report_{'naive' if args.naive else 'defended'}.png")
    try:
        write_report_png(report, summary, results, f"sonoguide voice eval: {args.manifest}"
                         f"{' (naive baseline)' if args.naive else ''}")
    except OSError:
        pass
    if args.results:
        with open(args.results, "w", encoding="utf-8") as f:
            for r in results:
                f.write(json.dumps({"audio": r.audio, "expect": r.expect, "recognised": r.recognised,
                                    "latency_ms": r.latency_ms, "score": None if r.score != r.score else r.score,
                                    "reason": r.reason, "condition": r.condition, "text": r.text,
                                    "speaker": r.speaker},
                                   ensure_ascii=False) + "\n")
    if not args.json:
        print(f"clips: {summary['n_command']} command, {summary['n_null']} non-command")
        print(f"accuracy: {summary['accuracy']}  wrong intent: {summary['wrong_intent']}  "
              f"false accepts: {summary['false_accepts']} ({summary['false_accept_rate']})")
        print(f"latency p50/p95: {summary['latency_ms_p50']}/{summary['latency_ms_p95']} ms  RTF: {summary['rtf']}")
        if summary["false_accepts"]:
            by = ", ".join(f"{k} {v}" for k, v in summary["false_accepts_by_intent"].items())
            print(f"false accepts by command: {by}; executed without confirmation: {summary['false_executions']}; "
                  f"{summary['false_accepts_per_hour']} per hour of non-command audio; "
                  f"{len(summary['false_accepts_by_speaker'])} of {summary['speakers'] or '?'} speakers")
        for k, g in summary["by_snr"].items():
            print(f"  {k:>8}: accuracy {g['accuracy']}  false accepts {g['false_accepts']}/{g['n_null']}  "
                  f"wrong intent {g['wrong_intent']}")
        print(f"report: {report}")
    else:
        print(json.dumps(summary))
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from research.voice.calibrate import calibrate_cmd

    return calibrate_cmd(args, voice_config(args, {"audit_log": ""}))


def _gen_data(args: argparse.Namespace) -> int:
    from pathlib import Path

    from voice.commandset import load_command_set
    from voice.config import VoiceConfig
    from research.voice.datagen import generate, make_demo

    cfg = VoiceConfig(lang=args.lang, command_set=args.command_set or "")
    cs = load_command_set(cfg.command_set_path())
    if args.demo:
        t = make_demo(cs, args.demo)
        print(f"wrote {args.demo} ({t['duration_s']} s) and {Path(args.demo).with_suffix('.json')}")
        return 0
    out = args.out or f"runs/voice_data/{args.lang}_{args.split}"
    manifest = generate(cs, out, split=args.split, conditions=args.conditions, seed=args.seed,
                        chatter_per_voice=args.chatter_per_voice, repeats=args.repeats,
                        progress=sys.stderr.isatty())
    print(manifest)
    return 0


def _combine_verifiers(args: argparse.Namespace) -> int:
    from research.voice.verifier.training_app import combine_verifiers_cmd

    return combine_verifiers_cmd(args, progress=sys.stderr.isatty())


def _train_verifier(args: argparse.Namespace) -> int:
    from research.voice.verifier.training_app import train_verifier_cmd

    return train_verifier_cmd(args, progress=sys.stderr.isatty())
