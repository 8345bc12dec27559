"""Temporal calibration: the lag between the ultrasound and the pose streams, for [tracking.sync] temporal_offset_ms.

Record: put the probe in a water bath over its flat bottom (or over a flat plate) so the bottom
shows as one bright line across the image, then move the probe up and down by 10-20 mm, at least
5 times over 10-30 s, varying the speed, while the ultrasound frames and the probe marker's poses
are recorded with their capture times. Then::

    sonoguide calibrate temporal --input DIR --out temporal.toml

``DIR`` holds ``frames/*.png``, ``frames.jsonl`` (``{"frame": "0000.png", "t_ns": ...}`` per
line), ``poses.jsonl`` (``{"t_ns": ..., "T_tracker_from_marker": 4x4 or null}`` per line) and
optionally ``capture.json`` (``{"mm_per_px": [row, col]}``); see
:mod:`calibration.temporal_capture`. The plate line is found in every frame
(:mod:`calibration.line_detect`), its distance from the transducer is cross-correlated with the
probe's height from the poses (:mod:`calibration.temporal`), and the lag is written as a TOML
snippet to merge into the configuration file::

    [tracking.sync]
    temporal_offset_ms = 42.3

Live: ``--igtl HOST:PORT`` records the image and the probe pose from PLUS for ``--seconds`` into a
capture folder first (``sonoguide.calibrate.temporal_live``).

The offset is added to an ultrasound frame's capture time before its pose is looked up (positive:
the poses are stamped later than the images). ``--out`` ending in ``.json`` writes JSON instead.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from calibration.line_detect import LineDetection, detect_line
from calibration.temporal import TemporalConfig, TemporalResult, estimate_lag
from calibration.temporal_capture import load_temporal_capture, parse_spacing
from calibration.temporal_report import temporal_report
from core.errors import CalibrationError, InputError
from core.version import __version__
from sonoguide.calibrate.common import add_output_arguments, devices, emit
from sonoguide.calibrate.temporal_live import add_live_arguments, record_igtl

MIN_LINE_SHARE = 0.5
"""The plate line must be found in at least this share of the frames."""
MAX_STD_MS = 1.0
"""A larger standard error of the offset earns a warning to record longer."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's options."""
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.description = __doc__.split("\n\n", 1)[1] if __doc__ else None
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--igtl", metavar="HOST:PORT",
                     help="live: record the image and the probe pose from this OpenIGTLink server (PLUS) for "
                          "--seconds, then calibrate on that recording")
    src.add_argument("--input", metavar="DIR",
                     help="capture folder: frames/*.png, frames.jsonl ({\"frame\": NAME, \"t_ns\": T} per line), "
                          "poses.jsonl ({\"t_ns\": T, \"T_tracker_from_marker\": 4x4 mm or null} per line), "
                          "optional capture.json ({\"mm_per_px\": [row, col]})")
    p.add_argument("--pixel-spacing", metavar="ROW[,COL]",
                   help="ultrasound pixel spacing in mm per pixel (depth per row, lateral per column); "
                        "overrides capture.json's mm_per_px")
    p.add_argument("--max-lag-ms", type=float, default=TemporalConfig.max_lag_ms,
                   help="search the offset within +- this many ms (default %(default)g)")
    p.add_argument("--min-motion-mm", type=float, default=TemporalConfig.min_motion_mm,
                   help="refuse a recording whose plate line moved less (default %(default)g mm)")
    add_live_arguments(p)
    add_output_arguments(p, "where to write the result: a TOML snippet with [tracking.sync] temporal_offset_ms "
                            "to merge into the configuration file (a name ending in .json writes JSON)")


def _detect_all(paths: list[Path], mm_per_px: tuple[float, float]) -> list[LineDetection | None]:
    out: list[LineDetection | None] = []
    for path in tqdm(paths, desc="finding the plate line", unit="frame", disable=None, leave=False):
        img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if img is None:
            raise InputError(f"{path} cannot be read as an image; the frames must be PNG files")
        out.append(detect_line(img, mm_per_px))
    return out


def _write(path: Path, result: TemporalResult, record: dict) -> None:
    if path.suffix.lower() == ".json":
        text = json.dumps({"tracking": {"sync": {"temporal_offset_ms": round(result.offset_ms, 3)}},
                           "temporal_calibration": record}, indent=2) + "\n"
    else:
        text = "\n".join([
            f"# sonoguide calibrate temporal, {record['date']}, {record['software_version']}",
            f"# offset {result.offset_ms:+.3f} ms +- {result.std_ms:.3f} ms (1 sigma)",
            f"# input {record['input']}: correlation {result.peak_correlation:.4f}, residual "
            f"{result.residual_rms_mm:.3f} mm RMS, halves {result.halves_ms[0]:+.2f} / {result.halves_ms[1]:+.2f} ms",
            "# added to an ultrasound frame's capture time before its pose is looked up; merge into the configuration",
            "[tracking.sync]",
            f"temporal_offset_ms = {result.offset_ms:.3f}",
            ""])
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {path} ({exc.strerror or exc}); pass --out with a writable path") from None


def run(args: argparse.Namespace) -> int:
    """Run the temporal calibration on a recorded capture (see the module docstring)."""
    if not (0.0 < args.max_lag_ms <= 10000.0) or not math.isfinite(args.max_lag_ms):
        raise InputError("--max-lag-ms must lie in (0, 10000] (the bounds of tracking.sync.temporal_offset_ms)")
    if not (0.0 < args.min_motion_mm < 1000.0):
        raise InputError("--min-motion-mm must be a positive number of millimetres")
    spacing = parse_spacing(args.pixel_spacing) if args.pixel_spacing else None
    dev = devices(args)
    if args.igtl:
        args.input = args.record_dir or str(Path(args.out).with_suffix(".capture"))
        record_igtl(args, Path(args.input))
    cap = load_temporal_capture(args.input, spacing)
    found = _detect_all(cap.frame_paths, cap.mm_per_px)
    ok = np.array([d is not None for d in found])
    if ok.sum() < MIN_LINE_SHARE * len(found):
        raise CalibrationError(f"the plate line was found in only {int(ok.sum())} of {len(found)} frames; image the "
                               "flat bottom of the water bath (or a flat plate) so that it crosses the whole image as "
                               "one bright line, with water between it and the probe, and record again")
    dist = np.array([d.distance_mm for d in found if d is not None])
    cfg = TemporalConfig(max_lag_ms=args.max_lag_ms, min_motion_mm=args.min_motion_mm)
    result = estimate_lag(cap.frame_t_ns[ok], dist, cap.pose_t_ns, cap.T_tracker_from_marker, cfg)
    spread = abs(result.halves_ms[0] - result.halves_ms[1])
    lines = [
        f"temporal offset: {result.offset_ms:+.2f} ms +- {result.std_ms:.2f} ms (1 sigma)  ([tracking.sync] "
        "temporal_offset_ms, added to an ultrasound frame's time before its pose is looked up)",
        f"correlation {result.peak_correlation:.4f}, residual {result.residual_rms_mm:.3f} mm RMS, "
        f"first/second half {result.halves_ms[0]:+.2f} / {result.halves_ms[1]:+.2f} ms",
        f"plate line in {int(ok.sum())} of {len(found)} frames, {len(cap.pose_t_ns)} poses ({cap.n_lost} lost), "
        f"{result.n_outliers} outliers dropped; motion {result.motion_mm:.1f} mm, {result.cycles} strokes, "
        f"{result.duration_s:.1f} s",
        f"line motion per probe motion {result.scale:.3f} (about 1 when the pixel spacing is right)",
    ]
    if spread > 5.0 or result.std_ms > MAX_STD_MS:
        lines.append(f"warning: the offset is uncertain (+- {result.std_ms:.1f} ms, halves {spread:.1f} ms apart); "
                     "record longer (20-30 s) with larger, faster strokes")
    if abs(result.scale - 1.0) > 0.1:
        lines.append(f"warning: the line moves {result.scale:.2f} mm per mm of probe motion; check the pixel "
                     "spacing and that the probe moves along the plate's normal")
    record = {"temporal_offset_ms": result.offset_ms, "std_ms": result.std_ms,
              "peak_correlation": result.peak_correlation,
              "residual_rms_mm": result.residual_rms_mm, "halves_ms": list(result.halves_ms),
              "scale": result.scale, "motion_mm": result.motion_mm, "strokes": result.cycles,
              "duration_s": result.duration_s, "frames": len(found), "frames_with_line": int(ok.sum()),
              "poses": len(cap.pose_t_ns), "poses_lost": cap.n_lost, "outliers": result.n_outliers,
              "mm_per_px": list(cap.mm_per_px), "input": str(args.input), "devices": dev,
              "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
              "software_version": f"sonoguide {__version__}"}
    out = Path(args.out)
    _write(out, result, record)
    k = int(np.flatnonzero(ok)[len(np.flatnonzero(ok)) // 2])
    frame = cv2.imread(str(cap.frame_paths[k]), cv2.IMREAD_GRAYSCALE)
    report = temporal_report(result, lines, frame, found[k], cap.mm_per_px)
    summary = {k2: v for k2, v in record.items() if k2 not in ("date", "software_version", "input")}
    return emit(args, report, summary, lines)
