"""Needle tracking on phantom sequences: tip and angle error, detection, proximity levels.

Runs ``vision.needle.evaluate.evaluate_needle`` over ``--sequences`` phantom sequences (angles
15-45 degrees, both sides, targets none / nerve / vessel, three anatomy presets; 16 s each at
``--fps``) and prints a markdown table: overall figures, then one row per sequence.

Usage::

    .venv/bin/python benchmarks/bench_needle.py [--sequences 12] [--fps 10]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vision.needle.evaluate import default_sequences, evaluate_needle  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sequences", type=int, default=12)
    ap.add_argument("--fps", type=float, default=10.0)
    args = ap.parse_args()
    s = evaluate_needle(default_sequences(args.sequences), fps=args.fps, progress=False)
    st = s.stats()
    print("| sequences | frames with tip in view | detected (ok) | tip median / RMSE / p95 mm "
          "| angle median / RMSE / p95 deg | false alarms | proximity agreement | approaches reaching stop | fps |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| {st['sequences']} | {st['frames_with_tip']} | {st['detected']} ({100 * st['detection_rate']:.1f} %) | "
          f"{st['tip_median_mm']} / {st['tip_rmse_mm']} / {st['tip_p95_mm']} | "
          f"{st['angle_median_deg']} / {st['angle_rmse_deg']} / {st['angle_p95_deg']} | "
          f"{st['false_alarms']}/{st['frames_without_needle']} | {100 * st['proximity_agreement']:.1f} % of "
          f"{st['proximity_frames']} | {st['approaches_reaching_stop']}/{st['approaches']} | {st['fps']} |")
    print()
    print(f"proximity confusion (true -> reported): {s.confusion}")
    print()
    print("| seed | angle deg | side | target | frames | ok | tip median mm | angle median deg | reached stop |")
    print("|---|---|---|---|---|---|---|---|---|")
    for q in s.per_sequence:
        tm = "-" if q["tip_median_mm"] is None else f"{q['tip_median_mm']:.3f}"
        am = "-" if q["angle_median_deg"] is None else f"{q['angle_median_deg']:.3f}"
        stop = "-" if q["target"] == "none" else ("yes" if q["stop_reached"] else "no")
        print(f"| {q['seed']} | {q['angle']:.0f} | {q['side']} | {q['target']} | {q['frames']} | {q['ok']} | {tm} | "
              f"{am} | {stop} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
