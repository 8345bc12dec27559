"""Hand-eye calibration (``X = T_headset_from_camera``) on simulated station sets with known truth.

Sets come from ``research.calibration.hand_eye_sim``: a person looks at a marker on a table from
0.4-0.8 m, 12-30 stations, headset tracking noise 0.3 deg / 1.0 mm and marker pose noise
0.2 deg / 0.5 mm per axis (1 sigma). ``--outlier-fraction`` mixes in glitched marker poses;
``--wide`` draws a wider guided motion (walking all around the marker, up to 70 deg off its
normal, +-30 deg head roll). For each method: mean and worst error of X over the sets
(translation mm, rotation deg) and the time per calibration. Our closed forms (Park-Martin,
Tsai-Lenz, Daniilidis) run on all station pairs; ``refined`` is the full ``calibrate_hand_eye``
(motion check, closed form, joint noise-weighted X/Y refinement, outlier rejection). The last
line gives the refined method's own predicted 1-sigma error (the Cramer-Rao bound of the data
under the stated noise) averaged over the sets, and the outliers found. BLAS runs single-threaded
(``OMP_NUM_THREADS=1`` unless set) so the times are not inflated by thread contention.

Usage::

    .venv/bin/python benchmarks/bench_calib_hand_eye.py [--sets 50] [--seed 0] [--outlier-fraction 0.1]
        [--wide] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # small matrices: BLAS threads only contend (5x slower on 2 busy cores)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from calibration.hand_eye import calibrate_hand_eye  # noqa: E402
from calibration.hand_eye_closed_form import CLOSED_FORMS, solve_closed_form  # noqa: E402
from research.calibration.hand_eye_sim import HandEyeSimConfig, pose_error, simulate_station_set  # noqa: E402

LABELS = {"park": "Park-Martin 1994 (ours)", "tsai": "Tsai-Lenz 1989 (ours)",
          "daniilidis": "Daniilidis 1999 (ours)", "refined": "sonoguide refined (joint X/Y, weighted, robust)"}


def run(sets: int, seed: int, config: HandEyeSimConfig) -> dict:
    err: dict[str, list] = {k: [] for k in (*CLOSED_FORMS, "refined")}
    secs: dict[str, list] = {k: [] for k in err}
    sigma, found, planted, exact = [], 0, 0, 0
    for s_id in range(seed, seed + sets):
        s = simulate_station_set(s_id, config)
        for name in CLOSED_FORMS:
            t0 = time.perf_counter()
            X = solve_closed_form(s.W, s.C, name)
            secs[name].append(time.perf_counter() - t0)
            err[name].append(pose_error(X, s.X))
        t0 = time.perf_counter()
        r = calibrate_hand_eye(s.W, s.C)
        secs["refined"].append(time.perf_counter() - t0)
        err["refined"].append(pose_error(r.X, s.X))
        sigma.append((r.sigma_X_mm, r.sigma_X_deg))
        found += len(set(r.outliers) & set(s.outliers))
        planted += len(s.outliers)
        exact += set(r.outliers) == set(s.outliers)
    out = {}
    for name, e in err.items():
        e = np.array(e)
        out[name] = {"mean_mm": float(e[:, 0].mean()), "worst_mm": float(e[:, 0].max()),
                     "mean_deg": float(e[:, 1].mean()), "worst_deg": float(e[:, 1].max()),
                     "ms": 1000.0 * float(np.mean(secs[name]))}
    sg = np.array(sigma)
    out["predicted_sigma_mm"] = float(sg[:, 0].mean())
    out["predicted_sigma_deg"] = float(sg[:, 1].mean())
    out["outliers"] = {"planted": planted, "found": found, "sets_exact": exact, "sets": sets}
    best = min(CLOSED_FORMS, key=lambda k: out[k]["mean_mm"])
    out["best_closed_form"] = best
    out["gain_mm"] = out[best]["mean_mm"] / out["refined"]["mean_mm"]
    best_deg = min(CLOSED_FORMS, key=lambda k: out[k]["mean_deg"])
    out["best_closed_form_deg"] = best_deg
    out["gain_deg"] = out[best_deg]["mean_deg"] / out["refined"]["mean_deg"]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0, help="first set's seed (sets use seed .. seed+sets-1)")
    ap.add_argument("--outlier-fraction", type=float, default=0.0)
    ap.add_argument("--wide", action="store_true", help="wider guided motion (all around the marker)")
    ap.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = ap.parse_args()
    cfg = HandEyeSimConfig(outlier_fraction=args.outlier_fraction)
    if args.wide:
        cfg = HandEyeSimConfig(outlier_fraction=args.outlier_fraction, azimuth_span_deg=360.0, max_tilt_deg=70.0,
                               roll_deg=30.0)
    out = run(args.sets, args.seed, cfg)
    print(f"hand-eye: {args.sets} sets (seeds {args.seed}..{args.seed + args.sets - 1}), 12-30 stations, "
          f"{'wide' if args.wide else 'standard'} motion, outlier fraction {args.outlier_fraction:g}; noise headset "
          "0.3 deg / 1.0 mm, marker 0.2 deg / 0.5 mm per axis")
    print("| method | mean mm | worst mm | mean deg | worst deg | ms per calibration |")
    print("|---|---|---|---|---|---|")
    for name in (*CLOSED_FORMS, "refined"):
        o = out[name]
        print(f"| {LABELS[name]} | {o['mean_mm']:.2f} | {o['worst_mm']:.2f} | {o['mean_deg']:.3f} | "
              f"{o['worst_deg']:.3f} | {o['ms']:.1f} |")
    ol = out["outliers"]
    print(f"refined vs the best closed form: {out['gain_mm']:.2f}x in translation (vs {out['best_closed_form']}), "
          f"{out['gain_deg']:.2f}x in rotation (vs {out['best_closed_form_deg']}); predicted 1-sigma (3-D) of the refined X, mean over sets: "
          f"{out['predicted_sigma_mm']:.2f} mm, {out['predicted_sigma_deg']:.3f} deg; outliers found "
          f"{ol['found']}/{ol['planted']}, exact set in {ol['sets_exact']}/{ol['sets']} sets")
    if args.json:
        print(json.dumps({"bench": "calib_hand_eye", "sets": args.sets, "seed": args.seed, "wide": args.wide,
                          "outlier_fraction": args.outlier_fraction, **out}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
