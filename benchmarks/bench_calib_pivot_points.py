"""Pivot and point-target ultrasound calibration on simulated sets with known truth.

* Pivot (``research.calibration.pivot_sim``): 0.25 mm / 0.1 deg pose noise per axis, 40-150 poses,
  every third set with 5-8 % glitched poses (3-15 mm / 2-8 deg off). Error: distance of the
  estimated tip (stylus frame) from the true one.
* Points (``research.calibration.us_points_sim``): 0.5 px marking, 0.3 mm target and
  0.25 mm / 0.1 deg pose noise, 20-50 points, every third set with 5-10 % mis-marked pixels
  (8-30 px off). Error per set: the mean, over a 20 px grid of the whole image, of the distance
  between where the estimate and the truth put each pixel; also the worst grid point, the
  leave-one-out reconstruction error and the TRE at 20 independent targets (these two include
  the targets' own noise).

Each row gives the mean over sets and the worst set, for sonoguide's robust method and the plain
least squares on the same sets. Usage::

    .venv/bin/python benchmarks/bench_calib_pivot_points.py [--sets 100] [--seed 0] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from calibration.pivot import pivot_algebraic, pivot_robust  # noqa: E402
from calibration.us_points import calibrate_points, calibrate_points_linear, target_errors  # noqa: E402
from research.calibration.pivot_sim import simulate_pivot  # noqa: E402
from research.calibration.us_points_sim import grid_errors, simulate_points  # noqa: E402


def pivot_rows(sets: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    out = {"robust": [], "algebraic": [], "t_robust": [], "t_algebraic": []}
    for k in range(sets):
        n = int(rng.integers(40, 151))
        s = simulate_pivot(rng, n, glitch_fraction=float(rng.uniform(0.05, 0.08)) if k % 3 == 0 else 0.0)
        for name, fn in (("robust", pivot_robust), ("algebraic", pivot_algebraic)):
            t0 = time.perf_counter()
            r = fn(s.T_tracker_from_stylus)
            out["t_" + name].append(time.perf_counter() - t0)
            out[name].append(float(np.linalg.norm(r.tip_stylus_mm - s.tip_stylus_mm)))
    return out


def point_rows(sets: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    out = {k: [] for k in ("robust", "linear", "robust_max", "linear_max", "loo", "tre", "t_robust", "t_linear")}
    for k in range(sets):
        n = int(rng.integers(20, 51))
        s = simulate_points(rng, n, mismark_fraction=float(rng.uniform(0.05, 0.10)) if k % 3 == 0 else 0.0)
        t0 = time.perf_counter()
        rob = calibrate_points(s.capture, leave_one_out=True)
        out["t_robust"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        lin = calibrate_points_linear(s.capture)
        out["t_linear"].append(time.perf_counter() - t0)
        for name, cal in (("robust", rob), ("linear", lin)):
            g = grid_errors(cal.T_marker_from_image, s.T_marker_from_image, s.capture.image_size)
            out[name].append(float(g.mean()))
            out[name + "_max"].append(float(g.max()))
        out["loo"].append(float(rob.loo_mm.mean()))
        out["tre"].append(float(target_errors(rob.T_marker_from_image, s.validation).mean()))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", type=int, default=100)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    pv, pt = pivot_rows(a.sets, a.seed), point_rows(a.sets, a.seed + 1)
    print("| problem | method | mean error (mm) | worst set (mm) | median time (ms) |")
    print("|---|---|---|---|---|")
    for m in ("robust", "algebraic"):
        print(f"| pivot tip | {m} | {np.mean(pv[m]):.3f} | {np.max(pv[m]):.3f} | {1000 * np.median(pv['t_' + m]):.1f} |")
    for m in ("robust", "linear"):
        print(f"| us points, grid mean | {m} | {np.mean(pt[m]):.3f} | {np.max(pt[m]):.3f} | "
              f"{1000 * np.median(pt['t_' + m]):.1f} |")
        print(f"| us points, grid max | {m} | {np.mean(pt[m + '_max']):.3f} | {np.max(pt[m + '_max']):.3f} | |")
    print(f"| us points, leave-one-out | robust | {np.mean(pt['loo']):.3f} | {np.max(pt['loo']):.3f} | |")
    print(f"| us points, TRE (20 targets) | robust | {np.mean(pt['tre']):.3f} | {np.max(pt['tre']):.3f} | |")
    if a.json:
        summary = {"sets": a.sets, "seed": a.seed,
                   "pivot": {m: {"mean_mm": float(np.mean(pv[m])), "worst_mm": float(np.max(pv[m]))}
                             for m in ("robust", "algebraic")},
                   "points": {m: {"grid_mean_mm": float(np.mean(pt[m])), "worst_set_mm": float(np.max(pt[m])),
                                  "grid_max_mean_mm": float(np.mean(pt[m + "_max"]))} for m in ("robust", "linear")},
                   "points_loo_mm": float(np.mean(pt["loo"])), "points_tre_mm": float(np.mean(pt["tre"]))}
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
