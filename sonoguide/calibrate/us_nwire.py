"""``sonoguide calibrate us-probe --method nwire``: ``T_marker_from_image`` from an N-wire phantom sweep.

``--input`` names a capture folder holding ``capture.json`` (or the JSON itself)::

    {"image_size": [W, H],                       # optional: checked against every frame
     "frames": ["frames/0000.png", ...],         # paths relative to the JSON
     "T_tracker_from_marker": [N 4x4 mm],        # probe marker pose per frame
     "T_tracker_from_phantom": [N 4x4 mm] or 4x4, # phantom pose per frame (or once, if static)
     "phantom": {"layers": [{"wires": [wire1, diagonal, wire3]}, ...]}}   # or --phantom FILE

Each frame's wire dots are segmented, grouped into N patterns and turned into phantom points
(:mod:`calibration.nwire`); the rigid-plus-scale fit is validated leave-one-frame-out. The result is
the transform from ``image`` (px) to ``marker`` (mm), rotation times per-axis mm/px, with the pixel
spacing, frames used and dots found under ``extra``, and a PNG report.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from calibration import report as rp
from calibration.inputs import at_least, load_capture, read_transforms, same_length
from calibration.io import Calibration
from calibration.nwire import (MIN_FRAMES, NWirePhantomGeometry, NWireResult, calibrate_nwire, detect_dots,
                               find_n_patterns, parse_geometry, predicted_dots)
from core.errors import CalibrationError, InputError
from core.frames import FrameName
from core.jsonfile import load_json
from sonoguide.calibrate.common import devices, emit, report_path

log = logging.getLogger(__name__)

KEYS = ("frames", "T_tracker_from_marker", "T_tracker_from_phantom")
WHAT = "N-wire capture"


def add_nwire_arguments(p: argparse.ArgumentParser) -> None:
    """The N-wire method's own arguments (``--input`` is shared: the capture folder or its JSON)."""
    p.add_argument("--phantom", metavar="FILE",
                   help="nwire: the phantom's wire geometry (JSON, mm); default: the capture's 'phantom' entry")
    p.add_argument("--min-frames", type=int, default=MIN_FRAMES, metavar="N",
                   help=f"nwire: fewest frames with every N found (default {MIN_FRAMES})")


@dataclass
class NWireInput:
    """A loaded N-wire capture.

    Attributes:
        path: the capture JSON.
        frames: frame image paths.
        T_tracker_from_marker: ``(N, 4, 4)``.
        T_tracker_from_phantom: ``(N, 4, 4)`` (a static pose repeated).
        geometry: the phantom.
        image_size: ``(W, H)`` when the capture states it.
    """

    path: Path
    frames: list[Path]
    T_tracker_from_marker: np.ndarray
    T_tracker_from_phantom: np.ndarray
    geometry: NWirePhantomGeometry
    image_size: tuple[int, int] | None


def load_nwire_input(input_path: str | Path, phantom_path: str | Path | None = None,
                     min_frames: int = MIN_FRAMES) -> NWireInput:
    """Read and check a capture (folder or JSON) and the phantom geometry.

    Raises:
        InputError: missing or unreadable file, missing keys, wrong shapes, non-rigid poses,
            mismatched lengths, a bad geometry.
    """
    p = Path(input_path)
    if p.is_dir():
        p = p / "capture.json"
    data = load_capture(p, WHAT, KEYS)
    frames = data["frames"]
    if not isinstance(frames, list) or not all(isinstance(f, str) and f for f in frames):
        raise InputError(f"{p}: 'frames' must be a list of image paths (relative to the capture file)")
    T_tm = read_transforms(data, "T_tracker_from_marker", p)
    raw_tp = data["T_tracker_from_phantom"]
    try:
        single = isinstance(raw_tp, list) and np.asarray(raw_tp, dtype=float).shape == (4, 4)
    except (TypeError, ValueError):
        single = False
    if single:
        T_tp = np.repeat(read_transforms({"T_tracker_from_phantom": [raw_tp]}, "T_tracker_from_phantom", p),
                         len(T_tm), axis=0)
    else:
        T_tp = read_transforms(data, "T_tracker_from_phantom", p)
    same_length(p, frames=frames, T_tracker_from_marker=T_tm, T_tracker_from_phantom=T_tp)
    at_least(p, len(frames), min_frames, "frames", "record a longer sweep over the phantom")
    if phantom_path is not None:
        geo_data = load_json(Path(phantom_path), what="N-wire phantom file", error=InputError,
                             missing_fix="check the --phantom path", corrupt_fix="it is not a JSON phantom description")
        source = str(phantom_path)
    elif "phantom" in data:
        geo_data, source = data["phantom"], f"{p} 'phantom'"
    else:
        raise InputError(f"{p}: no phantom geometry; add a 'phantom' entry to the capture or pass --phantom FILE")
    geometry = parse_geometry(geo_data, source)
    size = data.get("image_size")
    if size is not None and not (isinstance(size, list) and len(size) == 2
                                 and all(isinstance(v, int) and v > 0 for v in size)):
        raise InputError(f"{p}: 'image_size' must be [W, H] in pixels (two positive integers)")
    return NWireInput(path=p, frames=[p.parent / f for f in frames], T_tracker_from_marker=T_tm,
                      T_tracker_from_phantom=T_tp, geometry=geometry,
                      image_size=(int(size[0]), int(size[1])) if size else None)


def read_frame(cap: NWireInput, i: int) -> np.ndarray:
    """Frame ``i`` as a grey image.

    Raises:
        InputError: the file is missing, unreadable or of the wrong size.
    """
    f = cap.frames[i]
    if not f.is_file():
        raise InputError(f"{cap.path}: frames[{i}] = {f.name!r} is missing ({f}); restore the frame or remove it "
                         "together with its poses")
    img = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise InputError(f"{cap.path}: frames[{i}] ({f}) cannot be read as an image; export the frames as PNG")
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2GRAY if img.shape[2] == 4 else cv2.COLOR_BGR2GRAY)
    if img.dtype != np.uint8:
        img = cv2.normalize(img.astype(np.float32), None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if cap.image_size is not None and (img.shape[1], img.shape[0]) != cap.image_size:
        raise InputError(f"{cap.path}: frames[{i}] ({f.name}) is {img.shape[1]}x{img.shape[0]} px but image_size "
                         f"says {cap.image_size[0]}x{cap.image_size[1]}")
    return img


def detect_all(cap: NWireInput, progress: bool = False) -> tuple[list[np.ndarray], list[np.ndarray], tuple[int, int]]:
    """Dots and N patterns of every frame; returns (dots per frame, triplets per frame, image size)."""
    idx: Any = range(len(cap.frames))
    if progress:
        from tqdm import tqdm
        idx = tqdm(idx, desc="N-wire frames", unit="frame", file=sys.stderr, leave=False)
    dots, trips, size = [], [], (0, 0)
    for i in idx:
        img = read_frame(cap, i)
        size = (img.shape[1], img.shape[0])
        d = detect_dots(img)
        dots.append(d)
        trips.append(find_n_patterns(d, cap.geometry.n_layers))
    if not any(len(d) for d in dots):
        raise CalibrationError(f"{cap.path}: no wire dots found in any of the {len(dots)} frames; check that the "
                               "wires are inside the image (depth, focus) and bright (gain), and that --input is an "
                               "N-wire capture")
    return dots, trips, size


def calibrate_capture(cap: NWireInput, min_frames: int = MIN_FRAMES, progress: bool = False
                      ) -> tuple[NWireResult, list[np.ndarray], list[np.ndarray], tuple[int, int]]:
    """Detect and calibrate; returns the result, dots and triplets per frame, and the image size."""
    dots, trips, size = detect_all(cap, progress)
    wrap = _loo_bar if progress else None
    res = calibrate_nwire(trips, cap.T_tracker_from_marker, cap.T_tracker_from_phantom, cap.geometry,
                          min_frames=min_frames, progress=wrap)
    return res, dots, trips, size


def _loo_bar(it: Any) -> Any:
    """A progress bar over the leave-one-out refits (stderr)."""
    from tqdm import tqdm
    return tqdm(it, desc="leave-one-out", unit="fit", file=sys.stderr, leave=False)


def _frame_panel(cap: NWireInput, res: NWireResult, dots: list[np.ndarray], trips: list[np.ndarray]) -> np.ndarray:
    """The used frame with the most dots: detected dots (green), fitted N lines (yellow), and where the
    calibration puts the wire crossings (red crosses)."""
    i = max(res.frames_used, key=lambda k: len(dots[k]))
    img = cv2.cvtColor(read_frame(cap, i), cv2.COLOR_GRAY2BGR)
    s = max(1, int(round(img.shape[1] / 600)))
    for t in trips[i]:
        cv2.line(img, tuple(int(round(c)) for c in t[0]), tuple(int(round(c)) for c in t[2]), (0, 220, 255), s)
    for u, v, _ in dots[i]:
        cv2.circle(img, (int(round(u)), int(round(v))), 6 * s, (60, 200, 60), s, cv2.LINE_AA)
    T_phantom_from_image = np.linalg.inv(cap.T_tracker_from_phantom[i]) @ cap.T_tracker_from_marker[i] \
        @ res.T_marker_from_image
    for u, v in predicted_dots(cap.geometry, T_phantom_from_image):
        if np.isfinite(u) and np.isfinite(v):
            cv2.drawMarker(img, (int(round(u)), int(round(v))), (40, 40, 230), cv2.MARKER_CROSS, 10 * s, s)
    return rp.image_panel(f"frame {i}: dots (green), N lines (yellow), calibrated wire crossings (red)", img)


def build_report(cap: NWireInput, res: NWireResult, dots: list[np.ndarray], trips: list[np.ndarray],
                 passed: bool, max_rms: float) -> rp.Report:
    """Detected dots and fitted N's on a frame, residuals per frame, leave-one-out errors."""
    sx, sy = res.spacing_mm_per_px
    pre, tre = res.loo_pre_mm, res.loo_tre_mm
    lines = [f"phantom {cap.geometry.name}: {cap.geometry.n_layers} N layers; {len(res.frames_used)} of "
             f"{len(cap.frames)} frames used, {sum(len(d) for d in dots)} dots found, {len(res.point_px)} N patterns",
             f"pixel spacing {sx:.5f} x {sy:.5f} mm/px (columns x rows)",
             f"fit residual RMS {res.rms_mm:.3f} mm (limit {max_rms:.2f}), {int((~res.inlier).sum())} outlier points",
             f"leave-one-frame-out: point reconstruction error RMS {_rms(pre):.3f} mm (max {np.max(pre):.3f}), "
             f"TRE at the side wires RMS {_rms(tre):.3f} mm (max {np.max(tre):.3f})"]
    per_frame = np.array([_rms(res.residuals_mm[res.point_frame == i]) for i in res.frames_used])
    flagged = [bool(np.any(~res.inlier[res.point_frame == i])) for i in res.frames_used]
    labels = [str(i) for i in res.frames_used]
    panels = [_frame_panel(cap, res, dots, trips),
              rp.bar_panel("fit residual per frame (RMS; red: has outliers)", per_frame, "mm", limit=max_rms,
                           flagged=flagged, labels=labels),
              rp.bar_panel("leave-one-out point reconstruction error per frame", pre, "mm", labels=labels),
              rp.bar_panel("leave-one-out TRE at the side wires per frame", tre, "mm", labels=labels)]
    return rp.Report("Ultrasound probe calibration (N-wire phantom)", lines, passed, panels)


def _rms(x: np.ndarray) -> float:
    x = np.asarray(x, float)
    return float(np.sqrt(np.mean(x ** 2))) if x.size else float("nan")


def run_nwire(args: argparse.Namespace) -> int:
    """``calibrate us-probe --method nwire``: calibrate, write the file and the report, print the figures."""
    if args.min_frames < 3:
        raise InputError("--min-frames must be at least 3")
    cap = load_nwire_input(args.input, args.phantom, args.min_frames)
    res, dots, trips, size = calibrate_capture(cap, args.min_frames, progress=not getattr(args, "json", False))
    max_rms = float(getattr(args, "max_rms", 2.0))
    passed = res.rms_mm <= max_rms
    report = build_report(cap, res, dots, trips, passed, max_rms)
    if not passed:
        report.save(report_path(args))
        raise CalibrationError(f"N-wire calibration residual {res.rms_mm:.2f} mm RMS exceeds --max-rms {max_rms:.2f} "
                               "mm; check the phantom geometry and the phantom/probe poses and record again (report "
                               "written)")
    inl = res.residuals_mm[res.inlier]
    residuals = {"rms_mm": res.rms_mm, "max_mm": float(inl.max()), "n": int(res.inlier.sum()),
                 "n_outliers": int((~res.inlier).sum()),
                 "loo_pre_rms_mm": _rms(res.loo_pre_mm), "loo_pre_max_mm": float(np.max(res.loo_pre_mm)),
                 "loo_tre_rms_mm": _rms(res.loo_tre_mm), "loo_tre_max_mm": float(np.max(res.loo_tre_mm))}
    extra = {"spacing_mm_per_px": list(res.spacing_mm_per_px), "image_size": list(size),
             "frames_total": len(cap.frames), "frames_used": len(res.frames_used),
             "frames_used_index": list(res.frames_used), "dots_found": int(sum(len(d) for d in dots)),
             "n_patterns": int(len(res.point_px)), "phantom": cap.geometry.name,
             "wire1_on_image_right": res.flipped, "layers_deepest_first": res.reversed_layers,
             "sweep_extent_mm": res.pose_spread[0], "sweep_rotation_deg": res.pose_spread[1]}
    Calibration(FrameName.IMAGE, FrameName.MARKER, res.T_marker_from_image, method="n-wire phantom",
                residuals=residuals, devices=devices(args), extra=extra).save(args.out)
    summary = {"T_marker_from_image": res.T_marker_from_image, **residuals, **extra, "method": "n-wire phantom"}
    summary.pop("frames_used_index")
    return emit(args, report, summary, report.lines)
