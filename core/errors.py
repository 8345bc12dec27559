"""Exceptions that carry an actionable, one-line message.

Library code raises these; the CLI prints ``error: <message>`` and exits with
:attr:`SonoguideError.exit_code`, without a traceback (DESIGN.md, "Errors").
"""

from __future__ import annotations


class SonoguideError(Exception):
    """Base class: an expected failure with a message that names the problem and the fix."""

    exit_code: int = 2


class ConfigError(SonoguideError):
    """A configuration file or value is missing or invalid."""


class DeviceError(SonoguideError):
    """A hardware device (camera, ultrasound capture, microphone) is missing or unusable."""


class ModelError(SonoguideError):
    """A model file (segmentation weights, speech model) is missing, corrupt or mismatched."""


class CalibrationError(SonoguideError):
    """A calibration file is missing, corrupt, out of limits or for another device."""


class NetworkError(SonoguideError):
    """A network endpoint cannot be bound or reached (busy port, bad address)."""


class RecordingError(SonoguideError):
    """A recording directory is missing or unreadable."""


class InputError(SonoguideError):
    """Input data (an image, a WAV file, a data directory) is unusable."""
