"""The OpenIGTLink server for 3D Slicer, tested with a real pyigtl client over TCP."""

from __future__ import annotations

import dataclasses
import socket
import struct
import threading
import time

import cv2
import numpy as np
import pytest

pyigtl = pytest.importorskip("pyigtl")

from ar_bridge.igtl_server import (  # noqa: E402
    IMAGE_TO_REFERENCE, LABELS, NEEDLE_TIP_TO_IMAGE, STATUS, IgtlServerConfig, SlicerServer, build_messages,
    label_map)
from ar_bridge.messages import NeedleOverlay, OverlayMessage, StructureOverlay  # noqa: E402
from core.configtools import section_from_dict  # noqa: E402
from core.errors import ConfigError, NetworkError  # noqa: E402

H, W = 120, 160
ROW_MM, COL_MM = 0.2, 0.25  # anisotropic on purpose: catches a (row, col) / (x, y) mix-up
NERVE_PX = np.array([[20, 30], [60, 30], [60, 70], [20, 70]], dtype=np.float32)
VESSEL_PX = np.array([[100, 60], [140, 60], [140, 100], [100, 100]], dtype=np.float32)
TIP_PX, ENTRY_PX = (90.0, 50.0), (10.0, 5.0)
TRAJ_PX = np.array([[90, 50], [130, 70]], dtype=np.float32)


def _pose() -> np.ndarray:
    """A T_headset_from_image (px -> mm): rotation times the pixel size, plus a translation."""
    R, _ = cv2.Rodrigues(np.array([0.3, -0.2, 0.5]))
    T = np.eye(4)
    T[:3, :3] = R @ np.diag([COL_MM, ROW_MM, 1.0])
    T[:3, 3] = [12.0, -40.0, 350.0]
    return T


def _overlay(pose_validity: str = "ok", seq: int = 1) -> OverlayMessage:
    rng = np.random.default_rng(seq)
    image = rng.integers(0, 256, (H, W), dtype=np.uint8)
    needle = NeedleOverlay(validity="ok", tip_px=TIP_PX, entry_px=ENTRY_PX, angle_deg=30.0, proximity="caution",
                           tip_distance_mm={"nerve": 2.5, "vessel": None},
                           trajectory_distance_mm={"nerve": 1.0, "vessel": None}, trajectory_px=TRAJ_PX)
    placed = pose_validity in ("ok", "occluded")
    return OverlayMessage(
        frame_seq=seq, t_capture_ns=time.time_ns(), valid_until_ns=time.time_ns() + 10**8, image_size=(W, H),
        mm_per_px=(ROW_MM, COL_MM), frozen=False, layers={"nerve": True, "vessel": True, "needle": True},
        quality=0.8, quality_flags=(), pose_validity=pose_validity, pose_age_ms=3.0 if placed else None,
        T_headset_from_image=_pose() if placed else None,
        structures=(StructureOverlay(1, "nerve", "ok", 0.9, 100.0, NERVE_PX),
                    StructureOverlay(2, "vessel", "uncertain", 0.4, 100.0, VESSEL_PX)),
        needle=needle, source="test", image=image)


class _PolyData(pyigtl.MessageBase):
    """Test-side POLYDATA decoder (pyigtl 0.3.4 cannot receive POLYDATA), written from the spec."""

    def __init__(self) -> None:
        super().__init__()
        self._message_type = "POLYDATA"
        self._valid_message = True

    def _unpack_content(self, content: bytes) -> None:
        head = struct.unpack(">10I", content[:40])
        npoints, size_vertices, size_lines = head[0], head[2], head[4]
        assert head[5:] == (0, 0, 0, 0, 0), "only points and lines are expected"
        off = 40
        self.points = np.frombuffer(content[off:off + 12 * npoints], dtype=">f4").reshape(-1, 3)
        off += 12 * npoints + size_vertices
        self.lines = np.frombuffer(content[off:off + size_lines], dtype=">u4")


@pytest.fixture
def polydata_decoding(monkeypatch):
    monkeypatch.setitem(pyigtl.messages.message_type_to_class_constructor, "POLYDATA", _PolyData)


@pytest.fixture
def served():
    """A running server on a free port and a connected pyigtl client."""
    server = SlicerServer(IgtlServerConfig(enabled=True, port=0, send_hz=60.0))
    server.start()
    client = pyigtl.OpenIGTLinkClient(host="127.0.0.1", port=server.port)
    try:
        end = time.monotonic() + 5.0
        while not server.is_connected():
            assert time.monotonic() < end, "client did not connect"
            time.sleep(0.01)
        yield server, client
    finally:
        client.stop()
        server.stop()


def _collect(server: SlicerServer, client, overlay: OverlayMessage, until, timeout: float = 5.0) -> dict:
    """Offer ``overlay`` repeatedly until ``until(received)``; the newest message per device."""
    got: dict = {}
    end = time.monotonic() + timeout
    while not until(got):
        assert time.monotonic() < end, f"timed out; received {sorted(got)}"
        server.offer(None, overlay)
        time.sleep(0.01)
        got.update({m.device_name: m for m in client.get_latest_messages()})
    return got


def _mm(points_px) -> np.ndarray:
    p = np.asarray(points_px, dtype=np.float64).reshape(-1, 2)
    return np.column_stack([p[:, 0] * COL_MM, p[:, 1] * ROW_MM, np.zeros(len(p))])


def _check_lines(lines: np.ndarray, start: int, n: int) -> None:
    np.testing.assert_array_equal(lines, [n + 1, *range(start, start + n), start])


def test_every_message_arrives_with_its_content(served, polydata_decoding):
    server, client = served
    ov = _overlay("ok")
    T = ov.T_headset_from_image
    devices = {"Image", "Segmentation", IMAGE_TO_REFERENCE, "Nerve", "Vessel", "NerveUncertain",
               "VesselUncertain", NEEDLE_TIP_TO_IMAGE, STATUS}
    got = _collect(server, client, ov, lambda g: devices <= set(g))

    image = got["Image"]
    assert image.message_type == "IMAGE" and image.image.shape == (1, H, W) and image.image.dtype == np.uint8
    np.testing.assert_array_equal(image.image[0], ov.image)
    M = image.ijk_to_world_matrix  # IJK (column, row, 0) -> world; pyigtl turns the centre into the origin
    np.testing.assert_allclose(M[:3, [0, 1, 3]], T[:3, [0, 1, 3]], atol=1e-3)
    np.testing.assert_allclose(M[:3, 2], T[:3, 2] / np.linalg.norm(T[:3, 2]), atol=1e-5)

    seg = got["Segmentation"]
    assert seg.image.shape == (1, H, W) and seg.image.dtype == np.uint8
    np.testing.assert_allclose(seg.ijk_to_world_matrix[:3, [0, 1, 3]], T[:3, [0, 1, 3]], atol=1e-3)
    labels = seg.image[0]
    assert labels[50, 40] == LABELS[("nerve", "ok")] == 1          # row 50, column 40: inside the nerve
    assert labels[80, 120] == LABELS[("vessel", "uncertain")] == 4  # inside the uncertain vessel
    assert labels[5, 5] == labels[110, 80] == 0
    assert set(np.unique(labels)) == {0, 1, 4}

    ref = got[IMAGE_TO_REFERENCE].matrix  # image mm -> reference mm
    np.testing.assert_allclose(ref @ np.diag([COL_MM, ROW_MM, 1.0, 1.0]) @ [40.0, 50.0, 0.0, 1.0],
                               T @ [40.0, 50.0, 0.0, 1.0], atol=1e-3)
    np.testing.assert_allclose((ref @ np.diag([COL_MM, ROW_MM, 1.0, 1.0]))[:3, [0, 1, 3]], T[:3, [0, 1, 3]],
                               atol=1e-3)

    nerve = got["Nerve"]
    np.testing.assert_allclose(nerve.points, _mm(NERVE_PX), atol=1e-5)
    _check_lines(nerve.lines, 0, len(NERVE_PX))
    vessel_u = got["VesselUncertain"]
    np.testing.assert_allclose(vessel_u.points, _mm(VESSEL_PX), atol=1e-5)
    _check_lines(vessel_u.lines, 0, len(VESSEL_PX))
    assert got["Vessel"].points.shape == (0, 3) and got["NerveUncertain"].points.shape == (0, 3)

    tip = got[NEEDLE_TIP_TO_IMAGE].matrix
    np.testing.assert_allclose(tip[:3, 3], _mm([TIP_PX])[0], atol=1e-4)
    d = _mm(TRAJ_PX[1:])[0] - _mm(TRAJ_PX[:1])[0]
    np.testing.assert_allclose(tip[:3, 0], d / np.linalg.norm(d), atol=1e-5)
    np.testing.assert_allclose(tip[:3, 2], [0.0, 0.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(tip[:3, :3].T @ tip[:3, :3], np.eye(3), atol=1e-5)

    status = got[STATUS].string
    assert "pose=ok" in status and "proximity=caution" in status and "frozen=no" in status
    assert f"frame={ov.frame_seq}" in status


def test_a_stale_pose_is_never_sent_and_the_image_falls_back_to_the_image_plane(served, polydata_decoding):
    server, client = served
    _collect(server, client, _overlay("ok"), lambda g: IMAGE_TO_REFERENCE in g)
    stale = _overlay("stale", seq=2)
    # Status ends each bundle: once a stale one is seen, everything after it comes from stale overlays.
    _collect(server, client, stale, lambda g: "pose=stale" in getattr(g.get(STATUS), "string", ""))
    got = _collect(server, client, stale, lambda g: {STATUS, "Image", "Nerve"} <= set(g))
    assert IMAGE_TO_REFERENCE not in got
    assert "pose=stale" in got[STATUS].string
    M = got["Image"].ijk_to_world_matrix
    np.testing.assert_allclose(M, np.diag([COL_MM, ROW_MM, 1.0, 1.0]), atol=1e-6)
    np.testing.assert_array_equal(got["Image"].image[0], stale.image)
    np.testing.assert_allclose(got["Nerve"].points, _mm(NERVE_PX), atol=1e-5)  # contours stay in image mm


def test_no_client_means_nothing_is_encoded_and_stop_ends_every_thread():
    server = SlicerServer(IgtlServerConfig(enabled=True, port=0))
    server.start()
    try:
        for i in range(5):
            server.offer(None, _overlay(seq=i))
        time.sleep(0.05)
        assert server.stats.no_client == 5 and server.stats.sent == 0 and server.stats.errors == 0
    finally:
        server.stop()
    assert not [t for t in threading.enumerate() if t.name.startswith("igtl-server")]
    server.stop()  # idempotent
    server.offer(None, _overlay())  # after stop: ignored, no error


def test_offer_never_blocks_and_the_latest_wins(served):
    server, client = served
    t0 = time.perf_counter()
    for i in range(200):
        server.offer(None, _overlay(seq=i))
    assert time.perf_counter() - t0 < 1.0  # 200 offers; the sending thread sends at most 60 bundles/s
    time.sleep(0.2)
    assert server.stats.sent < 60 and server.stats.replaced > 0
    got = _collect(server, client, _overlay(seq=999), lambda g: "frame=999" in getattr(g.get(STATUS), "string", ""))
    assert got[STATUS].string.endswith("frame=999")


def test_a_departed_client_is_noticed_and_the_next_one_is_served(served):
    server, client = served
    client.stop()
    end = time.monotonic() + 2.0
    while server.is_connected():  # pyigtl's own handler would spin here and stay "connected"
        assert time.monotonic() < end, "disconnect not noticed"
        time.sleep(0.01)
    again = pyigtl.OpenIGTLinkClient(host="127.0.0.1", port=server.port)
    try:
        got = _collect(server, again, _overlay(seq=7), lambda g: STATUS in g)
        assert got[STATUS].string.endswith("frame=7")
    finally:
        again.stop()


def test_a_busy_port_raises_network_error():
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        port = other.getsockname()[1]
        server = SlicerServer(IgtlServerConfig(enabled=True, port=port))
        with pytest.raises(NetworkError, match=rf"127\.0\.0\.1:{port}.*already in use.*igtl_server\.port"):
            server.start()
        server.stop()
    with SlicerServer(IgtlServerConfig(enabled=True, port=0)) as first:
        with pytest.raises(NetworkError, match="already in use"):
            SlicerServer(IgtlServerConfig(enabled=True, port=first.port)).start()


def test_label_values_and_paint_order():
    square = np.array([[10, 10], [30, 10], [30, 30], [10, 30]], dtype=np.float32)
    structures = [StructureOverlay(i, cls, validity, 0.5, 1.0, square + [40 * i, 0])
                  for i, (cls, validity) in enumerate(LABELS)]
    labels = label_map(structures, (200, 100))
    for i, key in enumerate(LABELS):
        assert labels[20, 20 + 40 * i] == LABELS[key]
    overlapping = [StructureOverlay(1, "nerve", "uncertain", 0.3, 1.0, square),
                   StructureOverlay(2, "vessel", "ok", 0.9, 1.0, square)]
    assert label_map(overlapping, (50, 50))[20, 20] == LABELS[("vessel", "ok")]  # certain wins


def test_frozen_overlay_without_its_image_sends_no_live_image():
    ov = dataclasses.replace(_overlay(), frozen=True, frozen_at_ns=123, image=None)
    names = [m.device_name for m in build_messages(np.zeros((H, W), np.uint8), ov, IgtlServerConfig())]
    assert "Image" not in names and "Segmentation" in names and names[-1] == STATUS
    live = dataclasses.replace(ov, frozen=False)
    bgr = np.zeros((H, W, 3), np.uint8)
    image = next(m for m in build_messages(bgr, live, IgtlServerConfig()) if m.device_name == "Image")
    assert image.image.shape == (1, H, W)


@pytest.mark.parametrize("data, key", [
    ({"port": 70000}, "igtl_server.port"),
    ({"send_hz": 0}, "igtl_server.send_hz"),
    ({"image_device": "x" * 21}, "igtl_server.image_device"),
    ({"segmentation_device": "Status"}, "igtl_server.segmentation_device"),
    ({"segmentation_device": "Image"}, "igtl_server.segmentation_device"),
    ({"host": ""}, "igtl_server.host"),
    ({"prot": 1}, "igtl_server.prot"),
])
def test_bad_config_names_the_key(data, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        section_from_dict(IgtlServerConfig, data, "igtl_server")
