"""``sonoguide calibrate us-probe``: ``T_marker_from_image`` (with the pixel spacing) of the ultrasound probe.

``--method points`` (default): ``--input F`` holds ``{"image_size": [W, H], "pixels": [N [u, v]],
"T_tracker_from_marker": [N 4x4 mm], "points_tracker_mm": [N [x, y, z]]}``; optionally
``"images": [N paths]`` (relative to F) with ``null`` pixels, which are then marked
automatically at the brightest point target, and ``"validation": {"pixels", "T_tracker_from_marker",
"points_tracker_mm"}`` with independent targets for the target registration error.
``--method points --igtl HOST:PORT``: live, from a PLUS (OpenIGTLink) server streaming the image,
the probe and a tracked stylus (``sonoguide.calibrate.us_points_live``).
``--method nwire``: frames of an N-wire phantom (see ``sonoguide.calibrate.us_nwire``); live with
``--igtl`` (image, probe and phantom from PLUS; ``sonoguide.calibrate.us_nwire_live``).
The result is the transform from ``image`` (px) to ``marker`` (mm): rotation times per-axis mm/px.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from calibration import report as rp
from calibration.inputs import load_capture, read_points, read_transforms, same_length
from calibration.io import Calibration
from calibration.us_points import (PointCalibration, PointCapture, PointNoise, calibrate_points,
                                   calibrate_points_linear, find_bright_point, target_errors)
from core.errors import CalibrationError, InputError
from core.frames import FrameName
from sonoguide.calibrate.common import add_output_arguments, devices, emit, report_path
from sonoguide.calibrate.us_nwire_live import add_nwire_live_arguments, record_nwire
from sonoguide.calibrate.us_points_live import add_live_arguments, capture_points_live

log = logging.getLogger(__name__)

KEYS = ("image_size", "pixels", "T_tracker_from_marker", "points_tracker_mm")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's arguments (the N-wire method adds its own)."""
    from sonoguide.calibrate import us_nwire

    p.add_argument("--method", choices=("points", "nwire"), default="points",
                   help="points: a point target at known tracker positions (default); nwire: an N-wire phantom")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", metavar="F",
                     help="points: the capture JSON (see the description); nwire: see --method nwire")
    src.add_argument("--igtl", metavar="HOST:PORT",
                     help="points, live: image, probe and stylus from this OpenIGTLink server (PLUS)")
    p.add_argument("--solver", choices=("robust", "linear"), default="robust",
                   help="points: robust (noise-weighted, rejects mis-marked points; default) or linear "
                        "(plain least squares, for comparison)")
    p.add_argument("--pixel-noise", type=float, default=PointNoise.pixel_px, metavar="PX",
                   help=f"points: marking noise per axis, 1 sigma (default {PointNoise.pixel_px})")
    p.add_argument("--target-noise", type=float, default=PointNoise.target_mm, metavar="MM",
                   help=f"points: target position noise per axis (default {PointNoise.target_mm})")
    p.add_argument("--pose-noise", type=float, nargs=2, default=(PointNoise.pose_mm, PointNoise.pose_deg),
                   metavar=("MM", "DEG"), help="points: marker pose noise per axis (default 0.25 0.1)")
    p.add_argument("--max-rms", type=float, default=2.0, metavar="MM",
                   help="refuse the result when the residual RMS is larger (default 2.0 mm)")
    us_nwire.add_nwire_arguments(p)
    add_live_arguments(p)
    add_nwire_live_arguments(p)
    add_output_arguments(p, "calibration file to write (image -> marker)")


def _pixels(data: dict[str, Any], path: str, n_expected: int | None = None) -> np.ndarray:
    """The pixels, marking ``null`` entries automatically from ``images``."""
    raw = data["pixels"]
    images = data.get("images")
    if not isinstance(raw, list):
        raise InputError(f"{path}: 'pixels' must be a list of [u, v] (or null with 'images')")
    if not any(p is None for p in raw):
        return read_points(data, "pixels", path, 2)
    if not isinstance(images, list) or len(images) != len(raw):
        raise InputError(f"{path}: 'pixels' holds null entries; give 'images' (one image path per point) so "
                         "they can be marked automatically, or mark them")
    out = np.zeros((len(raw), 2))
    base = Path(path).parent
    for i, (px, name) in enumerate(zip(raw, images)):
        if px is not None:
            out[i] = read_points({"p": [px]}, "p", f"{path} pixels[{i}]", 2)[0]
            continue
        img = cv2.imread(str(base / str(name)), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise InputError(f"{path}: images[{i}] = {name!r} cannot be read as an image; fix the path")
        found = find_bright_point(img)
        if found is None:
            raise InputError(f"{path}: no clear point target in images[{i}] ({name}); mark its pixel by hand "
                             "in 'pixels' or drop that point")
        out[i] = found
    return out


def read_capture(path: str) -> tuple[PointCapture, PointCapture | None]:
    """The capture and its optional independent validation targets.

    Raises:
        InputError: missing keys, wrong shapes, NaNs, non-rigid poses, mismatched lengths.
    """
    data = load_capture(path, "ultrasound point capture", KEYS)
    size = data["image_size"]
    if (not isinstance(size, list) or len(size) != 2 or not all(isinstance(v, int) and v > 0 for v in size)):
        raise InputError(f"{path}: 'image_size' must be [W, H] in pixels (two positive integers)")
    cap = _capture(data, path, (int(size[0]), int(size[1])))
    val = None
    if isinstance(data.get("validation"), dict):
        v = data["validation"]
        missing = [k for k in KEYS[1:] if k not in v]
        if missing:
            raise InputError(f"{path}: 'validation' lacks {', '.join(missing)}")
        val = _capture(v, f"{path} validation", cap.image_size)
    return cap, val


def _capture(data: dict[str, Any], path: str, size: tuple[int, int]) -> PointCapture:
    px = _pixels(data, path)
    T = read_transforms(data, "T_tracker_from_marker", path)
    pts = read_points(data, "points_tracker_mm", path, 3)
    same_length(path, pixels=px, T_tracker_from_marker=T, points_tracker_mm=pts)
    return PointCapture(size, px, T, pts)


def build_report(cal: PointCalibration, cap: PointCapture, tre: np.ndarray | None, passed: bool,
                 max_rms: float) -> rp.Report:
    """Residuals per point (rejected in red), leave-one-out errors, the points over the image."""
    w, h = cap.image_size
    s = min(600 / w, 300 / h)
    canvas = np.full((int(h * s) + 1, int(w * s) + 1, 3), 40, np.uint8)
    for (u, v), ok in zip(cap.pixels, cal.inliers):
        cv2.circle(canvas, (int(u * s), int(v * s)), 4, (80, 200, 80) if ok else (60, 60, 230), -1, cv2.LINE_AA)
    sx, sy = cal.spacing_mm_per_px
    lines = [f"method {cal.method}: pixel spacing {sx:.5f} x {sy:.5f} mm/px (columns x rows)",
             f"residual RMS {cal.rms_mm:.3f} mm (limit {max_rms:.2f}), {int(cal.inliers.sum())} of {len(cap.pixels)} "
             f"points used, {cal.n_rejected} rejected as mis-marked"]
    if cal.loo_mm.size:
        lines.append(f"leave-one-out reconstruction error: mean {cal.loo_mm.mean():.3f} mm, "
                     f"max {cal.loo_mm.max():.3f} mm")
    if tre is not None:
        lines.append(f"independent targets ({len(tre)}): TRE mean {tre.mean():.3f} mm, max {tre.max():.3f} mm")
    panels = [rp.bar_panel("residual per point (red: rejected)", cal.residuals_mm, "mm", limit=max_rms,
                           flagged=~cal.inliers),
              rp.image_panel("target pixels over the image (red: rejected)", canvas)]
    if cal.loo_mm.size:
        panels.append(rp.bar_panel("leave-one-out reconstruction error per point", cal.loo_mm, "mm"))
    if tre is not None:
        panels.append(rp.bar_panel("error at independent targets", tre, "mm"))
    return rp.Report("Ultrasound probe calibration (point target)", lines, passed, panels)


def run(args: argparse.Namespace) -> int:
    """Calibrate, write the file and the report, print the figures."""
    if args.method == "nwire":
        from sonoguide.calibrate import us_nwire
        if args.igtl:  # live: record the sweep as a capture folder, then calibrate it
            args.input = str(record_nwire(args, Path(args.save_capture or Path(args.out).with_suffix(".capture"))))
        return us_nwire.run_nwire(args)
    devs = devices(args)
    cap, val = read_capture(args.input) if args.input else (capture_points_live(args), None)
    if args.solver == "linear":
        cal = calibrate_points_linear(cap)
    else:
        if not (args.pixel_noise > 0 and args.target_noise >= 0 and min(args.pose_noise) >= 0):
            raise InputError("--pixel-noise must be > 0 and --target-noise, --pose-noise >= 0")
        cal = calibrate_points(cap, PointNoise(args.pixel_noise, args.target_noise, *args.pose_noise))
    tre = target_errors(cal.T_marker_from_image, val) if val is not None else None
    passed = cal.rms_mm <= args.max_rms
    report = build_report(cal, cap, tre, passed, args.max_rms)
    if not passed:
        report.save(report_path(args))
        raise CalibrationError(f"ultrasound calibration residual {cal.rms_mm:.2f} mm RMS exceeds --max-rms "
                               f"{args.max_rms:.2f} mm; check the target positions and the marked pixels and "
                               "record again (report written)")
    residuals = {"rms_mm": cal.rms_mm, "max_mm": float(cal.residuals_mm[cal.inliers].max()),
                 "n": int(cal.inliers.sum()), "n_rejected": cal.n_rejected}
    if cal.loo_mm.size:
        residuals.update(loo_mean_mm=float(cal.loo_mm.mean()), loo_max_mm=float(cal.loo_mm.max()))
    if tre is not None:
        residuals.update(tre_mean_mm=float(tre.mean()), tre_max_mm=float(tre.max()), tre_n=int(len(tre)))
    Calibration(FrameName.IMAGE, FrameName.MARKER, cal.T_marker_from_image, method=f"point target ({cal.method})",
                residuals=residuals, devices=devs,
                extra={"spacing_mm_per_px": list(cal.spacing_mm_per_px), "image_size": list(cap.image_size),
                       "rejected_points": np.flatnonzero(~cal.inliers).tolist()}).save(args.out)
    summary = {"T_marker_from_image": cal.T_marker_from_image, "spacing_mm_per_px": list(cal.spacing_mm_per_px),
               **residuals, "rejected": np.flatnonzero(~cal.inliers), "method": cal.method}
    return emit(args, report, summary, report.lines)
