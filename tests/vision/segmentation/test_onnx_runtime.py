"""The OpenCV runtime: the segmenter's CPU default runs the network's ONNX graph in OpenCV and
draws the same structures as torch; bad runtime choices and a failing export are clear errors."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.errors import ConfigError, ModelError
from vision.phantom import Phantom, PhantomConfig, PhantomNeedleConfig
from vision.segmentation import Segmenter
from vision.segmentation.config import SegmentationConfig
from vision.segmentation.segmenter import default_threads


@pytest.fixture(scope="module")
def phantom_frames_bgr():
    ph = Phantom(PhantomConfig(seed=3, needle=PhantomNeedleConfig(enabled=False)))
    return [ph.render(t).image for t in (0.0, 0.8, 1.6)]


def test_cpu_default_is_opencv_and_draws_what_torch_draws(phantom_frames_bgr, usgra_dir):
    ocv = Segmenter(SegmentationConfig(device="cpu", smoothing=0.0))
    tch = Segmenter(SegmentationConfig(device="cpu", smoothing=0.0, runtime="torch"))
    assert (ocv.runtime, tch.runtime) == ("opencv", "torch")
    assert cv2.getNumThreads() == default_threads()       # OpenCV's process-wide count, set by the segmenter
    real = [cv2.imread(str(usgra_dir / "images" / f"{i:04d}.png"), cv2.IMREAD_UNCHANGED) for i in (2, 56, 119)]
    for frame in phantom_frames_bgr + real:
        a = ocv.segment(frame, want_labels=True)
        b = tch.segment(frame, want_labels=True)
        assert np.mean(a.labels == b.labels) > 0.999
        assert [(s.cls, s.validity) for s in a.structures] == [(s.cls, s.validity) for s in b.structures]
        for sa, sb in zip(a.structures, b.structures):
            assert abs(sa.confidence - sb.confidence) < 1e-3


def test_flip_tta_runs_as_a_batch_of_two_on_opencv(phantom_frames_bgr):
    ocv = Segmenter(SegmentationConfig(device="cpu", flip_tta=True, runtime="opencv"))
    tch = Segmenter(SegmentationConfig(device="cpu", flip_tta=True, runtime="torch"))
    img = ocv.network_input(phantom_frames_bgr[0])
    width = img.shape[1] - 7
    assert np.abs(ocv.net.probabilities(img, width) - tch.net.probabilities(img, width)).max() < 1e-4


def test_opencv_runtime_refuses_int8_and_bad_names(tmp_path):
    with pytest.raises(ConfigError, match="runtime = \"opencv\" runs float weights on the CPU only"):
        Segmenter(SegmentationConfig(runtime="opencv", precision="int8"))
    assert Segmenter(SegmentationConfig(device="cpu", precision="int8")).runtime == "torch"  # auto: int8 on torch
    with pytest.raises(ConfigError, match="segmentation.runtime"):
        SegmentationConfig(runtime="onnxruntime")


def test_auto_falls_back_to_torch_when_the_export_fails(monkeypatch, caplog):
    # every network of this project exports; an exporter failure (a future operator, a broken
    # onnx install) is simulated to check the fallback and its warning
    import vision.segmentation.onnx_export as onnx_export

    def refuse(model, card, name=""):
        raise ModelError(f"{name}: the network cannot be exported to ONNX (test)")

    monkeypatch.setattr(onnx_export, "onnx_bytes", refuse)
    with caplog.at_level("WARNING"):
        seg = Segmenter(SegmentationConfig(device="cpu"))
    assert seg.runtime == "torch" and "running the network on torch" in caplog.text
    with pytest.raises(ModelError, match="cannot be exported to ONNX"):
        Segmenter(SegmentationConfig(device="cpu", runtime="opencv"))
