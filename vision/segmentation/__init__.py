"""Real-time nerve and vessel segmentation of ultrasound frames (issue: segmentation).

``Segmenter`` and ``SegmentationConfig`` are the public interface (docs/architecture.md); they
are imported lazily so that ``import vision.segmentation`` does not load torch.
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
