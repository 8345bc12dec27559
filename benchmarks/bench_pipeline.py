"""Per-stage latency table (p50/p95/p99) of the demo pipeline, measured in-process.

Runs the demo's runtime (phantom at the configured rate, synthetic camera, segmentation, needle,
pose lookup, composition, publishing, voice listener on the bundled WAV) for ``--duration``
seconds on free ports and prints each stage's duration percentiles in milliseconds. ``total`` is
capture to publish; ``wait`` is capture to the start of processing.

Usage::

    .venv/bin/python benchmarks/bench_pipeline.py [--duration 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sonoguide.runtime import Runtime  # noqa: E402
from sonoguide.config import Config, load_config  # noqa: E402

ORDER = ("wait", "pose_lookup", "segment", "needle", "compose", "total", "track", "filter")


def _ep() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--config", type=Path, default=None, help="TOML file (default: built-in defaults)")
    args = ap.parse_args()
    cfg = load_config(args.config) if args.config else Config()
    cfg = cfg.replace(network=dataclasses.replace(cfg.network, pub_endpoint=_ep(), control_endpoint=_ep()))
    rt = Runtime(cfg, demo=True)
    rt.start()
    time.sleep(args.warmup)
    rt.stats.reset()  # drop the warm-up samples
    time.sleep(args.duration)
    table = rt.stats.table()
    summary = rt.summary()
    rt.stop()
    print(f"| stage | n | p50 ms | p95 ms | p99 ms |  (demo pipeline, {args.duration:.0f} s, "
          f"{summary.overlay_hz:.1f} overlays/s, camera {summary.camera_hz:.1f} Hz)")
    print("|---|---|---|---|---|")
    for k in ORDER + tuple(sorted(set(table) - set(ORDER))):
        if k in table:
            r = table[k]
            print(f"| {k} | {r['n']} | {r['p50']:.2f} | {r['p95']:.2f} | {r['p99']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
