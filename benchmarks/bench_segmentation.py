"""Segmentation benchmark: per-frame latency (whole Segmenter call), flicker on a still phantom,
lag on a moving phantom, and phantom accuracy.

Run: ``.venv/bin/python benchmarks/bench_segmentation.py [--model PATH] [--precision int8] [--runtime torch] [--frames N] [--threads N] [--latency-only]``
Prints markdown tables. Latency includes frame validation, ROI detection, letterboxing, the
network, temporal smoothing, region extraction, contour simplification, tracking and gating;
the network alone (one letterboxed input) is timed beside it. The header line gives the load
average before and after, so a busy machine shows.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import torch  # noqa: E402

from vision.phantom.config import (PhantomAnatomyConfig, PhantomConfig, PhantomMotionConfig,  # noqa: E402
                                   PhantomNeedleConfig, PhantomVesselsConfig)
from vision.phantom.render import Phantom  # noqa: E402
from vision.segmentation.config import SegmentationConfig  # noqa: E402
from vision.segmentation.segmenter import Segmenter  # noqa: E402

USGRA = Path(__file__).resolve().parents[2] / "shared" / "data" / "usgra" / "images"


def latency(seg: Segmenter, frames: list[np.ndarray], n: int) -> dict[str, float]:
    """Per-call latency over ``n`` calls cycling through ``frames`` (after 10 warm-up calls)."""
    for i in range(10):
        seg.segment(frames[i % len(frames)])
    ts = []
    for i in range(n):
        f = frames[i % len(frames)]
        t0 = time.perf_counter()
        seg.segment(f)
        ts.append(time.perf_counter() - t0)
    t = np.asarray(ts) * 1000
    return {"p50": float(np.median(t)), "p90": float(np.percentile(t, 90)), "fps": float(1000.0 / t.mean())}


def structure_ious(prev, cur, shape) -> dict[str, list[float]]:
    """IoU between the filled contours of the same track id on consecutive frames, per class."""
    out: dict[str, list[float]] = {"nerve": [], "vessel": []}
    pm = {s.track_id: s for s in prev.structures}
    for s in cur.structures:
        p = pm.get(s.track_id)
        a = np.zeros(shape, np.uint8)
        b = np.zeros(shape, np.uint8)
        cv2.fillPoly(a, [np.round(s.contour_px).astype(np.int32)], 1)
        if p is not None:
            cv2.fillPoly(b, [np.round(p.contour_px).astype(np.int32)], 1)
        inter = np.logical_and(a, b).sum()
        union = np.logical_or(a, b).sum()
        out[s.cls].append(float(inter / union) if union else 1.0)
    return out


def flicker(seg: Segmenter, preset: str, n: int) -> dict[str, float]:
    """Consecutive-frame IoU of every structure on a still phantom (speckle fixed, noise per frame)."""
    ph = Phantom(PhantomConfig(anatomy=PhantomAnatomyConfig(preset=preset),
                               motion=PhantomMotionConfig(enabled=False),
                               vessels=PhantomVesselsConfig(pulsation=False),
                               needle=PhantomNeedleConfig(enabled=False)))
    seg.reset()
    prev = None
    ious: dict[str, list[float]] = {"nerve": [], "vessel": []}
    lab_ious: dict[int, list[float]] = {1: [], 2: []}
    prev_lab = None
    for i in range(n):
        f = ph.render(i / 30.0)
        res = seg.segment(f.image, want_labels=True)
        if prev is not None:
            for k, v in structure_ious(prev, res, f.image.shape).items():
                ious[k] += v
            for c in (1, 2):
                a, b = prev_lab == c, res.labels == c
                u = np.logical_or(a, b).sum()
                lab_ious[c].append(float(np.logical_and(a, b).sum() / u) if u else 1.0)
        prev, prev_lab = res, res.labels
    return {"nerve_min": min(ious["nerve"], default=float("nan")), "nerve_mean": float(np.mean(ious["nerve"])) if ious["nerve"] else float("nan"),
            "vessel_min": min(ious["vessel"], default=float("nan")), "vessel_mean": float(np.mean(ious["vessel"])) if ious["vessel"] else float("nan"),
            "labels_nerve_min": min(lab_ious[1]), "labels_vessel_min": min(lab_ious[2])}


def dice(a: np.ndarray, b: np.ndarray) -> float:
    s = a.sum() + b.sum()
    return float(2.0 * np.logical_and(a, b).sum() / s) if s else 1.0


def moving_accuracy(seg: Segmenter, n: int) -> dict[str, float]:
    """Mean Dice against the phantom's truth on a moving, pulsating scene (lag shows as a drop)."""
    ph = Phantom(PhantomConfig(anatomy=PhantomAnatomyConfig(preset="femoral"),
                               motion=PhantomMotionConfig(enabled=True, amplitude_mm=4.0, period_s=4.0),
                               needle=PhantomNeedleConfig(enabled=False)))
    seg.reset()
    d = {1: [], 2: []}
    for i in range(n):
        f = ph.render(i / 30.0)
        res = seg.segment(f.image, want_labels=True)
        for c in (1, 2):
            d[c].append(dice(res.labels == c, f.labels == c))
    return {"nerve": float(np.mean(d[1])), "vessel": float(np.mean(d[2]))}


def phantom_accuracy(seg: Segmenter, n: int) -> dict[str, float]:
    """Mean per-frame Dice on varied single phantom frames (three presets, random seeds)."""
    d = {1: [], 2: []}
    for i in range(n):
        cfg = PhantomConfig(seed=1000 + i,
                            anatomy=PhantomAnatomyConfig(preset=("femoral", "interscalene", "random")[i % 3]),
                            needle=PhantomNeedleConfig(enabled=i % 2 == 0))
        f = Phantom(cfg).render(1.0 + i * 0.37)
        seg.reset()
        res = seg.segment(f.image, want_labels=True)
        for c in (1, 2):
            if (f.labels == c).any() or (res.labels == c).any():
                d[c].append(dice(res.labels == c, f.labels == c))
    return {"nerve": float(np.mean(d[1])), "vessel": float(np.mean(d[2]))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="", help="weights file (default: bundled)")
    ap.add_argument("--frames", type=int, default=300, help="timed calls per frame type")
    ap.add_argument("--flicker-frames", type=int, default=60)
    ap.add_argument("--threads", type=int, default=0,
                    help="network threads (default 0: the segmentation default, cores - 1)")
    ap.add_argument("--flip-tta", action="store_true", help="time with the mirrored second opinion on")
    ap.add_argument("--latency-only", action="store_true", help="only the latency table")
    ap.add_argument("--precision", choices=("fp32", "int8"), default="fp32",
                    help="float weights (default) or the card's int8 CPU weights")
    ap.add_argument("--runtime", choices=("auto", "opencv", "torch"), default="auto",
                    help="network runtime (default: the segmentation default, OpenCV on the CPU)")
    args = ap.parse_args()

    load0 = os.getloadavg()[0]
    seg = Segmenter(SegmentationConfig(model=args.model, threads=args.threads, flip_tta=args.flip_tta,
                                       precision=args.precision, runtime=args.runtime))
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{torch.get_num_threads()} torch / {cv2.getNumThreads()} OpenCV threads, device {seg.net.device}, "
          f"runtime {seg.runtime}, model {seg.card['name']} "
          f"({seg.card.get('parameters', 0) / 1e6:.2f} M parameters, {seg.precision}) input {seg.size}px, "
          f"flip_tta {args.flip_tta}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}, load average at start {load0:.2f}")
    print()
    net_img = np.random.default_rng(0).integers(0, 255, (seg.size, seg.size), dtype=np.uint8)
    for _ in range(5):
        seg.net.probabilities(net_img)
    tn = []
    for _ in range(max(20, args.frames // 3)):
        t0 = time.perf_counter()
        seg.net.probabilities(net_img)
        tn.append(time.perf_counter() - t0)
    tn_ms = np.asarray(tn) * 1000
    print("| frame | p50 ms | p90 ms | fps (1/mean) |")
    print("|---|---|---|---|")
    print(f"| network only, {seg.size}x{seg.size} input | {np.median(tn_ms):.1f} | {np.percentile(tn_ms, 90):.1f} "
          f"| {1000.0 / tn_ms.mean():.0f} |")
    ph_frames = [Phantom(PhantomConfig(seed=s, anatomy=PhantomAnatomyConfig(preset=p))).render(0.5 + s)
                 for p in ("femoral", "interscalene")
                 for s in range(2)]
    cases = [("phantom 400x400", [f.image for f in ph_frames])]
    if USGRA.is_dir():
        real = sorted(USGRA.iterdir())
        by_shape: dict[tuple[int, int], list[np.ndarray]] = {}
        for p in real:
            img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
            by_shape.setdefault(img.shape[:2], []).append(img)
        for shape in sorted(by_shape, key=lambda s: -len(by_shape[s])):
            cases.append((f"real {shape[1]}x{shape[0]} ({'BGR' if by_shape[shape][0].ndim == 3 else 'gray'})",
                          by_shape[shape][:8]))
    for name, frames in cases:
        seg.reset()
        r = latency(seg, frames, args.frames)
        print(f"| {name} | {r['p50']:.1f} | {r['p90']:.1f} | {r['fps']:.0f} |")
    print(f"\nload average at end {os.getloadavg()[0]:.2f}")
    if args.latency_only:
        return 0
    print()
    print("| still phantom (60 frames, 30 Hz) | nerve IoU min / mean | vessel IoU min / mean | label-image IoU min nerve / vessel |")
    print("|---|---|---|---|")
    for preset in ("femoral", "interscalene"):
        r = flicker(seg, preset, args.flicker_frames)
        print(f"| {preset} | {r['nerve_min']:.3f} / {r['nerve_mean']:.3f} | {r['vessel_min']:.3f} / {r['vessel_mean']:.3f}"
              f" | {r['labels_nerve_min']:.3f} / {r['labels_vessel_min']:.3f} |")
    print()
    nosmooth = Segmenter(SegmentationConfig(model=args.model, smoothing=0.0, precision=args.precision,
                                            runtime=args.runtime))
    m_on, m_off = moving_accuracy(seg, 90), moving_accuracy(nosmooth, 90)
    pa = phantom_accuracy(seg, 30)
    print("| phantom accuracy (Dice vs exact truth) | nerve | vessel |")
    print("|---|---|---|")
    print(f"| moving probe, smoothing on (default) | {m_on['nerve']:.3f} | {m_on['vessel']:.3f} |")
    print(f"| moving probe, smoothing off | {m_off['nerve']:.3f} | {m_off['vessel']:.3f} |")
    print(f"| 30 varied single frames | {pa['nerve']:.3f} | {pa['vessel']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
