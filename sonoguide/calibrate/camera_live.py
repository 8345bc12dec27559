"""Live view collection for ``sonoguide calibrate camera --live``: guided prompts until coverage is good.

Frames come from the configured camera source (``[camera] source`` of ``--config``, or
``--source``). A frame becomes a view when the whole board is sharp enough (edge width within the
views so far) and it differs from every view kept (its corners moved); after each new view the
camera is calibrated quickly and the terminal says how many views there are, the RMS, the
coverage and what to add next. Collection stops when there are enough views, coverage is good
and the RMS is low, or when the source ends or ``--max-frames`` is reached.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from calibration.coverage import CoverageLimits, measure_coverage
from calibration.intrinsics import IntrinsicsOptions, ViewCorners, calibrate_views, detect_view
from core.errors import CalibrationError, InputError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveSettings:
    """When a frame becomes a view and when collection stops.

    Attributes:
        target_views: views wanted before stopping (with good coverage and RMS).
        max_frames: frames read at most.
        min_move: a new view's corners must move this fraction of the image diagonal (median).
        max_rms_px: RMS needed to stop.
        blur_ratio: a frame whose edge width exceeds this times the views' median is too blurred.
    """

    target_views: int = 20
    max_frames: int = 5000
    min_move: float = 0.04
    max_rms_px: float = 0.5
    blur_ratio: float = 1.4


def source_spec(args: argparse.Namespace) -> str:
    """The frame source: ``--source`` or ``[camera] source`` of ``--config``.

    Raises:
        InputError: the source draws the simulated probe (no calibration board) or tracks none.
    """
    spec = args.source
    if not spec:
        from sonoguide.config import load_config
        spec = load_config(args.config).camera.source
    if spec in ("synthetic", "none") or spec.startswith("igtl:"):
        raise InputError(f"camera source {spec!r} gives no camera images of the calibration board; pass "
                         "--source device:N (or folder:PATH), or set [camera] source in --config")
    return spec


def collect_views(source, board: cv2.aruco.CharucoBoard, settings: LiveSettings, opts: IntrinsicsOptions,
                  say: Callable[[str], None]) -> list[tuple[str, np.ndarray]]:
    """Read frames and keep the sharp, distinct views of the board, prompting as it goes."""
    kept: list[tuple[str, np.ndarray]] = []
    views: list[ViewCorners] = []
    n_read = 0
    say(f"show the ChArUco board to the camera; hold it still at each place ({settings.target_views} views wanted)")
    while n_read < settings.max_frames:
        frame = source.read()
        if frame is None:
            break
        n_read += 1
        img = frame.image
        gray = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        if kept and gray.shape != kept[0][1].shape:
            raise InputError(f"the camera changed resolution mid-way ({kept[0][1].shape[1]}x{kept[0][1].shape[0]} -> "
                             f"{gray.shape[1]}x{gray.shape[0]}); keep one resolution")
        v = detect_view(gray, board, f"live_{len(kept):03d}.png")
        if len(v.ids) < opts.min_corners:
            continue
        widths = [u.edge_width_px for u in views if np.isfinite(u.edge_width_px)]
        if widths and np.isfinite(v.edge_width_px) and v.edge_width_px > settings.blur_ratio * float(np.median(widths)):
            say("blurred: hold the board still")
            continue
        diag = float(np.hypot(*gray.shape[:2]))
        if any(_moved(v, u) < settings.min_move * diag for u in views):
            continue
        views.append(v)
        kept.append((v.name, gray.copy()))
        good = _prompt(views, board, gray.shape[1::-1], settings, opts, say)
        if good:
            say(f"{len(views)} views, coverage and RMS good: stopping")
            break
    return kept


def _moved(a: ViewCorners, b: ViewCorners) -> float:
    common, ia, ib = np.intersect1d(a.ids, b.ids, return_indices=True)
    if len(common) < 4:
        return float("inf")
    return float(np.median(np.linalg.norm(a.corners[ia] - b.corners[ib], axis=1)))


def _prompt(views: list[ViewCorners], board, size, settings: LiveSettings, opts: IntrinsicsOptions,
            say: Callable[[str], None]) -> bool:
    n = len(views)
    if n < opts.min_views:
        say(f"view {n}: {opts.min_views - n} more before a first calibration; move and tilt the board")
        return False
    copies = [ViewCorners(v.name, v.ids.copy(), v.corners.copy(), v.edge_width_px) for v in views]
    try:
        res = calibrate_views(None, copies, board, size, replace(opts, folds=0, refine_iterations=0))
    except CalibrationError as exc:
        say(f"view {n}: not yet ({exc})")
        return False
    used = res.used
    cov = measure_coverage([v.corners for v in used], [res.rvecs[v.name] for v in used], size, CoverageLimits())
    nxt = cov.advice[0] if cov.advice else ("more views" if n < settings.target_views else "done")
    say(f"view {n}: RMS {res.rms_px:.3f} px, coverage {cov.cells_covered}/9 cells; next: {nxt}")
    return n >= settings.target_views and cov.good and res.rms_px <= settings.max_rms_px


def live_views(args: argparse.Namespace, board: cv2.aruco.CharucoBoard, opts: IntrinsicsOptions) -> list[tuple[str, np.ndarray]]:
    """Open the source, collect views with prompts on stderr, optionally save them (``--save-views``).

    Raises:
        InputError: no usable source, or no view of the board was collected.
    """
    from vision.sources.factory import open_frame_source

    spec = source_spec(args)
    settings = LiveSettings(target_views=max(opts.min_views, int(args.target_views)), max_frames=int(args.max_frames))
    source = open_frame_source(spec, key="camera.source", fps=30.0, gray=True, loop=False)
    try:
        kept = collect_views(source, board, settings, opts, lambda s: sys.stderr.write(s + "\n"))
    finally:
        source.close()
    if not kept:
        raise InputError(f"no view of the board from {spec}; check the camera and the --board file")
    if args.save_views:
        out = Path(args.save_views)
        out.mkdir(parents=True, exist_ok=True)
        for name, img in kept:
            cv2.imwrite(str(out / name), img)
    return kept
