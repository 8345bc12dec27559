"""N-wire ultrasound calibration on rendered phantom sweeps with known truth.

Each set is a capture rendered by ``research.calibration.nwire_sim`` (its own seed: pixel spacing,
probe marker mount, phantom pose, 20-50 frames of a sweep along the wires with tilts and turns of up
to 15 deg; in a fifth of the frames the probe slides so far sideways that some wires leave the
image) and written to disk as PNG frames plus ``capture.json``; the scanner settings vary per
set (lateral PSF 0.35-0.6 mm, slice thickness 0.4-0.9 mm, wire echo 24-34 dB, noise 2-5 grey
levels). Tracking noise 0.25 mm / 0.1 deg per axis (1 sigma) on every probe-marker and phantom pose.
The capture then goes through the command's own path (``sonoguide.calibrate.us_nwire``: frames read,
dots segmented, N patterns grouped, robust fit, leave-one-frame-out validation).

Error per set (the TRE over the image): the mean, over a 20 px grid of the whole image, of the
distance between where the estimate and the truth put each pixel; also the worst grid point, the
pixel-spacing error, and the leave-one-frame-out point reconstruction error and TRE at the side
wires (these two include the tracking noise of the held-out frame). "linear" is the closed-form
least squares on the same detections (the robust fit's starting point). Usage::

    .venv/bin/python benchmarks/bench_calib_nwire.py [--sets 8] [--seed 100] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from research.calibration.nwire_sim import NWireSimConfig, grid_errors, simulate_nwire, write_capture  # noqa: E402
from sonoguide.calibrate.us_nwire import calibrate_capture, load_nwire_input  # noqa: E402
from vision.phantom.nwire import NWireImagingConfig  # noqa: E402


def run_sets(sets: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    keys = ("robust", "linear", "robust_max", "linear_max", "spacing_pct", "pre", "tre", "used", "frames", "t")
    out: dict[str, list[float]] = {k: [] for k in keys}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(sets):
            imaging = NWireImagingConfig(psf_lateral_mm=float(rng.uniform(0.35, 0.6)),
                                         elevation_mm=float(rng.uniform(0.4, 0.9)),
                                         wire_db=float(rng.uniform(24, 34)),
                                         background_db=float(rng.uniform(-18, -10)),
                                         noise_std=float(rng.uniform(2, 5)))
            n = int(rng.integers(20, 51))
            sim = simulate_nwire(seed * 1000 + k, NWireSimConfig(n_frames=n, imaging=imaging, partial_fraction=0.2))
            path = write_capture(sim, Path(tmp) / f"set{k}")
            t0 = time.perf_counter()
            res, _, _, size = calibrate_capture(load_nwire_input(path))
            out["t"].append(time.perf_counter() - t0)
            for name, T in (("robust", res.T_marker_from_image), ("linear", res.linear_T)):
                g = grid_errors(T, sim.T_marker_from_image, size)
                out[name].append(float(g.mean()))
                out[name + "_max"].append(float(g.max()))
            rel = np.array(res.spacing_mm_per_px) / np.array(sim.spacing_mm) - 1.0
            out["spacing_pct"].append(100 * float(np.max(np.abs(rel))))
            out["pre"].append(float(np.sqrt(np.mean(res.loo_pre_mm ** 2))))
            out["tre"].append(float(np.sqrt(np.mean(res.loo_tre_mm ** 2))))
            out["used"].append(len(res.frames_used))
            out["frames"].append(n)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", type=int, default=8)
    ap.add_argument("--seed", type=int, default=100)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    r = run_sets(a.sets, a.seed)
    print(f"{a.sets} rendered sets, {int(np.sum(r['used']))} of {int(np.sum(r['frames']))} frames used; "
          f"median time per set {np.median(r['t']):.2f} s (read, segment, fit, leave-one-out)")
    print("| N-wire (rendered) | method | TRE grid mean (mm) | worst set (mm) | grid max, mean over sets (mm) "
          "| grid max, worst (mm) |")
    print("|---|---|---|---|---|---|")
    for m in ("robust", "linear"):
        print(f"| image to marker | {m} | {np.mean(r[m]):.3f} | {np.max(r[m]):.3f} | {np.mean(r[m + '_max']):.3f} | "
              f"{np.max(r[m + '_max']):.3f} |")
    sp = r["spacing_pct"]
    print(f"| pixel spacing error | robust | {np.mean(sp):.3f} % | {np.max(sp):.3f} % | | |")
    print(f"| leave-one-frame-out PRE | robust | {np.mean(r['pre']):.3f} | {np.max(r['pre']):.3f} | | |")
    print(f"| leave-one-frame-out TRE (side wires) | robust | {np.mean(r['tre']):.3f} | {np.max(r['tre']):.3f} | | |")
    if a.json:
        print(json.dumps({"sets": a.sets, "seed": a.seed,
                          **{m: {"grid_mean_mm": float(np.mean(r[m])), "worst_set_mm": float(np.max(r[m])),
                                 "grid_max_worst_mm": float(np.max(r[m + "_max"]))} for m in ("robust", "linear")},
                          "spacing_err_pct_max": float(np.max(r["spacing_pct"])),
                          "loo_pre_mm": float(np.mean(r["pre"])), "loo_tre_mm": float(np.mean(r["tre"])),
                          "frames_used": int(np.sum(r["used"])), "frames": int(np.sum(r["frames"])),
                          "median_s": float(np.median(r["t"]))}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
