"""Network shapes and the two decoders."""

from __future__ import annotations

import pytest
import torch

from vision.segmentation.model import fold_batchnorm
from vision.segmentation.model import build_model, count_parameters


@pytest.mark.parametrize("kwargs", [{}, {"decoder": "add", "widths": (8, 16, 16, 32, 32), "dense_levels": 3},
                                    {"decoder": "add", "widths": (8, 16, 16, 32, 32), "context": "ppm"}])
def test_ours_maps_input_to_same_size_logits_and_folds_batchnorm(kwargs):
    torch.manual_seed(0)
    m = build_model("ours", **kwargs)
    m.train()
    m(torch.randn(2, 1, 64, 64))                         # give batch norm non-trivial statistics
    m.eval()
    x = torch.randn(1, 1, 96, 64)
    with torch.no_grad():
        y = m(x)
        folded = fold_batchnorm(m)(x)
    assert y.shape == (1, 3, 96, 64)
    assert torch.allclose(y, folded, atol=1e-4)
    assert not any(isinstance(mod, torch.nn.BatchNorm2d) for mod in fold_batchnorm(m).modules())


def test_additive_decoder_is_lighter_than_concatenation():
    concat = build_model("ours", widths=(16, 32, 64, 128, 256), dense_levels=3, decoder="concat")
    add = build_model("ours", widths=(16, 32, 64, 128, 256), dense_levels=3, decoder="add")
    assert count_parameters(add) < count_parameters(concat)


def test_unknown_architecture_or_decoder_is_refused():
    with pytest.raises(ValueError, match="architecture"):
        build_model("resnet")
    with pytest.raises(ValueError, match="decoder"):
        build_model("ours", decoder="sum")
    with pytest.raises(ValueError, match="context"):
        build_model("ours", context="aspp")


def test_pyramid_pooling_gives_each_position_the_whole_image():
    """On a 512 px input the plain network's top-left logits cannot see the far corner (receptive
    field); with pyramid pooling their gradient reaches it through the global bins."""
    reach = {}
    for context in ("none", "ppm"):
        torch.manual_seed(0)
        m = build_model("ours", widths=(8, 16, 16, 32, 32), decoder="add", context=context)
        m.train()
        m(torch.randn(2, 1, 512, 512))                   # non-trivial batch-norm statistics
        m.eval()
        x = torch.randn(1, 1, 512, 512, generator=torch.Generator().manual_seed(1)).requires_grad_(True)
        m(x)[0, :, :16, :16].abs().sum().backward()
        reach[context] = float(x.grad[..., -64:, -64:].abs().sum())
    assert reach["none"] == 0.0 and reach["ppm"] > 0.0
