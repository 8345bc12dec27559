"""``sonoguide seg run``: segment image files with the real-time stage and write overlay PNGs.

The ``seg`` group is shared: training, evaluation, cross-validation, quantisation and export
(``seg train / eval / crossval / card / quantize / export``) are registered on it by
:mod:`research.segmentation.cli` through :func:`seg_actions`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from core.subcommands import command_group


def seg_actions(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """The actions of the ``sonoguide seg`` group (created by whichever package registers first)."""
    return command_group(sub, "seg", help="nerve and vessel segmentation: train, evaluate, run",
                         dest="seg_command")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``seg run`` to the ``sonoguide`` parser."""
    r = seg_actions(sub).add_parser("run", help="segment image files and write overlay PNGs")
    r.add_argument("images", nargs="+", metavar="IMAGE")
    r.add_argument("--model", default="", metavar="PATH", help="weights file (default: the bundled weights)")
    r.add_argument("--out", default=".", metavar="DIR", help="folder for the *_seg.png overlays")
    r.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    import cv2

    from core.errors import InputError
    from vision.segmentation.config import SegmentationConfig
    from vision.segmentation.segmenter import Segmenter, draw

    seg = Segmenter(SegmentationConfig(model=args.model))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in args.images:
        img = cv2.imread(name, cv2.IMREAD_UNCHANGED)
        if img is None:
            raise InputError(f"{name}: not a readable image")
        seg.reset()
        res = seg.segment(img)
        dst = out / (Path(name).stem + "_seg.png")
        cv2.imwrite(str(dst), draw(img, res))
        parts = [f"{s.cls}#{s.track_id} {s.validity.value} conf {s.confidence:.2f} area {s.area_px:.0f}px"
                 for s in res.structures]
        print(f"{name}: quality {res.quality:.2f} {list(res.quality_flags)}; " + ("; ".join(parts) or "no structures")
              + f" -> {dst}")
    return 0
