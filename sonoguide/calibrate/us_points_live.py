"""Live point-target capture for ``calibrate us-probe --method points --igtl HOST:PORT``.

The PLUS fCal workflow over OpenIGTLink: a PLUS server (or any OpenIGTLink source) streams the
ultrasound image (``IMAGE``, device ``Image``), the probe marker pose (``ProbeToTracker``) and the
tracked stylus (``StylusToTracker``). The engineer holds the stylus tip still in the image plane
(in a water bath it shows as a bright point); a station is taken when the tip has been still for
``STILL_FRAMES`` frames, the bright point is found in the image, and the tip is at least
``MIN_SPACING_MM`` from every station taken so far. The terminal says where in the image to put
the tip next (the emptiest ninth of the image) and shows the progress.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import deque
from pathlib import Path

import numpy as np

from calibration.io import load_calibration
from calibration.us_points import PointCapture, find_bright_point
from core.errors import CalibrationError, InputError
from core.frames import FrameName
from core.se3 import is_rigid
from sonoguide.calibrate.igtl_link import connect, image_of, parse_address

log = logging.getLogger(__name__)

STILL_FRAMES = 5
"""Frames the stylus tip must stay within ``STILL_MM`` before a station is taken."""
STILL_MM = 0.4
MIN_SPACING_MM = 3.0
"""Least distance (tracker frame) between two stations' tips."""
_CELLS = ("top-left", "top-centre", "top-right", "middle-left", "centre", "middle-right",
          "bottom-left", "bottom-centre", "bottom-right")


def add_live_arguments(p: argparse.ArgumentParser) -> None:
    """The live mode's arguments (``--igtl`` itself is added with ``--input``)."""
    g = p.add_argument_group("live capture over OpenIGTLink (--igtl)")
    g.add_argument("--stylus-tip", metavar="F", help="the stylus tip calibration (sonoguide calibrate pivot --out)")
    g.add_argument("--image-device", default="Image", metavar="NAME", help="IMAGE device name (default Image)")
    g.add_argument("--probe-device", default="ProbeToTracker", metavar="NAME",
                   help="probe marker TRANSFORM device (default ProbeToTracker)")
    g.add_argument("--stylus-device", default="StylusToTracker", metavar="NAME",
                   help="stylus TRANSFORM device (default StylusToTracker)")
    g.add_argument("--points", type=int, default=30, metavar="N", help="stations to take (default 30)")
    g.add_argument("--timeout", type=float, default=300.0, metavar="S", help="give up after S seconds")
    g.add_argument("--save-capture", metavar="F", help="also write the stations in the --input layout (nwire: "
                                                        "the capture folder, default OUT.capture)")


def _advice(pixels: list[tuple[float, float]], size: tuple[int, int]) -> str:
    """Where in the image to put the tip next: the ninth with the fewest stations."""
    counts = np.zeros(9, int)
    w, h = size
    for u, v in pixels:
        counts[min(int(3 * v / h), 2) * 3 + min(int(3 * u / w), 2)] += 1
    return f"put the tip in the {_CELLS[int(np.argmin(counts))]} of the image"


def capture_points_live(args: argparse.Namespace) -> PointCapture:
    """Take point stations from an OpenIGTLink server until ``--points`` are taken.

    Raises:
        InputError: a bad ``--igtl`` address or a missing ``--stylus-tip``.
        DeviceError: no server answered.
        CalibrationError: the time ran out with too few stations.
    """
    from tqdm import tqdm

    parse_address(args.igtl)
    if not args.stylus_tip:
        raise InputError("--igtl needs --stylus-tip F, the stylus tip file of 'sonoguide calibrate pivot'")
    tip = load_calibration(args.stylus_tip, FrameName.STYLUS_TIP, FrameName.STYLUS).matrix[:, 3]
    client = connect(args.igtl)
    try:
        return _collect(client, args, tip, tqdm)
    finally:
        client.stop()


def _collect(client, args: argparse.Namespace, tip: np.ndarray, tqdm) -> PointCapture:
    latest: dict[str, object] = {}
    recent: deque[np.ndarray] = deque(maxlen=STILL_FRAMES)
    pixels: list[tuple[float, float]] = []
    poses: list[np.ndarray] = []
    points: list[np.ndarray] = []
    size: tuple[int, int] | None = None
    deadline = time.monotonic() + args.timeout
    last_hint = ""
    sys.stderr.write("Hold the stylus tip still in the image plane (a bright point in the image); a station is "
                     "taken when it is still. Then move it elsewhere in the image.\n")
    with tqdm(total=args.points, desc="us-probe stations", unit="pt", file=sys.stderr) as bar:
        while len(pixels) < args.points and time.monotonic() < deadline:
            image_msg = client.wait_for_message(args.image_device, timeout=0.5)
            for m in client.get_latest_messages():
                latest[m.device_name] = m
            if image_msg is None:
                continue
            probe, stylus = latest.get(args.probe_device), latest.get(args.stylus_device)
            if probe is None or stylus is None:
                continue
            T_probe = np.asarray(probe.matrix, dtype=np.float64)
            T_stylus = np.asarray(stylus.matrix, dtype=np.float64)
            if not (is_rigid(T_probe, tol=1e-3) and is_rigid(T_stylus, tol=1e-3)):
                continue
            p_tip = (T_stylus @ tip)[:3]
            recent.append(p_tip)
            img = image_of(image_msg)
            size = (int(img.shape[1]), int(img.shape[0]))
            if len(recent) < STILL_FRAMES or np.ptp(np.array(recent), axis=0).max() > STILL_MM:
                continue
            if points and min(np.linalg.norm(p_tip - q) for q in points) < MIN_SPACING_MM:
                continue
            found = find_bright_point(img)
            if found is None:
                bar.set_postfix_str("no bright point in the image: bring the tip into the plane")
                continue
            pixels.append(found)
            poses.append(T_probe)
            points.append(p_tip)
            recent.clear()
            bar.update(1)
            hint = _advice(pixels, size)
            if hint != last_hint:
                bar.set_postfix_str(hint)
                last_hint = hint
    if args.save_capture:
        data = {"image_size": list(size or (0, 0)), "pixels": [list(p) for p in pixels],
                "T_tracker_from_marker": [p.tolist() for p in poses], "points_tracker_mm": [p.tolist() for p in points]}
        Path(args.save_capture).write_text(json.dumps(data) + "\n", encoding="utf-8")
    if len(pixels) < 8 or size is None:
        raise CalibrationError(f"only {len(pixels)} stations in {args.timeout:.0f} s from {args.igtl}; check that "
                               f"{args.image_device}, {args.probe_device} and {args.stylus_device} are streamed and "
                               "hold the stylus tip still in the image plane")
    return PointCapture(size, np.array(pixels), np.array(poses), np.array(points))
