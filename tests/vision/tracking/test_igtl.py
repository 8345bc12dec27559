"""IgtlPoseSource against a real pyigtl OpenIGTLink server on localhost."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

pyigtl = pytest.importorskip("pyigtl")

from core.errors import DeviceError  # noqa: E402
from vision.tracking.igtl import IgtlConfig, IgtlPoseSource  # noqa: E402
from core.types import Validity  # noqa: E402


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture()
def server_and_source():
    port = _free_port()
    server = pyigtl.OpenIGTLinkServer(port=port, local_server=True)
    source = IgtlPoseSource(IgtlConfig(port=port, device_name="ProbeToTracker", stale_after_ms=150.0))
    source.connect(5.0)
    t_end = time.monotonic() + 5.0
    while not server.is_connected() and time.monotonic() < t_end:
        time.sleep(0.01)
    yield server, source
    source.close()
    server.stop()


def test_transform_messages_become_poses_then_stale(server_and_source):
    server, source = server_and_source
    assert source.read(0.0).validity == Validity.LOST
    T = np.eye(4)
    T[:3, :3] = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1.0]])
    T[:3, 3] = [12.5, -3.0, 310.0]
    server.send_message(pyigtl.TransformMessage(T, device_name="ProbeToTracker"), wait=True)
    server.send_message(pyigtl.TransformMessage(np.eye(4), device_name="OtherTool"), wait=True)
    m = source.read(3.0)
    assert m.validity == Validity.OK and np.allclose(m.T_camera_from_board, T)
    assert abs(m.t_capture_ns / 1e9 - time.time()) < 2.0
    assert m.source.startswith("igtl:ProbeToTracker")
    time.sleep(0.3)
    stale = source.read(0.0)
    assert stale.validity == Validity.STALE and not stale.usable


def test_non_rigid_transform_is_refused(server_and_source):
    server, source = server_and_source
    server.send_message(pyigtl.TransformMessage(np.diag([2.0, 1.0, 1.0, 1.0]), device_name="ProbeToTracker"),
                        wait=True)
    m = source.read(3.0)
    assert m.validity == Validity.LOST and m.reason == "not_rigid"


def test_no_server_is_a_device_error():
    source = IgtlPoseSource(IgtlConfig(port=_free_port()))
    try:
        with pytest.raises(DeviceError, match="no OpenIGTLink server"):
            source.connect(0.3)
    finally:
        source.close()
