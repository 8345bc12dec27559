"""CurveZMQ encryption and headset authentication for the data and control sockets.

Follows ZeroMQ's CURVE mechanism (RFC 26/CurveZMQ, RFC 27/ZAP) through pyzmq's ``zmq.auth``:
the core holds a long-term server key pair; each paired headset has its own key pair, and only
headsets whose public key lies in ``authorized_clients/`` may connect (the "Ironhouse" pattern of
the pyzmq security examples). Layout of ``network.curve_dir``::

    server.key, server.key_secret        the core's certificate (created by the first pairing)
    authorized_clients/<name>.key        public keys of paired headsets
"""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from sonoguide.errors import ConfigError

log = logging.getLogger(__name__)

SERVER = "server"
AUTHORIZED = "authorized_clients"


@dataclass(frozen=True)
class PairingBundle:
    """What a headset needs: its key pair, the core's public key and the endpoints."""

    name: str
    client_public: str
    client_secret: str
    server_public: str
    pub_endpoint: str
    control_endpoint: str

    def save(self, path: Path) -> None:
        """Write the bundle as JSON (readable by the owner only: it holds a secret key)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.__dict__, indent=2) + "\n", encoding="utf-8")
        path.chmod(0o600)


def _dir(curve_dir: str | Path) -> Path:
    return Path(curve_dir).expanduser()


def ensure_server_keys(curve_dir: str | Path) -> tuple[bytes, bytes]:
    """The core's key pair, created on first use."""
    d = _dir(curve_dir)
    secret = d / f"{SERVER}.key_secret"
    if not secret.exists():
        d.mkdir(parents=True, exist_ok=True)
        zmq.auth.create_certificates(str(d), SERVER)
        (d / f"{SERVER}.key_secret").chmod(0o600)
        log.info("created the core's CurveZMQ key pair in %s", d)
    return zmq.auth.load_certificate(str(secret))


def pair_headset(curve_dir: str | Path, name: str, pub_endpoint: str, control_endpoint: str) -> PairingBundle:
    """Create a key pair for headset ``name`` and authorise its public key.

    Raises:
        ConfigError: ``name`` is not a plain name or is already paired.
    """
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"headset name {name!r} must use letters, digits, '-' and '_' only")
    d = _dir(curve_dir)
    server_public, _ = ensure_server_keys(d)
    auth = d / AUTHORIZED
    auth.mkdir(parents=True, exist_ok=True)
    if (auth / f"{name}.key").exists():
        raise ConfigError(f"a headset named {name!r} is already paired; pick another name or remove "
                          f"{auth / (name + '.key')}")
    work = d / ".pairing"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        pub_file, secret_file = zmq.auth.create_certificates(str(work), name)
        client_public, client_secret = zmq.auth.load_certificate(secret_file)
        shutil.move(pub_file, auth / f"{name}.key")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return PairingBundle(name, client_public.decode(), client_secret.decode(), server_public.decode(),
                         pub_endpoint, control_endpoint)


class CurveSecurity:
    """Starts the ZAP authenticator and configures server sockets.

    Args:
        curve_dir: the key folder (``network.curve_dir``).
        context: the ZeroMQ context the sockets belong to.

    Raises:
        ConfigError: no server key or no paired headset yet.
    """

    def __init__(self, curve_dir: str | Path, context: zmq.Context | None = None) -> None:
        d = _dir(curve_dir)
        secret = d / f"{SERVER}.key_secret"
        auth = d / AUTHORIZED
        if not secret.exists() or not auth.is_dir() or not any(auth.glob("*.key")):
            raise ConfigError(f"network.curve is on but {d} holds no server key or no paired headset; "
                              "run 'sonoguide pair --name HEADSET' first")
        self.public, self.secret = zmq.auth.load_certificate(str(secret))
        self._auth = ThreadAuthenticator(context or zmq.Context.instance())
        self._auth.start()
        self._auth.configure_curve(domain="*", location=str(auth))

    def setup(self, sock: zmq.Socket) -> None:
        """Make ``sock`` a CURVE server (call before bind)."""
        sock.curve_secretkey = self.secret
        sock.curve_publickey = self.public
        sock.curve_server = True

    def stop(self) -> None:
        """Stop the authenticator."""
        self._auth.stop()
