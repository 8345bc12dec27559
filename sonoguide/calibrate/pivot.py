"""``sonoguide calibrate pivot``: the stylus tip from poses taken while it pivots in a divot.

Offline: ``--input F`` holds ``{"T_tracker_from_stylus": [N 4x4 mm]}``. Live: ``--igtl HOST:PORT``
reads the stylus pose from an OpenIGTLink tracker (PLUS, 3D Slicer), guides the engineer on the
terminal and stops when the tip is known well enough; ``--save-capture F`` keeps the poses in the
offline layout. The result (``--out``) is the tip as a transform from ``stylus_tip`` to
``stylus`` (a translation), with the pivot point in the tracker frame under ``extra``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np

from calibration import report as rp
from calibration.inputs import load_capture, read_transforms
from calibration.io import Calibration
from calibration.pivot import PivotNoise, PivotResult, pivot_algebraic, pivot_robust
from core.errors import CalibrationError, InputError
from core.frames import FrameName
from core.se3 import make_T
from sonoguide.calibrate.common import add_output_arguments, devices, emit

log = logging.getLogger(__name__)

KEY = "T_tracker_from_stylus"
UNCERTAIN_TIP_MM = 0.25
"""A tip whose 1-sigma uncertainty (3-D) is larger earns a warning to tilt further or take more poses."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", metavar="F", help=f'recorded capture: {{"{KEY}": [N 4x4 mm]}}')
    src.add_argument("--igtl", metavar="HOST:PORT", help="live: read the stylus pose from this OpenIGTLink server")
    p.add_argument("--igtl-device", default="StylusToTracker", metavar="NAME",
                   help="live: name of the stylus TRANSFORM messages (default StylusToTracker)")
    p.add_argument("--poses", type=int, default=120, metavar="N", help="live: most poses to take (default 120)")
    p.add_argument("--target-std", type=float, default=0.15, metavar="MM",
                   help="live: stop once the tip's 1-sigma uncertainty is below this (default 0.15 mm)")
    p.add_argument("--timeout", type=float, default=120.0, metavar="S", help="live: give up after S seconds")
    p.add_argument("--save-capture", metavar="F", help="live: also write the poses in the --input layout")
    p.add_argument("--method", choices=("robust", "algebraic"), default="robust",
                   help="robust (noise-weighted, rejects marker glitches; default) or algebraic (plain least squares)")
    p.add_argument("--noise-mm", type=float, default=PivotNoise.translation_mm, metavar="MM",
                   help=f"tracker translation noise per axis, 1 sigma (default {PivotNoise.translation_mm})")
    p.add_argument("--noise-deg", type=float, default=PivotNoise.rotation_deg, metavar="DEG",
                   help=f"tracker rotation noise per axis, 1 sigma (default {PivotNoise.rotation_deg})")
    p.add_argument("--max-rms", type=float, default=1.0, metavar="MM",
                   help="refuse the result when the residual RMS is larger (default 1.0 mm)")
    add_output_arguments(p, "calibration file to write (stylus_tip -> stylus)")


def solve(T: np.ndarray, args: argparse.Namespace) -> PivotResult:
    """Run the chosen method on the poses."""
    if args.method == "algebraic":
        return pivot_algebraic(T)
    if not (args.noise_mm > 0 and args.noise_deg >= 0):
        raise InputError("--noise-mm must be > 0 and --noise-deg >= 0")
    return pivot_robust(T, PivotNoise(args.noise_mm, args.noise_deg))


def capture_live(args: argparse.Namespace) -> np.ndarray:
    """Take stylus poses from the OpenIGTLink tracker until the tip is known well enough.

    Prints what to do and the progress on stderr; returns the poses ``(N, 4, 4)``.

    Raises:
        DeviceError: the tracker cannot be reached.
        CalibrationError: the time ran out before enough motion was seen.
    """
    from tqdm import tqdm

    from core.types import Validity
    from vision.tracking.igtl import IgtlConfig, IgtlPoseSource

    host, _, port = args.igtl.rpartition(":")
    if not host or not port.isdigit():
        raise InputError(f"--igtl {args.igtl!r}: write HOST:PORT, e.g. --igtl 127.0.0.1:18944")
    poses: list[np.ndarray] = []
    last_seq = None
    deadline = time.monotonic() + args.timeout
    sys.stderr.write("Put the stylus tip in the divot and pivot it: trace a cone of 20-30 deg around the "
                     "divot, keeping the tip in it.\n")
    with IgtlPoseSource(IgtlConfig(host=host, port=int(port), device_name=args.igtl_device)) as src, \
            tqdm(total=args.poses, desc="pivot poses", unit="pose", file=sys.stderr) as bar:
        src.connect()
        while len(poses) < args.poses:
            if time.monotonic() > deadline:
                break
            m = src.read(timeout_s=0.5)
            if m.validity is not Validity.OK or m.t_capture_ns == last_seq:
                continue
            last_seq = m.t_capture_ns
            T = np.asarray(m.T_camera_from_board, float)  # the measured pose, here T_tracker_from_stylus
            if poses and np.linalg.norm(T[:3, :3] - poses[-1][:3, :3]) < 0.01:
                continue  # the stylus has not turned: no new information
            poses.append(T)
            bar.update(1)
            if len(poses) >= 12 and len(poses) % 6 == 0:
                try:
                    r = solve(np.array(poses), args)
                except CalibrationError as exc:
                    bar.set_postfix_str(str(exc).split(";")[-1].strip()[:60])
                    continue
                std = float(np.linalg.norm(r.tip_std_mm))
                bar.set_postfix_str(f"tip +-{std:.2f} mm")
                if std < args.target_std and len(poses) >= 30:
                    sys.stderr.write(f"good enough: tip known to {std:.2f} mm after {len(poses)} poses\n")
                    break
    if args.save_capture:
        Path(args.save_capture).write_text(json.dumps({KEY: [p.tolist() for p in poses]}) + "\n")
    if len(poses) < 8:
        raise CalibrationError(f"only {len(poses)} distinct stylus poses arrived from {args.igtl} "
                               f"({args.igtl_device}) in {args.timeout:.0f} s; check that the stylus is tracked "
                               "and pivot it in the divot")
    return np.array(poses)


def build_report(r: PivotResult, T: np.ndarray, passed: bool, max_rms: float) -> rp.Report:
    """Per-pose residuals (rejected in red) and the tip's positions around the pivot point."""
    tips = np.einsum("nij,j->ni", T[:, :3, :3], r.tip_stylus_mm) + T[:, :3, 3] - r.pivot_tracker_mm
    # the two directions in which the tips scatter most
    _, _, Vt = np.linalg.svd(tips[r.inliers] - tips[r.inliers].mean(axis=0))
    plane = tips @ Vt[:2].T
    lines = [f"method {r.method}: tip (stylus, mm) {np.round(r.tip_stylus_mm, 3).tolist()} "
             f"+- {np.round(r.tip_std_mm, 3).tolist()} (1 sigma)",
             f"pivot point (tracker, mm) {np.round(r.pivot_tracker_mm, 2).tolist()}",
             f"residual RMS {r.rms_mm:.3f} mm (limit {max_rms:.2f}), max {r.residuals_mm[r.inliers].max():.3f} mm, "
             f"{int(r.inliers.sum())} of {len(T)} poses used, {r.n_rejected} rejected as glitches",
             "rotation spread (deg, principal axes): " + ", ".join(f"{s:.1f}" for s in r.motion.spread_deg)]
    std = float(np.linalg.norm(r.tip_std_mm))
    if std > UNCERTAIN_TIP_MM:
        lines.append(f"warning: the tip is known only to +-{std:.2f} mm (1 sigma); tilt the stylus further (20-30 deg "
                     "in every direction around the divot) or take more poses, and calibrate again")
    return rp.Report("Pivot calibration", lines, passed, [
        rp.bar_panel("residual per pose (red: rejected)", r.residuals_mm, "mm", limit=max_rms,
                     flagged=~r.inliers),
        rp.scatter_panel("tip around the pivot point (2 main directions)",
                         [("used", plane[r.inliers]), ("rejected", plane[~r.inliers])], "mm", circle=max_rms)])


def run(args: argparse.Namespace) -> int:
    """Calibrate, write the file and the report, print the figures."""
    devs = devices(args)
    if args.input:
        data = load_capture(args.input, "pivot capture", (KEY,))
        T = read_transforms(data, KEY, args.input)
    else:
        T = capture_live(args)
    r = solve(T, args)
    passed = r.rms_mm <= args.max_rms
    report = build_report(r, T, passed, args.max_rms)
    if not passed:
        report.save(Path(args.report) if args.report else Path(args.out).with_suffix(".png"))
        raise CalibrationError(f"pivot residual {r.rms_mm:.2f} mm RMS exceeds --max-rms {args.max_rms:.2f} mm; "
                               "keep the tip still in the divot while pivoting, check the stylus marker, and "
                               "record again (report written)")
    cal = Calibration(
        FrameName.STYLUS_TIP, FrameName.STYLUS, make_T(np.eye(3), r.tip_stylus_mm), method=f"pivot ({r.method})",
        residuals={"rms_mm": r.rms_mm, "max_mm": float(r.residuals_mm[r.inliers].max()), "n": int(r.inliers.sum()),
                   "n_rejected": r.n_rejected},
        devices=devs,
        extra={"pivot_tracker_mm": r.pivot_tracker_mm, "tip_std_mm": r.tip_std_mm,
               "rotation_spread_deg": list(r.motion.spread_deg),
               "rejected_poses": np.flatnonzero(~r.inliers).tolist()})
    cal.save(args.out)
    summary = {"tip_stylus_mm": r.tip_stylus_mm, "pivot_tracker_mm": r.pivot_tracker_mm, "rms_mm": r.rms_mm,
               "tip_std_mm": r.tip_std_mm, "n_poses": len(T), "n_rejected": r.n_rejected,
               "rejected": np.flatnonzero(~r.inliers), "method": r.method,
               "rotation_spread_deg": list(r.motion.spread_deg)}
    return emit(args, report, summary, report.lines)
