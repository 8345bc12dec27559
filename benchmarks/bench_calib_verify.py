"""Whole-chain verification on the simulated rig: where the overlay puts a phantom target, in mm.

Truth is :mod:`calibration.simulated`'s rig; a phantom target 42 cm in front of the headset camera
is imaged at 30 random pixels from random probe angles (+-25 deg) per set
(:mod:`research.calibration.verify_sim`). Per frame the capture carries the marker pose with the
issue's marker pose noise (0.2 deg / 0.5 mm per axis, 1 sigma) and the target pixel with 0.5 px
marking noise. The calibration files are either the truth moved by a stated error (rows below:
none; the issue's acceptance figures for the ultrasound calibration, 0.3 mm / 0.1 deg, and the
hand-eye, 1.2 mm / 0.15 deg; half of those; a bad hand-eye of 3 mm) or files given on the
command line (the ones the ``calibrate us-probe`` and ``calibrate hand-eye`` commands wrote).

Columns: the mean per-frame error (what ``calibrate verify`` compares with its limit), the worst
set's, the share of sets that pass at 1.5 mm, and the calibration-only error (the same frames
without tracking and marking noise: where the chain itself puts the target).

Usage::

    .venv/bin/python benchmarks/bench_calib_verify.py [--sets 50] [--image-to-marker F --camera-to-headset F] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from research.calibration.verify_sim import VerifySimConfig, evaluate  # noqa: E402

LIMIT_MM = 1.5
ROWS = (
    ("exact calibration files", dict(i2m_error_mm=0.0, i2m_error_deg=0.0, c2h_error_mm=0.0, c2h_error_deg=0.0)),
    ("half the acceptance errors (0.15 mm/0.05 deg, 0.6 mm/0.075 deg)",
     dict(i2m_error_mm=0.15, i2m_error_deg=0.05, c2h_error_mm=0.6, c2h_error_deg=0.075)),
    ("acceptance errors (us 0.3 mm/0.1 deg, hand-eye 1.2 mm/0.15 deg)",
     dict(i2m_error_mm=0.3, i2m_error_deg=0.1, c2h_error_mm=1.2, c2h_error_deg=0.15)),
    ("bad hand-eye (3 mm / 0.5 deg)", dict(i2m_error_mm=0.3, i2m_error_deg=0.1, c2h_error_mm=3.0, c2h_error_deg=0.5)),
)
QUIET = dict(pixel_noise_px=0.0, marker_noise_mm=0.0, marker_noise_deg=0.0)


def run_row(sets: int, seed: int, errors: dict, i2m: str | None = None, c2h: str | None = None) -> dict:
    means, quiet = [], []
    for k in range(sets):
        cfg = VerifySimConfig(seed=1000 * seed + k, **errors)
        means.append(evaluate(cfg, i2m, c2h, LIMIT_MM).mean_mm)
        quiet.append(evaluate(replace(cfg, **QUIET), i2m, c2h, LIMIT_MM).mean_mm)
    m, q = np.array(means), np.array(quiet)
    return {"mean_mm": float(m.mean()), "worst_set_mm": float(m.max()), "pass_share": float(np.mean(m <= LIMIT_MM)),
            "calibration_only_mm": float(q.mean())}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--image-to-marker", help="image-to-marker file to check (instead of the rows' made files)")
    ap.add_argument("--camera-to-headset", help="camera-to-headset file to check")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    print(f"{a.sets} sets of 30 frames; marker pose noise 0.2 deg / 0.5 mm, marking noise 0.5 px; limit {LIMIT_MM} mm")
    print("| calibration files | mean per-frame error (mm) | worst set (mm) | sets passing "
          "| calibration-only error (mm) |")
    print("|---|---|---|---|---|")
    rows = [(name, errors, None, None) for name, errors in ROWS]
    if a.image_to_marker or a.camera_to_headset:
        rows = [("given files", {}, a.image_to_marker, a.camera_to_headset)]
    summary: dict = {"sets": a.sets, "limit_mm": LIMIT_MM, "rows": {}}
    for name, errors, i2m, c2h in rows:
        r = run_row(a.sets, a.seed, errors, i2m, c2h)
        print(f"| {name} | {r['mean_mm']:.2f} | {r['worst_set_mm']:.2f} | {100 * r['pass_share']:.0f} % | "
              f"{r['calibration_only_mm']:.2f} |")
        summary["rows"][name] = r
    if a.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
