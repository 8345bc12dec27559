"""Probe tracking across imaging conditions: this tracker, a previous version of it, and plain OpenCV.

Each tracker runs in its own child process over the same stills (``track eval`` layout); every
child writes what its tracker said about each frame, and the parent scores all of them with the
same code (:func:`research.tracking.evaluate.score`), so the tables differ only by tracker:

* ``sonoguide``: the board tracker of this checkout (default configuration);
* ``before``: the board tracker of another checkout (``--before DIR``, e.g. a ``git worktree``
  of the previous commit), run with that checkout's own code and defaults;
* ``opencv``: :class:`research.tracking.baseline.OpenCVBaseline` (``CharucoDetector`` +
  ``solvePnP``, every pose accepted).

Prints, per tracker, the detection rate over the eligible frames (at least half of the board
visible, spanning >= 80 px), the translation and rotation RMSE, the gross errors (accepted poses
> 5 mm or > 3 degrees off) and the throughput (tracker only, frames/s, one process at a time);
then the per-condition and per-distance tables side by side. ``--json FILE`` keeps every figure.

Usage::

    .venv/bin/sonoguide track render --out /tmp/track600 --n 600 --seed 7001
    git worktree add /tmp/before <previous commit>
    .venv/bin/python benchmarks/bench_tracking_conditions.py --data /tmp/track600 --before /tmp/before
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.camera import CameraIntrinsics  # noqa: E402
from research.tracking.evaluate import (EvalSummary, TrackerOutput, load_truth, score)  # noqa: E402
from vision.tracking.board import load_board  # noqa: E402

_CHILD = r"""
import json, sys, time
from pathlib import Path
import cv2
from core.camera import CameraIntrinsics
from vision.tracking.board import load_board
data, out, method = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
camera = CameraIntrinsics.load(data / "camera.json")
board = load_board(data / "board.json")
if method == "opencv":
    from research.tracking.baseline import OpenCVBaseline
    tracker = OpenCVBaseline(board, camera)
else:
    from vision.tracking.board_tracker import BoardTracker
    tracker = BoardTracker(board, camera)
exts = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
files = sorted(p for p in (data / "frames").iterdir() if p.suffix.lower() in exts)
with open(out, "w") as fh:
    for k, p in enumerate(files):
        img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        tracker.reset()
        t0 = time.perf_counter()
        m = tracker.process(img, k)
        dt = time.perf_counter() - t0
        T = m.T_camera_from_board.tolist() if m.usable else None
        fh.write(json.dumps({"frame": p.name, "validity": m.validity.value, "reason": m.reason,
                             "n_points": m.n_points, "rms": m.reproj_err_px, "seconds": dt, "T": T,
                             "tstd": m.trans_std_mm, "rstd": m.rot_std_deg}) + "\n")
"""


def run_tracker(tree: Path, data: Path, method: str) -> list[TrackerOutput]:
    """Run one tracker of checkout ``tree`` over ``data`` in a child process."""
    with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as tmp:
        env = dict(os.environ, PYTHONPATH=str(tree))
        subprocess.run([sys.executable, "-c", _CHILD, str(data), tmp.name, method], cwd=str(tree), env=env,
                       check=True)
        rows = [json.loads(line) for line in Path(tmp.name).read_text().splitlines() if line.strip()]
    return [TrackerOutput(r["frame"], r["validity"], r["reason"], int(r["n_points"]), float(r["rms"]),
                          float(r["seconds"]), None if r["T"] is None else np.asarray(r["T"], float),
                          float(r["tstd"]), float(r["rstd"])) for r in rows]


def _cell(g) -> str:
    f = lambda v: "  n/a" if v is None else f"{v:5.2f}"  # noqa: E731
    return f"{100 * g.detection_rate:5.1f}% {f(g.trans_rmse_mm)} {f(g.rot_rmse_deg)} {g.gross:2d}"


def _table(title: str, key: str, results: dict[str, EvalSummary]) -> list[str]:
    names = list(results)
    groups = {n: results[n].by(key) for n in names}
    rows = [f"| {title} | n | " + " | ".join(f"{n}: det, trans mm, rot deg, gross" for n in names) + " |",
            "|---|---|" + "---|" * len(names)]
    for g in groups[names[0]]:
        n = groups[names[0]][g].n
        rows.append(f"| {g} | {n} | " + " | ".join(_cell(groups[m][g]) if g in groups[m] else "-" for m in names)
                    + " |")
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="stills with truth (track eval layout)")
    ap.add_argument("--before", metavar="DIR", help="checkout of the previous version to compare with")
    ap.add_argument("--no-opencv", action="store_true", help="skip the plain OpenCV baseline")
    ap.add_argument("--json", metavar="FILE", help="write every figure to FILE")
    args = ap.parse_args()
    data = Path(args.data)
    camera = CameraIntrinsics.load(data / "camera.json")
    board = load_board(data / "board.json")
    truth = load_truth(data)
    runs = [("sonoguide", ROOT, "sonoguide")]
    if args.before:
        runs.append(("before", Path(args.before).resolve(), "sonoguide"))
    if not args.no_opencv:
        runs.append(("opencv", ROOT, "opencv"))
    results = {name: score(run_tracker(tree, data, method), board, camera, truth) for name, tree, method in runs}
    print(f"data {data}: {len(truth)} frames with truth\n")
    print("| tracker | eligible detected | all detected | trans RMSE mm | rot RMSE deg | gross errors | frames/s |")
    print("|---|---|---|---|---|---|---|")
    for name, s in results.items():
        el = s.eligible()
        print(f"| {name} | {el.detected}/{el.n} ({100 * el.detection_rate:.1f} %) | {100 * s.detection_rate:.1f} % | "
              f"{s.trans_rmse_mm:.3f} | {s.rot_rmse_deg:.3f} | {s.gross_errors} | {s.fps:.1f} |")
    print()
    print("\n".join(_table("condition", "condition", results)))
    print()
    print("\n".join(_table("depth mm", "band", results)))
    if args.json:
        out = {name: json.loads(s.json_line()) for name, s in results.items()}
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
