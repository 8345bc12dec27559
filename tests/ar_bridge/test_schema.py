"""Wire encoding: multipart layout, header fields, arrays as binary frames, validation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ar_bridge.schema import ProtocolError, WireMessage, decode, encode, schema_name
from ar_bridge.messages import NeedleOverlay, OverlayMessage, StructureOverlay, UNITY_FROM_HEADSET


def _overlay(**kw) -> OverlayMessage:
    base = dict(
        frame_seq=7, t_capture_ns=1_000_000_000, valid_until_ns=1_200_000_000, image_size=(400, 300),
        mm_per_px=(0.1, 0.1), frozen=False, layers={"nerve": True, "vessel": True, "needle": True},
        quality=0.8, quality_flags=(), pose_validity="ok", pose_age_ms=3.5,
        T_headset_from_image=np.diag([0.1, 0.1, 1.0, 1.0]),
        structures=(StructureOverlay(3, "nerve", "ok", 0.91, 12.5,
                                     np.array([[1, 2], [3, 4], [5, 1]], np.float32)),
                    StructureOverlay(4, "vessel", "uncertain", 0.4, 20.0,
                                     np.array([[10, 20], [30, 40], [50, 10], [9, 9]], np.float32))),
        needle=NeedleOverlay("ok", (100.0, 50.0), (0.0, 20.0), 30.0, "caution", {"nerve": 4.2, "vessel": None},
                             {"nerve": 1.0, "vessel": 8.0}, np.array([[100, 50], [150, 80]], np.float32)),
        source="phantom:femoral", image=np.arange(12, dtype=np.uint8).reshape(3, 4), frozen_at_ns=None)
    base.update(kw)
    return OverlayMessage(**base)


def test_multipart_layout_and_header_fields():
    body, arrays = _overlay().to_body()
    msg = WireMessage("overlay", schema_name("overlay"), 5, 1_000_000_000, 1_000_500_000, body, arrays)
    frames = encode(msg)
    assert frames[0] == b"overlay"
    header = json.loads(frames[1])
    assert header["schema"] == "sonoguide.overlay/1"
    assert (header["seq"], header["t_capture_ns"], header["t_publish_ns"]) == (5, 1_000_000_000, 1_000_500_000)
    assert len(frames) == 2 + len(header["arrays"])
    for spec, buf in zip(header["arrays"], frames[2:]):
        assert spec["dtype"][0] in "<|"  # little-endian or byte-sized
        assert len(buf) == int(np.prod(spec["shape"])) * np.dtype(spec["dtype"]).itemsize


def test_overlay_round_trip_keeps_every_field():
    ov = _overlay()
    body, arrays = ov.to_body()
    back = OverlayMessage.from_wire(decode(encode(WireMessage("overlay", schema_name("overlay"), 1, ov.t_capture_ns,
                                                              ov.t_capture_ns + 1, body, arrays))))
    assert back.frame_seq == ov.frame_seq and back.valid_until_ns == ov.valid_until_ns
    assert [s.cls for s in back.structures] == ["nerve", "vessel"]
    assert back.structures[1].validity == "uncertain"
    np.testing.assert_array_equal(back.structures[0].contour_px, ov.structures[0].contour_px)
    np.testing.assert_array_equal(back.T_headset_from_image, ov.T_headset_from_image)
    np.testing.assert_array_equal(back.image, ov.image)
    assert back.needle.proximity == "caution" and back.needle.tip_distance_mm == {"nerve": 4.2, "vessel": None}
    np.testing.assert_array_equal(back.needle.trajectory_px, ov.needle.trajectory_px)


def test_unity_transform_is_left_handed_metres():
    body, arrays = _overlay().to_body()
    T_unity = arrays["T_unity_from_image"]
    np.testing.assert_allclose(T_unity, UNITY_FROM_HEADSET @ arrays["T_headset_from_image"])
    p_img = np.array([10.0, 20.0, 0.0, 1.0])
    p_head = arrays["T_headset_from_image"] @ p_img
    np.testing.assert_allclose(T_unity @ p_img, [p_head[0] / 1000, p_head[1] / 1000, -p_head[2] / 1000, 1.0])


def test_lost_pose_carries_no_placement():
    body, arrays = _overlay(T_headset_from_image=None, pose_validity="lost", pose_age_ms=None).to_body()
    assert "T_headset_from_image" not in arrays and body["pose_validity"] == "lost"


@pytest.mark.parametrize("frames, reason", [
    ([b"overlay"], "expected"),
    ([b"overlay", b"\xff\xfe"], "not UTF-8 JSON"),
    ([b"overlay", b"[1, 2]"], "must be a JSON object"),
    ([b"overlay", b'{"schema": "x/1", "seq": 1, "t_capture_ns": 1, "t_publish_ns": 1}'], "is not 'sonoguide"),
    ([b"overlay", b'{"schema": "sonoguide.overlay/1", "seq": "1", "t_capture_ns": 1, "t_publish_ns": 1}'], "seq"),
    ([b"overlay", b'{"schema": "sonoguide.overlay/1", "seq": 1, "t_capture_ns": 1, "t_publish_ns": 1, '
                  b'"arrays": [{"name": "a", "dtype": "<f4", "shape": [2]}]}', b"123"], "bytes"),
    ([b"overlay", b'{"schema": "sonoguide.overlay/1", "seq": 1, "t_capture_ns": 1, "t_publish_ns": 1}', b"x"],
     "binary frames follow"),
])
def test_malformed_messages_are_refused_with_a_reason(frames, reason):
    with pytest.raises(ProtocolError, match=reason):
        decode(frames)


def test_big_endian_arrays_are_sent_little_endian():
    a = np.arange(4, dtype=">f4")
    frames = encode(WireMessage("state", schema_name("state"), 1, 1, 1, {}, {"a": a}))
    back = decode(frames)
    assert back.arrays["a"].dtype.str == "<f4"
    np.testing.assert_array_equal(back.arrays["a"], a)
