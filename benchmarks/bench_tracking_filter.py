"""Static jitter and lag of tracker + PoseFilter on rendered 30 fps sequences.

* Static: the board stands still (``SimulatedProbe(static=True)``) at three depths; every frame
  is rendered with fresh sensor noise (and blur, light gradient). Jitter is the standard
  deviation of the board-centre position over the frames after a 1 s warm-up, per axis (the
  largest axis is reported) and as the 3-D RMS distance from the mean, raw and filtered.
* Moving: the board follows ``SimulatedProbe``'s smooth sway (40/25/60 mm, 15-20 degrees,
  0.05-0.4 Hz) for 10 s. Lag is the time shift ``tau`` that minimises the RMS distance between
  the filtered board centre at ``t`` and the true one at ``t - tau`` (the truth is analytic, so
  it is evaluated at any ``tau``; grid 0.05 frame), in frames; also the RMS error at zero shift,
  and the per-frame time of tracker + filter in this sequence mode (the previous pose gives the
  search region).

Prints a markdown table. Usage::

    .venv/bin/python benchmarks/bench_tracking_filter.py [--filter kalman|one_euro]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vision.tracking.board import load_board  # noqa: E402
from vision.tracking.config import FilterConfig, TrackingConfig  # noqa: E402
from research.tracking.dataset import DEFAULT_BOARD, default_camera  # noqa: E402
from vision.tracking.filter import PoseFilter  # noqa: E402
from vision.tracking.simulate import ProbeMotionConfig, SimulatedCamera, SimulatedProbe, board_centre  # noqa: E402
from vision.tracking.board_tracker import BoardTracker  # noqa: E402

FPS = 30.0


def _centre(T: np.ndarray, c: np.ndarray) -> np.ndarray:
    return T[:3, :3] @ c + T[:3, 3]


def run(probe: SimulatedProbe, n: int, cfg: TrackingConfig, seed: int, board, camera):
    sim = SimulatedCamera(board, camera, seed=seed, gray=True)
    tracker = BoardTracker(board, camera, cfg)
    filt = PoseFilter(cfg.filter)
    rng = np.random.default_rng(seed)
    c = board_centre(board)
    rows = []
    run.seconds = []
    for k in range(n):
        t_s = k / FPS
        T = probe.T_camera_from_board(t_s)
        img = sim.render(T, blur=0.6, noise=3.0, light=1.0, light_gradient=0.2, rng=rng)
        t0 = time.perf_counter()
        m = tracker.process(img, int(t_s * 1e9))
        f = filt.update(m)
        run.seconds.append(time.perf_counter() - t0)
        rows.append((t_s, _centre(T, c), _centre(m.T_camera_from_board, c) if m.usable else None,
                     _centre(f.T_camera_from_board, c) if f.usable else None))
    return rows


def jitter(rows, skip: int) -> tuple[float, float, float, float, int]:
    raw = np.array([r[2] for r in rows[skip:] if r[2] is not None])
    fil = np.array([r[3] for r in rows[skip:] if r[3] is not None])
    rms = lambda a: float(np.sqrt(np.mean(np.sum((a - a.mean(0)) ** 2, axis=1))))  # noqa: E731
    return float(raw.std(0).max()), rms(raw), float(fil.std(0).max()), rms(fil), len(fil)


def lag_frames(rows, probe: SimulatedProbe, board, which: int, skip: int) -> tuple[float, float]:
    c = board_centre(board)
    ts = np.array([r[0] for r in rows[skip:] if r[which] is not None])
    est = np.array([r[which] for r in rows[skip:] if r[which] is not None])
    taus = np.arange(-3.0, 3.0001, 0.05)
    errs = []
    for tau in taus:
        truth = np.array([_centre(probe.T_camera_from_board(t - tau / FPS), c) for t in ts])
        errs.append(np.sqrt(np.mean(np.sum((est - truth) ** 2, axis=1))))
    errs = np.array(errs)
    return float(taus[int(np.argmin(errs))]), float(errs[np.argmin(np.abs(taus))])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--filter", choices=("kalman", "one_euro"), default="kalman")
    ap.add_argument("--static-frames", type=int, default=150)
    ap.add_argument("--moving-seconds", type=float, default=10.0)
    args = ap.parse_args()
    cfg = TrackingConfig(filter=FilterConfig(kind=args.filter))
    board = load_board(DEFAULT_BOARD)
    camera = default_camera()
    print(f"filter: {args.filter}; 30 fps; 1280x720 rendered, blur 0.6 px, noise 3 grey levels")
    print("| sequence | raw std (max axis) mm | raw 3-D RMS mm | filtered std (max axis) mm | filtered 3-D RMS mm "
          "| frames |")
    print("|---|---|---|---|---|---|")
    for depth in (300.0, 450.0, 600.0):
        probe = SimulatedProbe(seed=1, board=board, config=ProbeMotionConfig(centre_mm=(0.0, 0.0, depth)), static=True)
        rows = run(probe, args.static_frames, cfg, seed=int(depth), board=board, camera=camera)
        a, b, c_, d, n = jitter(rows, skip=int(FPS))
        print(f"| static at {depth:.0f} mm | {a:.3f} | {b:.3f} | {c_:.3f} | {d:.3f} | {n} |")
    probe = SimulatedProbe(seed=3, board=board)
    rows = run(probe, int(args.moving_seconds * FPS), cfg, seed=7, board=board, camera=camera)
    skip = int(FPS)
    lag_raw, err_raw = lag_frames(rows, probe, board, 2, skip)
    lag_f, err_f = lag_frames(rows, probe, board, 3, skip)
    ok = sum(r[2] is not None for r in rows)
    secs = np.array(run.seconds)
    print()
    print("| moving sequence | lag (frames) | RMS error at zero shift mm | usable frames |")
    print("|---|---|---|---|")
    print(f"| raw tracker | {lag_raw:+.2f} | {err_raw:.3f} | {ok}/{len(rows)} |")
    print(f"| tracker + {args.filter} filter | {lag_f:+.2f} | {err_f:.3f} | {ok}/{len(rows)} |")
    print()
    print(f"sequence mode (search region from the previous pose): tracker + filter {1000 * np.median(secs):.1f} ms "
          f"median per frame, {len(secs) / secs.sum():.1f} frames/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
