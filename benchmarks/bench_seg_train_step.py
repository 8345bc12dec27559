"""Segmentation training cost: time of one training step per architecture, and what the
300-epoch protocol costs at that rate.

Run: ``.venv/bin/python benchmarks/bench_seg_train_step.py [--arch ours unet] [--steps N] [--threads N]``
One step = forward, cross-entropy, backward and an AdamW update of a batch of 8 random
``size x size`` inputs (data loading and augmentation, a few per cent of a real step, are left
out), with each architecture's training defaults (``train.ARCH_DEFAULTS``). Prints a markdown table
with the median step after one warm-up step, and the hours of the full protocol on this machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from research.segmentation.train import ARCH_DEFAULTS, TrainConfig, epoch_plan  # noqa: E402
from vision.segmentation.model import build_model, count_parameters  # noqa: E402


def step_seconds(arch: str, size: int, batch: int, steps: int) -> tuple[float, int]:
    """Median seconds of ``steps`` training steps (after one warm-up) and the parameter count."""
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in ARCH_DEFAULTS.get(arch, {}).items()}
    model = build_model(arch, **kwargs).to(memory_format=torch.channels_last).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(batch, 1, size, size).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 3, (batch, size, size))
    times = []
    for i in range(steps + 1):
        t0 = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i:
            times.append(time.perf_counter() - t0)
    return statistics.median(times), count_parameters(model)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", nargs="+", default=["ours", "unet"], choices=["ours", "unet"])
    ap.add_argument("--steps", type=int, default=3, help="timed steps per architecture (after one warm-up)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (training default: 1)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = TrainConfig()
    n_train = 158                                            # real training images of the round-2 split
    total = epoch_plan(n_train, cfg)[1] * cfg.epochs
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, {args.threads} "
          f"threads, {time.strftime('%Y-%m-%d %H:%M')}, load average at start {os.getloadavg()[0]:.2f}\n")
    print(f"| arch | parameters | step, batch {cfg.batch} at {cfg.size} px | protocol ({cfg.epochs} epochs, "
          f"{total} steps) |")
    print("|---|---|---|---|")
    for arch in args.arch:
        sec, n = step_seconds(arch, cfg.size, cfg.batch, args.steps)
        print(f"| {arch} | {n / 1e6:.2f} M | {sec:.2f} s | {sec * total / 3600:.1f} h |", flush=True)
    print(f"\nload average at end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
