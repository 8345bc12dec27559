"""Runs the peer calibrations (scikit-surgerycalibration, OpenCV 4.x) on a folder of capture files.

Used by ``bench_calib_side_by_side.py``. Runs inside its own virtual environment
(``.venv-peer-cal``: scikit-surgerycalibration==1.2.6 with opencv-contrib-python-headless==4.10.0.84,
which still has ``calibrateHandEye`` / ``calibrateRobotWorldHandEye`` that the OpenCV 5 wheels pinned
by sonoguide lack), so it imports nothing from sonoguide.

Reads every ``*.json`` in DIR (except ``*.truth.json``) in the ``sonoguide calibrate`` input layouts
and prints one JSON line per file::

    {"file", "problem": "pivot" | "hand_eye" | "us_points",
     "results": {method: {..., "seconds"} | {"error": message}}, "note": str | null}

* pivot ``{"T_tracker_from_stylus"}``: scikit-surgerycalibration's ``pivot_calibration`` with its
  three methods (``aos`` algebraic one step, ``ransac``, ``sphere_fitting``); result ``tip``
  (stylus frame) and ``pivot`` (tracker frame), mm.
* hand-eye ``{"T_world_from_headset", "T_camera_from_marker"}``: result ``X`` =
  ``T_headset_from_camera`` (4x4, mm) from
  - OpenCV ``calibrateHandEye`` with every method. OpenCV's gripper/base/target/cam map directly:
    gripper2base = ``T_world_from_headset`` (base = world, gripper = headset), target2cam =
    ``T_camera_from_marker``, and its output cam2gripper is ``T_headset_from_camera``;
  - OpenCV ``calibrateRobotWorldHandEye`` (Shah, Li): its "world" is our marker, world2cam =
    ``T_camera_from_marker``, base2gripper = ``T_headset_from_world``; its gripper2cam output is
    ``T_camera_from_headset`` (inverted here);
  - scikit-surgerycalibration's hand-eye functions for an untracked, stationary pattern:
    ``guofang_xiao_handeye_calibration`` (its own least squares on quaternions; the pattern's
    "tracking marker" is set to the world origin, so its pattern-to-marker is our
    ``T_world_from_marker``), and its two OpenCV wrappers ``calibrate_hand_eye_using_stationary_pattern``
    (Tsai by default) and ``calibrate_hand_eye_and_grid_to_world`` (Shah by default).
* us points ``{"image_size", "pixels", "T_tracker_from_marker", "points_tracker_mm"}``: no
  results: scikit-surgerycalibration 1.2.6 has no ultrasound calibration (the ``note`` says so).

Every method is called once untimed on its first file (warm-up), then timed on each file.

Usage: PEER_PYTHON peer_calibration.py DIR
"""

import contextlib
import io
import json
import random
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import sksurgerycalibration
from sksurgerycalibration.algorithms import pivot as sks_pivot
from sksurgerycalibration.video import video_calibration_hand_eye as sks_he

NO_US = (f"scikit-surgerycalibration {sksurgerycalibration.__version__} has no ultrasound calibration "
         "(its algorithms are pivot, sphere fitting and triangulation; scikit-surgerycore has only rigid "
         "point-to-point registration, which cannot estimate the unknown pixel spacing), and OpenCV has none")

HAND_EYE_METHODS = {"TSAI": cv2.CALIB_HAND_EYE_TSAI, "PARK": cv2.CALIB_HAND_EYE_PARK,
                    "HORAUD": cv2.CALIB_HAND_EYE_HORAUD, "ANDREFF": cv2.CALIB_HAND_EYE_ANDREFF,
                    "DANIILIDIS": cv2.CALIB_HAND_EYE_DANIILIDIS}
ROBOT_WORLD_METHODS = {"SHAH": cv2.CALIB_ROBOT_WORLD_HAND_EYE_SHAH, "LI": cv2.CALIB_ROBOT_WORLD_HAND_EYE_LI}


def rigid(R, t) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = np.asarray(R, float)
    T[:3, 3] = np.asarray(t, float).ravel()
    return T


def inv(T: np.ndarray) -> np.ndarray:
    R, t = T[:3, :3], T[:3, 3]
    return rigid(R.T, -R.T @ t)


def rvec_tvec(T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rv, _ = cv2.Rodrigues(np.ascontiguousarray(T[:3, :3]))
    return rv.reshape(3, 1), T[:3, 3].reshape(3, 1).copy()


# --- pivot -------------------------------------------------------------------------------------

def pivot_method(name: str):
    def run(T: np.ndarray) -> dict:
        random.seed(0)  # scikit-surgery's RANSAC draws from Python's random
        with contextlib.redirect_stdout(io.StringIO()):  # its RANSAC prints a summary line
            tip, pivot, rms = sks_pivot.pivot_calibration(T, {"method": name})
        return {"tip": np.ravel(tip).tolist(), "pivot": np.ravel(pivot).tolist(), "rms_mm": float(rms)}
    return run


PIVOT = {"sksurgery pivot aos": pivot_method("aos"), "sksurgery pivot ransac": pivot_method("ransac"),
         "sksurgery pivot sphere_fitting": pivot_method("sphere_fitting")}


# --- hand-eye ----------------------------------------------------------------------------------

def opencv_hand_eye(method: int):
    def run(W: np.ndarray, C: np.ndarray) -> dict:
        R, t = cv2.calibrateHandEye(list(W[:, :3, :3]), list(W[:, :3, 3:4]), list(C[:, :3, :3]), list(C[:, :3, 3:4]),
                                    method=method)
        return {"X": rigid(R, t).tolist()}
    return run


def opencv_robot_world(method: int):
    def run(W: np.ndarray, C: np.ndarray) -> dict:
        Wi = [inv(w) for w in W]
        R_b2w, t_b2w, R_g2c, t_g2c = cv2.calibrateRobotWorldHandEye(
            list(C[:, :3, :3]), list(C[:, :3, 3:4]), [w[:3, :3] for w in Wi], [w[:3, 3:4] for w in Wi], method=method)
        return {"X": inv(rigid(R_g2c, t_g2c)).tolist(), "Y": inv(rigid(R_b2w, t_b2w)).tolist()}
    return run


def sks_xiao(W: np.ndarray, C: np.ndarray) -> dict:
    rv = [rvec_tvec(c) for c in C]
    q_mh, t_mh = sks_he.set_model2hand_arrays([np.eye(4)] * len(W), list(W))
    handeye, pattern2marker = sks_he.guofang_xiao_handeye_calibration([r for r, _ in rv], [t for _, t in rv], q_mh, t_mh)
    return {"X": inv(np.asarray(handeye)).tolist(), "Y": np.asarray(pattern2marker).tolist()}


def sks_stationary(W: np.ndarray, C: np.ndarray) -> dict:
    rv = [rvec_tvec(c) for c in C]
    h2e = sks_he.calibrate_hand_eye_using_stationary_pattern([r for r, _ in rv], [t for _, t in rv], list(W))
    return {"X": inv(np.asarray(h2e)).tolist()}


def sks_grid_to_world(W: np.ndarray, C: np.ndarray) -> dict:
    rv = [rvec_tvec(c) for c in C]
    h2e, w2b = sks_he.calibrate_hand_eye_and_grid_to_world([r for r, _ in rv], [t for _, t in rv], list(W))
    return {"X": inv(np.asarray(h2e)).tolist(), "Y": np.asarray(w2b).tolist()}


HAND_EYE = {**{f"OpenCV calibrateHandEye {k}": opencv_hand_eye(v) for k, v in HAND_EYE_METHODS.items()},
            **{f"OpenCV calibrateRobotWorldHandEye {k}": opencv_robot_world(v) for k, v in ROBOT_WORLD_METHODS.items()},
            "sksurgery guofang_xiao_handeye_calibration": sks_xiao,
            "sksurgery calibrate_hand_eye_using_stationary_pattern": sks_stationary,
            "sksurgery calibrate_hand_eye_and_grid_to_world": sks_grid_to_world}


# --- driver ------------------------------------------------------------------------------------

def timed(fn, args: tuple, warm: set, name: str) -> dict:
    try:
        if name not in warm:
            fn(*args)
            warm.add(name)
        t0 = time.perf_counter()
        out = fn(*args)
        out["seconds"] = time.perf_counter() - t0
        if not all(np.all(np.isfinite(np.asarray(v, float))) for k, v in out.items() if k != "seconds"):
            return {"error": "non-finite result"}
        return out
    except Exception as exc:  # a peer failing on a set is a result, not a crash
        return {"error": f"{type(exc).__name__}: {exc}".strip()[:300]}


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.split("Usage: ")[-1].strip(), file=sys.stderr)
        return 2
    cv2.setNumThreads(1)
    warm: set = set()
    for path in sorted(Path(sys.argv[1]).glob("*.json")):
        if path.name.endswith(".truth.json"):
            continue
        data = json.loads(path.read_text())
        line = {"file": path.name, "results": {}, "note": None}
        if "T_tracker_from_stylus" in data:
            line["problem"] = "pivot"
            T = np.asarray(data["T_tracker_from_stylus"], float)
            for name, fn in PIVOT.items():
                line["results"][name] = timed(fn, (T,), warm, name)
        elif "T_world_from_headset" in data and "T_camera_from_marker" in data:
            line["problem"] = "hand_eye"
            W = np.asarray(data["T_world_from_headset"], float)
            C = np.asarray(data["T_camera_from_marker"], float)
            for name, fn in HAND_EYE.items():
                line["results"][name] = timed(fn, (W, C), warm, name)
        elif "pixels" in data and "T_tracker_from_marker" in data:
            line["problem"] = "us_points"
            line["note"] = NO_US
        else:
            line["problem"] = None
            line["note"] = "not a pivot, hand-eye or us-points capture"
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
