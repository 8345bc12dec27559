"""Segmentation networks: the compact CPU real-time net and the standard U-Net peer.

``SonoSegNet`` is a U-Net-family encoder-decoder (Ronneberger et al., "U-Net: Convolutional
Networks for Biomedical Image Segmentation", MICCAI 2015) built from depthwise-separable
convolutions (Howard et al., "MobileNets", arXiv:1704.04861, 2017) with a stride-2 stem so the
whole network runs at half the input resolution and the logits are upsampled bilinearly, as in
light real-time segmenters (e.g. ENet, Paszke et al., arXiv:1606.02147). Its decoder either
concatenates the skip features (U-Net) or adds them after a 1x1 projection of the coarser
features made at the coarse resolution (LinkNet, Chaurasia & Culurciello, VCIP 2017), which
keeps the high-resolution decoder levels thin and cheap. ``UNet4`` is the plain 4-level U-Net
with 64-128-256-512 features used as the peer baseline.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

ARCHES = ("ours", "unet")
DECODERS = ("concat", "add")
CONTEXTS = ("none", "ppm")


class SepConv(nn.Module):
    """Depthwise 3x3 convolution, pointwise 1x1 convolution, batch norm, ReLU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.dw = nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False)
        self.pw = nn.Conv2d(cin, cout, 1, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.pw(self.dw(x))), inplace=True)


class SepBlock(nn.Module):
    """Two separable convolutions with a residual connection (1x1 projection when widths differ)."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.a = SepConv(cin, cout)
        self.b = SepConv(cout, cout)
        self.skip = nn.Identity() if cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x)) + self.skip(x)


class ConvBlock(nn.Module):
    """Two full 3x3 convolutions (batch norm, ReLU) with a residual connection."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                                  nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(cout))
        self.skip = nn.Identity() if cin == cout else nn.Sequential(
            nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.skip(x), inplace=True)


class AddUp(nn.Module):
    """LinkNet-style decoder step: project the coarse features to the skip's width (1x1 at the
    coarse resolution), upsample bilinearly, add the skip, refine with ``block``."""

    def __init__(self, cin: int, cskip: int, block: nn.Module) -> None:
        super().__init__()
        self.proj = nn.Sequential(nn.Conv2d(cin, cskip, 1, bias=False), nn.BatchNorm2d(cskip))
        self.block = block

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(self.proj(x), size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.block(F.relu(x + skip, inplace=True))


class PyramidPooling(nn.Module):
    """Pyramid pooling module (Zhao et al., "Pyramid Scene Parsing Network", CVPR 2017).

    The bottleneck features are average-pooled to ``bins`` x ``bins`` grids, each projected to a
    quarter of the channels (1x1), upsampled back and concatenated with the input; a 1x1
    projection returns to ``channels``. It gives every position the whole image's layout (to
    tell one round hypoechoic structure, a nerve, from its neighbour, a vessel) at almost no cost
    on the coarsest (1/32) level. Not in the bundled network: on the 4-fold cross-validation it
    moved neither Dice (BENCHMARKS.md, segmentation round 5).
    """

    def __init__(self, channels: int, bins: tuple[int, ...] = (1, 2, 4)) -> None:
        super().__init__()
        branch = max(8, channels // 4)
        self.bins = tuple(bins)
        self.branches = nn.ModuleList(nn.Sequential(nn.Conv2d(channels, branch, 1, bias=False), nn.BatchNorm2d(branch),
                                                    nn.ReLU(inplace=True)) for _ in self.bins)
        self.fuse = nn.Sequential(nn.Conv2d(channels + branch * len(self.bins), channels, 1, bias=False),
                                  nn.BatchNorm2d(channels), nn.ReLU(inplace=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        parts = [x] + [F.interpolate(b(F.adaptive_avg_pool2d(x, n)), size=size, mode="bilinear", align_corners=False)
                       for n, b in zip(self.bins, self.branches)]
        return self.fuse(torch.cat(parts, dim=1))


class SonoSegNet(nn.Module):
    """Compact U-Net with a stride-2 stem and 5 resolution levels.

    The high-resolution levels use depthwise-separable blocks (cheap per pixel); the
    ``dense_levels`` deepest levels, where few pixels remain, use full 3x3 convolutions for
    capacity and context at little cost.

    Args:
        in_channels: input channels (1, grayscale).
        num_classes: output classes including background (3).
        widths: channels of the five encoder levels (1/2 .. 1/32 of the input size).
        dense_levels: how many of the deepest encoder levels use full convolutions.
        decoder: ``"concat"`` (U-Net skips, a separable block on the concatenation) or ``"add"``
            (LinkNet skips; the decoder levels with fewer than ``dense_decoder_min`` channels
            use one separable convolution, wider ones a residual separable block).
        context: ``"none"`` or ``"ppm"`` (a :class:`PyramidPooling` module on the deepest level).

    Input ``(N, 1, H, W)`` with ``H`` and ``W`` multiples of 32; output logits ``(N, C, H, W)``.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 3,
                 widths: tuple[int, ...] = (16, 32, 64, 128, 192), dense_levels: int = 2,
                 decoder: str = "concat", context: str = "none") -> None:
        super().__init__()
        if decoder not in DECODERS:
            raise ValueError(f"unknown decoder {decoder!r}; allowed: {', '.join(DECODERS)}")
        if context not in CONTEXTS:
            raise ValueError(f"unknown context {context!r}; allowed: {', '.join(CONTEXTS)}")
        w = list(widths)
        self.decoder = decoder
        self.stem = nn.Sequential(nn.Conv2d(in_channels, w[0], 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(w[0]), nn.ReLU(inplace=True))
        first_dense = len(w) - dense_levels
        self.enc = nn.ModuleList([SepBlock(w[0], w[0])] + [
            (ConvBlock if i >= first_dense else SepBlock)(w[i - 1], w[i]) for i in range(1, len(w))])
        if decoder == "concat":
            self.dec = nn.ModuleList([SepBlock(w[i + 1] + w[i], w[i]) for i in reversed(range(len(w) - 1))])
        else:
            self.dec = nn.ModuleList([AddUp(w[i + 1], w[i], SepBlock(w[i], w[i]) if w[i] >= 64 else SepConv(w[i], w[i]))
                                      for i in reversed(range(len(w) - 1))])
        self.context = PyramidPooling(w[-1]) if context == "ppm" else nn.Identity()
        self.head = nn.Conv2d(w[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        x = self.stem(x)
        skips = []
        for i, block in enumerate(self.enc):
            if i > 0:
                x = F.max_pool2d(x, 2)
            x = block(x)
            skips.append(x)
        skips.pop()
        x = self.context(x)
        for block in self.dec:
            s = skips.pop()
            if self.decoder == "concat":
                x = F.interpolate(x, size=s.shape[-2:], mode="bilinear", align_corners=False)
                x = block(torch.cat([x, s], dim=1))
            else:
                x = block(x, s)
        return F.interpolate(self.head(x), size=size, mode="bilinear", align_corners=False)


class DoubleConv(nn.Sequential):
    """(3x3 convolution, batch norm, ReLU) twice: the U-Net's basic block."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                         nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class UNet4(nn.Module):
    """The standard 4-level U-Net (Ronneberger et al., 2015) with batch norm and same-padding.

    Features 64-128-256-512, a 1024-feature bottleneck, transposed-convolution upsampling:
    the architecture published with the USGRA data set (about 31 M parameters).
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 3,
                 features: tuple[int, ...] = (64, 128, 256, 512)) -> None:
        super().__init__()
        self.down = nn.ModuleList()
        c = in_channels
        for f in features:
            self.down.append(DoubleConv(c, f))
            c = f
        self.bottleneck = DoubleConv(features[-1], features[-1] * 2)
        self.up = nn.ModuleList(nn.ConvTranspose2d(f * 2, f, 2, stride=2) for f in reversed(features))
        self.up_conv = nn.ModuleList(DoubleConv(f * 2, f) for f in reversed(features))
        self.head = nn.Conv2d(features[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for block in self.down:
            x = block(x)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = self.bottleneck(x)
        for up, conv in zip(self.up, self.up_conv):
            s = skips.pop()
            x = up(x)
            if x.shape[-2:] != s.shape[-2:]:
                x = F.interpolate(x, size=s.shape[-2:], mode="bilinear", align_corners=False)
            x = conv(torch.cat([s, x], dim=1))
        return self.head(x)


def build_model(arch: str, **kwargs) -> nn.Module:
    """A fresh network of architecture ``arch`` (``"ours"`` or ``"unet"``)."""
    if arch == "ours":
        return SonoSegNet(**kwargs)
    if arch == "unet":
        return UNet4(**kwargs)
    raise ValueError(f"unknown architecture {arch!r}; allowed: {', '.join(ARCHES)}")


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of ``model`` (eval mode) with every convolution + batch-norm pair folded into one
    convolution (Ioffe & Szegedy, ICML 2015: at inference BN is an affine map per channel)."""
    model = copy.deepcopy(model).eval()
    for mod in list(model.modules()):
        if isinstance(mod, SepConv) and isinstance(mod.bn, nn.BatchNorm2d):
            mod.pw = fuse_conv_bn_eval(mod.pw, mod.bn)
            mod.bn = nn.Identity()
        elif isinstance(mod, nn.Sequential):
            for i in range(len(mod) - 1):
                if isinstance(mod[i], nn.Conv2d) and isinstance(mod[i + 1], nn.BatchNorm2d):
                    mod[i] = fuse_conv_bn_eval(mod[i], mod[i + 1])
                    mod[i + 1] = nn.Identity()
    return model
