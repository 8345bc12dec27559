"""Probe poses from an OpenIGTLink server (PLUS Toolkit, 3D Slicer) via pyigtl.

An external tracker (optical or electromagnetic, served by PLUS; or a transform streamed from
3D Slicer) sends ``TRANSFORM`` messages (OpenIGTLink protocol v2/v3; Tokuda et al., "OpenIGTLink:
an open network protocol for image-guided therapy environment", Int J Med Robot 5(4), 2009).
:class:`IgtlPoseSource` connects as a client, keeps the newest transform of one device
(``ProbeToTracker`` by default, PLUS's ``FromToTo`` naming) and returns it as a
:class:`~core.pose.PoseMeasurement` in millimetres.

Validity: ``ok`` for a fresh rigid transform; ``stale`` (with the last pose attached, never to be
drawn as current) when no new message arrived for ``stale_after_ms``; ``lost`` before the
first message or when a message is not a rigid transform.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import numpy as np

from core.clock import now_ns
from core.errors import ConfigError, DeviceError
from core.pose import PoseMeasurement
from core.se3 import is_rigid
from core.types import Validity

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IgtlConfig:
    """Connection to an OpenIGTLink server.

    Attributes:
        host: server address.
        port: server port (PLUS and Slicer default: 18944).
        device_name: name of the TRANSFORM messages to use.
        stale_after_ms: a pose older than this (since it was received) is ``stale``.
        connect_timeout_s: :meth:`IgtlPoseSource.connect` gives up after this.
        use_message_time: take ``t_capture_ns`` from the message's timestamp (the tracker's
            acquisition time) when it is within ``max_clock_skew_s`` of the host clock; else
            the receive time is used.
        max_clock_skew_s: largest accepted difference between message and host clocks.
    """

    host: str = "127.0.0.1"
    port: int = 18944
    device_name: str = "ProbeToTracker"
    stale_after_ms: float = 200.0
    connect_timeout_s: float = 5.0
    use_message_time: bool = True
    max_clock_skew_s: float = 2.0

    def __post_init__(self) -> None:
        if not isinstance(self.port, int) or not (1 <= self.port <= 65535):
            raise ConfigError(f"igtl.port = {self.port!r} is invalid; allowed: an integer 1..65535")
        if not self.device_name:
            raise ConfigError("igtl.device_name must not be empty (e.g. ProbeToTracker)")
        if not (self.stale_after_ms > 0):
            raise ConfigError(f"igtl.stale_after_ms = {self.stale_after_ms!r} is invalid; allowed: a number > 0")


class IgtlPoseSource:
    """Newest probe pose from an OpenIGTLink server.

    Args:
        config: connection parameters.
        start: connect at once (the client thread retries in the background).
    """

    def __init__(self, config: IgtlConfig | None = None, start: bool = True) -> None:
        import pyigtl  # installed with the project (pyigtl==0.3.4)

        self.config = config or IgtlConfig()
        self.name = f"igtl:{self.config.device_name}@{self.config.host}:{self.config.port}"
        self._client = pyigtl.OpenIGTLinkClient(host=self.config.host, port=self.config.port, start_now=start)
        self._last: PoseMeasurement | None = None
        self._last_rx_ns = 0
        self._lock = threading.Lock()

    def connect(self, timeout_s: float | None = None) -> None:
        """Wait until the client is connected.

        Raises:
            DeviceError: no server answered within the timeout.
        """
        t_end = time.monotonic() + (self.config.connect_timeout_s if timeout_s is None else timeout_s)
        while time.monotonic() < t_end:
            if self._client.is_connected():
                return
            time.sleep(0.02)
        raise DeviceError(f"no OpenIGTLink server at {self.config.host}:{self.config.port}; start PLUS or "
                          "Slicer's OpenIGTLinkIF server, or fix igtl.host / igtl.port")

    def _to_measurement(self, msg, rx_ns: int) -> PoseMeasurement:
        T = np.asarray(getattr(msg, "matrix", None), dtype=np.float64)
        t_ns = rx_ns
        if self.config.use_message_time:
            ts = float(getattr(msg, "timestamp", 0.0) or 0.0)
            if abs(ts - rx_ns / 1e9) <= self.config.max_clock_skew_s:
                t_ns = int(round(ts * 1e9))
        if T.shape != (4, 4) or not is_rigid(T, tol=1e-3):
            logger.warning("%s: message is not a rigid 4x4 transform; ignored", self.name)
            return PoseMeasurement.lost(t_ns, "not_rigid", source=self.name)
        return PoseMeasurement(T, Validity.OK, t_ns, source=self.name)

    def read(self, timeout_s: float = 0.0) -> PoseMeasurement:
        """The newest pose of the configured device.

        Args:
            timeout_s: wait up to this long for a new message when none is pending.
        """
        msg = self._client.wait_for_message(self.config.device_name, timeout=max(timeout_s, 0.0))
        now = now_ns()
        with self._lock:
            if msg is not None:
                self._last = self._to_measurement(msg, now)
                self._last_rx_ns = now
            if self._last is None:
                return PoseMeasurement.lost(now, "no_message", source=self.name)
            age_ms = (now - self._last_rx_ns) / 1e6
            if self._last.usable and age_ms > self.config.stale_after_ms:
                return self._last.with_(validity=Validity.STALE, reason=f"no_message_{age_ms:.0f}ms")
            return self._last

    def close(self) -> None:
        """Stop the client thread."""
        try:
            self._client.stop()
        except Exception as exc:  # noqa: BLE001 - closing must not raise
            logger.debug("closing %s: %s", self.name, exc)

    def __enter__(self) -> "IgtlPoseSource":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
