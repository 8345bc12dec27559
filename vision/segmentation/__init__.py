"""Real-time nerve and vessel segmentation of ultrasound frames (issue: segmentation).

``Segmenter`` and ``SegmentationConfig`` are the public interface (docs/architecture.md); they
are imported lazily so that ``import vision.segmentation`` does not load torch.

Only what the live stage needs lives here: the network definition and its weights' model card,
pre- and post-processing, the runtimes (torch, OpenCV DNN on the ONNX graph, int8 weights) and
their choice (:mod:`.runtime`), temporal smoothing and tracking, the quality score. Training,
evaluation, quantisation and file export are :mod:`research.segmentation`.
"""

from __future__ import annotations

__all__ = ["Segmenter", "SegmentationConfig"]


def __getattr__(name: str):
    if name == "Segmenter":
        from vision.segmentation.segmenter import Segmenter
        return Segmenter
    if name == "SegmentationConfig":
        from vision.segmentation.config import SegmentationConfig
        return SegmentationConfig
    raise AttributeError(name)
