"""Registers ``sonoguide calibrate`` and its actions; each action's module is imported only when run."""

from __future__ import annotations

import argparse
import importlib

ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("camera", "sonoguide.calibrate.camera", "camera intrinsics from ChArUco views (coverage advice, report)"),
    ("pivot", "sonoguide.calibrate.pivot", "stylus tip by pivoting in a divot (robust to marker glitches)"),
    ("us-probe", "sonoguide.calibrate.us_probe", "ultrasound image to probe marker (point target or N-wire phantom)"),
    ("hand-eye", "sonoguide.calibrate.hand_eye", "tracking camera to headset (AX = XB with joint refinement)"),
    ("temporal", "sonoguide.calibrate.temporal", "lag between the ultrasound and the pose streams"),
    ("verify", "sonoguide.calibrate.verify", "whole-chain check on a phantom target: error in mm, pass/fail"),
)
"""``(action, module, help)``: each module has ``add_arguments(parser)`` and ``run(args) -> int``."""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``calibrate`` and its actions to the ``sonoguide`` parser."""
    parser = sub.add_parser("calibrate", help="calibrate the transform chain (engineer's tools)",
                            description="Calibrate camera, stylus, ultrasound probe, headset and lag; every "
                                        "action writes a calibration file and a PNG report.")
    actions = parser.add_subparsers(dest="calibrate_command", metavar="ACTION", required=True)
    for name, module, help_ in ACTIONS:
        mod = importlib.import_module(module)  # tests/sonoguide/calibrate/test_cli.py imports every one
        p = actions.add_parser(name, help=help_, description=(mod.__doc__ or help_).strip().splitlines()[0])
        mod.add_arguments(p)
        p.set_defaults(func=mod.run)
