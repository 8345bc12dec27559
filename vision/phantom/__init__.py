"""Synthetic ultrasound phantom: a B-mode-like image stream with exact ground truth."""

from vision.phantom.config import (PhantomAnatomyConfig, PhantomConfig, PhantomImagingConfig, PhantomMotionConfig,
                                   PhantomNeedleConfig, PhantomVesselsConfig)
from vision.phantom.render import Phantom, PhantomFrame

__all__ = ["Phantom", "PhantomAnatomyConfig", "PhantomConfig", "PhantomFrame", "PhantomImagingConfig",
           "PhantomMotionConfig", "PhantomNeedleConfig", "PhantomVesselsConfig"]
