"""The Segmenter with the bundled weights: phantom anatomy, geometry, gating, temporal behaviour,
and bad input."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.errors import InputError
from vision.phantom.config import PhantomConfig, PhantomMotionConfig, PhantomNeedleConfig, PhantomVesselsConfig
from vision.phantom.render import Phantom
from vision.segmentation.config import SegmentationConfig
from vision.segmentation.segmenter import Segmenter
from core.types import SegmentationResult, Validity


@pytest.fixture(scope="module")
def seg() -> Segmenter:
    return Segmenter(SegmentationConfig())


@pytest.fixture(scope="module")
def still_frames():
    ph = Phantom(PhantomConfig(motion=PhantomMotionConfig(enabled=False),
                               vessels=PhantomVesselsConfig(pulsation=False),
                               needle=PhantomNeedleConfig(enabled=False)))
    return [ph.render(i / 20.0) for i in range(6)]


def _dice(a, b):
    return 2.0 * np.logical_and(a, b).sum() / max(1, a.sum() + b.sum())


def test_phantom_nerve_and_vessels_are_found_where_they_are(seg, still_frames):
    seg.reset()
    f = still_frames[0]
    res = seg.segment(f.image, 123, want_labels=True)
    assert isinstance(res, SegmentationResult) and res.t_capture_ns == 123
    assert res.labels.shape == f.image.shape
    assert _dice(res.labels == 1, f.labels == 1) > 0.6
    assert _dice(res.labels == 2, f.labels == 2) > 0.6
    classes = {s.cls for s in res.structures if s.validity is Validity.OK}
    assert classes == {"nerve", "vessel"}
    for s in res.structures:
        assert s.contour_px.dtype == np.float32 and s.contour_px.shape[1] == 2
        inside = cv2.pointPolygonTest(s.contour_px.reshape(-1, 1, 2), tuple(map(float, s.contour_px.mean(0))), False)
        assert inside >= 0
        assert 0.0 <= s.confidence <= 1.0 and s.area_px > 0
    assert 0.0 < res.quality <= 1.0


def test_contours_are_in_frame_pixels_inside_a_screen_grab(seg, still_frames):
    f = still_frames[0]
    grab = np.zeros((600, 800), np.uint8)
    grab[100:500, 250:650] = f.image
    cv2.putText(grab, "MI 0.9 TIS 0.2 L14-6", (10, 40), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 255, 2)
    seg.reset()
    direct = seg.segment(f.image)
    seg.reset()
    embedded = seg.segment(grab)
    a = {(s.cls, s.track_id): s.contour_px.mean(0) for s in direct.structures}
    b = [s for s in embedded.structures]
    assert len(b) == len(a) > 0
    for s in b:
        c = s.contour_px.mean(0) - np.array([250, 100])
        assert min(np.hypot(*(c - v)) for v in a.values()) < 10.0   # ROI found on a 4x thumbnail


def test_still_scene_does_not_flicker(seg, still_frames):
    seg.reset()
    prev = None
    ious = {1: [], 2: []}
    ids = []
    for f in still_frames:
        res = seg.segment(f.image, want_labels=True)
        ids.append(sorted((s.cls, s.track_id) for s in res.structures))
        if prev is not None:
            for c in (1, 2):
                a, b = prev == c, res.labels == c
                ious[c].append(np.logical_and(a, b).sum() / max(1, np.logical_or(a, b).sum()))
        prev = res.labels
    assert min(ious[1]) >= 0.9 and min(ious[2]) >= 0.9
    assert all(i == ids[0] for i in ids)                       # stable track ids


def test_high_gate_reports_structures_as_uncertain(still_frames):
    s = Segmenter(SegmentationConfig(gate_on=0.999, gate_off=0.999, optimise=False))
    res = s.segment(still_frames[0].image)
    assert res.structures and all(x.validity is Validity.UNCERTAIN for x in res.structures)
    assert "no_nerve" in res.quality_flags and "uncertain" in res.quality_flags


@pytest.mark.parametrize("frame, flag", [
    (np.zeros((480, 640), np.uint8), "no_image"),
    (np.zeros((16, 16), np.uint8), "too_small"),
    (np.full((8, 400), 128, np.uint8), "too_small"),
])
def test_blank_or_tiny_frames_give_a_gated_empty_result(seg, frame, flag):
    res = seg.segment(frame, want_labels=True)
    assert res.structures == () and res.quality == 0.0 and flag in res.quality_flags
    assert res.labels.shape == frame.shape


@pytest.mark.parametrize("frame", [
    np.zeros((0, 0), np.uint8),
    np.zeros((100, 100), np.int64),
    np.zeros((100, 100, 5), np.uint8),
    np.zeros((9000, 9000), np.uint8),
    None,
])
def test_unusable_frames_raise_input_error(seg, frame):
    with pytest.raises(InputError):
        seg.segment(frame)


def test_colour_float_and_large_frames_are_segmented(seg, still_frames):
    img = still_frames[0].image
    for frame in (cv2.cvtColor(img, cv2.COLOR_GRAY2BGR), img.astype(np.float32) / 255.0,
                  cv2.resize(img, (1600, 1600))):
        seg.reset()
        res = seg.segment(frame)
        assert any(s.cls == "nerve" for s in res.structures)


def test_fixed_roi_and_full_modes(still_frames):
    f = still_frames[0]
    grab = np.zeros((500, 500), np.uint8)
    grab[50:450, 50:450] = f.image
    s = Segmenter(SegmentationConfig(roi="50,50,400,400", optimise=False))
    res = s.segment(grab, want_labels=True)
    assert _dice(res.labels[50:450, 50:450] == 2, f.labels == 2) > 0.6
    assert res.labels[:50].max() == 0
    outside = Segmenter(SegmentationConfig(roi="900,900,50,50", optimise=False)).segment(grab)
    assert outside.structures == () and "no_image" in outside.quality_flags


def test_mirrored_second_opinion_agrees_with_the_plain_call(still_frames):
    f = still_frames[0]
    plain = Segmenter(SegmentationConfig(optimise=False)).segment(f.image, want_labels=True)
    tta = Segmenter(SegmentationConfig(optimise=False, flip_tta=True)).segment(f.image, want_labels=True)
    for c in (1, 2):
        assert _dice(tta.labels == c, f.labels == c) > 0.6
        assert _dice(tta.labels == c, plain.labels == c) > 0.8


def test_confidence_floor_removes_structures_from_contours_and_labels(still_frames):
    f = still_frames[0]
    res = Segmenter(SegmentationConfig(optimise=False, min_confidence=0.999)).segment(f.image, want_labels=True)
    assert res.structures == () and not res.labels.any()
