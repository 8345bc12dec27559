"""Exact transforms of the simulated rig used by ``sonoguide demo`` (no calibration needed).

The simulated probe carries its marker board on the handle; the ultrasound image plane is the
probe's x-y plane with the image's top-centre at the transducer face. The tracking camera sits
on the headset. These are design values of the simulation (the ground truth a calibration
would estimate), kept here so the demo and the tests agree on them.
"""

from __future__ import annotations

import numpy as np

from core.frames import FrameName, TransformGraph
from core.se3 import make_T, rotvec_to_R

T_MARKER_FROM_PROBE = make_T(rotvec_to_R([np.pi / 2.0, 0.0, 0.0]), [25.0, 40.0, 35.0])
"""Probe body (mm) to marker board (mm): board on the handle, facing away from the image plane."""

T_HEADSET_FROM_CAMERA = make_T(np.diag([1.0, -1.0, -1.0]), [0.0, 30.0, -10.0])
"""OpenCV camera (x right, y down, z forward) on the headset (x right, y up, z towards the viewer)."""


def T_probe_from_image(mm_per_px: tuple[float, float], width_px: int) -> np.ndarray:
    """Image pixels to probe millimetres: x lateral centred on the probe, y depth, z normal.

    Args:
        mm_per_px: pixel spacing ``(row, col)``.
        width_px: image width in pixels.
    """
    sy, sx = mm_per_px
    T = np.diag([sx, sy, 1.0, 1.0])
    T[0, 3] = -0.5 * (width_px - 1) * sx
    return T


def simulated_graph(mm_per_px: tuple[float, float], width_px: int) -> TransformGraph:
    """Transform graph with the simulated rig's static links (image-marker, camera-headset)."""
    g = TransformGraph()
    g.set(FrameName.PROBE, FrameName.IMAGE, T_probe_from_image(mm_per_px, width_px), source="simulated probe")
    g.set(FrameName.MARKER, FrameName.PROBE, T_MARKER_FROM_PROBE, source="simulated probe")
    g.set(FrameName.HEADSET, FrameName.CAMERA, T_HEADSET_FROM_CAMERA, source="simulated headset")
    return g
