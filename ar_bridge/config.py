"""Network configuration of the wire to the headset (section ``[network]``) and its endpoint rules."""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field

from core.configtools import Section, bounds, check, require
from core.errors import ConfigError

log = logging.getLogger(__name__)

_SCHEMES = ("tcp://", "ipc://", "inproc://")
_LOOPBACK_NAMES = ("localhost", "lo")


def endpoint_problem(ep: object) -> str | None:
    """Why ``ep`` is not a ZeroMQ endpoint this project binds, or ``None`` when it is.

    A ``tcp://`` endpoint needs a host and an explicit port 1..65535 (ZeroMQ itself would wrap
    ``99999`` to another port silently, and ``*`` would pick one no headset can know).
    """
    if not isinstance(ep, str) or not ep.startswith(_SCHEMES) or not ep.split("://", 1)[1]:
        return "a ZeroMQ endpoint like tcp://127.0.0.1:5556"
    if not ep.startswith("tcp://"):
        return None
    host, sep, port = ep[len("tcp://"):].rpartition(":")
    if not sep or not host:
        return "tcp://HOST:PORT with an explicit port, like tcp://127.0.0.1:5556"
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        return f"a port 1..65535 (got {port!r}), like tcp://127.0.0.1:5556"
    return None


def _is_endpoint(ep: object) -> bool:
    return endpoint_problem(ep) is None


def is_loopback(ep: str) -> bool:
    """True when a bound ``ep`` is reachable from this machine only (loopback, ``ipc://``, ``inproc://``)."""
    if not ep.startswith("tcp://"):
        return True
    host = ep[len("tcp://"):].rpartition(":")[0].strip("[]")
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # '*', an interface name or a host name: reachable from the network
        return False


def check_exposure(endpoints: dict[str, str], curve: bool, insecure: bool) -> None:
    """Refuse plain-text sockets that other machines can reach, unless the user insisted.

    Args:
        endpoints: configuration key → endpoint the core binds.
        curve: CurveZMQ encryption and authentication are on.
        insecure: the user passed ``--insecure``: accept, and say so loudly.

    Raises:
        ConfigError: a non-loopback bind without CurveZMQ and without ``--insecure``.
    """
    if curve:
        return
    exposed = {k: v for k, v in endpoints.items() if not is_loopback(v)}
    if not exposed:
        return
    names = ", ".join(f"{k} = {v}" for k, v in exposed.items())
    if not insecure:
        raise ConfigError(f"{names} is reachable from other machines without encryption or authentication; set "
                          "network.curve = true (pair headsets with 'sonoguide pair'), bind 127.0.0.1, or pass "
                          "--insecure on a trusted network")
    log.warning("INSECURE: %s accepts plain-text connections from any machine (--insecure): anyone on the "
                "network can read the guidance stream and send commands", names)


@dataclass(frozen=True)
class NetworkConfig(Section, key="network"):
    """Endpoints and rates of the ZeroMQ wire (DESIGN.md, "Wire contract").

    Attributes:
        pub_endpoint: where the overlay/state/heartbeat PUB (XPUB) socket binds.
        control_endpoint: where the control ROUTER socket binds (REQ or DEALER clients).
        heartbeat_hz: heartbeat rate; the contract requires at least 5 Hz.
        state_hz: refresh rate of the ``state`` topic when nothing changes.
        sndhwm: send high-water mark per subscriber (messages). Every topic is latest-only
            (an old overlay is worth nothing once a newer one exists), so a stalled subscriber
            costs the core at most this many messages of memory, then loses the older ones
            instead of stalling the pipeline or growing the core (the default holds about 1.3 s
            at 25 Hz; the subscriber sees the loss as a ``seq`` gap).
        curve: enable CurveZMQ encryption and client authentication on both sockets.
        curve_dir: folder holding ``server.key_secret`` and ``authorized_clients/*.key``
            (created by ``sonoguide pair``).
        insecure: accept plain-text binds that other machines can reach (``--insecure``);
            without it such a configuration is refused (see :func:`check_exposure`).
    """

    pub_endpoint: str = field(default="tcp://127.0.0.1:5556", metadata=check(_is_endpoint, endpoint_problem))
    control_endpoint: str = field(default="tcp://127.0.0.1:5557", metadata=check(_is_endpoint, endpoint_problem))
    heartbeat_hz: float = field(default=10.0, metadata=bounds(5.0, 100.0, note="(the contract requires >= 5 Hz)"))
    state_hz: float = field(default=1.0, metadata=bounds(0.2, 50.0))
    sndhwm: int = field(default=32, metadata=bounds(1, 100000))
    curve: bool = False
    curve_dir: str = "~/.config/sonoguide/curve"
    insecure: bool = False

    def cross_check(self) -> None:
        require(self.pub_endpoint != self.control_endpoint, "network.control_endpoint",
                "an endpoint different from network.pub_endpoint", self.control_endpoint)

    def check_exposure(self, extra: dict[str, str] | None = None) -> None:
        """:func:`check_exposure` for this section's endpoints (plus ``extra``, e.g. the headset audio)."""
        check_exposure({"network.pub_endpoint": self.pub_endpoint,
                        "network.control_endpoint": self.control_endpoint, **(extra or {})},
                       self.curve, self.insecure)
