"""Camera intrinsics on rendered ChArUco view sets: ``sonoguide calibrate camera`` vs. plain OpenCV.

Each seed renders a set with :mod:`research.calibration.camera_views` (30 views, 1280x720, a 7x10
ChArUco board, strong barrel distortion drawn per seed, Gaussian blur, noise, uneven light, two
motion-blurred views and two near-duplicates) into ``runs/bench_calib_camera/seed_<N>``, then
runs on the same PNGs:

* **sonoguide**: the command's application function (detection, blurred/duplicate views left out,
  re-detection with the first model, corner and view outliers, k3 by held-out error, fronto-parallel
  corner refinement; OpenCV's ``calibrateCamera`` underneath);
* **plain OpenCV**: ``CharucoDetector`` (defaults) + ``calibrateCamera`` on every view found.

Errors against the truth (:mod:`research.calibration.camera_eval`): focal length (%), principal
point (px) and the distortion field (RMS over a 16-px grid of the whole image of the distance
between each pixel and where the estimate puts its true ray, px). Prints a markdown table (per
seed, mean and worst); ``--json`` adds one JSON line.

Usage::

    .venv/bin/python benchmarks/bench_calib_camera.py [--seeds 1 2 3 4 5] [--depth-mm 600 1000] [--json]
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

from calibration.intrinsics import IntrinsicsOptions  # noqa: E402
from core.camera import CameraIntrinsics  # noqa: E402
from research.calibration.camera_eval import intrinsics_errors, plain_opencv  # noqa: E402
from research.calibration.camera_views import ViewSetSettings, load_truth, render_camera_views  # noqa: E402
from sonoguide.calibrate.camera import calibrate_camera, read_views  # noqa: E402
from vision.tracking.board import load_board  # noqa: E402

KEYS = ("focal_pct", "pp_px", "field_rms_px")


def run_seed(seed: int, folder: Path, settings: ViewSetSettings) -> dict:
    """Render (unless present) and calibrate one set both ways."""
    if not (folder / "truth.json").exists():
        render_camera_views(folder, seed, settings)
    truth, data = load_truth(folder)
    board = load_board(folder / "board.json")
    t0 = time.perf_counter()
    plain, plain_rms, plain_n = plain_opencv(folder, board.cv_board)
    t_plain = time.perf_counter() - t0
    t0 = time.perf_counter()
    res, cov = calibrate_camera(read_views(folder), folder / "board.json", IntrinsicsOptions())
    t_ours = time.perf_counter() - t0
    ours = CameraIntrinsics(K=res.K, dist=res.dist, width=res.size[0], height=res.size[1])
    kinds = {v["file"]: v["kind"] for v in data["views"]}
    left_out = {v.name: v.status for v in res.views if v.status != "used"}
    return {"seed": seed, "ours": intrinsics_errors(ours, truth), "plain": intrinsics_errors(plain, truth),
            "ours_rms": res.rms_px, "plain_rms": plain_rms, "ours_views": len(res.used), "plain_views": plain_n,
            "ours_s": t_ours, "plain_s": t_plain, "coverage_good": cov.good,
            "motion_left_out": sum(1 for n, k in kinds.items() if k == "motion_blur" and n in left_out),
            "duplicate_pairs_both_used": sum(1 for v in data["views"] if v["kind"] == "duplicate"
                                             and v["file"] not in left_out and v["duplicate_of"] not in left_out)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--out", default=str(ROOT / "runs" / "bench_calib_camera"))
    ap.add_argument("--depth-mm", type=float, nargs=2, default=list(ViewSetSettings().depth_mm),
                    help="board-centre depth range (farther: smaller board in the image)")
    ap.add_argument("--blur-px", type=float, nargs=2, default=list(ViewSetSettings().blur_px))
    ap.add_argument("--noise", type=float, nargs=2, default=list(ViewSetSettings().noise))
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    settings = ViewSetSettings(depth_mm=tuple(a.depth_mm), blur_px=tuple(a.blur_px), noise=tuple(a.noise))
    tag = "" if settings == ViewSetSettings() else (f"_d{a.depth_mm[0]:g}-{a.depth_mm[1]:g}_b{a.blur_px[0]:g}-"
                                                    f"{a.blur_px[1]:g}_n{a.noise[0]:g}-{a.noise[1]:g}")
    print(f"views: depth {a.depth_mm[0]:g}-{a.depth_mm[1]:g} mm, blur sigma {a.blur_px[0]:g}-{a.blur_px[1]:g} px, "
          f"noise {a.noise[0]:g}-{a.noise[1]:g} grey levels\n")
    rows = [run_seed(s, Path(a.out) / f"seed_{s}{tag}", settings) for s in a.seeds]
    print("| seed | method | focal err % | principal point px | distortion field RMS px | reproj RMS px | views used | s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        for m in ("plain", "ours"):
            e = r[m]
            name = "plain OpenCV" if m == "plain" else "sonoguide"
            print(f"| {r['seed']} | {name} | {e['focal_pct']:.3f} | {e['pp_px']:.2f} | {e['field_rms_px']:.2f} | "
                  f"{r[m + '_rms']:.3f} | {r[m + '_views']} | {r[m + '_s']:.1f} |")
    summary = {"seeds": a.seeds, "depth_mm": a.depth_mm, "blur_px": a.blur_px, "noise": a.noise}
    for m in ("plain", "ours"):
        arr = np.array([[r[m][k] for k in KEYS] for r in rows])
        summary[m] = {"mean": dict(zip(KEYS, arr.mean(0).tolist())), "worst": dict(zip(KEYS, arr.max(0).tolist()))}
        name = "plain OpenCV" if m == "plain" else "sonoguide"
        for stat in ("mean", "worst"):
            s = summary[m][stat]
            print(f"| {stat} | {name} | {s['focal_pct']:.3f} | {s['pp_px']:.2f} | {s['field_rms_px']:.2f} | | | |")
    summary["motion_left_out"] = sum(r["motion_left_out"] for r in rows)
    summary["duplicate_pairs_both_used"] = sum(r["duplicate_pairs_both_used"] for r in rows)
    print(f"\nsonoguide: motion-blurred views used: {2 * len(rows) - summary['motion_left_out']} of {2 * len(rows)}; "
          f"near-duplicate pairs with both views used: {summary['duplicate_pairs_both_used']} of {2 * len(rows)}")
    if a.json:
        summary["rows"] = rows
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
