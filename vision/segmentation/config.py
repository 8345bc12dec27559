"""Configuration of the segmentation stage: section ``[segmentation]`` of the TOML file."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from core.configtools import Section, bounds, check, require

_ROI_RE = re.compile(r"^\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*$")


def parse_roi(value: str) -> tuple[int, int, int, int] | None:
    """``"x,y,w,h"`` as a tuple, ``None`` for ``"auto"`` / ``"full"``; ValueError otherwise."""
    if value in ("auto", "full"):
        return None
    m = _ROI_RE.match(value)
    if not m:
        raise ValueError(value)
    x, y, w, h = (int(g) for g in m.groups())
    if w < 1 or h < 1:
        raise ValueError(value)
    return x, y, w, h


def _roi_ok(value: str) -> bool:
    try:
        parse_roi(value)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class SegmentationConfig(Section, key="segmentation"):
    """Settings of :class:`~vision.segmentation.segmenter.Segmenter`.

    Attributes:
        model: weights file; ``""`` means the bundled weights (its ``metadata.json`` must lie beside it).
        device: ``"auto"`` (CUDA when present, else CPU), ``"cpu"`` or ``"cuda"``.
        roi: region of the frame that holds the ultrasound image: ``"auto"`` (detect the image
            inside a screen grab; the whole frame when nothing but black surrounds it),
            ``"full"`` (whole frame) or ``"x,y,w,h"`` in frame pixels.
        gate_on: a structure is drawn as certain (``ok``) when its mean probability reaches this.
            0.9 is the lowest gate at which at least 80 % of the structures drawn as certain
            were the annotated structure of their class (nerve 80 %, vessel 88 %) on the
            cross-validated held-out images; at 0.6 a third of the certain nerves were wrong
            (BENCHMARKS.md, "Confidence gate"; ``seg eval`` and ``seg crossval`` print the sweep).
        gate_off: a structure already certain on the previous frame stays certain down to this
            (hysteresis; must not exceed ``gate_on``).
        min_area_fraction: regions smaller than this fraction of the ROI area are dropped.
        min_confidence: regions whose mean class probability is below this are dropped (not
            shown at all, not in the label image); 0 keeps every arg-max region.
        fill_holes: fill enclosed background islands of each region in the label image
            (contours are outer borders and never have holes).
        flip_tta: also run the network on the mirrored image and average the probabilities
            (test-time augmentation; about twice the network time).
        smoothing: weight of the previous frame's probabilities on a still scene (0 = off).
        motion_threshold: mean grey-level change between frames (0..255) at and above which the
            scene counts as moving and no temporal smoothing is applied (no lag).
        contour_epsilon_px: Douglas-Peucker tolerance of the contour polygons, frame pixels.
        max_structures: at most this many structures per class (largest first).
        threads: CPU threads of the network runtime (torch's, or OpenCV's process-wide count
            with the OpenCV runtime); 0 = one fewer than the CPU cores, at least one (the
            camera tracking runs beside the network; and torch's OpenMP threads slow down
            many-fold when another busy thread takes one of their cores: on 2 cores, 22 ms
            per frame with 1 thread against 380 ms with 2, BENCHMARKS.md).
        optimise: run the torch network through TorchScript (freeze, batch-norm folding).
        precision: ``"fp32"`` (default) runs the float weights; ``"int8"`` the card's int8
            weights on the CPU (about 1.4x faster per call, validation Dice within 0.004 of
            float, but more frame-to-frame jitter of small outlines: BENCHMARKS.md);
            ``"auto"`` uses int8 on the CPU when the card lists it, else float.
        runtime: what runs the float network: ``"auto"`` (default) is OpenCV's DNN module on
            the CPU and torch on CUDA; ``"opencv"`` the network exported to ONNX and run by
            OpenCV (CPU only; on one core 1-2 ms faster per frame than TorchScript, with
            the same masks: BENCHMARKS.md, "Speed"); ``"torch"`` TorchScript. int8 weights
            always run on torch. OpenCV's thread count is process-wide: with the OpenCV
            runtime the segmenter sets it to ``threads``.
    """

    model: str = ""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    roi: str = field(default="auto", metadata=check(
        _roi_ok, "\"auto\", \"full\" or \"x,y,w,h\" (pixels, w and h >= 1)"))
    gate_on: float = field(default=0.9, metadata=bounds(0.0, 1.0, lo_open=True, hi_open=True))
    gate_off: float = field(default=0.85, metadata=bounds(0.0, 1.0, lo_open=True, hi_open=True))
    min_area_fraction: float = field(default=0.0008, metadata=bounds(0.0, 0.5, hi_open=True))
    min_confidence: float = field(default=0.0, metadata=bounds(0.0, 1.0, hi_open=True, note="(0 keeps all)"))
    fill_holes: bool = True
    flip_tta: bool = False
    smoothing: float = field(default=0.6, metadata=bounds(0.0, 1.0, hi_open=True, note="(0: off)"))
    motion_threshold: float = field(default=4.0, metadata=bounds(0.0, lo_open=True, note="(grey levels)"))
    contour_epsilon_px: float = field(default=1.0, metadata=bounds(0.0, 20.0, note="px"))
    max_structures: int = field(default=8, metadata=bounds(1, 64))
    threads: int = field(default=0, metadata=bounds(0, 256, note="(0: one fewer than the cores)"))
    optimise: bool = True
    precision: Literal["auto", "fp32", "int8"] = "fp32"
    runtime: Literal["auto", "opencv", "torch"] = "auto"

    def cross_check(self) -> None:
        require(self.gate_off <= self.gate_on, "segmentation.gate_off", f"at most gate_on ({self.gate_on})",
                self.gate_off)
