"""Where the CPU goes in the running guidance loop: contention ratio per stage and the core's CPU use.

For the default demo configuration (phantom ultrasound and synthetic marker camera at their
configured rates, segmentation, needle, probe tracking, publishing, the voice listener on its
bundled recording), in one run of this benchmark:

1. **stand-alone**: the segmenter and the board tracker, built exactly as the runtime builds them,
   each timed alone on pre-rendered frames (``--standalone-frames`` each), nothing else running;
2. **in the loop**: the runtime runs for ``--warmup`` + ``--duration`` seconds; each stage's wall
   time and its thread's CPU time are taken over the steady part;
3. the **contention ratio** of a stage is its in-loop p50 wall time over its stand-alone p50 (1.0:
   the loop does not slow it down); CPU/wall below 1 means the stage waited for a core or the GIL;
4. **CPU in cores** over the steady part: the core process (minus the simulated devices' rendering,
   which a frame grabber and a camera would do in hardware: the ``us_source`` and ``camera_source``
   CPU, measured in their own threads) plus the voice process; the devices apart.

``--hog F`` runs busy processes that take ``F`` cores the whole time (``benchmarks/cpu_hog.py``: a
duty cycle in 10 ms periods; ``1`` is a whole core, ``2`` two): the machine the core gets is then
that much smaller (``--hog 0.67`` on 2 cores leaves the core 1.33 cores, "1.5x less").

Usage::

    .venv/bin/python benchmarks/bench_headroom.py [--duration 20] [--hog 0.67] [--runs 3] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import socket
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.cpu_hog import start_hog, stop_hog  # noqa: E402
from core.cputime import process_cpu_seconds  # noqa: E402
from sonoguide.config import Config, load_config  # noqa: E402
from sonoguide.runtime import Runtime  # noqa: E402
from vision.sources.marker_camera import SyntheticMarkerCamera  # noqa: E402
from vision.sources.phantom import PhantomSource  # noqa: E402
from vision.tracking.board_tracker import BoardTracker  # noqa: E402

DEVICE_STAGES = ("us_source", "camera_source")


def _ep() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def _p50_ms(call, frames: list) -> float:
    """p50 (ms) of ``call(image, t_capture_ns)`` over ``frames``, the first five (warm-up) left out."""
    times = []
    for f in frames:
        t0 = time.perf_counter()
        call(f.image, f.t_capture_ns)
        times.append((time.perf_counter() - t0) * 1e3)
    return float(np.percentile(np.asarray(times[5:]), 50))


def standalone(rt: Runtime, frames: int) -> dict[str, float]:
    """p50 (ms) of the segmenter and of the board tracker alone, on pre-rendered frames."""
    out: dict[str, float] = {}
    seg = rt.processor.segmenter
    cfg = rt.config
    if seg is not None and cfg.ultrasound.source == "phantom":
        src = PhantomSource(cfg.phantom, fps=cfg.ultrasound.fps, realtime=False)
        out["segment"] = _p50_ms(seg.segment, [src.read() for _ in range(frames)])
    if rt.tracker is not None and cfg.camera.source == "synthetic":
        cam = SyntheticMarkerCamera(rt.intrinsics, rt.board, fps=cfg.camera.fps, seed=1, realtime=False)
        tracker = BoardTracker(rt.board, rt.intrinsics, cfg.tracking)
        out["track"] = _p50_ms(tracker.process, [cam.read() for _ in range(frames)])
    return out


def run_once(cfg: Config, duration: float, warmup: float, frames: int, hog: float) -> dict:
    """One run: stand-alone timings, then the loop with optional hog; the figures."""
    cfg = cfg.replace(network=dataclasses.replace(cfg.network, pub_endpoint=_ep(), control_endpoint=_ep()))
    rt = Runtime(cfg, demo=True)
    alone = standalone(rt, frames)
    hogs = start_hog(hog, warmup + duration + 30)
    rt.start()
    try:
        time.sleep(warmup)
        rt.stats.reset()
        voice = rt.voice_listener.pid if rt.voice_listener is not None else None
        device_pids = [p for p in (getattr(rt.us_source, "pid", None), getattr(rt.camera_source, "pid", None)) if p]
        t0, self0 = time.monotonic(), process_cpu_seconds()
        voice0 = process_cpu_seconds(voice) if voice else None
        dev0 = [process_cpu_seconds(p) or 0.0 for p in device_pids]
        sent0 = rt.publisher.sent["overlay"]
        time.sleep(duration)
        wall = time.monotonic() - t0
        self1 = process_cpu_seconds()
        voice1 = process_cpu_seconds(voice) if voice else None
        dev1 = [process_cpu_seconds(p) or 0.0 for p in device_pids]
        sent = rt.publisher.sent["overlay"] - sent0
        table = rt.stats.table()
        cpu = rt.stats.cpu_seconds()
        overloaded = rt.commands.state.overloaded if hasattr(rt.commands.state, "overloaded") else None
    finally:
        rt.stop()
        stop_hog(hogs)
    capture = sum(cpu.get(s, 0.0) for s in DEVICE_STAGES)  # in-process rendering, or taking frames from a device process
    devices = capture + sum(b - a for a, b in zip(dev0, dev1))
    voice_cpu = (voice1 - voice0) if voice0 is not None and voice1 is not None else 0.0
    core = (self1 - self0) - capture + voice_cpu
    stages = {}
    for name in ("segment", "track", "needle", "compose", "total", "wait"):
        row = table.get(name)
        if not row or "p50" not in row:
            continue
        entry = {"p50": row["p50"], "p99": row["p99"]}
        if "cpu_p50" in row:
            entry["cpu_p50"] = row["cpu_p50"]
            entry["cpu_over_wall"] = row["cpu_mean"] / row["mean"] if row["mean"] > 0 else None
        if name in alone:
            entry["alone_p50"] = alone[name]
            entry["contention"] = row["p50"] / alone[name]
        stages[name] = entry
    return {"hog": hog, "device_process": bool(device_pids), "duration_s": wall, "overlay_hz": sent / wall, "stages": stages,
            "core_cores": core / wall, "voice_cores": voice_cpu / wall, "devices_cores": devices / wall,
            "process_cores": (self1 - self0) / wall, "overloaded": overloaded}


def _print(run: dict) -> None:
    print(f"\nhog {run['hog']:.2f} core | devices in {'their own processes' if run['device_process'] else 'the core'} | "
          f"{run['overlay_hz']:.1f} overlays/s | core {run['core_cores']:.2f} cores "
          f"(voice {run['voice_cores']:.2f}) | simulated devices {run['devices_cores']:.2f} cores"
          + (f" | overloaded {run['overloaded']}" if run.get("overloaded") is not None else ""))
    print("| stage | alone p50 ms | in loop p50 ms | contention | in loop p99 ms | CPU p50 ms | CPU/wall |")
    print("|---|---|---|---|---|---|---|")
    for name, e in run["stages"].items():
        def f(key: str, fmt: str = "{:.2f}") -> str:
            v = e.get(key)
            return fmt.format(v) if v is not None else "-"
        print(f"| {name} | {f('alone_p50')} | {f('p50')} | {f('contention')} | {f('p99')} | {f('cpu_p50')} | "
              f"{f('cpu_over_wall')} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=20.0, help="steady seconds measured per run")
    ap.add_argument("--warmup", type=float, default=4.0)
    ap.add_argument("--standalone-frames", type=int, default=120)
    ap.add_argument("--hog", type=float, default=0.0, help="cores taken by busy processes (0.67: a third of 2 cores)")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--config", type=Path, default=None, help="TOML file (default: built-in defaults)")
    ap.add_argument("--device-process", action="store_true",
                    help="run the simulated devices in processes of their own (pipeline.device_process)")
    ap.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = ap.parse_args()
    cfg = load_config(args.config) if args.config else Config()
    if args.device_process:
        cfg = cfg.replace(pipeline=dataclasses.replace(cfg.pipeline, device_process=True))
    runs = []
    for _ in range(args.runs):
        run = run_once(cfg, args.duration, args.warmup, args.standalone_frames, args.hog)
        _print(run)
        runs.append(run)
    if args.runs > 1:
        med = {k: statistics.median(r[k] for r in runs) for k in ("overlay_hz", "core_cores")}
        worst = {s: max(r["stages"][s].get("contention", 0) for r in runs) for s in ("segment", "track")
                 if all(s in r["stages"] for r in runs)}
        print(f"\nmedian of {args.runs}: {med['overlay_hz']:.1f} overlays/s, core {med['core_cores']:.2f} cores; "
              f"worst contention " + ", ".join(f"{s} {v:.2f}" for s, v in worst.items()))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\n{platform.node()} {os.cpu_count()} cores, load average at end {load:.2f}")
    if args.json:
        print(json.dumps({"runs": runs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
