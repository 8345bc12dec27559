"""Threshold policies for the fused voice decision: fitted on calibration clips, scored on held-out clips.

Both inputs are utterance-evidence caches written by ``sonoguide voice calibrate --samples FILE``
(one for the calibration manifest, one for a held-out manifest; for the held-out one pass
``--out`` to a scratch file so the bundled calibration stays as it is). The fusion weights are
fitted on the calibration records; then, per policy, the threshold(s) are chosen on the
calibration clips only and the same thresholds are applied to the held-out clips. Clip-level
decisions as in calibration (the most confident utterance of a clip; no cooldown or
confirmation), so the figures are close to, not identical with, ``voice eval``.

    .venv/bin/python benchmarks/bench_voice_thresholds.py --lang en \\
        --calib runs/s9/rec_en_calib2_v2.json --heldout runs/s9/rec_en_dev_v2.json
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _score(samples, thresholds: dict, default: float) -> tuple[float, int, int, int]:
    """(command accuracy, false accepts, non-command clips, wrong intents) at these thresholds."""
    n_cmd = sum(e is not None for e, _, _ in samples)
    ok = fa = wrong = 0
    for e, r, s in samples:
        if r is None or math.isnan(s) or s < thresholds.get(r, default):
            continue
        if e is None:
            fa += 1
        elif e == r:
            ok += 1
        else:
            wrong += 1
    return ok / max(n_cmd, 1), fa, len(samples) - n_cmd, wrong


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lang", default="en")
    ap.add_argument("--calib", required=True, help="evidence cache of the calibration clips")
    ap.add_argument("--heldout", required=True, help="evidence cache of held-out clips")
    ap.add_argument("--fa-targets", default="0.005,0.01", help="comma list of false-accept targets")
    args = ap.parse_args()

    from research.voice.calibrate import read_fusion_records
    from research.voice.fusion_fit import fit
    from research.voice.thresholds import HARD_REASONS, calibrate, clip_samples, shared_threshold
    from voice.verifier.model import bundled_verifier_dir, read_card

    labels = read_card(bundled_verifier_dir(args.lang))["labels"]
    recs, expects = read_fusion_records(args.calib)
    held, held_expects = read_fusion_records(args.heldout)
    usable = [r for r in recs if r.reason not in HARD_REASONS]
    weights, _ = fit([r.evidence for r in usable], [r.target for r in usable], labels)
    cal = clip_samples(recs, len(expects), expects, labels, weights)
    ho = clip_samples(held, len(held_expects), held_expects, labels, weights)

    print("| policy | fa target | calibration: accuracy / false accepts | held-out: accuracy / false accepts |")
    print("|---|---|---|---|")
    for fa_target in (float(x) for x in args.fa_targets.split(",")):
        per = calibrate(cal, "fused", args.lang, 0.0, fa_target=fa_target)
        t, _ = shared_threshold(cal, fa_target)
        for name, th, default in (("per-intent", per.thresholds, per.default_threshold), ("shared", {}, t)):
            a, f, n, _ = _score(cal, th, default)
            ha, hf, hn, _ = _score(ho, th, default)
            print(f"| {name} | {fa_target} | {a:.3f} / {f} of {n} | {ha:.3f} / {hf} of {hn} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
