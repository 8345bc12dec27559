"""Needle tracking on phantom sequences: accuracy, detection, false alarms, proximity, time per frame.

Runs ``research.needle.evaluate.evaluate_needle`` over the phantom sequences
(``--set default``: 24 sequences with a needle, angles 15-70 degrees, both sides, targets none /
nerve / vessel, three anatomy presets, imaging depth 30 / 40 / 50 mm, gain -6 / 0 / +6 dB, probe
motion and bone on and off, plus 4 needle-free sequences; ``--set legacy``: the first round's 12;
16 s each at ``--fps``) and prints markdown tables: overall figures, the time of
``NeedleTracker.update`` per frame (wall clock and thread CPU time, p50 / p99, 400x400 frames,
batch 1) and one row per sequence. The machine's load average is printed with the timings:
they are only meaningful on a quiet machine.

Usage::

    .venv/bin/python benchmarks/bench_needle.py [--set default|legacy] [--sequences 24] [--base-seed 200] [--fps 10]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from research.needle.evaluate import (CONFIRMABLE_ADVANCE_MM, LEVEL_SLACK_FRAMES, default_sequences,  # noqa: E402
                                    evaluate_needle, legacy_sequences)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--set", choices=("default", "legacy"), default="default")
    ap.add_argument("--sequences", type=int, default=None, help="needle sequences (default 24, legacy 12)")
    ap.add_argument("--base-seed", type=int, default=200, help="200: the development set; others are held out")
    ap.add_argument("--fps", type=float, default=10.0)
    args = ap.parse_args()
    if args.set == "legacy":
        seqs = legacy_sequences(args.sequences or 12)
    else:
        seqs = default_sequences(args.sequences or 24, base_seed=args.base_seed)
    load0 = os.getloadavg()[0]
    s = evaluate_needle(seqs, fps=args.fps, progress=False)
    load1 = os.getloadavg()[0]
    st = s.stats()
    print(f"set {args.set}" + (f" (base seed {args.base_seed})" if args.set == "default" else "")
          + f": {st['sequences']} sequences at {args.fps:g} fps")
    print()
    print("| frames with tip | detected (ok) | tip median / RMSE / p95 / max mm | angle median / RMSE / p95 / max deg "
          "| false alarms (uncertain) | needle-free: false alarms (uncertain) |")
    print("|---|---|---|---|---|---|")
    print(f"| {st['frames_with_tip']} | {st['detected']} ({100 * st['detection_rate']:.1f} %) | "
          f"{st['tip_median_mm']} / {st['tip_rmse_mm']} / {st['tip_p95_mm']} / {st['tip_max_mm']} | "
          f"{st['angle_median_deg']} / {st['angle_rmse_deg']} / {st['angle_p95_deg']} / {st['angle_max_deg']} | "
          f"{st['false_alarms']}/{st['frames_without_needle']} ({st['uncertain_without_needle']}) | "
          f"{st['needle_free_false_alarms']}/{st['needle_free_frames']} ({st['needle_free_uncertain']}) |")
    print()
    print("| proximity agreement (ok frames) | under-warning frames | 'safe' while truly 'stop' | approaches | "
          f"seen advancing >= {CONFIRMABLE_ADVANCE_MM:g} mm | of those reaching 'stop' | of those following the true "
          f"level: never below it (+-{LEVEL_SLACK_FRAMES} frames) |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {100 * st['proximity_agreement']:.1f} % of {st['proximity_frames']} | {st['under_warning']} | "
          f"{st['safe_when_stop']} | {st['approaches']} | {st['approaches_confirmable']} | "
          f"{st['approaches_reaching_stop']} | {st['approaches_following']} |")
    print()
    print(f"proximity confusion (true -> reported): {s.confusion}")
    print()
    print("| NeedleTracker.update per frame | p50 ms | p99 ms |")
    print("|---|---|---|")
    print(f"| wall clock | {st['update_wall_p50_ms']} | {st['update_wall_p99_ms']} |")
    print(f"| thread CPU time | {st['update_cpu_p50_ms']} | {st['update_cpu_p99_ms']} |")
    print()
    print(f"load average (1 min) {load0:.2f} before, {load1:.2f} after; {len(s.wall_ms)} frames")
    print()
    print("| seed | angle deg | side | target | preset | depth mm | gain dB | motion | bone | frames | ok | "
          "tip median / RMSE mm | angle RMSE deg | advance seen mm | reached stop | under / over-warning frames |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for q in s.per_sequence:
        if not q["needle"]:
            print(f"| {q['seed']} | - | - | no needle | {q['preset']} | {q['depth_mm']:g} | {q['gain_db']:g} | "
                  f"{'on' if q['motion'] else 'off'} | {'on' if q['bone'] else 'off'} | - | - | - | - | - | - | - |")
            continue
        tm = "-" if q["tip_median_mm"] is None else f"{q['tip_median_mm']:.2f} / {q['tip_rmse_mm']:.2f}"
        am = "-" if q["angle_rmse_deg"] is None else f"{q['angle_rmse_deg']:.2f}"
        stop = "-" if q["target"] == "none" else ("yes" if q["stop_reached"] else "no")
        lerr = "-" if q["target"] == "none" else f"{q['under_warnings']} / {q['over_warnings']}"
        print(f"| {q['seed']} | {q['angle']:.0f} | {q['side']} | {q['target']} | {q['preset']} | {q['depth_mm']:g} | "
              f"{q['gain_db']:g} | {'on' if q['motion'] else 'off'} | {'on' if q['bone'] else 'off'} | {q['frames']} | "
              f"{q['ok']} | {tm} | {am} | {q['visible_advance_mm']:.1f} | {stop} | {lerr} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
