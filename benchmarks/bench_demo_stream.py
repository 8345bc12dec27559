"""Runs ``sonoguide demo`` as a separate process and measures its stream with an external subscriber.

Figures (issue: foundation): overlay rate and ``seq`` gaps, heartbeat rate, capture-to-publish
latency (``t_publish_ns - t_capture_ns`` from the headers) p50/p99, that the voice listener ran,
and how long a late-joining subscriber waits for the ``state`` topic.

``--hog F`` runs busy processes that take ``F`` cores during the run (``benchmarks/cpu_hog.py``;
``0.67`` leaves the demo 1.5x less CPU on 2 cores, ``1`` takes a whole core); ``--runs N``
repeats the measurement and prints one row per run and the worst of each figure. The rows also
say whether the state ever reported the loop overloaded.

Usage::

    .venv/bin/python benchmarks/bench_demo_stream.py [--duration 12] [--hog 0.67] [--runs 5] [--json]

Prints a markdown table; with ``--json`` the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import zmq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from ar_bridge.schema import decode  # noqa: E402
from benchmarks.cpu_hog import start_hog, stop_hog  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(duration: float, settle: float = 3.0) -> dict:
    """Start the demo, subscribe from outside, and return the figures of the steady part."""
    pub, ctl = f"tcp://127.0.0.1:{_free_port()}", f"tcp://127.0.0.1:{_free_port()}"
    exe = Path(sys.executable).with_name("sonoguide")
    cmd = [str(exe), "demo", "--duration", str(duration), "--no-status", "--pub", pub, "--control", ctl]
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.setsockopt(zmq.RCVHWM, 100000)
    sub.connect(pub)  # connect first: ZeroMQ reconnects until the demo binds
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    msgs: dict[str, list] = {"overlay": [], "heartbeat": [], "state": [], "voice": []}
    t_recv: dict[str, list[float]] = {k: [] for k in msgs}
    late_wait = None
    late = None
    t_first = None
    while proc.poll() is None:
        if sub.poll(50):
            frames = sub.recv_multipart()
            now = time.monotonic()
            m = decode(frames)
            if m.topic in msgs:
                msgs[m.topic].append(m)
                t_recv[m.topic].append(now)
                if m.topic == "overlay" and t_first is None:
                    t_first = now
        if t_first is not None and late is None and time.monotonic() - t_first > duration / 2:
            late = ctx.socket(zmq.SUB)
            late.setsockopt(zmq.SUBSCRIBE, b"state")
            late.connect(pub)
            late_t0 = time.monotonic()
        if late is not None and late_wait is None and late.poll(0):
            decode(late.recv_multipart())
            late_wait = time.monotonic() - late_t0
    out, err = proc.communicate()
    while sub.poll(100):
        m = decode(sub.recv_multipart())
        if m.topic in msgs:
            msgs[m.topic].append(m)
            t_recv[m.topic].append(time.monotonic())
    sub.close()
    if late is not None:
        late.close()
    ctx.term()
    if proc.returncode != 0 or not msgs["overlay"]:
        raise SystemExit(f"demo failed (exit {proc.returncode}):\n{err[-2000:]}")
    ov = msgs["overlay"]
    t0 = t_recv["overlay"][0] + settle
    steady = [(m, t) for m, t in zip(ov, t_recv["overlay"]) if t >= t0]
    seqs = [m.seq for m in ov]
    gaps = sum(1 for a, b in zip(seqs, seqs[1:]) if b != a + 1)
    span = steady[-1][1] - steady[0][1]
    lat = np.array([(m.t_publish_ns - m.t_capture_ns) / 1e6 for m, _ in steady])
    hb = [t for t in t_recv["heartbeat"] if t >= t0]
    voice_engine = next((m.body.get("voice_engine") for m in reversed(msgs["state"]) if m.body.get("voice_engine")),
                        None)
    overloaded = any(m.body.get("overloaded") for m in msgs["state"])
    return {
        "duration_s": duration, "overlays": len(ov), "overlay_hz": (len(steady) - 1) / span,
        "seq_gaps": gaps, "heartbeat_hz": (len(hb) - 1) / (hb[-1] - hb[0]) if len(hb) > 1 else 0.0,
        "latency_p50_ms": float(np.percentile(lat, 50)), "latency_p99_ms": float(np.percentile(lat, 99)),
        "latency_max_ms": float(lat.max()), "voice_engine": voice_engine, "voice_messages": len(msgs["voice"]),
        "late_state_wait_s": late_wait, "overloaded": overloaded,
        "summary": out.strip().splitlines()[-1] if out.strip() else "",
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=12.0)
    ap.add_argument("--hog", type=float, default=0.0, help="cores taken by busy processes during each run")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    print(f"hog {args.hog:.2f} cores, {args.runs} run(s) of {args.duration:.0f} s")
    print("| run | overlay Hz | seq gaps | heartbeat Hz | latency p50 | latency p99 | late state wait | voice engine | "
          "overloaded |")
    print("|---|---|---|---|---|---|---|---|---|")
    runs = []
    for i in range(args.runs):
        hogs = start_hog(args.hog, args.duration + 20)
        try:
            r = measure(args.duration)
        finally:
            stop_hog(hogs)
        runs.append(r)
        wait = r["late_state_wait_s"]
        print(f"| {i + 1} | {r['overlay_hz']:.1f} | {r['seq_gaps']} | {r['heartbeat_hz']:.1f} | "
              f"{r['latency_p50_ms']:.1f} ms | {r['latency_p99_ms']:.1f} ms | "
              f"{wait if wait is None else round(wait, 3)} s | {r['voice_engine']} | {r['overloaded']} |", flush=True)
    if args.runs > 1:
        print(f"| worst | {min(r['overlay_hz'] for r in runs):.1f} | {max(r['seq_gaps'] for r in runs)} | "
              f"{min(r['heartbeat_hz'] for r in runs):.1f} | {max(r['latency_p50_ms'] for r in runs):.1f} ms | "
              f"{max(r['latency_p99_ms'] for r in runs):.1f} ms | | | {any(r['overloaded'] for r in runs)} |")
    print(f"demo: {runs[-1]['summary']}")
    if args.json:
        print(json.dumps(runs[0] if args.runs == 1 else {"runs": runs}))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
