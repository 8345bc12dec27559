"""Frame validation, ROI detection and letterbox geometry."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.errors import InputError
from vision.segmentation.preprocess import Letterbox, detect_roi, to_gray
from vision.segmentation.segmenter import auto_roi


def test_to_gray_accepts_common_formats():
    g = np.full((40, 50), 100, np.uint8)
    assert to_gray(g) is not None and to_gray(g).shape == (40, 50)
    bgr = np.dstack([g, g, g])
    assert np.array_equal(to_gray(bgr), g)
    bgra = np.dstack([g, g, g, np.full_like(g, 255)])
    assert np.array_equal(to_gray(bgra), g)
    assert to_gray(g[:, :, None]).shape == (40, 50)
    assert to_gray((g.astype(np.uint16) * 257)).max() == 100
    assert to_gray(g.astype(np.float32) / 255.0).max() == 100
    assert to_gray(np.full((40, 50), 300.0)).max() == 255


@pytest.mark.parametrize("bad, word", [
    (np.zeros((0, 10), np.uint8), "empty"),
    (np.zeros((10, 10, 2), np.uint8), "shape"),
    (np.zeros((2, 10, 10, 3), np.uint8), "shape"),
    (np.zeros((10, 10), np.complex64), "dtype"),
    (np.zeros((10, 10), bool), "dtype"),
    (np.full((10, 10), np.nan, np.float32), "NaN"),
    ([[1, 2], [3, 4]], "numpy"),
    (np.zeros((9000, 10), np.uint8), "larger"),
])
def test_to_gray_rejects_bad_frames_with_clear_message(bad, word):
    with pytest.raises(InputError, match=word):
        to_gray(bad)


def _screen_grab() -> tuple[np.ndarray, tuple[int, int, int, int]]:
    rng = np.random.default_rng(0)
    frame = np.zeros((480, 640), np.uint8)
    x, y, w, h = 120, 60, 400, 360
    us = np.clip(rng.normal(70, 25, (h, w)), 1, 255).astype(np.uint8)
    us[200:300, 100:200] = 3                                   # anechoic vessel, almost black
    frame[y:y + h, x:x + w] = us
    cv2.putText(frame, "MI 0.8  TIs 0.1  12L", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 255, 1)
    cv2.putText(frame, "DEPTH 4.0 cm", (10, 460), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 200, 1)
    return frame, (x, y, w, h)


def test_detect_roi_finds_the_image_in_a_screen_grab():
    frame, (x, y, w, h) = _screen_grab()
    rx, ry, rw, rh = detect_roi(frame)
    assert abs(rx - x) <= 8 and abs(ry - y) <= 8
    assert abs(rw - w) <= 8 and abs(rh - h) <= 8
    assert auto_roi(frame) == (rx, ry, rw, rh)          # UI text outside: crop to the image


def test_auto_roi_keeps_the_full_frame_when_only_black_padding_surrounds_the_image():
    frame, _ = _screen_grab()
    frame[:40] = 0
    frame[440:] = 0                                       # remove the text
    assert auto_roi(frame) == (0, 0, 640, 480)


def test_blank_frame_has_no_roi():
    assert detect_roi(np.zeros((100, 100), np.uint8)) is None


def test_letterbox_maps_points_both_ways():
    lb = Letterbox.fit((100, 50, 400, 200), 192)
    assert lb.content_wh == (192, 96)
    m = lb.matrix()
    pts = np.array([[100.0, 50.0], [499.0, 249.0], [300.0, 150.0]], np.float32)
    net = (m[:, :2] @ pts.T).T + m[:, 2]
    back = lb.to_frame(net)
    assert np.allclose(back, pts, atol=1e-3)
    img = np.zeros((300, 600), np.uint8)
    img[50:250, 100:500] = 200
    out = lb.apply(img)
    assert out.shape == (192, 192) and out[:96].min() == 200 and out[97:].max() == 0
