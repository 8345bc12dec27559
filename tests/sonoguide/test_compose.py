"""Overlay composition: calibration chain, layer choice, freeze hold, pose validity."""

from __future__ import annotations

import numpy as np

from calibration.simulated import T_HEADSET_FROM_CAMERA, T_MARKER_FROM_PROBE, T_probe_from_image
from sonoguide.compose import CalibrationChain, OverlayComposer
from sonoguide.state import GuidanceState
from core.pose import PoseMeasurement
from core.se3 import make_T, rotvec_to_R
from core.types import Frame, SegmentationResult, Structure, Validity

CHAIN = CalibrationChain(T_HEADSET_FROM_CAMERA, T_MARKER_FROM_PROBE @ T_probe_from_image((0.1, 0.1), 400))
T_CM = make_T(rotvec_to_R([0.2, 0.1, 0.0]), [10.0, -5.0, 350.0])


def _frame(seq: int, t: int) -> Frame:
    return Frame(np.full((300, 400), seq, np.uint8), t, seq, "test", (0.1, 0.1))


def _seg(t: int) -> SegmentationResult:
    sq = np.array([[10, 10], [20, 10], [20, 20], [10, 20]], np.float32)
    return SegmentationResult((Structure("nerve", sq, 0.9, 100.0, Validity.OK, 1),
                               Structure("vessel", sq + 50, 0.4, 100.0, Validity.UNCERTAIN, 2)),
                              None, 0.7, ("few_structures",), t)


def _pose(t: int, validity=Validity.OK) -> PoseMeasurement:
    return PoseMeasurement(T_CM if validity != Validity.LOST else None, validity, t)


def test_chain_places_the_image_in_the_headset():
    c = OverlayComposer(CHAIN, validity_ms=200.0)
    ov = c.compose(_frame(1, 10_000_000), _seg(10_000_000), None, _pose(8_000_000), GuidanceState())
    expected = T_HEADSET_FROM_CAMERA @ T_CM @ T_MARKER_FROM_PROBE @ T_probe_from_image((0.1, 0.1), 400)
    np.testing.assert_allclose(ov.T_headset_from_image, expected)
    assert ov.pose_validity == "ok" and ov.pose_age_ms == 2.0
    assert ov.valid_until_ns == 10_000_000 + 200_000_000
    assert [(s.cls, s.validity) for s in ov.structures] == [("nerve", "ok"), ("vessel", "uncertain")]
    assert abs(ov.structures[0].area_mm2 - 1.0) < 1e-9  # 100 px at 0.01 mm^2


def test_stale_or_lost_pose_removes_the_placement():
    c = OverlayComposer(CHAIN, validity_ms=200.0)
    for v in (Validity.STALE, Validity.LOST):
        ov = c.compose(_frame(1, 10), _seg(10), None, _pose(0, v), GuidanceState())
        assert ov.T_headset_from_image is None and ov.pose_validity == v.value
        body, arrays = ov.to_body()
        assert "T_unity_from_image" not in arrays


def test_hidden_layers_are_not_sent():
    c = OverlayComposer(CHAIN, validity_ms=200.0)
    st = GuidanceState(layers={"nerve": False, "vessel": True, "needle": True})
    ov = c.compose(_frame(1, 10), _seg(10), None, _pose(5), st)
    assert [s.cls for s in ov.structures] == ["vessel"]


def test_freeze_holds_content_and_reports_when_it_was_captured():
    c = OverlayComposer(CHAIN, validity_ms=200.0)
    live = GuidanceState()
    frozen = GuidanceState(frozen=True, layers={"nerve": False, "vessel": True, "needle": True})
    c.compose(_frame(1, 100), _seg(100), None, _pose(90), live)
    held = c.compose(_frame(2, 200), _seg(200), None, _pose(190), frozen)
    later = c.compose(_frame(3, 300), None, None, _pose(290, Validity.LOST), frozen)
    assert later.frozen and later.frozen_at_ns == 200 and later.t_capture_ns == 300
    assert later.valid_until_ns == 300 + 200_000_000
    assert int(later.image[0, 0]) == 2 and later.pose_validity == "ok"  # content of frame 2
    assert [s.cls for s in later.structures] == ["vessel"]
    shown = c.compose(_frame(4, 400), None, None, _pose(390, Validity.LOST),
                      GuidanceState(frozen=True))  # a layer switched on during the freeze
    assert [s.cls for s in shown.structures] == ["nerve", "vessel"]
    back = c.compose(_frame(5, 500), None, None, _pose(490, Validity.LOST), live)
    assert not back.frozen and back.frozen_at_ns is None and int(back.image[0, 0]) == 5
    assert held.frozen_at_ns == 200
