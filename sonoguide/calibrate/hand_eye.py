"""``sonoguide calibrate hand-eye``: the tracking camera on the headset, ``T_headset_from_camera``.

The camera rigidly on the headset looks at a static marker while the engineer moves the headset
(turning and nodding the head, tilting it, walking around the marker). ``--input F`` holds
``{"T_world_from_headset": [N 4x4 mm], "T_camera_from_marker": [N 4x4 mm]}``, one entry of each per
station, taken at the same instants. The result (``--out``) is ``X`` as a transform from
``camera`` to ``headset``; the static ``T_world_from_marker``, the rejected stations and the
advice on missing motions are kept under ``extra``. Live: ``--igtl HOST:PORT`` takes the stations
from the headset pose and the marker pose streamed over OpenIGTLink
(:mod:`sonoguide.calibrate.hand_eye_live`).
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
from scipy.spatial.transform import Rotation

from calibration import report as rp
from calibration.hand_eye import METHODS, HandEyeConfig, HandEyeResult, NoiseModel, calibrate_hand_eye
from calibration.hand_eye_closed_form import motion_pairs
from calibration.inputs import at_least, load_capture, read_transforms, same_length
from calibration.io import Calibration
from core.errors import CalibrationError, InputError
from core.frames import FrameName
from sonoguide.calibrate.common import add_output_arguments, devices, emit, report_path
from sonoguide.calibrate.hand_eye_live import add_live_arguments, capture_hand_eye_live

log = logging.getLogger(__name__)

KEYS = ("T_world_from_headset", "T_camera_from_marker")
_D = NoiseModel()


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The command's arguments."""
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--input", metavar="F",
                     help='recorded capture: {"T_world_from_headset": [N 4x4 mm], "T_camera_from_marker": [N 4x4 mm]}')
    src.add_argument("--igtl", metavar="HOST:PORT",
                     help="live: the headset pose and the marker seen by its camera from this OpenIGTLink server")
    p.add_argument("--method", choices=METHODS, default="refined",
                   help="refined (joint X/Y least squares weighted by the pose noise, rejects outliers; default) or "
                        "one closed form alone")
    p.add_argument("--sigma-headset", type=float, nargs=2, default=(_D.headset_rot_deg, _D.headset_trans_mm),
                   metavar=("DEG", "MM"), help="headset tracking noise per axis, 1 sigma (default "
                                               f"{_D.headset_rot_deg} deg {_D.headset_trans_mm} mm)")
    p.add_argument("--sigma-marker", type=float, nargs=2, default=(_D.marker_rot_deg, _D.marker_trans_mm),
                   metavar=("DEG", "MM"), help="marker pose noise per axis, 1 sigma (default "
                                               f"{_D.marker_rot_deg} deg {_D.marker_trans_mm} mm)")
    p.add_argument("--no-outlier-rejection", action="store_true", help="keep every station")
    p.add_argument("--max-sigma", type=float, default=8.0, metavar="MM",
                   help="refuse the result when X's predicted 1-sigma translation error is larger (default 8 mm)")
    add_live_arguments(p)
    add_output_arguments(p, "calibration file to write (camera -> headset)")


def config_from(args: argparse.Namespace) -> HandEyeConfig:
    """The algorithm settings from the command line."""
    noise = NoiseModel(headset_rot_deg=args.sigma_headset[0], headset_trans_mm=args.sigma_headset[1],
                       marker_rot_deg=args.sigma_marker[0], marker_trans_mm=args.sigma_marker[1])
    return HandEyeConfig(method=args.method, noise=noise, reject_outliers=not args.no_outlier_rejection)


def read_input(path: str) -> tuple[np.ndarray, np.ndarray]:
    """The two pose lists of a capture file, checked.

    Raises:
        InputError: unreadable or wrong kind of file, wrong shapes, NaNs, non-rigid poses, too few stations.
    """
    data = load_capture(path, "hand-eye capture", KEYS)
    W = read_transforms(data, KEYS[0], path)
    C = read_transforms(data, KEYS[1], path)
    n = same_length(path, **{KEYS[0]: W, KEYS[1]: C})
    at_least(path, n, HandEyeConfig().motion.min_stations, "stations",
             "record more, turning the headset about two different axes between stations while the camera sees "
             "the marker (12-30 recommended)")
    if np.median(np.linalg.norm(C[:, :3, 3], axis=1)) < 5.0:
        raise InputError(f"{path}: the marker is on average {np.median(np.linalg.norm(C[:, :3, 3], axis=1)):.3g} "
                         "from the camera - the poses look like metres; give every translation in mm")
    return W, C


def _orientations(W: np.ndarray) -> np.ndarray:
    """Rotation of each station away from the mean headset pose, headset axes, deg."""
    R = W[:, :3, :3]
    mean = Rotation.from_matrix(R).mean().as_matrix()
    return np.degrees(Rotation.from_matrix(np.einsum("ij,njk->nik", mean.T, R)).as_rotvec())


def build_report(r: HandEyeResult, W: np.ndarray, C: np.ndarray, passed: bool, max_sigma: float) -> rp.Report:
    """Per-station residuals (outliers red), the rotation axes of the station pairs and the advice."""
    t = r.X[:3, 3]
    rv = np.degrees(Rotation.from_matrix(r.X[:3, :3]).as_rotvec())
    m = r.motion
    lines = [f"method: {r.method}",
             f"X = T_headset_from_camera: t (mm) {np.round(t, 2).tolist()}, rotation vector (deg) "
             f"{np.round(rv, 2).tolist()}",
             f"predicted error of X (1 sigma): {r.sigma_X_mm:.2f} mm, {r.sigma_X_deg:.3f} deg "
             f"(limit {max_sigma:.1f} mm)",
             f"residual at the marker: RMS {r.rms_mm:.2f} mm, {r.rms_deg:.3f} deg over {int(r.inliers.sum())} of "
             f"{len(W)} stations; {r.noise_ratio:.2f} x the stated noise",
             f"outliers (dropped): {r.outliers or 'none'}",
             f"motion: largest turn {m.max_rotation_deg:.0f} deg, axis spread {m.axis_spread_deg:.0f} deg, range "
             f"pitch/yaw/roll {m.axis_range_deg[0]:.0f}/{m.axis_range_deg[1]:.0f}/{m.axis_range_deg[2]:.0f} deg"]
    for name, Xc in r.closed_forms.items():
        d_t = float(np.linalg.norm(Xc[:3, 3] - t))
        d_r = float(np.degrees(np.linalg.norm(Rotation.from_matrix(Xc[:3, :3].T @ r.X[:3, :3]).as_rotvec())))
        lines.append(f"closed form {name}: differs by {d_t:.2f} mm, {d_r:.3f} deg")
    lines += [f"add: {a}" for a in m.missing] or ["motion coverage is good"]
    A, _ = motion_pairs(W[r.inliers], C[r.inliers], 5.0)
    axes = Rotation.from_matrix(A[:, :3, :3]).as_rotvec() if len(A) else np.zeros((0, 3))
    axes = np.degrees(axes) * np.where(axes @ np.array(m.dominant_axis) < 0, -1.0, 1.0)[:, None]
    labels = [str(i) for i in range(len(W))]
    return rp.Report("Hand-eye calibration (camera to headset)", lines, passed, [
        rp.bar_panel("marker position residual per station (red: outlier)", r.trans_residual_mm, "mm",
                     flagged=~r.inliers, labels=labels),
        rp.bar_panel("marker rotation residual per station (red: outlier)", r.rot_residual_deg, "deg",
                     flagged=~r.inliers, labels=labels),
        rp.scatter_panel("rotation axes of station pairs (axis x angle): x right, y up",
                         [("pairs", axes[:, [0, 1]])], "deg"),
        rp.scatter_panel("rotation axes of station pairs (axis x angle): z, y up",
                         [("pairs", axes[:, [2, 1]])], "deg"),
    ])


def run(args: argparse.Namespace) -> int:
    """Calibrate, write the file and the report, print the figures."""
    devs = devices(args)
    config = config_from(args)
    W, C = read_input(args.input) if args.input else capture_hand_eye_live(args)
    r = calibrate_hand_eye(W, C, config)
    passed = r.sigma_X_mm <= args.max_sigma
    report = build_report(r, W, C, passed, args.max_sigma)
    if not passed:
        report.save(report_path(args))
        missing = "; ".join(r.motion.missing) or "more stations turned about two different axes"
        raise CalibrationError(f"X is not determined well enough: predicted error {r.sigma_X_mm:.1f} mm (limit "
                               f"--max-sigma {args.max_sigma:.1f} mm); add stations: {missing} (report written)")
    inl = r.inliers
    # the loader's limit (calibration.max_rms_mm) applies to X's own predicted error: the fit
    # residual at the marker is mostly the trackers' noise, not the calibration's error
    residuals = {"expected_error_mm": r.sigma_X_mm, "rms_mm": r.rms_mm, "rms_deg": r.rms_deg, "max_mm": float(r.trans_residual_mm[inl].max()),
                 "max_deg": float(r.rot_residual_deg[inl].max()), "n": int(inl.sum()), "n_outliers": len(r.outliers),
                 "noise_ratio": r.noise_ratio, "sigma_X_mm": r.sigma_X_mm, "sigma_X_deg": r.sigma_X_deg,
                 "per_station_mm": r.trans_residual_mm.tolist(), "per_station_deg": r.rot_residual_deg.tolist()}
    extra = {"T_world_from_marker": r.Y, "outliers": r.outliers, "advice": list(r.motion.missing),
             "motion": r.motion.to_dict(), "noise": vars(config.noise).copy(),
             "closed_forms": {k: v for k, v in r.closed_forms.items()}}
    Calibration(FrameName.CAMERA, FrameName.HEADSET, r.X, method=r.method, residuals=residuals, devices=devs,
                extra=extra).save(args.out)
    summary = {"T_headset_from_camera": r.X, "T_world_from_marker": r.Y, "method": args.method,
               "rms_mm": r.rms_mm, "rms_deg": r.rms_deg, "sigma_X_mm": r.sigma_X_mm, "sigma_X_deg": r.sigma_X_deg,
               "noise_ratio": r.noise_ratio, "n_stations": len(W), "outliers": r.outliers,
               "advice": list(r.motion.missing), "axis_spread_deg": r.motion.axis_spread_deg}
    return emit(args, report, summary, report.lines)


