"""Live recording for ``calibrate temporal --igtl HOST:PORT``: a temporal capture folder from OpenIGTLink.

PLUS (or any OpenIGTLink source) streams the ultrasound image (``IMAGE``) and the probe marker
pose (``TRANSFORM``), each stamped with its acquisition time. For ``--seconds`` they are written
into the capture folder layout of :mod:`calibration.temporal_capture`: every frame as a PNG, one
line per frame and per pose appended and flushed at once (a kill loses at most the last line).
The pixel spacing comes from the image message's IJK-to-world matrix unless ``--pixel-spacing``
gives it. The offline command then runs on the folder.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from core.clock import now_ns
from core.errors import CalibrationError, InputError
from sonoguide.calibrate.igtl_link import connect, image_of, parse_address

log = logging.getLogger(__name__)

MAX_CLOCK_SKEW_S = 5.0
"""A message time further than this from the receive time is not trusted (the receive time is used)."""


def add_live_arguments(p: argparse.ArgumentParser) -> None:
    """The live mode's arguments (``--igtl`` itself is added with ``--input``)."""
    g = p.add_argument_group("live recording over OpenIGTLink (--igtl)")
    g.add_argument("--image-device", default="Image", metavar="NAME", help="IMAGE device name (default Image)")
    g.add_argument("--probe-device", default="ProbeToTracker", metavar="NAME",
                   help="probe marker TRANSFORM device (default ProbeToTracker)")
    g.add_argument("--seconds", type=float, default=25.0, metavar="S", help="how long to record (default 25)")
    g.add_argument("--record-dir", metavar="DIR",
                   help="where to write the capture folder (default: next to --out, named OUT.capture)")


def _stamp(msg, rx_ns: int) -> int:
    ts = float(getattr(msg, "timestamp", 0.0) or 0.0)
    return int(round(ts * 1e9)) if abs(ts - rx_ns / 1e9) <= MAX_CLOCK_SKEW_S else rx_ns


def spacing_of(msg) -> tuple[float, float] | None:
    """``(row, col)`` mm per pixel from an IMAGE message's IJK-to-world matrix, if it holds one."""
    M = getattr(msg, "ijk_to_world_matrix", None)
    if M is None:
        return None
    M = np.asarray(M, dtype=np.float64)
    if M.shape != (4, 4) or np.allclose(M[:3, :3], np.eye(3)):
        return None  # no spacing was sent
    col, row = float(np.linalg.norm(M[:3, 0])), float(np.linalg.norm(M[:3, 1]))
    return (row, col) if row > 0 and col > 0 else None


def record_igtl(args: argparse.Namespace, folder: Path) -> None:
    """Record ``--seconds`` of images and probe poses from ``--igtl`` into ``folder``.

    Raises:
        InputError: a bad ``--igtl`` address or ``--seconds``.
        DeviceError: no server answered.
        CalibrationError: no image or no pose arrived.
    """
    from tqdm import tqdm

    parse_address(args.igtl)
    if not (2.0 <= args.seconds <= 600.0):
        raise InputError("--seconds must lie in [2, 600]; 20-30 s is best")
    (folder / "frames").mkdir(parents=True, exist_ok=True)
    client = connect(args.igtl)
    n_frames = n_poses = 0
    spacing = None
    try:
        sys.stderr.write("Move the probe up and down over the flat bottom of the water bath, 10-20 mm, varying "
                         "the speed, until the recording ends.\n")
        with open(folder / "frames.jsonl", "w", encoding="utf-8") as frames_f, \
                open(folder / "poses.jsonl", "w", encoding="utf-8") as poses_f, \
                tqdm(total=round(args.seconds), desc="recording", unit="s", file=sys.stderr) as bar:
            t0 = time.monotonic()
            while (elapsed := time.monotonic() - t0) < args.seconds:
                bar.update(max(0, int(elapsed) - bar.n))
                msgs = client.get_latest_messages()
                if not msgs:
                    time.sleep(0.002)
                    continue
                rx = now_ns()
                for m in msgs:
                    if m.device_name == args.image_device and getattr(m, "image", None) is not None:
                        img = image_of(m)
                        name = f"{n_frames:05d}.png"
                        cv2.imwrite(str(folder / "frames" / name), img)
                        frames_f.write(json.dumps({"frame": name, "t_ns": _stamp(m, rx)}) + "\n")
                        frames_f.flush()
                        spacing = spacing or spacing_of(m)
                        n_frames += 1
                    elif m.device_name == args.probe_device and getattr(m, "matrix", None) is not None:
                        T = np.asarray(m.matrix, dtype=np.float64)
                        poses_f.write(json.dumps({"t_ns": _stamp(m, rx), "T_tracker_from_marker": T.tolist()}) + "\n")
                        poses_f.flush()
                        n_poses += 1
    finally:
        client.stop()
    if spacing is not None:
        (folder / "capture.json").write_text(json.dumps({"mm_per_px": list(spacing)}) + "\n", encoding="utf-8")
    log.info("temporal: recorded %d frames and %d poses into %s", n_frames, n_poses, folder)
    if n_frames == 0 or n_poses == 0:
        raise CalibrationError(f"{n_frames} images and {n_poses} poses arrived from {args.igtl} in {args.seconds:.0f} s; "
                               f"check that {args.image_device} and {args.probe_device} are streamed")
