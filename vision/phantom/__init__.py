"""Synthetic ultrasound phantom: a B-mode-like image stream with exact ground truth."""

from vision.phantom.config import PhantomConfig
from vision.phantom.render import Phantom, PhantomFrame

__all__ = ["Phantom", "PhantomConfig", "PhantomFrame"]
