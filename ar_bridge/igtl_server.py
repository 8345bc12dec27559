"""OpenIGTLink server for 3D Slicer: the live ultrasound view, its labels, contours, needle and pose.

3D Slicer's OpenIGTLinkIF module (SlicerOpenIGTLink extension, used by SlicerIGT) connects to this
server as a *client* and turns every message into a scene node, live. The messages follow the
OpenIGTLink protocol v2/v3 (Tokuda et al., "OpenIGTLink: an open network protocol for image-guided
therapy environment", Int J Med Robot 5(4), 2009) and are encoded with pyigtl:

==========================  =========  ===========================================================
device (Slicer node name)   type       content
==========================  =========  ===========================================================
``Image`` (configurable)    IMAGE      the ultrasound frame, uint8, 1 x h x w; IJK -> world is
                                       ``T_headset_from_image`` while the pose is ``ok`` or
                                       ``occluded``, else the unplaced image plane
                                       ``diag(col_mm, row_mm, 1)``
``Segmentation`` (conf.)    IMAGE      label map, same size and geometry: :data:`LABELS`
``ImageToReference``        TRANSFORM  image mm -> reference (headset) mm; only while the pose is
                                       ``ok`` or ``occluded`` (never a stale pose)
``Nerve``, ``Vessel``,      POLYDATA   closed polylines of the structures' contours, image mm
``NerveUncertain``,                    (always sent, empty when there is none, so Slicer clears
``VesselUncertain``                    what disappeared)
``NeedleTipToImage``        TRANSFORM  needle tip and direction in image mm (only for a needle
                                       detected with validity ``ok``)
``Status``                  STRING     ``pose=<validity> proximity=<level> frozen=<yes|no>
                                       needle=<validity> frame=<seq>`` (ASCII)
==========================  =========  ===========================================================

Frames (DESIGN.md conventions; ``core/frames.py``): the image frame of the project is in
pixels, and ``T_headset_from_image`` maps pixels to headset millimetres. In Slicer everything is in
millimetres, so the *image-mm* frame is used: ``x_mm = x_px * col_mm``, ``y_mm = y_px * row_mm``
(``mm_per_px`` is ``(row, col)``), origin at the top-left pixel's centre, z out of the image
plane. Hence ``ImageToReference @ diag(col_mm, row_mm, 1, 1) == T_headset_from_image`` (in the
image plane), which is exactly the IMAGE's IJK-to-world matrix, since IJK indices are pixels.
Reference is the headset frame (right-handed, mm), which Slicer displays as its RAS world.

Threading: :meth:`SlicerServer.offer` hands the newest ``(image, overlay)`` to a one-slot mailbox
(latest wins) and returns at once; the server's own sending thread encodes at most ``send_hz``
bundles per second, and only while a client is connected. The TCP server runs on a second thread.
Both end in :meth:`SlicerServer.stop`.

pyigtl 0.3.4 notes (why :class:`_IgtlTcpServer` replaces parts of ``pyigtl.OpenIGTLinkServer``):
its constructor installs SIGINT/SIGTERM handlers (never restored, and a ``ValueError`` off the main
thread), starts a thread that sleeps in 5 s steps and outlives ``stop()``, and its request handler
spins a core and keeps ``is_connected()`` true after the client has gone, and prints tracebacks.
The subclass keeps pyigtl's message queue and message classes and replaces the rest. pyigtl can
*encode* POLYDATA but cannot receive it (not registered for decoding; its unpack is broken).
"""

from __future__ import annotations

import errno
import logging
import math
import select
import socket
import socketserver
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import cv2
import numpy as np
import pyigtl
from pyigtl.comm import OpenIGTLinkBase

from ar_bridge.messages import NeedleOverlay, OverlayMessage, StructureOverlay
from core.configtools import Section, bounds, check, require
from core.errors import NetworkError

log = logging.getLogger(__name__)

_SECTION = "igtl_server"

DEVICE_NAME_MAX_BYTES = 20
"""OpenIGTLink header field for the device name (v2/v3 header: 20 bytes)."""

IMAGE_TO_REFERENCE = "ImageToReference"
NEEDLE_TIP_TO_IMAGE = "NeedleTipToImage"
STATUS = "Status"

LABEL_BACKGROUND = 0
LABELS: dict[tuple[str, str], int] = {
    ("nerve", "ok"): 1,
    ("vessel", "ok"): 2,
    ("nerve", "uncertain"): 3,
    ("vessel", "uncertain"): 4,
}
"""Label value per ``(class, validity)``: 0 background, 1 nerve, 2 vessel, 3 nerve below the
confidence gate (uncertain), 4 vessel uncertain. A structure whose validity is not ``ok`` counts
as uncertain. Where regions overlap the certain label wins, and nerve wins over vessel."""

CONTOUR_DEVICES: dict[tuple[str, str], str] = {
    ("nerve", "ok"): "Nerve",
    ("vessel", "ok"): "Vessel",
    ("nerve", "uncertain"): "NerveUncertain",
    ("vessel", "uncertain"): "VesselUncertain",
}
"""POLYDATA device per ``(class, validity)``."""

_PAINT_ORDER: tuple[tuple[str, str], ...] = (
    ("vessel", "uncertain"), ("nerve", "uncertain"), ("vessel", "ok"), ("nerve", "ok"))
FIXED_DEVICES: frozenset[str] = frozenset({IMAGE_TO_REFERENCE, NEEDLE_TIP_TO_IMAGE, STATUS,
                                           *CONTOUR_DEVICES.values()})

PLACING_POSES: frozenset[str] = frozenset({"ok", "occluded"})
"""Pose validities under which ``T_headset_from_image`` is sent and used (PROTOCOL.md)."""

_FILL_SHIFT = 4
"""Fractional bits of the fixed-point contour coordinates given to ``cv2.fillPoly``."""
_POLL_S = 0.01
"""How often the client thread looks for work, a closed connection or a stop request."""
_SEND_TIMEOUT_S = 2.0
"""A client that accepts no data for this long is dropped (it would otherwise stall sending)."""
_JOIN_S = 5.0


# --------------------------------------------------------------------------- configuration

def _device_name_ok(name: object) -> bool:
    if not isinstance(name, str) or not name or not name.isascii() or not name.isprintable():
        return False
    return len(name.encode("ascii")) <= DEVICE_NAME_MAX_BYTES and name not in FIXED_DEVICES


_DEVICE_NAMES = f"ASCII, 1..{DEVICE_NAME_MAX_BYTES} characters, not one of {', '.join(sorted(FIXED_DEVICES))}"


@dataclass(frozen=True)
class IgtlServerConfig(Section, key=_SECTION):
    """The OpenIGTLink server that 3D Slicer connects to (section ``[igtl_server]``).

    Attributes:
        enabled: run the server.
        host: address to listen on; ``127.0.0.1`` accepts only this computer, ``0.0.0.0`` every
            interface (OpenIGTLink is neither encrypted nor authenticated: images leave the host).
        port: TCP port (Slicer connects here). 18945 leaves PLUS's and Slicer's 18944 free;
            0 picks any free port (see :attr:`SlicerServer.port`).
        send_hz: upper limit of bundles sent per second; newer overlays replace unsent ones.
        image_device: device (node) name of the ultrasound IMAGE.
        segmentation_device: device (node) name of the label-map IMAGE.
    """

    enabled: bool = False
    host: str = field(default="127.0.0.1", metadata=check(
        lambda v: bool(v.strip()), "an address to listen on, such as 127.0.0.1 or 0.0.0.0"))
    port: int = field(default=18945, metadata=bounds(0, 65535, note="(0: any free port)"))
    send_hz: float = field(default=15.0, metadata=bounds(0.1, 60.0, note="(bundles per second)"))
    image_device: str = field(default="Image", metadata=check(_device_name_ok, _DEVICE_NAMES))
    segmentation_device: str = field(default="Segmentation", metadata=check(_device_name_ok, _DEVICE_NAMES))

    def cross_check(self) -> None:
        require(self.segmentation_device != self.image_device, f"{_SECTION}.segmentation_device",
                f"a name different from {_SECTION}.image_device", self.segmentation_device)


# --------------------------------------------------------------------------- geometry (pure)

def pixel_size_xy(mm_per_px: Sequence[float]) -> tuple[float, float] | None:
    """Pixel width and height in mm, ``(x, y)``, from the overlay's ``mm_per_px`` ``(row, col)``.

    Returns:
        ``(col_mm, row_mm)``, or ``None`` when the spacing is missing, not finite or not positive.
    """
    try:
        row, col = float(mm_per_px[0]), float(mm_per_px[1])
    except (TypeError, ValueError, IndexError):
        return None
    if not (math.isfinite(row) and math.isfinite(col) and row > 0.0 and col > 0.0):
        return None
    return col, row


def px_to_image_mm(points_px: Any, size_xy: tuple[float, float]) -> np.ndarray:
    """Image pixels ``(x, y)`` to image-mm points ``(x, y, 0)``.

    Args:
        points_px: ``(N, 2)`` pixel coordinates, x along columns, y along rows.
        size_xy: pixel size ``(col_mm, row_mm)`` from :func:`pixel_size_xy`.

    Returns:
        ``(N, 3)`` float32 millimetres in the image plane.
    """
    p = np.asarray(points_px, dtype=np.float64).reshape(-1, 2)
    out = np.zeros((len(p), 3), dtype=np.float32)
    out[:, 0] = p[:, 0] * size_xy[0]
    out[:, 1] = p[:, 1] * size_xy[1]
    return out


def is_placed(overlay: OverlayMessage) -> bool:
    """True when the overlay carries a pose that may be shown as current (``ok`` or ``occluded``)."""
    T = overlay.T_headset_from_image
    if overlay.pose_validity not in PLACING_POSES or T is None:
        return False
    T = np.asarray(T, dtype=np.float64)
    return T.shape == (4, 4) and bool(np.all(np.isfinite(T)))


def _unit_normal(T: np.ndarray) -> np.ndarray:
    """The image normal (third axis) of ``T`` as a unit vector."""
    z = T[:3, 2]
    n = float(np.linalg.norm(z))
    if n > 1e-12:
        return z / n
    c = np.cross(T[:3, 0], T[:3, 1])
    return c / float(np.linalg.norm(c))


def reference_from_image_mm(T_headset_from_image: np.ndarray, size_xy: tuple[float, float]) -> np.ndarray:
    """``T_headset_from_image`` re-expressed for the image-mm frame (the ``ImageToReference`` matrix).

    The in-plane columns are divided by the pixel size, so that
    ``result @ diag(col_mm, row_mm, 1, 1)`` maps pixels exactly as ``T_headset_from_image`` does; the
    normal becomes a unit vector (1 mm out of the plane stays 1 mm).
    """
    T = np.asarray(T_headset_from_image, dtype=np.float64)
    out = T.copy()
    out[:3, 0] = T[:3, 0] / size_xy[0]
    out[:3, 1] = T[:3, 1] / size_xy[1]
    out[:3, 2] = _unit_normal(T)
    return out


def ijk_to_world(T_headset_from_image: np.ndarray | None, size_xy: tuple[float, float]) -> np.ndarray:
    """IJK (i = column, j = row, k = 0) to world matrix of the IMAGE messages.

    Args:
        T_headset_from_image: the pose to place the image with, or ``None`` for the unplaced image
            plane (identity placement, spacing only).
        size_xy: pixel size ``(col_mm, row_mm)``.
    """
    spacing = np.diag([size_xy[0], size_xy[1], 1.0, 1.0])
    if T_headset_from_image is None:
        return spacing
    return reference_from_image_mm(T_headset_from_image, size_xy) @ spacing


# --------------------------------------------------------------------------- content (pure)

def _label_key(s: StructureOverlay) -> tuple[str, str]:
    return s.cls, ("ok" if s.validity == "ok" else "uncertain")


def _fixed_point(contour_px: np.ndarray) -> np.ndarray:
    return np.round(np.asarray(contour_px, dtype=np.float64).reshape(-1, 2) * (1 << _FILL_SHIFT)).astype(np.int32)


def label_map(structures: Iterable[StructureOverlay], size_wh: tuple[int, int]) -> np.ndarray:
    """Rasterise the structures' contours into a label map (values: :data:`LABELS`).

    Args:
        structures: the overlay's structures (contours in image pixels).
        size_wh: image size ``(width, height)``.

    Returns:
        ``(height, width)`` uint8 labels; 0 outside every structure.
    """
    w, h = int(size_wh[0]), int(size_wh[1])
    out = np.zeros((h, w), dtype=np.uint8)
    structures = list(structures)
    for key in _PAINT_ORDER:
        polys = [_fixed_point(s.contour_px) for s in structures
                 if _label_key(s) == key and np.asarray(s.contour_px).size >= 6]
        if polys:
            cv2.fillPoly(out, polys, int(LABELS[key]), lineType=cv2.LINE_8, shift=_FILL_SHIFT)
    return out


def closed_polylines(polys: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
    """Points and VTK-style line cells (``[n + 1, i0, ..., i(n-1), i0]`` each) of closed polylines.

    Returns:
        ``(points (N, 3) float32, cells uint32 or None when there is no polyline)``.
    """
    if not polys:
        return np.zeros((0, 3), dtype=np.float32), None
    cells, start = [], 0
    for p in polys:
        n = len(p)
        ids = np.arange(start, start + n, dtype=np.uint32)
        cells.append(np.concatenate(([n + 1], ids, [start])).astype(np.uint32))
        start += n
    return np.concatenate(polys).astype(np.float32), np.concatenate(cells)


def contour_polydata(structures: Iterable[StructureOverlay],
                     size_xy: tuple[float, float]) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """Closed polylines in image mm per POLYDATA device (:data:`CONTOUR_DEVICES`), empty ones included."""
    groups: dict[str, list[np.ndarray]] = {dev: [] for dev in CONTOUR_DEVICES.values()}
    for s in structures:
        dev = CONTOUR_DEVICES.get(_label_key(s))
        pts = px_to_image_mm(s.contour_px, size_xy)
        if dev is not None and len(pts) >= 2:
            groups[dev].append(pts)
    return {dev: closed_polylines(polys) for dev, polys in groups.items()}


def _needle_direction_mm(needle: NeedleOverlay, tip_mm: np.ndarray,
                         size_xy: tuple[float, float]) -> np.ndarray | None:
    """Unit direction of advance in image mm: along the trajectory, else from entry to tip."""
    candidates = []
    if needle.trajectory_px is not None and np.asarray(needle.trajectory_px).size >= 4:
        traj = px_to_image_mm(needle.trajectory_px, size_xy).astype(np.float64)
        candidates.append(traj[1] - traj[0])
    if needle.entry_px is not None:
        candidates.append(tip_mm - px_to_image_mm([needle.entry_px], size_xy)[0].astype(np.float64))
    for d in candidates:
        n = float(np.hypot(d[0], d[1]))
        if n > 1e-9:
            return np.array([d[0] / n, d[1] / n, 0.0])
    return None


def needle_tip_to_image(needle: NeedleOverlay | None, size_xy: tuple[float, float]) -> np.ndarray | None:
    """The ``NeedleTipToImage`` matrix (image mm), or ``None`` without a confident needle.

    Origin: the tip. x axis: the needle's direction of advance; z axis: the image normal;
    y = z x x. ``None`` unless the needle's validity is ``ok`` with a tip and a direction.
    """
    if needle is None or needle.validity != "ok" or needle.tip_px is None:
        return None
    tip = px_to_image_mm([needle.tip_px], size_xy)[0].astype(np.float64)
    x = _needle_direction_mm(needle, tip, size_xy)
    if x is None:
        return None
    z = np.array([0.0, 0.0, 1.0])
    T = np.eye(4)
    T[:3, 0], T[:3, 1], T[:3, 2], T[:3, 3] = x, np.cross(z, x), z, tip
    return T


def status_text(overlay: OverlayMessage) -> str:
    """The ``Status`` string: ``pose=… proximity=… frozen=yes|no needle=… frame=…`` (ASCII)."""
    n = overlay.needle
    fields = (("pose", overlay.pose_validity), ("proximity", n.proximity if n else "none"),
              ("frozen", "yes" if overlay.frozen else "no"), ("needle", n.validity if n else "none"),
              ("frame", overlay.frame_seq))
    return " ".join(f"{k}={v}" for k, v in fields).encode("ascii", "replace").decode("ascii")


def _gray_u8(image: np.ndarray) -> np.ndarray:
    """A private, contiguous ``(h, w)`` uint8 copy of a grayscale, BGR or BGRA image."""
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] in (3, 4):
        a = cv2.cvtColor(a, cv2.COLOR_BGR2GRAY if a.shape[2] == 3 else cv2.COLOR_BGRA2GRAY)
    elif a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    return np.array(a, dtype=np.uint8, order="C", copy=True)


def _display_image(frame_image: np.ndarray | None, overlay: OverlayMessage) -> np.ndarray | None:
    """The image that matches the overlay's content.

    The overlay's own image when it has one (while frozen, the held frame); otherwise the live
    frame, except while frozen (no image update then, so the contours never sit on a newer frame).
    """
    if overlay.image is not None:
        return _gray_u8(overlay.image)
    if frame_image is None or overlay.frozen:
        return None
    return _gray_u8(frame_image)


def _content_time_s(overlay: OverlayMessage) -> float:
    t_ns = overlay.frozen_at_ns if (overlay.frozen and overlay.frozen_at_ns) else overlay.t_capture_ns
    return t_ns / 1e9


def build_messages(frame_image: np.ndarray | None, overlay: OverlayMessage,
                   config: IgtlServerConfig) -> list[pyigtl.MessageBase]:
    """Every OpenIGTLink message for one overlay, in sending order (``Status`` last).

    Args:
        frame_image: the live ultrasound frame (used when the overlay carries no image).
        overlay: the overlay to serve.
        config: device names.

    Returns:
        pyigtl messages; timestamps are the content's capture time (the held frame's while frozen).
    """
    size_xy = pixel_size_xy(overlay.mm_per_px) or (1.0, 1.0)
    T = np.asarray(overlay.T_headset_from_image, dtype=np.float64) if is_placed(overlay) else None
    ts = _content_time_s(overlay)
    ijk = ijk_to_world(T, size_xy)
    msgs: list[pyigtl.MessageBase] = []
    image = _display_image(frame_image, overlay)
    if image is not None:
        msgs.append(pyigtl.ImageMessage(image[np.newaxis], ijk_to_world_matrix=ijk, world_coordinate_system="ras",
                                        timestamp=ts, device_name=config.image_device))
    size_wh = overlay.image_size
    if image is not None and min(size_wh) <= 0:
        size_wh = (image.shape[1], image.shape[0])
    labels = label_map(overlay.structures, size_wh)
    msgs.append(pyigtl.ImageMessage(labels[np.newaxis], ijk_to_world_matrix=ijk, world_coordinate_system="ras",
                                    timestamp=ts, device_name=config.segmentation_device))
    if T is not None:
        msgs.append(pyigtl.TransformMessage(reference_from_image_mm(T, size_xy), timestamp=ts,
                                            device_name=IMAGE_TO_REFERENCE))
    for dev, (points, lines) in contour_polydata(overlay.structures, size_xy).items():
        msgs.append(pyigtl.PolyDataMessage(points=points, lines=lines, timestamp=ts, device_name=dev))
    tip = needle_tip_to_image(overlay.needle, size_xy)
    if tip is not None:
        msgs.append(pyigtl.TransformMessage(tip, timestamp=ts, device_name=NEEDLE_TIP_TO_IMAGE))
    msgs.append(pyigtl.StringMessage(status_text(overlay), timestamp=overlay.t_capture_ns / 1e9,
                                     device_name=STATUS))
    return msgs


# --------------------------------------------------------------------------- TCP server

class _RequestHandler(socketserver.BaseRequestHandler):
    """Hands the accepted connection to :meth:`_IgtlTcpServer.serve_client`."""

    server: "_IgtlTcpServer"

    def handle(self) -> None:
        self.server.serve_client(self.request, self.client_address)


class _IgtlTcpServer(pyigtl.OpenIGTLinkServer):
    """pyigtl's server with its thread, signal and connection handling replaced (module docstring).

    Keeps pyigtl's outgoing queue (``outgoing_messages`` under ``lock_outgoing_messages``) and
    ``is_connected()``. Serves one client at a time; a second one waits in the listen backlog until
    the first disconnects. Incoming messages are read and discarded.

    Args:
        host: address to listen on.
        port: port (0: any free port).

    Raises:
        OSError: the address cannot be bound.
    """

    allow_reuse_address = True  # restart at once after stop (TIME_WAIT); a listening socket still blocks

    def __init__(self, host: str, port: int) -> None:  # noqa: D107 - pyigtl's __init__ is bypassed on purpose
        OpenIGTLinkBase.__init__(self)
        self.host = host
        socketserver.TCPServer.__init__(self, (host, port), _RequestHandler)
        self.port = int(self.server_address[1])
        self._client_lock = threading.Lock()
        self._client: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Accept clients on a thread of its own."""
        self.communication_thread_stop_requested = False
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="igtl-server-accept", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Drop the client, stop accepting, close the socket and join the thread (idempotent)."""
        self.communication_thread_stop_requested = True
        self._abort_client()
        if self._thread is not None:
            self.shutdown()
            self._thread.join(_JOIN_S)
            if self._thread.is_alive():
                log.warning("OpenIGTLink server thread did not stop within %.0f s", _JOIN_S)
            self._thread = None
        self.server_close()
        self._connected = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log (never print) an unexpected error of a client connection."""
        log.exception("OpenIGTLink client %s: unexpected error", client_address)

    # ------------------------------------------------------------------ one client
    def serve_client(self, sock: socket.socket, address: Any) -> None:
        """Send queued messages to ``sock`` until it closes, stalls or the server stops."""
        peer = f"{address[0]}:{address[1]}"
        sock.settimeout(_SEND_TIMEOUT_S)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._clear_outgoing()
        with self._client_lock:
            self._client = sock
        self._connected = True
        log.info("OpenIGTLink client %s connected", peer)
        reason = "server stopped"
        try:
            while not self.communication_thread_stop_requested:
                if not self._peer_open(sock):
                    reason = "client closed the connection"
                    break
                self._send_pending(sock)
        except OSError as exc:  # reset, broken pipe, or no progress for _SEND_TIMEOUT_S
            reason = f"{exc.__class__.__name__}: {exc}"
        finally:
            self._connected = False
            with self._client_lock:
                self._client = None
            self._clear_outgoing()
        log.info("OpenIGTLink client %s disconnected (%s)", peer, reason)

    @staticmethod
    def _peer_open(sock: socket.socket) -> bool:
        """Wait up to one poll period for input; discard it; False once the peer has closed."""
        readable, _, _ = select.select([sock], [], [], _POLL_S)
        if not readable:
            return True
        return bool(sock.recv(65536))

    def _send_pending(self, sock: socket.socket) -> None:
        while True:
            with self.lock_outgoing_messages:
                if not self.outgoing_messages:
                    return
                msg = self.outgoing_messages.popleft()
            sock.sendall(msg.pack())

    def _clear_outgoing(self) -> None:
        with self.lock_outgoing_messages:
            self.outgoing_messages.clear()

    def _abort_client(self) -> None:
        with self._client_lock:
            sock = self._client
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)  # ends a blocked sendall at once
            except OSError:
                pass

    # ------------------------------------------------------------------ for the sending thread
    def pending(self) -> bool:
        """True while messages of the previous bundle are still queued."""
        with self.lock_outgoing_messages:
            return bool(self.outgoing_messages)

    def queue(self, messages: Sequence[pyigtl.MessageBase]) -> bool:
        """Queue a bundle for the connected client; False (nothing queued) without a client."""
        with self.lock_outgoing_messages:
            if not self._connected:
                return False
            self.outgoing_messages.extend(messages)
            return True


def _open_server(config: IgtlServerConfig) -> _IgtlTcpServer:
    """Bind the listening socket, turning a failure into one actionable :class:`NetworkError`."""
    where = f"{config.host}:{config.port}"
    try:
        return _IgtlTcpServer(config.host, config.port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise NetworkError(f"cannot start the OpenIGTLink server for 3D Slicer on {where}: the port is already "
                               f"in use (another Slicer/PLUS server or sonoguide instance?) - stop that program or "
                               f"set {_SECTION}.port to a free port") from None
        raise NetworkError(f"cannot start the OpenIGTLink server for 3D Slicer on {where}: "
                           f"{exc.strerror or exc} - check {_SECTION}.host and {_SECTION}.port") from None


# --------------------------------------------------------------------------- the public server

class _LatestSlot:
    """One-slot, latest-wins hand-over between the caller and the sending thread."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: Any = None
        self._has = False
        self._closed = False

    def put(self, item: Any) -> bool:
        """Store ``item``; True when it replaced one not yet taken."""
        with self._cond:
            replaced, self._item, self._has = self._has, item, True
            self._cond.notify()
            return replaced

    def take(self, timeout: float) -> Any:
        """The newest item, or ``None`` after ``timeout`` seconds or once closed."""
        with self._cond:
            if not self._has and not self._closed:
                self._cond.wait(timeout)
            if not self._has:
                return None
            item, self._item, self._has = self._item, None, False
            return item

    def close(self) -> None:
        """Wake a waiting taker; later takes return what is left, then ``None``."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()


@dataclass
class SlicerServerStats:
    """Counters of :class:`SlicerServer` (each written by one thread only).

    Attributes:
        offered: calls of :meth:`SlicerServer.offer`.
        no_client: offers ignored because no client was connected (nothing encoded).
        replaced: offers overwritten by a newer one before they were sent (latest wins).
        sent: bundles queued to a connected client.
        errors: bundles that could not be encoded (logged).
    """

    offered: int = 0
    no_client: int = 0
    replaced: int = 0
    sent: int = 0
    errors: int = 0


class SlicerServer:
    """Serves the live overlay to 3D Slicer over OpenIGTLink (see the module docstring).

    Args:
        config: address, rate and device names.

    Example::

        server = SlicerServer(IgtlServerConfig(enabled=True))
        server.start()                      # NetworkError on a busy port
        server.offer(frame.image, overlay)  # per overlay, from any thread; never blocks
        server.stop()
    """

    def __init__(self, config: IgtlServerConfig | None = None) -> None:
        self.config = config or IgtlServerConfig()
        self.stats = SlicerServerStats()
        self._server: _IgtlTcpServer | None = None
        self._slot = _LatestSlot()
        self._stop = threading.Event()
        self._sender: threading.Thread | None = None
        self._warned_spacing = False

    # ------------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int | None:
        """The bound port (useful with ``port = 0``), or ``None`` when not running."""
        srv = self._server
        return None if srv is None else srv.port

    def is_connected(self) -> bool:
        """True while a client (Slicer) is connected."""
        srv = self._server
        return srv is not None and srv.is_connected()

    def start(self) -> None:
        """Bind and start the accepting and sending threads (no-op when already running).

        Raises:
            NetworkError: the address cannot be bound (busy port, bad host).
        """
        if self._server is not None:
            return
        srv = _open_server(self.config)
        self._stop.clear()
        self._slot = _LatestSlot()
        srv.start()
        self._server = srv
        self._sender = threading.Thread(target=self._send_loop, name="igtl-server-send", daemon=True)
        self._sender.start()
        log.info("OpenIGTLink server for 3D Slicer listening on %s:%d (connect an OpenIGTLinkIF client "
                 "connector to it)", self.config.host, srv.port)

    def stop(self) -> None:
        """Disconnect the client and end every thread (idempotent)."""
        self._stop.set()
        self._slot.close()
        if self._sender is not None:
            self._sender.join(_JOIN_S)
            if self._sender.is_alive():
                log.warning("OpenIGTLink sending thread did not stop within %.0f s", _JOIN_S)
            self._sender = None
        srv, self._server = self._server, None
        if srv is not None:
            srv.stop()
            log.info("OpenIGTLink server for 3D Slicer stopped")

    def __enter__(self) -> "SlicerServer":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ the caller's side
    def offer(self, frame_image: np.ndarray | None, overlay: OverlayMessage) -> None:
        """Hand over the newest frame and overlay; returns at once and never raises for the network.

        Nothing is kept while no client is connected. The arrays are read later on the sending
        thread, so the caller must not modify them after offering (pipeline frames are fresh).

        Args:
            frame_image: the live ultrasound frame (``Frame.image``), or ``None``.
            overlay: the overlay composed for it.
        """
        self.stats.offered += 1
        if not self.is_connected():
            self.stats.no_client += 1
            return
        if self._slot.put((frame_image, overlay)):
            self.stats.replaced += 1

    # ------------------------------------------------------------------ the sending thread
    def _send_loop(self) -> None:
        period = 1.0 / self.config.send_hz
        next_due = 0.0
        while self._wait_until_ready(next_due):
            item = self._slot.take(0.1)
            srv = self._server
            if item is None or srv is None or not srv.is_connected():
                continue
            next_due = time.monotonic() + period
            self._send_bundle(srv, *item)

    def _wait_until_ready(self, next_due: float) -> bool:
        """Wait for the rate limit and for the previous bundle to leave; False once stopping."""
        delay = next_due - time.monotonic()
        if delay > 0 and self._stop.wait(delay):
            return False
        while True:
            srv = self._server
            if srv is None or not srv.pending():
                return not self._stop.is_set()
            if self._stop.wait(0.002):
                return False

    def _send_bundle(self, srv: _IgtlTcpServer, frame_image: np.ndarray | None, overlay: OverlayMessage) -> None:
        if pixel_size_xy(overlay.mm_per_px) is None and not self._warned_spacing:
            self._warned_spacing = True
            log.warning("overlay has no valid mm_per_px (%s); Slicer gets 1 mm per pixel", overlay.mm_per_px)
        try:
            messages = build_messages(frame_image, overlay, self.config)
        except Exception:  # a bug in encoding must not end the server thread
            self.stats.errors += 1
            log.exception("could not encode overlay %d for OpenIGTLink", overlay.frame_seq)
            return
        if srv.queue(messages):
            self.stats.sent += 1
