"""CurveZMQ encryption and headset authentication for the data and control sockets.

Follows ZeroMQ's CURVE mechanism (RFC 26/CurveZMQ, RFC 27/ZAP) through pyzmq's ``zmq.auth``:
the core holds a long-term server key pair; each paired headset has its own key pair, and only
headsets whose public key lies in ``authorized_clients/`` may connect (the "Ironhouse" pattern of
the pyzmq security examples). Layout of ``network.curve_dir``::

    server.key, server.key_secret        the core's certificate (created by the first pairing)
    authorized_clients/<name>.key        public keys of paired headsets

The allow-list is live: :class:`CurveSecurity` re-reads ``authorized_clients/`` a few times a
second, so ``sonoguide pair`` while the core runs admits the new headset at once, and
``sonoguide unpair NAME`` (or deleting the key) revokes it. CurveZMQ authenticates a connection
only at its handshake, so on a revocation the owner re-creates its server sockets
(``on_revoked``): every client reconnects and authenticates again, and the revoked one is
refused.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from core.errors import ConfigError

log = logging.getLogger(__name__)

SERVER = "server"
AUTHORIZED = "authorized_clients"
RELOAD_PERIOD_S = 0.2
"""How often the allow-list folder is re-read."""


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


def paired_headsets(curve_dir: str | Path) -> dict[str, bytes]:
    """``{name: public key file contents}`` of the authorised headsets (empty when none)."""
    auth = _dir(curve_dir) / AUTHORIZED
    out: dict[str, bytes] = {}
    if auth.is_dir():
        for f in sorted(auth.glob("*.key")):
            try:
                out[f.stem] = f.read_bytes()
            except OSError:  # removed while listing
                continue
    return out


def unpair_headset(curve_dir: str | Path, name: str) -> Path:
    """Revoke headset ``name``: remove its public key from the allow-list; returns the removed file.

    A running core notices within :data:`RELOAD_PERIOD_S` and closes the headset's connections.

    Raises:
        ConfigError: no headset of that name is paired.
    """
    key = _dir(curve_dir) / AUTHORIZED / f"{name}.key"
    if not name or "/" in name or not key.is_file():
        paired = ", ".join(paired_headsets(curve_dir)) or "none"
        raise ConfigError(f"no headset named {name!r} is paired in {_dir(curve_dir)} (paired: {paired})")
    key.unlink()
    return key


class CurveSecurity:
    """Starts the ZAP authenticator, configures server sockets and keeps the allow-list live.

    Args:
        curve_dir: the key folder (``network.curve_dir``).
        context: the ZeroMQ context the sockets belong to.
        on_revoked: called (on the watcher thread) with the names of headsets whose keys were
            removed; the owner re-creates its sockets so their connections end.

    Raises:
        ConfigError: no server key or no paired headset yet.
    """

    def __init__(self, curve_dir: str | Path, context: zmq.Context | None = None,
                 on_revoked: Callable[[set[str]], None] | None = None) -> None:
        d = _dir(curve_dir)
        secret = d / f"{SERVER}.key_secret"
        self._auth_dir = d / AUTHORIZED
        if not secret.exists() or not self._auth_dir.is_dir() or not any(self._auth_dir.glob("*.key")):
            raise ConfigError(f"network.curve is on but {d} holds no server key or no paired headset; "
                              "run 'sonoguide pair --name HEADSET' first")
        self.public, self.secret = zmq.auth.load_certificate(str(secret))
        self._auth = ThreadAuthenticator(context or zmq.Context.instance())
        self._auth.start()
        self._known = paired_headsets(d)
        self._auth.configure_curve(domain="*", location=str(self._auth_dir))
        self.on_revoked = on_revoked
        self.reloads = 0
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="curve-allow-list", daemon=True)
        self._watcher.start()

    @property
    def paired(self) -> tuple[str, ...]:
        """Names of the headsets currently authorised."""
        return tuple(self._known)

    def _watch(self) -> None:
        while not self._stop.wait(RELOAD_PERIOD_S):
            try:
                self.reload()
            except Exception:  # noqa: BLE001 - a bad key file must not end the watcher
                log.exception("reloading the CurveZMQ allow-list failed")

    def reload(self) -> set[str]:
        """Re-read the allow-list now; returns the revoked names (also passed to ``on_revoked``)."""
        now = paired_headsets(self._auth_dir.parent)
        if now == self._known:
            return set()
        revoked = {n for n, k in self._known.items() if now.get(n) != k}
        added = {n for n, k in now.items() if self._known.get(n) != k}
        self._auth.configure_curve(domain="*", location=str(self._auth_dir))
        self._known = now
        self.reloads += 1
        if added:
            log.warning("headset(s) paired: %s - admitted from now on", ", ".join(sorted(added)))
        if revoked:
            log.warning("headset key(s) revoked: %s - closing their connections", ", ".join(sorted(revoked)))
            if self.on_revoked is not None:
                self.on_revoked(revoked)
        return revoked

    def setup(self, sock: zmq.Socket) -> None:
        """Make ``sock`` a CURVE server (call before bind)."""
        sock.curve_secretkey = self.secret
        sock.curve_publickey = self.public
        sock.curve_server = True

    def stop(self) -> None:
        """Stop the allow-list watcher and the authenticator."""
        self._stop.set()
        self._watcher.join(2.0)
        self._auth.stop()
