"""Configuration of the segmentation stage: section ``[segmentation]`` of the TOML file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from core.configtools import is_number, require

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


@dataclass(frozen=True)
class SegmentationConfig:
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
    roi: str = "auto"
    gate_on: float = 0.9
    gate_off: float = 0.85
    min_area_fraction: float = 0.0008
    min_confidence: float = 0.0
    fill_holes: bool = True
    flip_tta: bool = False
    smoothing: float = 0.6
    motion_threshold: float = 4.0
    contour_epsilon_px: float = 1.0
    max_structures: int = 8
    threads: int = 0
    optimise: bool = True
    precision: Literal["auto", "fp32", "int8"] = "fp32"
    runtime: Literal["auto", "opencv", "torch"] = "auto"

    def __post_init__(self) -> None:
        require(isinstance(self.model, str), "segmentation.model", "a file path or \"\"", self.model)
        require(self.device in ("auto", "cpu", "cuda"), "segmentation.device", "\"auto\", \"cpu\" or \"cuda\"",
                self.device)
        try:
            ok = isinstance(self.roi, str) and (parse_roi(self.roi) is not None or self.roi in ("auto", "full"))
        except ValueError:
            ok = False
        require(ok, "segmentation.roi", "\"auto\", \"full\" or \"x,y,w,h\" (pixels, w and h >= 1)", self.roi)
        for key in ("gate_on", "gate_off"):
            v = getattr(self, key)
            require(is_number(v) and 0.0 < v < 1.0, f"segmentation.{key}", "a number between 0 and 1", v)
        require(self.gate_off <= self.gate_on, "segmentation.gate_off", f"at most gate_on ({self.gate_on})",
                self.gate_off)
        require(is_number(self.min_area_fraction) and 0.0 <= self.min_area_fraction < 0.5,
                "segmentation.min_area_fraction", "a number 0..0.5", self.min_area_fraction)
        require(is_number(self.min_confidence) and 0.0 <= self.min_confidence < 1.0,
                "segmentation.min_confidence", "a number 0 (keep all) .. <1", self.min_confidence)
        require(isinstance(self.fill_holes, bool), "segmentation.fill_holes", "true or false", self.fill_holes)
        require(isinstance(self.flip_tta, bool), "segmentation.flip_tta", "true or false", self.flip_tta)
        require(is_number(self.smoothing) and 0.0 <= self.smoothing < 1.0, "segmentation.smoothing",
                "a number 0 (off) .. <1", self.smoothing)
        require(is_number(self.motion_threshold) and self.motion_threshold > 0, "segmentation.motion_threshold",
                "a number > 0 (grey levels)", self.motion_threshold)
        require(is_number(self.contour_epsilon_px) and 0.0 <= self.contour_epsilon_px <= 20.0,
                "segmentation.contour_epsilon_px", "a number 0..20 px", self.contour_epsilon_px)
        require(isinstance(self.max_structures, int) and not isinstance(self.max_structures, bool)
                and 1 <= self.max_structures <= 64, "segmentation.max_structures", "an integer 1..64",
                self.max_structures)
        require(isinstance(self.threads, int) and not isinstance(self.threads, bool) and 0 <= self.threads <= 256,
                "segmentation.threads", "an integer 0 (default) .. 256", self.threads)
        require(isinstance(self.optimise, bool), "segmentation.optimise", "true or false", self.optimise)
        require(self.precision in ("auto", "fp32", "int8"), "segmentation.precision",
                "\"auto\", \"fp32\" or \"int8\"", self.precision)
        require(self.runtime in ("auto", "opencv", "torch"), "segmentation.runtime",
                "\"auto\", \"opencv\" or \"torch\"", self.runtime)
