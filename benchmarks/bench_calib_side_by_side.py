"""Side by side: sonoguide's calibrations, scikit-surgerycalibration and OpenCV 4.x on the same sets.

Simulated sets with known truth, noise as issue 17 states (1 sigma, per axis):

* **pivot** (``research.calibration.pivot_sim``): 0.25 mm / 0.1 deg pose noise, 40-150 poses,
  every third set with 5-8 % glitched poses (3-15 mm / 2-8 deg off). Error: distance of the
  estimated tip (stylus frame) from the true one, mm. (Same draws as
  ``bench_calib_pivot_points.py`` for the same ``--seed``.)
* **hand-eye** (``research.calibration.hand_eye_sim``): headset 0.3 deg / 1.0 mm, marker
  0.2 deg / 0.5 mm, 12-30 stations. Error: translation (mm) and rotation (deg) of the estimated
  ``X = T_headset_from_camera``.
* **us points** (``research.calibration.us_points_sim``): 0.5 px marking, 0.3 mm target,
  0.25 mm / 0.1 deg pose noise, 20-50 points, every third set with 5-10 % mis-marked pixels
  (8-30 px off). Error per set: the mean, over a 20 px grid of the whole image, of the distance
  between where the estimate and the truth put each pixel, mm.

Each input is written in the ``sonoguide calibrate`` input layout to a folder; sonoguide's methods
run in this process, the peers (``peer_calibration.py``) in their own virtual environment
``.venv-peer-cal`` (OpenCV 4.10 with ``calibrateHandEye``, which the pinned OpenCV 5 lacks, and
scikit-surgerycalibration, which needs OpenCV 4). Both sides call every method once untimed on
the first set, then time one call per set (wall clock, ``perf_counter``). Our robust point
calibration is timed without its leave-one-out validation (``leave_one_out=False``), which the CLI
adds. Before the sets, a noise-free pivot set and hand-eye set check every method's frame
convention (a method that does not recover the truth on them to 1e-6 is flagged, not reported).

One markdown table: problem, method, sets solved, mean and worst error over the sets, median time
per calibration. Usage::

    .venv/bin/python benchmarks/bench_calib_side_by_side.py [--sets 30] [--seed 0] [--json]

Set-up of the peer environment (never a project dependency): see ``PEER_SETUP``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from calibration.hand_eye import HandEyeConfig, calibrate_hand_eye  # noqa: E402
from calibration.hand_eye_closed_form import CLOSED_FORMS, solve_closed_form  # noqa: E402
from calibration.pivot import pivot_algebraic, pivot_robust  # noqa: E402
from calibration.us_points import PointCapture, calibrate_points, calibrate_points_linear  # noqa: E402
from research.calibration.hand_eye_sim import pose_error, simulate_station_set, write_station_set  # noqa: E402
from research.calibration.pivot_sim import simulate_pivot, write_pivot  # noqa: E402
from research.calibration.us_points_sim import grid_errors, simulate_points, write_points  # noqa: E402

PEER_VENV = ROOT / ".venv-peer-cal"
PEER_SCRIPT = ROOT / "benchmarks" / "peer_calibration.py"
PEER_SETUP = ("python3.11 -m venv .venv-peer-cal && .venv-peer-cal/bin/pip install "
              "scikit-surgerycalibration==1.2.6 opencv-contrib-python-headless==4.10.0.84 "
              "scikit-surgerycore==0.8.3 numpy==2.4.6 scipy==1.17.1")
CHECK_TOL = 1e-6
PROBLEMS = {"pivot": "pivot tip (mm)", "hand_eye": "hand-eye X (mm / deg)", "us_points": "us points, grid mean (mm)"}


@dataclass
class Truth:
    """What a set's errors are measured against."""

    problem: str
    tip: np.ndarray | None = None
    X: np.ndarray | None = None
    T_marker_from_image: np.ndarray | None = None
    image_size: tuple[int, int] | None = None


@dataclass
class Tally:
    """Errors and times of one method over the sets."""

    problem: str
    library: str
    errors: list = field(default_factory=list)  # float, or (mm, deg) for hand-eye
    seconds: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    convention_ok: bool | None = None


def error_of(truth: Truth, result: dict) -> float | tuple[float, float]:
    if truth.problem == "pivot":
        return float(np.linalg.norm(np.asarray(result["tip"]) - truth.tip))
    if truth.problem == "hand_eye":
        return pose_error(np.asarray(result["X"]), truth.X)
    g = grid_errors(np.asarray(result["T_marker_from_image"]), truth.T_marker_from_image, truth.image_size)
    return float(g.mean())


def _exact(err: float | tuple[float, float]) -> bool:
    return max(np.atleast_1d(err)) < CHECK_TOL


# --- data ------------------------------------------------------------------------------------

def write_sets(folder: Path, sets: int, seed: int) -> dict[str, Truth]:
    """Write the check sets and ``sets`` sets per problem; returns the truth per file name."""
    truth: dict[str, Truth] = {}
    # convention checks: noise-free
    p = simulate_pivot(np.random.default_rng(seed + 7), 60, noise_mm=0.0, noise_deg=0.0)
    write_pivot(p, folder / "check_pivot.json")
    truth["check_pivot.json"] = Truth("pivot", tip=p.tip_stylus_mm)
    h = simulate_station_set(seed * 100000 + 99999)
    (folder / "check_hand_eye.json").write_text(json.dumps({"T_world_from_headset": h.W_true.tolist(),
                                                            "T_camera_from_marker": h.C_true.tolist()}))
    truth["check_hand_eye.json"] = Truth("hand_eye", X=h.X)

    rng = np.random.default_rng(seed)  # the draws of bench_calib_pivot_points.py
    for k in range(sets):
        n = int(rng.integers(40, 151))
        s = simulate_pivot(rng, n, glitch_fraction=float(rng.uniform(0.05, 0.08)) if k % 3 == 0 else 0.0)
        name = f"pivot_{k:03d}.json"
        write_pivot(s, folder / name, folder / name.replace(".json", ".truth.json"))
        truth[name] = Truth("pivot", tip=s.tip_stylus_mm)
    for k in range(sets):
        s = simulate_station_set(seed * 100000 + k)
        name = f"hand_eye_{k:03d}.json"
        write_station_set(s, folder / name, folder / name.replace(".json", ".truth.json"))
        truth[name] = Truth("hand_eye", X=s.X)
    rng = np.random.default_rng(seed + 1)
    for k in range(sets):
        n = int(rng.integers(20, 51))
        s = simulate_points(rng, n, mismark_fraction=float(rng.uniform(0.05, 0.10)) if k % 3 == 0 else 0.0)
        name = f"us_points_{k:03d}.json"
        write_points(s, folder / name, folder / name.replace(".json", ".truth.json"))
        truth[name] = Truth("us_points", T_marker_from_image=s.T_marker_from_image, image_size=s.capture.image_size)
    return truth


# --- ours ------------------------------------------------------------------------------------

def _ours_pivot(fn):
    def run(data: dict) -> dict:
        return {"tip": fn(np.asarray(data["T_tracker_from_stylus"], float)).tip_stylus_mm}
    return run


def _ours_hand_eye_refined(data: dict) -> dict:
    r = calibrate_hand_eye(np.asarray(data["T_world_from_headset"], float),
                           np.asarray(data["T_camera_from_marker"], float), HandEyeConfig())
    return {"X": r.X}


def _ours_closed(name: str):
    def run(data: dict) -> dict:
        return {"X": solve_closed_form(np.asarray(data["T_world_from_headset"], float),
                                       np.asarray(data["T_camera_from_marker"], float), name)}
    return run


def _capture(data: dict) -> PointCapture:
    return PointCapture(tuple(int(v) for v in data["image_size"]), np.asarray(data["pixels"], float),
                        np.asarray(data["T_tracker_from_marker"], float), np.asarray(data["points_tracker_mm"], float))


def _ours_points(robust: bool):
    def run(data: dict) -> dict:
        cap = _capture(data)
        cal = calibrate_points(cap, leave_one_out=False) if robust else calibrate_points_linear(cap)
        return {"T_marker_from_image": cal.T_marker_from_image}
    return run


OURS = {
    "pivot": {"sonoguide pivot_robust": _ours_pivot(pivot_robust),
              "sonoguide pivot_algebraic": _ours_pivot(pivot_algebraic)},
    "hand_eye": {"sonoguide hand-eye refined": _ours_hand_eye_refined,
                 **{f"sonoguide closed form {c}": _ours_closed(c) for c in CLOSED_FORMS}},
    "us_points": {"sonoguide calibrate_points (robust)": _ours_points(True),
                  "sonoguide calibrate_points_linear": _ours_points(False)},
}


def run_ours(folder: Path, truth: dict[str, Truth], tallies: dict[str, Tally]) -> None:
    warm: set[str] = set()
    for name in sorted(truth):
        t = truth[name]
        data = json.loads((folder / name).read_text())
        for method, fn in OURS[t.problem].items():
            tally = tallies.setdefault(method, Tally(t.problem, "sonoguide"))
            try:
                if method not in warm:
                    fn(data)
                    warm.add(method)
                t0 = time.perf_counter()
                out = fn(data)
                dt = time.perf_counter() - t0
            except Exception as exc:  # a failure on a set is a result
                record(tally, name, {"error": f"{type(exc).__name__}: {exc}"}, t)
                continue
            out["seconds"] = dt
            record(tally, name, out, t)


def record(tally: Tally, name: str, result: dict, truth: Truth) -> None:
    check = name.startswith("check_")
    if "error" in result:
        if check:
            tally.convention_ok = False
        tally.failures.append(f"{name}: {result['error']}")
        return
    err = error_of(truth, result)
    if check:
        tally.convention_ok = bool(_exact(err))
        return
    tally.errors.append(err)
    tally.seconds.append(float(result["seconds"]))


# --- peers -----------------------------------------------------------------------------------

def run_peer(folder: Path, truth: dict[str, Truth], tallies: dict[str, Tally], peer_python: Path) -> str | None:
    """Run the peer script; returns why it did not run, or its note on what it lacks."""
    if not peer_python.exists():
        return "missing"
    proc = subprocess.run([str(peer_python), str(PEER_SCRIPT), str(folder)], capture_output=True, text=True,
                          timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"peer script failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    note = None
    for line in proc.stdout.splitlines():
        d = json.loads(line)
        t = truth.get(d["file"])
        if t is None:
            continue
        note = note or d.get("note")
        for method, result in d["results"].items():
            library = "scikit-surgerycalibration" if method.startswith("sksurgery") else "OpenCV 4.10"
            record(tallies.setdefault(method, Tally(t.problem, library)), d["file"], result, t)
    return note


# --- table -----------------------------------------------------------------------------------

def summarise(tally: Tally) -> dict:
    e = tally.errors
    row = {"problem": tally.problem, "library": tally.library, "sets": len(e), "failed": len(tally.failures),
           "convention_ok": tally.convention_ok,
           "median_ms": 1000 * float(np.median(tally.seconds)) if tally.seconds else None}
    if not e:
        return row
    if tally.problem == "hand_eye":
        a = np.asarray(e)
        row.update(mean_mm=float(a[:, 0].mean()), worst_mm=float(a[:, 0].max()),
                   mean_deg=float(a[:, 1].mean()), worst_deg=float(a[:, 1].max()))
    else:
        row.update(mean_mm=float(np.mean(e)), worst_mm=float(np.max(e)))
    return row


def table(rows: dict[str, dict], sets: int, us_note: str | None) -> list[str]:
    out = ["| problem | method | sets solved | mean error | worst error | median time (ms) |",
           "|---|---|---|---|---|---|"]
    for problem, label in PROBLEMS.items():
        for method, r in rows.items():
            if r["problem"] != problem:
                continue
            if r["convention_ok"] is False:
                out.append(f"| {label} | {method} | convention check failed (not reported) | | | |")
                continue
            solved = f"{r['sets']}/{sets}"
            if "mean_mm" not in r:
                out.append(f"| {label} | {method} | {solved} | | | |")
            elif problem == "hand_eye":
                out.append(f"| {label} | {method} | {solved} | {r['mean_mm']:.2f} / {r['mean_deg']:.3f} | "
                           f"{r['worst_mm']:.2f} / {r['worst_deg']:.3f} | {r['median_ms']:.2f} |")
            else:
                out.append(f"| {label} | {method} | {solved} | {r['mean_mm']:.3f} | {r['worst_mm']:.3f} | "
                           f"{r['median_ms']:.2f} |")
        if problem == "us_points" and us_note:
            out.append(f"| {label} | scikit-surgerycalibration / OpenCV | none | | | |")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", type=int, default=30, help="sets per problem")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="also print one JSON line with every figure")
    ap.add_argument("--peer-python", type=Path, default=PEER_VENV / "bin" / "python")
    ap.add_argument("--skip-peer", action="store_true", help="run sonoguide's methods only")
    ap.add_argument("--keep", type=Path, default=None, help="write the sets to this folder and keep them")
    a = ap.parse_args()
    if a.sets < 1:
        ap.error("--sets must be at least 1")

    folder = a.keep if a.keep else Path(tempfile.mkdtemp(prefix="calib_side_by_side_"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        truth = write_sets(folder, a.sets, a.seed)
        tallies: dict[str, Tally] = {}
        run_ours(folder, truth, tallies)
        peer = None if a.skip_peer else run_peer(folder, truth, tallies, a.peer_python)
    finally:
        if not a.keep:
            shutil.rmtree(folder, ignore_errors=True)

    rows = {m: summarise(t) for m, t in tallies.items()}
    us_note = peer if peer not in (None, "missing") else None
    print("\n".join(table(rows, a.sets, us_note)))
    if peer == "missing":
        print(f"\npeers not run: {a.peer_python} not found; create their environment (from {ROOT}) with:\n"
              f"  {PEER_SETUP}")
    elif us_note:
        print(f"\nus points, peers: {us_note}.")
    for m, t in tallies.items():
        for f in t.failures[:3]:
            print(f"failed: {m}: {f}", file=sys.stderr)
    if a.json:
        print(json.dumps({"sets": a.sets, "seed": a.seed, "peer": "missing" if peer == "missing" else
                          ("skipped" if a.skip_peer else "ran"), "us_points_peer_note": us_note, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
