"""One place that turns a configured source string into a running source.

The configuration names sources as strings (PLUS Toolkit's device sets do the same with XML
elements): ``phantom`` (the synthetic ultrasound phantom), ``synthetic`` (the simulated marker
camera), ``device:N`` (a frame grabber or camera), ``folder:PATH`` (an image folder), a video
file path, and ``igtl:HOST:PORT`` (probe poses from an OpenIGTLink server). These functions
parse the string and build the matching :class:`~vision.sources.base.FrameSource` or
:class:`~vision.sources.base.PoseSource`; the application passes plain values, so this module
depends on no configuration section of the layer above.
"""

from __future__ import annotations

from typing import Any

from core.errors import ConfigError
from vision.sources.base import FrameSource, PoseSource


def open_frame_source(spec: str, *, key: str, fps: float, gray: bool = False,
                      mm_per_px: tuple[float, float] | None = None, loop: bool = True,
                      phantom: Any = None, realtime: bool = True) -> FrameSource:
    """The frame source ``spec`` names.

    Args:
        spec: ``phantom``, ``folder:PATH``, ``device:N`` or a video file path.
        key: the configuration key that named it, for error messages.
        fps: rate of the phantom and of an image folder (devices and videos keep their own).
        gray: deliver single-channel images.
        mm_per_px: pixel spacing ``(row, col)`` stamped on every frame (real sources).
        loop: start a file or folder again at its end.
        phantom: the phantom's configuration (for ``phantom``).
        realtime: pace the phantom at ``fps`` (``False``: as fast as it renders).

    Raises:
        ConfigError: ``phantom`` without its configuration.
        DeviceError: a device that cannot be opened.
        InputError: a file or folder that cannot be read.
    """
    if spec == "phantom":
        if phantom is None:
            raise ConfigError(f"{key} = 'phantom' needs the [phantom] section")
        from vision.sources.phantom import PhantomSource
        return PhantomSource(phantom, fps=fps, realtime=realtime)
    if spec.startswith("folder:"):
        from vision.sources.folder import ImageFolderSource
        return ImageFolderSource(spec.split(":", 1)[1], fps=fps, gray=gray, mm_per_px=mm_per_px, loop=loop)
    from vision.sources.video import VideoSource
    return VideoSource(spec, gray=gray, mm_per_px=mm_per_px, loop=loop, key=key)


def is_pose_source(spec: str) -> bool:
    """True when ``spec`` names a source of ready-made poses rather than camera frames."""
    return spec.startswith("igtl:")


def open_pose_source(spec: str, *, key: str, device_name: str) -> PoseSource:
    """The pose source ``spec`` names (``igtl:HOST:PORT``), connected.

    Raises:
        ConfigError: a malformed ``igtl:`` string.
        DeviceError: the OpenIGTLink server cannot be reached.
    """
    from vision.tracking.igtl import IgtlConfig, IgtlPoseSource
    host, _, port = spec[len("igtl:"):].rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"{key} = {spec!r} is invalid; allowed: igtl:HOST:PORT, like igtl:127.0.0.1:18944")
    src = IgtlPoseSource(IgtlConfig(host=host, port=int(port), device_name=device_name))
    src.connect()
    return src
