"""Live stations for ``calibrate hand-eye --igtl HOST:PORT`` over OpenIGTLink.

Two streams: the headset's own pose (``HeadsetToWorld``: ``T_world_from_headset``, from a headset
app that streams its pose over OpenIGTLink) and the static marker seen by the headset's camera
(``MarkerToCamera``: ``T_camera_from_marker``, e.g. from PLUS's optical marker tracker on that
camera). A station is taken when both have been still for ``STILL_FRAMES`` messages and the
headset has turned at least ``MIN_TURN_DEG`` from every station so far. After each station the
terminal names the head motion still missing (:func:`calibration.hand_eye_motion.analyse_motion`).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import deque
from pathlib import Path

import numpy as np

from calibration.hand_eye_motion import analyse_motion
from core.errors import CalibrationError
from core.se3 import is_rigid, rotation_angle_deg
from sonoguide.calibrate.igtl_link import connect, parse_address

STILL_FRAMES = 5
STILL_MM = 1.0
STILL_DEG = 0.3
MIN_TURN_DEG = 5.0


def add_live_arguments(p: argparse.ArgumentParser) -> None:
    """The live mode's arguments (``--igtl`` itself is added with ``--input``)."""
    g = p.add_argument_group("live stations over OpenIGTLink (--igtl)")
    g.add_argument("--headset-device", default="HeadsetToWorld", metavar="NAME",
                   help="TRANSFORM device of the headset pose (default HeadsetToWorld)")
    g.add_argument("--marker-device", default="MarkerToCamera", metavar="NAME",
                   help="TRANSFORM device of the marker seen by the headset camera (default MarkerToCamera)")
    g.add_argument("--stations", type=int, default=20, metavar="N", help="stations to take (default 20)")
    g.add_argument("--timeout", type=float, default=300.0, metavar="S", help="give up after S seconds")
    g.add_argument("--save-capture", metavar="F", help="also write the stations in the --input layout")


def _still(q: deque) -> bool:
    if len(q) < STILL_FRAMES:
        return False
    moved = np.ptp(np.array([T[:3, 3] for T in q]), axis=0).max()
    turned = max(rotation_angle_deg(q[0][:3, :3], T[:3, :3]) for T in q)
    return moved <= STILL_MM and turned <= STILL_DEG


def capture_hand_eye_live(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    """Take ``--stations`` stations; returns ``(T_world_from_headset, T_camera_from_marker)`` arrays.

    Raises:
        InputError: a bad address.
        DeviceError: no server answered.
        CalibrationError: too few stations in ``--timeout``.
    """
    from tqdm import tqdm

    parse_address(args.igtl)
    client = connect(args.igtl)
    heads: deque = deque(maxlen=STILL_FRAMES)
    marks: deque = deque(maxlen=STILL_FRAMES)
    W: list[np.ndarray] = []
    C: list[np.ndarray] = []
    deadline = time.monotonic() + args.timeout
    sys.stderr.write("Look at the marker from many directions: at each place hold the head still until the "
                     "station is taken, then turn, nod and tilt the head and walk around the marker.\n")
    try:
        with tqdm(total=args.stations, desc="hand-eye stations", unit="station", file=sys.stderr) as bar:
            while len(W) < args.stations and time.monotonic() < deadline:
                msg = client.wait_for_message(args.marker_device, timeout=0.5)
                head = client.wait_for_message(args.headset_device, timeout=0.1)
                if msg is None or head is None:
                    continue
                T_c, T_w = np.asarray(msg.matrix, float), np.asarray(head.matrix, float)
                if not (is_rigid(T_c, tol=1e-3) and is_rigid(T_w, tol=1e-3)):
                    continue
                heads.append(T_w)
                marks.append(T_c)
                if not (_still(heads) and _still(marks)):
                    continue
                if W and min(rotation_angle_deg(T_w[:3, :3], w[:3, :3]) for w in W) < MIN_TURN_DEG:
                    continue
                W.append(T_w)
                C.append(T_c)
                heads.clear()
                marks.clear()
                bar.update(1)
                missing = analyse_motion(np.array(W)).missing if len(W) >= 3 else ()
                bar.set_postfix_str((missing[0] if missing else "turn the head to a new direction")[:70])
    finally:
        client.stop()
    if args.save_capture:
        Path(args.save_capture).write_text(json.dumps({"T_world_from_headset": [w.tolist() for w in W],
                                                       "T_camera_from_marker": [c.tolist() for c in C]}) + "\n",
                                           encoding="utf-8")
    if len(W) < 6:
        raise CalibrationError(f"only {len(W)} stations in {args.timeout:.0f} s from {args.igtl}; check that "
                               f"{args.headset_device} and {args.marker_device} are streamed, keep the marker in "
                               "the camera's view and hold the head still at each place")
    return np.array(W), np.array(C)
