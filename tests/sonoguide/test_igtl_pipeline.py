"""Probe poses from a real OpenIGTLink server drive the overlay placement; a silent tracker goes stale."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time

import numpy as np
import pytest
import zmq

pyigtl = pytest.importorskip("pyigtl")

from ar_bridge.schema import decode  # noqa: E402
from ar_bridge.messages import OverlayMessage
from core.frames import FrameName  # noqa: E402
from calibration.io import Calibration  # noqa: E402
from sonoguide.runtime import Runtime  # noqa: E402
from sonoguide.config import CalibrationConfig, CameraConfig, Config, PipelineConfig  # noqa: E402
from core.se3 import make_T, rotvec_to_R  # noqa: E402


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_igtl_poses_place_overlays_and_silence_makes_them_stale(tmp_path):
    T_tp = make_T(rotvec_to_R([0.1, 0.2, -0.3]), [15.0, -20.0, 400.0])  # ProbeToTracker
    T_mi = np.diag([0.1, 0.1, 1.0, 1.0]) @ make_T(np.eye(3), [-200.0, 0.0, 0.0])
    T_hc = make_T(rotvec_to_R([0.0, 0.5, 0.0]), [0.0, 50.0, -20.0])
    Calibration(FrameName.IMAGE, FrameName.MARKER, T_mi, residuals={"rms_mm": 0.5}).save(tmp_path / "im.json")
    Calibration(FrameName.CAMERA, FrameName.HEADSET, T_hc, residuals={"rms_mm": 0.5}).save(tmp_path / "ch.json")
    igtl_port = _port()
    server = pyigtl.OpenIGTLinkServer(port=igtl_port, local_server=True)
    streaming = threading.Event()
    streaming.set()
    done = threading.Event()

    def stream() -> None:
        while not done.is_set():
            if streaming.is_set() and server.is_connected():
                server.send_message(pyigtl.TransformMessage(T_tp, device_name="ProbeToTracker"), wait=True)
            time.sleep(0.02)

    feeder = threading.Thread(target=stream, daemon=True)
    feeder.start()
    cfg = Config()
    cfg = cfg.replace(
        network=dataclasses.replace(cfg.network, pub_endpoint=f"tcp://127.0.0.1:{_port()}",
                                    control_endpoint=f"tcp://127.0.0.1:{_port()}"),
        camera=CameraConfig(source=f"igtl:127.0.0.1:{igtl_port}"),
        calibration=CalibrationConfig(image_to_marker=str(tmp_path / "im.json"),
                                      camera_to_headset=str(tmp_path / "ch.json")),
        pipeline=PipelineConfig(segmentation=False, needle=False))
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"overlay")
    sub.setsockopt(zmq.LINGER, 0)
    sub.connect(cfg.network.pub_endpoint)
    rt = Runtime(cfg, voice=False)
    rt.start()

    def collect(seconds: float) -> list[OverlayMessage]:
        out, end = [], time.monotonic() + seconds
        while time.monotonic() < end:
            if sub.poll(20):
                out.append(OverlayMessage.from_wire(decode(sub.recv_multipart())))
        return out

    try:
        live = collect(2.5)
        streaming.clear()
        t_silent = time.time_ns()
        silent = [o for o in collect(1.8) if o.t_capture_ns > t_silent + 500_000_000]
    finally:
        done.set()
        rt.stop()
        sub.close()
        ctx.term()
        server.stop()
    placed = [o for o in live if o.pose_validity == "ok"]
    assert placed, "no overlay was placed from the OpenIGTLink poses"
    np.testing.assert_allclose(placed[-1].T_headset_from_image, T_hc @ T_tp @ T_mi, atol=1e-6)
    assert silent and all(o.pose_validity in ("stale", "lost") and o.T_headset_from_image is None for o in silent)


def test_3d_slicer_receives_the_live_loop_over_openigtlink():
    """The runtime with [igtl_server] enabled: a pyigtl client (as Slicer's OpenIGTLinkIF) gets the
    ultrasound image, the label map, the image placement and the status from the running demo loop."""
    from ar_bridge.igtl_server import IgtlServerConfig

    cfg = Config()
    cfg = cfg.replace(network=dataclasses.replace(cfg.network, pub_endpoint=f"tcp://127.0.0.1:{_port()}",
                                                  control_endpoint=f"tcp://127.0.0.1:{_port()}"),
                      voice=dataclasses.replace(cfg.voice, enabled=False),
                      igtl_server=IgtlServerConfig(enabled=True, port=0, send_hz=10.0))
    rt = Runtime(cfg, demo=True)
    rt.start()
    got: dict[str, object] = {}
    try:
        client = pyigtl.OpenIGTLinkClient(host="127.0.0.1", port=rt.slicer.port)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not {"Image", "Segmentation", "ImageToReference", "Status"} <= set(got):
            for name in ("Image", "Segmentation", "ImageToReference", "Status"):
                m = client.wait_for_message(name, timeout=0.2)
                if m is not None:
                    got[name] = m
        client.stop()
    finally:
        rt.stop()
    image, labels = got["Image"], got["Segmentation"]
    assert image.image.shape == labels.image.shape and image.image.shape[0] == 1
    assert set(np.unique(labels.image)) <= {0, 1, 2, 3, 4} and labels.image.max() > 0
    assert got["ImageToReference"].matrix.shape == (4, 4)
    assert "pose=" in got["Status"].string and "proximity=" in got["Status"].string
    assert rt.slicer is not None
