"""Probe pose on rendered stills: our tracker vs. plain OpenCV vs. scikit-surgeryarucotracker.

All three run on the same frames (rendered once by ``sonoguide track render`` into
``runs/bench_tracking/data`` unless ``--data`` names another folder in the eval layout):

* **sonoguide**: ``BoardTracker`` (memory cleared before every frame: independent stills);
* **OpenCV plain**: ``cv2.aruco.CharucoDetector`` with default parameters, then
  ``cv2.solvePnP`` (iterative) on the ChArUco corners (at least 4);
* **scikit-surgeryarucotracker 1.1.0**: its ``ArUcoTracker`` with the board's markers as one rigid
  body, run in its own virtual environment (``.venv-peer``, see ``--peer-python``) because it
  needs OpenCV 4's legacy ``aruco.detectMarkers``.

Frames per second are of the detection + pose call alone (image decoding excluded): wall-clock
fps = frames / total wall time (median per-frame ms in brackets), and CPU-time fps = frames /
total CPU time of the process (all threads; with ``--threads 1`` this is what one otherwise idle
core would give, and it is far less sensitive than wall time to other jobs on a shared machine).
Prints a markdown table.

Usage::

    .venv/bin/python benchmarks/bench_tracking.py [--n 300] [--seed 2026] [--data DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.camera import CameraIntrinsics  # noqa: E402
from vision.tracking.board import load_board  # noqa: E402
from research.tracking.dataset import render_dataset  # noqa: E402
from research.tracking.evaluate import _load_truth, list_frames  # noqa: E402
from core.se3 import from_rvec_tvec, rotation_angle_deg  # noqa: E402
from vision.tracking.board_tracker import BoardTracker  # noqa: E402


def _metrics(name: str, poses: dict, truth: dict, seconds: list[float], n: int, cpu: list[float]) -> dict:
    te, re = [], []
    for frame, T in poses.items():
        if T is None or frame not in truth:
            continue
        Tt = truth[frame]
        te.append(np.linalg.norm(T[:3, 3] - Tt[:3, 3]))
        re.append(rotation_angle_deg(T[:3, :3], Tt[:3, :3]))
    te, re = np.array(te), np.array(re)
    det = sum(T is not None for T in poses.values())
    return {"method": name, "n": n, "detected": det,
            "trans_rmse": float(np.sqrt(np.mean(te ** 2))) if te.size else float("nan"),
            "trans_median": float(np.median(te)) if te.size else float("nan"),
            "trans_p95": float(np.percentile(te, 95)) if te.size else float("nan"),
            "rot_rmse": float(np.sqrt(np.mean(re ** 2))) if re.size else float("nan"),
            "rot_median": float(np.median(re)) if re.size else float("nan"),
            "fps": len(seconds) / sum(seconds) if seconds else float("nan"),
            "cpu_fps": len(cpu) / sum(cpu) if cpu and sum(cpu) > 0 else float("nan"),
            "ms_median": 1000 * float(np.median(seconds)) if seconds else float("nan")}


def run_ours(data: Path, files: list[Path]) -> tuple[dict, list[float], dict, list[float]]:
    cam = CameraIntrinsics.load(data / "camera.json")
    tr = BoardTracker(load_board(data / "board.json"), cam)
    poses, secs, status, cpu = {}, [], {}, []
    for k, p in enumerate(files):
        img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        tr.reset()
        t0, c0 = time.perf_counter(), time.process_time()
        m = tr.process(img, k)
        secs.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        poses[p.name] = m.T_camera_from_board if m.usable else None
        status[m.validity.value] = status.get(m.validity.value, 0) + 1
    return poses, secs, status, cpu


def run_plain_opencv(data: Path, files: list[Path]) -> tuple[dict, list[float], list[float]]:
    cam = CameraIntrinsics.load(data / "camera.json")
    board = load_board(data / "board.json")
    det = cv2.aruco.CharucoDetector(board.cv_board)
    poses, secs, cpu = {}, [], []
    for p in files:
        img = cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)
        t0, c0 = time.perf_counter(), time.process_time()
        T = None
        cc, ci, _, _ = det.detectBoard(img)
        if ci is not None and len(ci) >= 4:
            obj = board.charuco_points[ci.ravel()].astype(np.float64)
            try:
                ok, rv, tv = cv2.solvePnP(obj, cc.astype(np.float64), cam.K, cam.dist, flags=cv2.SOLVEPNP_ITERATIVE)
                if ok:
                    T = from_rvec_tvec(rv, tv)
            except cv2.error:
                T = None
        secs.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        poses[p.name] = T
    return poses, secs, cpu


def run_sksurgery(data: Path, files: list[Path], peer_python: Path, work: Path, threads: int = 0) -> tuple[dict, list[float]] | str:
    if not peer_python.exists():
        return f"peer interpreter {peer_python} not found (see BENCHMARKS.md for its set-up)"
    board = load_board(data / "board.json")
    tags = work / "board_tags.txt"
    rows = [[i] + board.marker_points[i].ravel().tolist() for i in sorted(board.marker_points)]
    np.savetxt(tags, np.array(rows), fmt="%.6f")
    script = ROOT / "benchmarks" / "peer_sksurgery_tracker.py"
    proc = subprocess.run([str(peer_python), str(script), str(data), str(tags), str(threads)], capture_output=True,
                          text=True, timeout=3600)
    if proc.returncode != 0:
        return f"scikit-surgeryarucotracker failed: {proc.stderr.strip().splitlines()[-1:]}"
    poses, secs, cpu = {}, [], []
    for line in proc.stdout.splitlines():
        d = json.loads(line)
        poses[d["frame"]] = None if d["T"] is None else np.asarray(d["T"], float)
        secs.append(d["seconds"])
        cpu.append(d.get("cpu_seconds", float("nan")))
    return poses, secs, cpu


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, help="eval-layout folder (default: render one)")
    ap.add_argument("--n", type=int, default=300, help="frames to render (default 300)")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--peer-python", type=Path, default=ROOT / ".venv-peer" / "bin" / "python")
    ap.add_argument("--skip-peer", action="store_true")
    ap.add_argument("--threads", type=int, default=0, help="OpenCV threads (default: OpenCV's choice)")
    args = ap.parse_args()
    if args.threads:
        cv2.setNumThreads(args.threads)
    work = ROOT / "runs" / "bench_tracking"
    work.mkdir(parents=True, exist_ok=True)
    data = args.data
    if data is None:
        data = work / f"data_n{args.n}_s{args.seed}"
        if not (data / "truth.jsonl").exists():
            render_dataset(data, n=args.n, seed=args.seed, progress=False)
    files = list_frames(data)
    truth = _load_truth(data / "truth.jsonl")
    rows = []
    poses, secs, status, cpu = run_ours(data, files)
    rows.append(_metrics("sonoguide BoardTracker", poses, truth, secs, len(files), cpu))
    poses, secs, cpu = run_plain_opencv(data, files)
    rows.append(_metrics("OpenCV CharucoDetector + solvePnP", poses, truth, secs, len(files), cpu))
    note = ""
    if not args.skip_peer:
        out = run_sksurgery(data, files, args.peer_python, work, args.threads)
        if isinstance(out, str):
            note = out
        else:
            rows.append(_metrics("scikit-surgeryarucotracker 1.1.0", out[0], truth, out[1], len(files), out[2]))
    print(f"data: {data} ({len(files)} frames); our status counts: {status}")
    print(f"OpenCV threads: {cv2.getNumThreads()}")
    print("| method | detected | trans RMSE mm | trans median mm | trans p95 mm | rot RMSE deg | rot median deg "
          "| wall fps (median ms) | CPU-time fps |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['method']} | {r['detected']}/{r['n']} ({100 * r['detected'] / r['n']:.1f} %) | "
              f"{r['trans_rmse']:.3f} | {r['trans_median']:.3f} | {r['trans_p95']:.3f} | {r['rot_rmse']:.3f} | "
              f"{r['rot_median']:.3f} | {r['fps']:.1f} ({r['ms_median']:.1f}) | {r['cpu_fps']:.1f} |")
    if note:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
