"""Camera intrinsics from PNG views of a ChArUco board: the camera file the tracker reads, and a report.

``sonoguide calibrate camera --images DIR --board BOARD.json --out camera.json [--report F] [--json]``

Every ``*.png`` in DIR is a view. The views are checked (blurred and near-duplicate views are
left out), calibrated with OpenCV (calibration/intrinsics.py), and the coverage of the image and
of the board tilt is measured (calibration/coverage.py) with advice on what views to add. The
camera file holds ``K``, ``dist`` (OpenCV's 5 coefficients), ``width``, ``height`` and the
evidence: RMS, per-view residuals and statuses, coverage, date and software version.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import sys
from pathlib import Path
from typing import Any, Iterable

import cv2
import numpy as np

from calibration.coverage import CoverageLimits, coverage_map, distortion_field_image, measure_coverage
from calibration.intrinsics import IntrinsicsOptions, IntrinsicsResult, calibrate_images
from calibration.report import Report, bar_panel, image_panel, scatter_panel
from core.jsonfile import json_types
from core.camera import CameraIntrinsics
from core.errors import InputError
from core.version import __version__
from sonoguide.calibrate.common import add_output_arguments, devices, emit
from vision.tracking.board import load_board

GOOD_RMS_PX = 0.5
"""A calibration whose reprojection RMS exceeds this is reported as FAIL (views or board suspect)."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments of ``calibrate camera``."""
    p.add_argument("--images", metavar="DIR", help="folder of PNG views of the ChArUco board (or --live)")
    p.add_argument("--board", required=True, metavar="BOARD.json", help="the board file (the tracker's format)")
    add_output_arguments(p, "camera file to write (K, dist, width, height; read by the tracker)")
    p.add_argument("--refine", type=int, default=IntrinsicsOptions().refine_iterations, metavar="N",
                   help="rounds of fronto-parallel corner refinement (Datta et al. 2009; default %(default)s)")
    p.add_argument("--min-views", type=int, default=IntrinsicsOptions().min_views, metavar="N",
                   help="usable views needed (default %(default)s)")
    live = p.add_argument_group("live mode (views from the camera, guided prompts)")
    live.add_argument("--live", action="store_true", help="collect views from the camera instead of --images")
    live.add_argument("--source", metavar="SPEC", help="device:N or folder:PATH (default: [camera] source of --config)")
    live.add_argument("--config", metavar="TOML", help="configuration whose [camera] source to use")
    live.add_argument("--target-views", type=int, default=20, metavar="N", help="views wanted (default %(default)s)")
    live.add_argument("--max-frames", type=int, default=5000, metavar="N", help="frames read at most (default %(default)s)")
    live.add_argument("--save-views", metavar="DIR", help="keep the collected views as PNGs (re-run offline)")


def _progress(it: Iterable, label: str) -> Iterable:
    from tqdm import tqdm

    items = list(it)
    return tqdm(items, desc=label, unit="view", file=sys.stderr, leave=False, disable=len(items) < 2)


def read_views(folder: str | Path) -> list[tuple[str, np.ndarray]]:
    """The gray PNG views of ``folder``, sorted by name.

    Raises:
        InputError: no such folder, no PNG in it, or a file that is not a readable image.
    """
    d = Path(folder)
    if not d.is_dir():
        raise InputError(f"--images {d}: no such folder; pass the folder that holds the PNG views")
    files = sorted(p for p in d.iterdir() if p.is_file() and p.suffix.lower() == ".png")
    if not files:
        raise InputError(f"--images {d}: no PNG views in it; save the camera's views of the ChArUco board as .png")
    out = []
    for f in files:
        img = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
        if img is None or img.size == 0:
            raise InputError(f"cannot read view {f} (not a PNG image or damaged); remove or re-save it")
        out.append((f.name, img))
    return out


def charuco_board(board_path: str | Path) -> cv2.aruco.CharucoBoard:
    """The ChArUco board of a board file.

    Raises:
        ConfigError: not a valid board file.
        InputError: a board of another kind (an ArUco cube).
    """
    spec = load_board(board_path)
    if spec.type != "charuco":
        raise InputError(f"--board {board_path}: a {spec.type} board; camera calibration needs a ChArUco board "
                         "(\"type\": \"charuco\")")
    return spec.cv_board


def calibrate_camera(images: list[tuple[str, np.ndarray]], board_path: str | Path,
                     opts: IntrinsicsOptions, progress=None) -> tuple[IntrinsicsResult, Any]:
    """Load the board and calibrate; returns the result and the coverage.

    Raises:
        InputError: the board file is not a ChArUco board; views of different sizes.
        ConfigError: the board file is not a valid board.
        CalibrationError: the board is found in too few usable views.
    """
    res = calibrate_images(images, charuco_board(board_path), opts, progress)
    used = res.used
    cov = measure_coverage([v.corners for v in used], [res.rvecs[v.name] for v in used], res.size, CoverageLimits())
    return res, cov


def camera_file(res: IntrinsicsResult, cov, dev: dict[str, str], board_path: str) -> dict[str, Any]:
    """The camera file: the tracker's keys plus the evidence."""
    cam = CameraIntrinsics(K=res.K, dist=res.dist, width=res.size[0], height=res.size[1])
    views = []
    for v in res.views:
        rms = res.view_rms_px.get(v.name)
        views.append({"file": v.name, "status": v.status, "corners": int(len(v.ids)),
                      "rms_px": rms if rms is not None and np.isfinite(rms) else None, "edge_width_px":
                      None if not np.isfinite(v.edge_width_px) else float(v.edge_width_px)})
    return {**cam.to_dict(), "rms_px": res.rms_px, "method": "ChArUco + OpenCV calibrateCamera "
            f"(k3 {'fixed' if res.k3_fixed else 'free'} by held-out error; blurred/duplicate/outlier views left out)",
            "std_px": {"fx": res.std_K[0], "fy": res.std_K[1], "cx": res.std_K[2], "cy": res.std_K[3]},
            "heldout_rms_px": res.heldout_px, "n_views": len(res.views), "n_views_used": len(res.used),
            "n_views_rejected": len(res.views) - len(res.used), "views": views,
            "coverage": {"corners_per_cell": cov.corners_per_cell.tolist(), "good": cov.good, "advice": cov.advice},
            "board": str(board_path), "devices": dev,
            "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "software_version": f"sonoguide {__version__}"}


def make_report(res: IntrinsicsResult, cov) -> Report:
    """The PNG report: coverage map, tilts, per-view residuals (left-out views in red), distortion field."""
    used = res.used
    field_img, top = distortion_field_image(res.K, res.dist, res.size)
    names = [v.name for v in res.views]
    vals = [min(res.view_rms_px.get(n) or 0.0, 5.0) for n in names]
    flagged = [v.status != "used" for v in res.views]
    rejected = [f"{v.name}: {v.status}" for v in res.views if v.status != "used"]
    lines = [f"fx {res.K[0, 0]:.2f}  fy {res.K[1, 1]:.2f}  cx {res.K[0, 2]:.2f}  cy {res.K[1, 2]:.2f} px"
             f"   (1 sigma {res.std_K[0]:.2f} / {res.std_K[1]:.2f} / {res.std_K[2]:.2f} / {res.std_K[3]:.2f})",
             "dist k1 k2 p1 p2 k3: " + ", ".join(f"{d:.5f}" for d in res.dist),
             f"reprojection RMS {res.rms_px:.3f} px over {len(used)} of {len(res.views)} views"
             f"; k3 {'fixed at 0' if res.k3_fixed else 'free'} (held-out error)",
             "left out: " + ("; ".join(rejected[:6]) + (" ..." if len(rejected) > 6 else "") if rejected else "none"),
             f"coverage: {cov.cells_covered}/9 image cells" + ("; good" if cov.good else "")]
    lines += [f"advice: {a}" for a in cov.advice[:6]]
    panels = [image_panel("corner coverage (corners per image cell)", coverage_map([v.corners for v in used],
                                                                                  res.size, cov)),
              scatter_panel("board tilt per view (x: about vertical, y: about horizontal)",
                            [("views", cov.tilts_deg[:, ::-1])], "deg", circle=CoverageLimits().tilt_deg),
              bar_panel("per-view RMS (red: left out; no bar: board not found)", vals, "px", limit=GOOD_RMS_PX,
                        flagged=flagged, labels=[n.rsplit(".", 1)[0][-3:] for n in names]),
              image_panel(f"distortion field (lens vs pinhole, max {top:.0f} px)", field_img)]
    return Report("Camera calibration (ChArUco)", lines, passed=bool(res.rms_px <= GOOD_RMS_PX and cov.good),
                  panels=panels)


def run(args: argparse.Namespace) -> int:
    """``sonoguide calibrate camera``."""
    dev = devices(args)
    opts = IntrinsicsOptions(refine_iterations=max(0, int(args.refine)), min_views=max(3, int(args.min_views)))
    if args.live:
        from sonoguide.calibrate.camera_live import live_views
        images = live_views(args, charuco_board(args.board), opts)
    elif args.images:
        images = read_views(args.images)
    else:
        raise InputError("pass --images DIR (PNG views of the board) or --live (views from the camera)")
    res, cov = calibrate_camera(images, args.board, opts, _progress)
    data = camera_file(res, cov, dev, args.board)
    out = Path(args.out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(json_types(data), indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {out} ({exc.strerror}); pass --out with a writable path") from None
    summary = {"fx": res.K[0, 0], "fy": res.K[1, 1], "cx": res.K[0, 2], "cy": res.K[1, 2], "dist": res.dist.tolist(),
               "rms_px": res.rms_px, "n_views": len(res.views), "n_views_used": len(res.used),
               "rejected": {v.name: v.status for v in res.views if v.status != "used"},
               "coverage_good": cov.good, "advice": cov.advice, "k3_fixed": res.k3_fixed}
    lines = [f"camera {res.size[0]}x{res.size[1]}: fx {res.K[0, 0]:.2f} fy {res.K[1, 1]:.2f} "
             f"cx {res.K[0, 2]:.2f} cy {res.K[1, 2]:.2f} px",
             "dist " + " ".join(f"{d:.5f}" for d in res.dist),
             f"reprojection RMS {res.rms_px:.3f} px, {len(res.used)} of {len(res.views)} views used"]
    lines += [f"left out {v.name}: {v.status}" for v in res.views if v.status != "used"]
    lines += [f"advice: {a}" for a in cov.advice] or ["coverage good"]
    return emit(args, make_report(res, cov), summary, lines)

