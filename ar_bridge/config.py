"""Network configuration of the wire to the headset (section ``[network]``)."""

from __future__ import annotations

from dataclasses import dataclass

from sonoguide.configtools import is_number, require

_SCHEMES = ("tcp://", "ipc://", "inproc://")


def _endpoint_ok(ep: object) -> bool:
    return isinstance(ep, str) and ep.startswith(_SCHEMES) and len(ep.split("://", 1)[1]) > 0


@dataclass(frozen=True)
class NetworkConfig:
    """Endpoints and rates of the ZeroMQ wire (DESIGN.md, "Wire contract").

    Attributes:
        pub_endpoint: where the overlay/state/heartbeat PUB (XPUB) socket binds.
        control_endpoint: where the control ROUTER socket binds (REQ or DEALER clients).
        heartbeat_hz: heartbeat rate; the contract requires at least 5 Hz.
        state_hz: refresh rate of the ``state`` topic when nothing changes.
        sndhwm: send high-water mark per subscriber (messages): a slow subscriber loses
            messages beyond it instead of stalling the pipeline.
        curve: enable CurveZMQ encryption and client authentication on both sockets.
        curve_dir: folder holding ``server.key_secret`` and ``authorized_clients/*.key``
            (created by ``sonoguide pair``).
    """

    pub_endpoint: str = "tcp://127.0.0.1:5556"
    control_endpoint: str = "tcp://127.0.0.1:5557"
    heartbeat_hz: float = 10.0
    state_hz: float = 1.0
    sndhwm: int = 1000
    curve: bool = False
    curve_dir: str = "~/.config/sonoguide/curve"

    def __post_init__(self) -> None:
        for key in ("pub_endpoint", "control_endpoint"):
            v = getattr(self, key)
            require(_endpoint_ok(v), f"network.{key}", "a ZeroMQ endpoint like tcp://127.0.0.1:5556", v)
        require(self.pub_endpoint != self.control_endpoint, "network.control_endpoint",
                "an endpoint different from network.pub_endpoint", self.control_endpoint)
        require(is_number(self.heartbeat_hz) and 5.0 <= self.heartbeat_hz <= 100.0, "network.heartbeat_hz",
                "a number 5..100 (the contract requires >= 5 Hz)", self.heartbeat_hz)
        require(is_number(self.state_hz) and 0.2 <= self.state_hz <= 50.0, "network.state_hz",
                "a number 0.2..50", self.state_hz)
        require(isinstance(self.sndhwm, int) and self.sndhwm >= 1, "network.sndhwm", "an integer >= 1", self.sndhwm)
