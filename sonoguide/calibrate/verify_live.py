"""Live frames for ``calibrate verify --igtl HOST:PORT --target-headset-mm X Y Z``.

The morning check with the probe tracked over OpenIGTLink (PLUS), the configuration in which the
tracker's frame is the ``camera`` frame of the chain (:mod:`vision.tracking.igtl`). The phantom
target (a bead or wire crossing) sits at a point whose position in the headset frame the headset
knows (``--target-headset-mm``, from its registration of the phantom; the headset stays still
during the check). The engineer images the target from several probe positions; a frame is
taken when the probe has been still for ``STILL_FRAMES`` frames, the target shows as a bright
point, and the probe has moved at least ``MIN_STEP_MM`` since the last frame taken.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import deque

import numpy as np

from calibration.us_points import find_bright_point
from calibration.verify import VerifyCapture
from core.errors import CalibrationError, InputError
from core.se3 import is_rigid
from sonoguide.calibrate.igtl_link import connect, image_of, parse_address

STILL_FRAMES = 5
STILL_MM = 0.4
MIN_STEP_MM = 3.0


def add_live_arguments(p: argparse.ArgumentParser) -> None:
    """The live mode's arguments (``--igtl`` itself is added with ``--input``)."""
    g = p.add_argument_group("live frames over OpenIGTLink (--igtl)")
    g.add_argument("--target-headset-mm", type=float, nargs=3, metavar=("X", "Y", "Z"),
                   help="live: the target's position in the headset frame (the headset's registration)")
    g.add_argument("--image-device", default="Image", metavar="NAME", help="IMAGE device name (default Image)")
    g.add_argument("--probe-device", default="ProbeToTracker", metavar="NAME",
                   help="probe marker TRANSFORM device (default ProbeToTracker)")
    g.add_argument("--frames", type=int, default=15, metavar="N", help="frames to take (default 15)")
    g.add_argument("--timeout", type=float, default=180.0, metavar="S", help="give up after S seconds")


def capture_verify_live(args: argparse.Namespace) -> VerifyCapture:
    """Take ``--frames`` frames of the target from ``--igtl``.

    Raises:
        InputError: a bad address or no ``--target-headset-mm``.
        DeviceError: no server answered.
        CalibrationError: too few frames in ``--timeout``.
    """
    from tqdm import tqdm

    parse_address(args.igtl)
    if args.target_headset_mm is None or not np.all(np.isfinite(args.target_headset_mm)):
        raise InputError("--igtl needs --target-headset-mm X Y Z, the target's position in the headset frame")
    target = np.asarray(args.target_headset_mm, dtype=np.float64)
    client = connect(args.igtl)
    latest: dict[str, object] = {}
    recent: deque[np.ndarray] = deque(maxlen=STILL_FRAMES)
    pixels: list[tuple[float, float]] = []
    poses: list[np.ndarray] = []
    deadline = time.monotonic() + args.timeout
    sys.stderr.write("Image the phantom target from several probe positions and angles; hold the probe still "
                     "until the frame is taken.\n")
    try:
        with tqdm(total=args.frames, desc="verify frames", unit="frame", file=sys.stderr) as bar:
            while len(pixels) < args.frames and time.monotonic() < deadline:
                msg = client.wait_for_message(args.image_device, timeout=0.5)
                for m in client.get_latest_messages():
                    latest[m.device_name] = m
                probe = latest.get(args.probe_device)
                if msg is None or probe is None:
                    continue
                T = np.asarray(probe.matrix, dtype=np.float64)
                if not is_rigid(T, tol=1e-3):
                    continue
                recent.append(T[:3, 3].copy())
                if len(recent) < STILL_FRAMES or np.ptp(np.array(recent), axis=0).max() > STILL_MM:
                    continue
                if poses and min(np.linalg.norm(T[:3, 3] - q[:3, 3]) for q in poses) < MIN_STEP_MM:
                    continue
                found = find_bright_point(image_of(msg))
                if found is None:
                    bar.set_postfix_str("target not in the image")
                    continue
                pixels.append(found)
                poses.append(T)
                recent.clear()
                bar.update(1)
                bar.set_postfix_str("move the probe to another place or angle")
    finally:
        client.stop()
    if len(pixels) < 3:
        raise CalibrationError(f"only {len(pixels)} frames of the target in {args.timeout:.0f} s from {args.igtl}; "
                               "keep the target in the image and hold the probe still at each place")
    return VerifyCapture(pixels=np.array(pixels), T_camera_from_marker=np.array(poses),
                         p_headset_true=np.repeat(target[None], len(pixels), axis=0))
