"""Runs scikit-surgeryarucotracker on a folder of frames; used by bench_tracking.py.

Runs inside its own virtual environment (``.venv-peer``: scikit-surgeryarucotracker==1.1.0 with
opencv-contrib-python-headless==4.10.0.84, which still has the legacy ``aruco.detectMarkers`` the
package calls), so it imports nothing from sonoguide. Prints one JSON line per frame:
``{"frame", "T" (4x4 or null), "seconds", "cpu_seconds"}``.

Usage: peer_python peer_sksurgery_tracker.py DATA_DIR TAGS_FILE [OPENCV_THREADS]
"""

import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from sksurgeryarucotracker.arucotracker import ArUcoTracker


def main() -> int:
    data, tags = Path(sys.argv[1]), sys.argv[2]
    if len(sys.argv) > 3 and int(sys.argv[3]) > 0:
        cv2.setNumThreads(int(sys.argv[3]))
    cam = json.loads((data / "camera.json").read_text())
    board = json.loads((data / "board.json").read_text())
    tracker = ArUcoTracker({
        "video source": "none",
        "aruco dictionary": board["dictionary"],
        "camera projection": np.asarray(cam["K"], np.float32),
        "camera distortion": np.asarray(cam.get("dist", [0, 0, 0, 0, 0]), np.float32).reshape(1, -1),
        "smoothing buffer": 1,
        "rigid bodies": [{"name": "board", "filename": tags, "aruco dictionary": board["dictionary"]}],
    })
    tracker.start_tracking()
    for path in sorted((data / "frames").glob("*.png")):
        img = cv2.imread(str(path))
        t0, c0 = time.perf_counter(), time.process_time()
        ports, _, _, tracking, _ = tracker.get_frame(img)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        T = None
        for name, M in zip(ports, tracking):
            M = np.asarray(M, float)
            if name == "board" and M.shape == (4, 4) and np.all(np.isfinite(M)):
                T = M.tolist()
        print(json.dumps({"frame": path.name, "T": T, "seconds": dt, "cpu_seconds": dc}), flush=True)
    tracker.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
