"""Whole-chain check on a phantom target: where the overlay puts the target against where it is, in mm, pass/fail.

The engineer's morning check. Image a phantom target whose position the headset knows (its own
registration of the phantom) at several places in the ultrasound image and from several probe
angles; for every frame the target's pixel and the probe marker's pose are recorded. The chain

    T_headset_from_image = T_headset_from_camera @ T_camera_from_marker @ T_marker_from_image

places each pixel in the headset frame with the configured calibration files, and the distance to
the target's true position is the error. Offline::

    sonoguide calibrate verify --input capture.json --config sonoguide.toml --out verify.json

capture.json: {"pixels": [N [u, v]], "T_camera_from_marker": [N 4x4 mm], and the target as
"p_headset_target_mm": [x, y, z] (or one per frame), or "target_phantom_mm" with
"T_headset_from_phantom" (one or per frame) or with "T_world_from_phantom" and
"T_world_from_headset" (per frame), or "p_world_target_mm" with "T_world_from_headset"}.

The calibration files default to the [calibration] section of --config (image_to_marker,
camera_to_headset; checked against max_rms_mm and the device ids as the running system does) and
the limit to its verify_limit_mm. It passes when the mean per-frame error (--criterion max: the
largest) is within the limit. Writes --out (JSON: per-frame errors, summary, verdict) and a PNG
report (per-frame errors against the limit). Exit status: 0 pass, 3 fail, 2 unusable input.

Live: ``--igtl HOST:PORT --target-headset-mm X Y Z`` takes the frames from PLUS instead, the target
found as the bright point in the image (:mod:`sonoguide.calibrate.verify_live`).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import sys
from pathlib import Path


from calibration import report as rp
from calibration.io import load_calibration
from calibration.verify import CRITERIA, VerifyResult, load_verify_capture, verify_chain
from core.errors import ConfigError, InputError
from core.frames import FrameName
from core.version import __version__
from sonoguide.calibrate.common import add_output_arguments, devices, emit
from sonoguide.calibrate.verify_live import add_live_arguments, capture_verify_live

EXIT_FAIL = 3
"""Exit status when the chain's error exceeds the limit (2 is unusable input, as for every command)."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's options."""
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.description = __doc__.split("\n\n", 1)[1] if __doc__ else None
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", metavar="F", help="verification capture (JSON, layout above)")
    src.add_argument("--igtl", metavar="HOST:PORT", help="live: the image and the probe pose from this OpenIGTLink "
                                                         "server (PLUS); needs --target-headset-mm")
    p.add_argument("--config", metavar="TOML", help="configuration file whose [calibration] section names the "
                                                     "calibration files, their limits and device ids, and "
                                                     "verify_limit_mm")
    p.add_argument("--image-to-marker", metavar="F", help="image-to-marker calibration file "
                                                          "(default: calibration.image_to_marker)")
    p.add_argument("--camera-to-headset", metavar="F", help="camera-to-headset calibration file "
                                                            "(default: calibration.camera_to_headset)")
    p.add_argument("--limit-mm", type=float, metavar="MM",
                   help="pass limit (default: calibration.verify_limit_mm, 1.5 mm unless configured)")
    p.add_argument("--criterion", choices=CRITERIA, default="mean",
                   help="compare the mean per-frame error (default) or the largest one with the limit")
    add_live_arguments(p)
    add_output_arguments(p, "where to write the verification record (JSON: per-frame errors, summary, verdict)")


def _calibration_section(path: str | None):
    from sonoguide.config import CalibrationConfig, load_config
    return load_config(path).calibration if path else CalibrationConfig()


def _report(result: VerifyResult, lines: list[str]) -> rp.Report:
    r = result
    flagged = [bool(e > r.limit_mm) for e in r.errors_mm]
    e = r.error_vectors_mm
    panels = [
        rp.bar_panel("error per frame (overlay vs target)", r.errors_mm, "mm", limit=r.limit_mm, flagged=flagged),
        rp.bar_panel("out-of-plane part per frame", r.out_of_plane_mm, "mm", limit=r.limit_mm, flagged=flagged),
        rp.scatter_panel("error vectors, headset x-y", [("x-y", e[:, :2])], "mm", circle=r.limit_mm),
        rp.scatter_panel("error vectors, headset x-z", [("x-z", e[:, [0, 2]])], "mm", circle=r.limit_mm),
    ]
    return rp.Report(title="Whole-chain verification on a phantom target", lines=lines, passed=r.passed,
                     panels=panels)


def run(args: argparse.Namespace) -> int:
    """Verify the chain on a recorded capture (see the module docstring); 0 pass, 3 fail."""
    cal = _calibration_section(args.config)
    limit = args.limit_mm if args.limit_mm is not None else cal.verify_limit_mm
    if not (limit > 0 and math.isfinite(limit)):
        raise InputError(f"--limit-mm must be a positive number of mm, got {limit!r}")
    i2m_path = args.image_to_marker or cal.image_to_marker
    c2h_path = args.camera_to_headset or cal.camera_to_headset
    if not i2m_path or not c2h_path:
        missing = "--image-to-marker" if not i2m_path else "--camera-to-headset"
        raise ConfigError(f"no {missing} file: pass it, or --config with the [calibration] section that names it")
    dev = devices(args)
    want_i2m = {"probe": dev.get("probe", cal.probe_id), "camera": dev.get("camera", cal.camera_id)}
    want_c2h = {"camera": dev.get("camera", cal.camera_id), "headset": dev.get("headset", cal.headset_id)}
    i2m = load_calibration(i2m_path, FrameName.IMAGE, FrameName.MARKER, cal.max_rms_mm, want_i2m)
    c2h = load_calibration(c2h_path, FrameName.CAMERA, FrameName.HEADSET, cal.max_rms_mm, want_c2h)
    capture = load_verify_capture(args.input) if args.input else capture_verify_live(args)
    result = verify_chain(capture, i2m.matrix, c2h.matrix, limit, args.criterion)
    n = len(result.errors_mm)
    verdict = (f"{'PASS' if result.passed else 'FAIL'}: the overlay places the target {result.figure_mm:.2f} mm "
               f"({result.criterion} over {n} frames) from where it is; limit {limit:.2f} mm")
    if not result.passed:
        verdict += " - recalibrate (see the report for which part of the error dominates)"
    lines = [
        verdict,
        f"per frame: mean {result.mean_mm:.2f} mm, max {result.max_mm:.2f} mm, RMS {result.rms_mm:.2f} mm; "
        f"{result.n_over} of {n} frames over the limit",
        f"mean out-of-plane part {float(result.out_of_plane_mm.mean()):.2f} mm, in-plane "
        f"{float(result.in_plane_mm.mean()):.2f} mm; mean error vector (headset) "
        f"{', '.join(f'{v:+.2f}' for v in result.bias_mm)} mm",
        f"image-to-marker {i2m.source} ({i2m.method or 'method not recorded'}), camera-to-headset {c2h.source} "
        f"({c2h.method or 'method not recorded'})",
    ]
    record = {"passed": result.passed, "criterion": result.criterion, "limit_mm": limit, "mean_mm": result.mean_mm,
              "max_mm": result.max_mm, "rms_mm": result.rms_mm, "frames": n, "frames_over_limit": result.n_over,
              "bias_mm": result.bias_mm.tolist(), "errors_mm": result.errors_mm.tolist(),
              "out_of_plane_mm": result.out_of_plane_mm.tolist(), "image_to_marker": str(i2m.source),
              "camera_to_headset": str(c2h.source), "input": str(args.input or args.igtl)}
    out = Path(args.out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({**record, "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                                   "software_version": f"sonoguide {__version__}"}, indent=2) + "\n",
                       encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {out} ({exc.strerror or exc}); pass --out with a writable path") from None
    report = _report(result, lines)
    emit(args, report, {k: v for k, v in record.items() if k not in ("errors_mm", "out_of_plane_mm")}, lines)
    if not result.passed and args.json:
        sys.stderr.write(verdict + "\n")  # the one line a person reads, beside the JSON line on stdout
    return 0 if result.passed else EXIT_FAIL
