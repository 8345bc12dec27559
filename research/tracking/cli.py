"""``sonoguide track ...``: evaluate the probe tracking on data sets of stills and render such data sets.

* ``sonoguide track eval --data DIR [--json] [--report FILE] [--config FILE] [--method sonoguide|opencv]``
* ``sonoguide track render --out DIR [--n N] [--board board.json] [--camera camera.json] [--seed S]
  [--depth MIN MAX] [--conditions LIST]``

The real-time stage they measure is :mod:`vision.tracking`; the ``track`` group is made with
:func:`core.subcommands.command_group`, so a real-time action can join it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from core.subcommands import command_group

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``track`` and its actions to the ``sonoguide`` parser."""
    tsub = command_group(sub, "track", help="probe pose tracking: evaluate on stills, render test data",
                         dest="track_command")

    e = tsub.add_parser("eval", help="detection rate, pose error and throughput on a folder of stills",
                        description="DIR holds camera.json, board.json, frames/*.png and optionally truth.jsonl "
                                    "lines {\"frame\": \"0000.png\", \"T_camera_from_board\": 4x4 mm}.")
    e.add_argument("--data", required=True, metavar="DIR", help="data folder")
    e.add_argument("--json", action="store_true", help="print the summary as one JSON line (last line)")
    e.add_argument("--report", metavar="FILE", help="PNG report path (default: DIR/track_eval.png, skipped if "
                                                    "DIR is read-only)")
    e.add_argument("--no-report", action="store_true", help="do not write the PNG report")
    e.add_argument("--config", metavar="FILE", help="TOML configuration whose [tracking] section is used")
    e.add_argument("--per-frame", action="store_true", help="also print one line per frame")
    e.add_argument("--method", choices=("sonoguide", "opencv"), default="sonoguide",
                   help="tracker to evaluate: sonoguide's board tracker (default) or the stock OpenCV "
                        "CharucoDetector + solvePnP, for comparison")
    e.set_defaults(func=_eval)

    r = tsub.add_parser("render", help="render a data set of stills with ground truth (eval layout)")
    r.add_argument("--out", required=True, metavar="DIR", help="output folder (must not hold frames yet)")
    r.add_argument("--n", type=int, default=100, help="number of frames (default 100)")
    r.add_argument("--board", metavar="FILE", help="board JSON (default: 5x7 ChArUco, 10 mm squares, DICT_4X4_50)")
    r.add_argument("--camera", metavar="FILE", help="camera JSON (default: 1280x720, 60 deg, mild distortion)")
    r.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    r.add_argument("--depth", type=float, nargs=2, metavar=("MIN", "MAX"), default=(250.0, 700.0),
                   help="board-centre depth range in mm (default 250 700)")
    r.add_argument("--conditions", default="all", metavar="LIST",
                   help="comma-separated imaging conditions the frames cycle through (clean, defocus, motion, "
                        "noise, lighting, glare, compression, occlusion; default all), or 'mixed' for a random mix "
                        "of blur, noise, light and occlusion on every frame")
    r.set_defaults(func=_render)


def _tracking_config(path: str | None):
    from core.configtools import section_from_file
    from vision.tracking.config import TrackingConfig
    return section_from_file(TrackingConfig, path, "tracking")


def _eval(args: argparse.Namespace) -> int:
    from core.errors import InputError
    from research.tracking.evaluate import evaluate, format_summary
    from research.tracking.report import write_report

    summary = evaluate(args.data, _tracking_config(args.config), progress=sys.stderr.isatty(), method=args.method)
    if args.per_frame:
        for f in summary.frames:
            te = "" if f.trans_err_mm is None else f" trans {f.trans_err_mm:.3f} mm rot {f.rot_err_deg:.3f} deg"
            print(f"{f.frame} {f.validity} {f.reason or '-'} points {f.n_points} rms {f.reproj_err_px:.3f} px "
                  f"std {f.trans_std_mm:.2f} mm {f.rot_std_deg:.2f} deg{te} {1000 * f.seconds:.1f} ms")
    print(format_summary(summary))
    if not args.no_report:
        path = Path(args.report) if args.report else Path(args.data) / "track_eval.png"
        try:
            print(f"report            {write_report(summary, path)}")
        except InputError as exc:
            if args.report:
                raise
            logger.warning("report not written: %s", exc)
    if args.json:
        print(summary.json_line())
    return 0


def _render(args: argparse.Namespace) -> int:
    from core.camera import CameraIntrinsics
    from research.tracking.dataset import DEFAULT_BOARD, RenderSettings, default_camera, render_dataset
    from vision.tracking.board import load_board

    from research.tracking.conditions import CONDITIONS

    board = load_board(args.board) if args.board else load_board(DEFAULT_BOARD)
    camera = CameraIntrinsics.load(args.camera) if args.camera else default_camera()
    spec = args.conditions.strip()
    conditions = () if spec == "mixed" else CONDITIONS if spec == "all" else tuple(
        c.strip() for c in spec.split(",") if c.strip())
    out = render_dataset(args.out, n=args.n, board=board, camera=camera, seed=args.seed,
                         settings=RenderSettings(depth_mm=tuple(args.depth), conditions=conditions),
                         progress=sys.stderr.isatty())
    print(f"wrote {args.n} frames with truth to {out}")
    return 0
