"""Coordinate frames and the transform graph.

Every frame of the transform chain is named here, once, with its unit. A transform
``T_b_from_a`` is a 4x4 homogeneous matrix (column vectors) that maps a point expressed in
frame ``a`` to frame ``b``; transforms compose right to left::

    T_headset_from_image = T_headset_from_camera @ T_camera_from_marker @ T_marker_from_image

:class:`TransformGraph` follows the idea of PLUS Toolkit's ``vtkPlusTransformRepository``
(Lasso et al., "PLUS: open-source toolkit for ultrasound-guided intervention systems",
IEEE TBME 61(10), 2014): it stores the edges that were measured or calibrated, answers any
pair by walking the graph, inverts automatically, and refuses an edge that would close an
inconsistent loop.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass

import numpy as np

from core.errors import CalibrationError


class FrameName(str, enum.Enum):
    """Named coordinate frames. ``IMAGE`` is in pixels, every other frame in millimetres."""

    IMAGE = "image"
    """Ultrasound image: x right (columns), y down (rows), z out of the image plane; pixels."""
    PROBE = "probe"
    """Ultrasound probe body (transducer face centre); mm."""
    MARKER = "marker"
    """Marker board/cube rigidly attached to the probe (OpenCV board object frame); mm."""
    CAMERA = "camera"
    """Tracking camera optical frame (OpenCV: x right, y down, z forward); mm."""
    HEADSET = "headset"
    """AR headset world/anchor frame (right-handed here; converted to Unity only on the wire); mm."""
    NEEDLE = "needle"
    """Needle tip frame; mm."""
    STYLUS = "stylus"
    """Tracked pointer (stylus) marker body; mm."""
    STYLUS_TIP = "stylus_tip"
    """Stylus tip: the stylus frame translated to the calibrated tip (pivot calibration); mm."""
    TRACKER = "tracker"
    """External tracker's reference frame (PLUS/NDI over OpenIGTLink, or the tracking camera); mm."""
    PHANTOM = "phantom"
    """Calibration phantom body (N-wire or point-target phantom, its drawing's origin); mm."""
    WORLD = "world"
    """Headset's own world tracking frame (head pose ``T_world_from_headset``); mm."""


UNITS: dict[FrameName, str] = {f: ("px" if f is FrameName.IMAGE else "mm") for f in FrameName}
"""Unit of every frame."""


def transform_name(to_frame: FrameName | str, from_frame: FrameName | str) -> str:
    """Return the canonical name ``T_<to>_from_<from>``."""
    return f"T_{FrameName(to_frame).value}_from_{FrameName(from_frame).value}"


def check_transform(matrix: np.ndarray, name: str = "transform", allow_scale: bool = False) -> np.ndarray:
    """Validate a 4x4 homogeneous matrix and return it as float64.

    Args:
        matrix: candidate matrix.
        name: used in the error message.
        allow_scale: accept a linear part that is a rotation times per-axis scale (needed for
            transforms from the pixel image frame); otherwise the linear part must be a rotation.

    Raises:
        CalibrationError: wrong shape, non-finite values, bad last row, or not rigid.
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.shape != (4, 4):
        raise CalibrationError(f"{name} must be a 4x4 matrix, got shape {m.shape}")
    if not np.all(np.isfinite(m)):
        raise CalibrationError(f"{name} contains NaN or infinite values")
    if not np.allclose(m[3], [0.0, 0.0, 0.0, 1.0], atol=1e-9):
        raise CalibrationError(f"{name} last row must be [0, 0, 0, 1], got {m[3].tolist()}")
    lin = m[:3, :3]
    if allow_scale:
        scales = np.linalg.norm(lin, axis=0)
        if np.any(scales < 1e-12):
            raise CalibrationError(f"{name} has a zero-length axis")
        rot = lin / scales
    else:
        rot = lin
    if not np.allclose(rot.T @ rot, np.eye(3), atol=1e-4) or np.linalg.det(rot) < 0:
        raise CalibrationError(f"{name} rotation part is not a proper rotation (orthonormal, det=+1)")
    return m


def invert(matrix: np.ndarray) -> np.ndarray:
    """Invert a homogeneous transform (general inverse, so scaled image transforms work too)."""
    return np.linalg.inv(np.asarray(matrix, dtype=np.float64))


@dataclass(frozen=True)
class _Edge:
    matrix: np.ndarray
    source: str


class TransformGraph:
    """Repository of transforms between named frames.

    Edges are stored in both directions (the inverse is computed once). :meth:`get` finds a
    path by breadth-first search and composes the edges right to left.

    Args:
        loop_tolerance_mm: an edge whose endpoints are already connected is accepted only if
            it agrees with the existing path within this translation tolerance (and
            ``loop_tolerance_deg`` in rotation); otherwise :class:`CalibrationError`.
        loop_tolerance_deg: rotation tolerance for the loop check.
    """

    def __init__(self, loop_tolerance_mm: float = 1.0, loop_tolerance_deg: float = 1.0) -> None:
        self._edges: dict[tuple[FrameName, FrameName], _Edge] = {}
        self._tol_mm = loop_tolerance_mm
        self._tol_deg = loop_tolerance_deg

    def set(self, to_frame: FrameName | str, from_frame: FrameName | str, matrix: np.ndarray,
            source: str = "", replace: bool = True) -> None:
        """Store ``T_to_from_from``.

        Args:
            to_frame: destination frame.
            from_frame: source frame.
            matrix: the 4x4 transform mapping ``from_frame`` points to ``to_frame``.
            source: where it came from (calibration file, tracker...), for messages.
            replace: an existing direct edge is replaced (live tracking updates); an edge that
                closes a loop through *other* edges is checked for consistency.

        Raises:
            CalibrationError: invalid matrix or an inconsistent loop.
        """
        b, a = FrameName(to_frame), FrameName(from_frame)
        if a == b:
            raise CalibrationError(f"cannot set a transform from {a.value} to itself")
        name = transform_name(b, a)
        m = check_transform(matrix, name, allow_scale=FrameName.IMAGE in (a, b))
        if (b, a) not in self._edges:
            existing = self._find_path(b, a)
            if existing is not None:
                self._check_loop(name, m, self._compose(existing))
        elif not replace:
            raise CalibrationError(f"{name} is already set (from {self._edges[(b, a)].source})")
        self._edges[(b, a)] = _Edge(m, source)
        self._edges[(a, b)] = _Edge(invert(m), source)

    def remove(self, to_frame: FrameName | str, from_frame: FrameName | str) -> None:
        """Forget a direct edge (for example when tracking is lost)."""
        b, a = FrameName(to_frame), FrameName(from_frame)
        self._edges.pop((b, a), None)
        self._edges.pop((a, b), None)

    def has(self, to_frame: FrameName | str, from_frame: FrameName | str) -> bool:
        """Whether the pair is connected (directly or through other frames)."""
        b, a = FrameName(to_frame), FrameName(from_frame)
        return a == b or self._find_path(b, a) is not None

    def get(self, to_frame: FrameName | str, from_frame: FrameName | str) -> np.ndarray:
        """Return ``T_to_from_from``, composing stored edges.

        Raises:
            CalibrationError: the frames are not connected; the message names the missing link.
        """
        b, a = FrameName(to_frame), FrameName(from_frame)
        if a == b:
            return np.eye(4)
        path = self._find_path(b, a)
        if path is None:
            known = sorted({k[0].value for k in self._edges})
            raise CalibrationError(
                f"no transform chain from {a.value} to {b.value}; known frames: {known or 'none'} "
                "- load the missing calibration or wait for tracking")
        return self._compose(path)

    def _find_path(self, b: FrameName, a: FrameName) -> list[tuple[FrameName, FrameName]] | None:
        """Breadth-first search from ``a`` to ``b``; returns the edge keys along the path."""
        prev: dict[FrameName, FrameName] = {a: a}
        queue = deque([a])
        while queue:
            node = queue.popleft()
            if node == b:
                break
            for (dst, src) in self._edges:
                if src == node and dst not in prev:
                    prev[dst] = node
                    queue.append(dst)
        if b not in prev:
            return None
        path: list[tuple[FrameName, FrameName]] = []
        node = b
        while node != a:
            path.append((node, prev[node]))
            node = prev[node]
        return path  # first element is the last hop (to b)

    def _compose(self, path: list[tuple[FrameName, FrameName]]) -> np.ndarray:
        out = np.eye(4)
        for key in path:  # path[0] is T_b_from_x: compose right to left
            out = out @ self._edges[key].matrix
        return out

    def _check_loop(self, name: str, new: np.ndarray, existing: np.ndarray) -> None:
        delta = np.linalg.inv(existing) @ new
        trans = float(np.linalg.norm(delta[:3, 3]))
        lin = delta[:3, :3]
        lin = lin / np.linalg.norm(lin, axis=0)
        cos = np.clip((np.trace(lin) - 1.0) / 2.0, -1.0, 1.0)
        deg = float(np.degrees(np.arccos(cos)))
        if trans > self._tol_mm or deg > self._tol_deg:
            raise CalibrationError(
                f"{name} closes an inconsistent loop ({trans:.2f} mm, {deg:.2f} deg from the existing "
                f"chain; tolerance {self._tol_mm} mm / {self._tol_deg} deg) - recalibrate or remove the old link")
