"""Int8 quantization (``seg quantize``): the quantized network keeps the float network's spec."""

from __future__ import annotations

import pytest
import torch

from research.segmentation.quantize import calibration_inputs, quantize_int8
from vision.phantom import Phantom, PhantomConfig, PhantomNeedleConfig
from vision.segmentation import Segmenter
from vision.segmentation.config import SegmentationConfig
from vision.segmentation.model import fold_batchnorm
from vision.segmentation.modelcard import load_model


@pytest.fixture(scope="module")
def frames():
    ph = Phantom(PhantomConfig(seed=5, needle=PhantomNeedleConfig(enabled=False)))
    return [ph.render(t).image for t in (0.0, 0.7, 1.9)]


def test_quantize_keeps_the_network_spec(frames):
    seg = Segmenter(SegmentationConfig(precision="fp32"))
    inputs = calibration_inputs(seg, frames)
    assert len(inputs) == len(frames)
    model, card = load_model()
    module = quantize_int8(fold_batchnorm(model), inputs)
    size = card["input"]["size"][0]
    with torch.inference_mode():
        out = module(inputs[0])
    assert tuple(out.shape) == (1, 3, size, size) and out.dtype == torch.float32
