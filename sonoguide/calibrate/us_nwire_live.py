"""Live N-wire sweep for ``calibrate us-probe --method nwire --igtl HOST:PORT``.

PLUS (or any OpenIGTLink source) streams the ultrasound image (``IMAGE``), the probe marker
(``ProbeToTracker``) and the phantom (``PhantomToTracker``). A frame is kept when the probe has
moved at least ``MIN_STEP_MM`` or turned ``MIN_STEP_DEG`` since the last kept frame, so a still
probe does not fill the sweep with copies. The frames and poses are written as a capture folder
in the layout of :mod:`sonoguide.calibrate.us_nwire` (``capture.json`` is rewritten after every
kept frame, so a kill loses at most that frame), which the offline method then calibrates.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from core.errors import CalibrationError, InputError
from core.jsonfile import load_json
from core.se3 import is_rigid, rotation_angle_deg
from sonoguide.calibrate.igtl_link import connect, image_of, parse_address

MIN_STEP_MM = 1.0
MIN_STEP_DEG = 1.0


def add_nwire_live_arguments(p: argparse.ArgumentParser) -> None:
    """The live sweep's own arguments (``--igtl``, ``--image-device``, ``--probe-device``, ``--timeout``
    and ``--save-capture`` come with the point method's live mode)."""
    g = p.add_argument_group("live N-wire sweep over OpenIGTLink (--method nwire --igtl)")
    g.add_argument("--phantom-device", default="PhantomToTracker", metavar="NAME",
                   help="phantom TRANSFORM device (default PhantomToTracker)")
    g.add_argument("--frames", type=int, default=40, metavar="N", help="frames to keep (default 40)")


def _send_hint(n: int, total: int) -> str:
    if n < total // 3:
        return "slide the probe slowly along the wires"
    if n < 2 * total // 3:
        return "now rock and tilt the probe 10-20 deg while keeping the wires in view"
    return "sweep again at another height over the phantom"


def record_nwire(args: argparse.Namespace, folder: Path) -> Path:
    """Record a sweep from ``--igtl`` into ``folder``; returns its ``capture.json``.

    Raises:
        InputError: a bad address, or no ``--phantom``.
        DeviceError: no server answered.
        CalibrationError: too few frames in ``--timeout``.
    """
    from tqdm import tqdm

    parse_address(args.igtl)
    if not args.phantom:
        raise InputError("--method nwire --igtl needs --phantom FILE, the phantom's wire geometry (JSON, mm)")
    phantom = load_json(Path(args.phantom), what="N-wire phantom file", error=InputError,
                        missing_fix="check the --phantom path", corrupt_fix="it is not a JSON phantom description")
    (folder / "frames").mkdir(parents=True, exist_ok=True)
    client = connect(args.igtl)
    latest: dict[str, object] = {}
    names: list[str] = []
    probes: list[np.ndarray] = []
    phantoms: list[np.ndarray] = []
    size: list[int] | None = None
    try:
        deadline = time.monotonic() + args.timeout
        sys.stderr.write("Image the N-wire phantom in the water bath: every N should show as three dots.\n")
        with tqdm(total=args.frames, desc="n-wire frames", unit="frame", file=sys.stderr) as bar:
            while len(names) < args.frames and time.monotonic() < deadline:
                image_msg = client.wait_for_message(args.image_device, timeout=0.5)
                for m in client.get_latest_messages():
                    latest[m.device_name] = m
                probe, ph = latest.get(args.probe_device), latest.get(args.phantom_device)
                if image_msg is None or probe is None or ph is None:
                    continue
                T_p, T_ph = np.asarray(probe.matrix, float), np.asarray(ph.matrix, float)
                if not (is_rigid(T_p, tol=1e-3) and is_rigid(T_ph, tol=1e-3)):
                    continue
                if probes:
                    moved = np.linalg.norm(T_p[:3, 3] - probes[-1][:3, 3])
                    turned = rotation_angle_deg(T_p[:3, :3], probes[-1][:3, :3])
                    if moved < MIN_STEP_MM and turned < MIN_STEP_DEG:
                        continue
                img = image_of(image_msg)
                name = f"frames/{len(names):04d}.png"
                cv2.imwrite(str(folder / name), img)
                names.append(name)
                probes.append(T_p)
                phantoms.append(T_ph)
                size = [int(img.shape[1]), int(img.shape[0])]
                data = {"kind": "n-wire capture", "image_size": size, "frames": names,
                        "T_tracker_from_marker": [t.tolist() for t in probes],
                        "T_tracker_from_phantom": [t.tolist() for t in phantoms], "phantom": phantom}
                tmp = folder / "capture.json.tmp"
                tmp.write_text(json.dumps(data), encoding="utf-8")
                tmp.replace(folder / "capture.json")
                bar.update(1)
                bar.set_postfix_str(_send_hint(len(names), args.frames))
    finally:
        client.stop()
    if not names:
        raise CalibrationError(f"no frame with {args.image_device}, {args.probe_device} and {args.phantom_device} "
                               f"arrived from {args.igtl} in {args.timeout:.0f} s; check that PLUS streams all three")
    return folder / "capture.json"
