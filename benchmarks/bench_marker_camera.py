"""Rendering the live demo's marker camera: fast gray path against the general path.

The demo (``vision/sources/marker_camera.py``) renders the probe's 5x7 ChArUco board at 640x480,
gray, without lens distortion, at 30 Hz through ``SimulatedCamera.render``. This script renders
``--frames`` frames along the demo's probe trajectory with both paths and prints a markdown
table: time per frame (p50 / p99 wall clock, thread CPU p50) and how far the two images differ
without noise (max / mean absolute grey-level difference), plus the load average.

Usage::

    .venv/bin/python benchmarks/bench_marker_camera.py [--frames 300]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vision.sources.marker_camera import SyntheticMarkerCamera, synthetic_intrinsics  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=300)
    args = ap.parse_args()
    src = SyntheticMarkerCamera(synthetic_intrinsics(640, 480), realtime=False, seed=0)
    sim = src._cam
    poses = [src.probe.T_camera_from_board(k / 30.0) for k in range(args.frames)]
    load0 = os.getloadavg()[0]
    rows = []
    for name, fast in (("fast gray path", True), ("general path", False)):
        sim.fast_gray = fast
        rng = np.random.default_rng(0)
        sim.render(poses[0], noise=2.0, rng=rng)  # warm up (caches, noise bank)
        wall, cpu = [], []
        for T in poses:
            w0, c0 = time.perf_counter(), time.thread_time()
            sim.render(T, noise=2.0, rng=rng)
            cpu.append((time.thread_time() - c0) * 1e3)
            wall.append((time.perf_counter() - w0) * 1e3)
        rows.append((name, np.median(wall), np.percentile(wall, 99), np.median(cpu)))
    diffs = []
    for T in poses[:: max(len(poses) // 30, 1)]:
        sim.fast_gray = True
        a = sim.render(T, noise=0.0).astype(np.int16)
        sim.fast_gray = False
        b = sim.render(T, noise=0.0).astype(np.int16)
        diffs.append(np.abs(a - b))
    sim.fast_gray = True
    d = np.stack(diffs)
    load1 = os.getloadavg()[0]
    print("| 640x480 gray, no distortion, noise 2 | wall p50 ms | wall p99 ms | thread CPU p50 ms |")
    print("|---|---|---|---|")
    for name, p50, p99, c50 in rows:
        print(f"| {name} | {p50:.2f} | {p99:.2f} | {c50:.2f} |")
    print()
    print(f"fast vs general without noise over {len(diffs)} poses: max |difference| {int(d.max())} grey levels, "
          f"mean {float(d.mean()):.3f}")
    print(f"load average (1 min) {load0:.2f} before, {load1:.2f} after; {len(poses)} frames per path")
    return 0


if __name__ == "__main__":
    sys.exit(main())
