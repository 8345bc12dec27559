"""What the live calibration captures share: connecting to an OpenIGTLink server (PLUS) and reading its images."""

from __future__ import annotations

import time

import cv2
import numpy as np

from core.errors import DeviceError, InputError

CONNECT_TIMEOUT_S = 5.0


def parse_address(text: str | None) -> tuple[str, int]:
    """``HOST:PORT`` as ``(host, port)``.

    Raises:
        InputError: not of that form.
    """
    host, _, port = (text or "").rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"--igtl {text!r}: write HOST:PORT, e.g. --igtl 127.0.0.1:18944")
    return host, int(port)


def connect(address: str | None):
    """A connected ``pyigtl.OpenIGTLinkClient``; the caller stops it.

    Raises:
        InputError: a bad address.
        DeviceError: no server answered within :data:`CONNECT_TIMEOUT_S`.
    """
    import pyigtl

    host, port = parse_address(address)
    client = pyigtl.OpenIGTLinkClient(host=host, port=port, start_now=True)
    t_end = time.monotonic() + CONNECT_TIMEOUT_S
    while not client.is_connected() and time.monotonic() < t_end:
        time.sleep(0.02)
    if not client.is_connected():
        client.stop()
        raise DeviceError(f"no OpenIGTLink server at {host}:{port}; start PLUS (or the scanner's OpenIGTLink "
                          "server) or fix --igtl")
    return client


def image_of(msg) -> np.ndarray:
    """The 2D 8-bit image of an IMAGE message (one slice; 16-bit or float images stretched to 8 bits)."""
    img = np.asarray(msg.image)
    img = img[0] if img.ndim == 3 else img
    if img.dtype != np.uint8:
        img = cv2.normalize(img.astype(np.float32), None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    return img
