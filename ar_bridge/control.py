"""Control channel: the headset (or any client) sends JSON commands, every request gets a reply.

A ROUTER socket serves both REQ clients (envelope ``[identity, b"", request]``) and DEALER
clients (``[identity, request]`` or with the empty delimiter), so a client may pipeline
requests (ZeroMQ Guide ch. 3, "The Asynchronous Client/Server Pattern"). Requests::

    {"id": "42", "command": "freeze"}        -> {"id": "42", "ok": true, "status": "executed"}
    {"id": "43", "command": "hide all"}      -> {"id": "43", "ok": true, "status": "awaiting_confirmation"}
    {"id": "44", "command": "get_state"}     -> {"id": "44", "ok": true, "state": {...}}
    {"id": "45", "command": "fly"}           -> {"id": "45", "ok": false, "error": "unknown command 'fly'; ..."}

A malformed request (not UTF-8 JSON, not an object, nested deeper than :data:`MAX_DEPTH`,
missing ``id`` or ``command``, too large, more than one frame) gets ``ok: false`` with the
reason, never silence; a handler that raises gets ``ok: false`` too, and the server keeps
serving. The parser is bounded in size and depth and can never raise past the server: a request
such as ``b"[" * 1000`` (which makes Python's ``json`` module raise ``RecursionError``) is
answered like any other malformed request. A message larger than :data:`MAX_WIRE_BYTES` is
never read: ZeroMQ drops the sending peer's connection (``ZMQ_MAXMSGSIZE``), so a hostile client
cannot make the core buffer megabytes.

The serving thread is supervised: should the socket loop itself fail, the server logs it,
re-creates its socket after a short back-off and serves again; :attr:`ControlServer.status`
(``up``, ``restarting``, ``down``) makes its health visible to the heartbeat and the status line.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import zmq

from ar_bridge.publisher import bind_or_raise
from core.errors import NetworkError

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 64 * 1024
"""Largest request that is parsed; a larger one (up to :data:`MAX_WIRE_BYTES`) gets ``ok: false``."""
MAX_WIRE_BYTES = 4 * MAX_REQUEST_BYTES
"""Largest message ZeroMQ accepts on the control socket; a larger one drops the peer unread."""
MAX_DEPTH = 16
"""Deepest nesting of arrays and objects accepted in a request."""
MAX_ID_CHARS = 128
MAX_COMMAND_CHARS = 256
_INT64 = 1 << 63
_RESTART_BACKOFF_S = (0.1, 0.5, 2.0)
_REBIND_TRIES_S = 3.0


@dataclass(frozen=True)
class ControlRequest:
    """A validated request: its ``id``, ``command`` and the whole object (for extra arguments)."""

    id: str | int
    command: str
    raw: Mapping[str, Any]


def encode_request(request_id: str | int, command: str) -> bytes:
    """The frame a client sends: ``{"id": ..., "command": ...}`` as compact UTF-8 JSON.

    The headset's ``ControlRequest`` writes the same object (the golden files pin both).
    """
    return json.dumps({"id": request_id, "command": command}, separators=(",", ":")).encode("utf-8")


Handler = Callable[[ControlRequest], Mapping[str, Any]]
"""Executes a request; returns the reply fields besides ``id`` (at least ``ok``)."""


def parse_request(payload: bytes) -> ControlRequest:
    """Validate one request frame.

    Raises:
        ValueError: with the reason to send back; ``args[1]`` holds the id when it could be read.
    """
    if len(payload) > MAX_REQUEST_BYTES:
        raise ValueError(f"request is {len(payload)} bytes; the limit is {MAX_REQUEST_BYTES}", None)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"request is not UTF-8 JSON ({exc})", None) from None
    depth = json_depth(text)
    if depth > MAX_DEPTH:
        raise ValueError(f"request nests {depth} levels deep; the limit is {MAX_DEPTH}", None)
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, and huge integers (int max str digits)
        raise ValueError(f"request is not UTF-8 JSON ({exc})", None) from None
    if not isinstance(obj, dict):
        raise ValueError("request must be a JSON object like {\"id\": \"1\", \"command\": \"freeze\"}", None)
    rid = obj.get("id")
    if not _valid_id(rid):
        raise ValueError(f"request needs an 'id' (a string of at most {MAX_ID_CHARS} characters or a 64-bit "
                         "integer)", None)
    cmd = obj.get("command")
    if not isinstance(cmd, str) or not cmd.strip():
        raise ValueError("request needs a 'command' string", rid)
    if len(cmd) > MAX_COMMAND_CHARS:
        raise ValueError(f"'command' is {len(cmd)} characters; the limit is {MAX_COMMAND_CHARS}", rid)
    return ControlRequest(id=rid, command=" ".join(cmd.strip().lower().split()), raw=obj)


def _valid_id(rid: object) -> bool:
    if isinstance(rid, bool):
        return False
    if isinstance(rid, int):
        return -_INT64 <= rid < _INT64
    return isinstance(rid, str) and len(rid) <= MAX_ID_CHARS


def json_depth(text: str) -> int:
    """Deepest nesting of ``[``/``{`` in JSON text, brackets inside strings not counted.

    A linear scan that never recurses, run before the text reaches :func:`json.loads` (whose
    recursive decoder raises ``RecursionError`` on deep input). Malformed text gets a number
    too; the decoder reports what is wrong with it.
    """
    opening = text.count("[") + text.count("{")
    if opening <= MAX_DEPTH:  # cannot be deeper than the number of opening brackets
        return opening
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


class ControlServer:
    """Serves control requests on a ROUTER socket from its own, supervised thread.

    Args:
        endpoint: bind address (``network.control_endpoint``).
        handler: executes a valid request (called on the server thread).
        context: ZeroMQ context.
        socket_setup: optional hook applied to the socket before binding (CurveZMQ keys).
    """

    def __init__(self, endpoint: str, handler: Handler, context: zmq.Context | None = None,
                 socket_setup: Callable[[zmq.Socket], None] | None = None) -> None:
        self.endpoint = endpoint
        self._handler = handler
        self._ctx = context or zmq.Context.instance()
        self._setup = socket_setup
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._rebind = threading.Event()
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self.served = 0
        self.refused = 0
        self.restarts = 0
        self.status = "down"
        """``up`` while serving, ``restarting`` after a failure of the socket loop, ``down`` when stopped
        or when the socket could not be re-created."""
        self.last_failure: str | None = None

    def start(self) -> None:
        """Bind and serve.

        Raises:
            NetworkError: the endpoint cannot be bound.
        """
        self._thread = threading.Thread(target=self._supervise, name="ar_bridge-control", daemon=True)
        self._thread.start()
        self._ready.wait(10.0)
        if self._error is not None:
            raise self._error
        log.info("control channel on %s", self.endpoint)

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
            self._thread = None
        self.status = "down"

    def rebind(self) -> None:
        """Close and re-create the socket, so every client connects and authenticates again.

        Used when a headset's key is revoked: CurveZMQ authenticates a connection once, at its
        handshake, so only a new handshake shuts a revoked client out.
        """
        self._rebind.set()

    @property
    def alive(self) -> bool:
        """True while the serving thread runs."""
        return self._thread is not None and self._thread.is_alive()

    # .................................................................. serving thread
    def _supervise(self) -> None:
        """Serve; after an unexpected failure re-create the socket with back-off, until stopped."""
        failures = 0
        while not self._stop.is_set():
            sock = self._open()
            if sock is None:
                if not self._ready.is_set():  # the first bind failed: start() raises it
                    self._ready.set()
                    return
                failures += 1  # could not re-create the socket: visible as down, retried
                self.status = "down"
            else:
                self.status = "up"
                self._ready.set()
                try:
                    self._serve(sock)
                    failures = 0
                    if self._stop.is_set():
                        break
                    continue  # a rebind: open a fresh socket at once
                except Exception as exc:  # noqa: BLE001 - the channel must outlive any bug
                    failures += 1
                    self.last_failure = f"{type(exc).__name__}: {exc}"
                    log.exception("control channel failed; re-creating its socket")
                    self.status = "restarting"
                finally:
                    sock.close(linger=0)
            self.restarts += 1
            self._stop.wait(_RESTART_BACKOFF_S[min(failures, len(_RESTART_BACKOFF_S)) - 1])
        self.status = "down"

    def _open(self) -> zmq.Socket | None:
        """A new bound ROUTER socket, or ``None`` (the first failure is kept for :meth:`start`).

        After the first bind the port of a just-closed socket frees asynchronously, so a re-bind
        is retried for a few seconds before it counts as a failure.
        """
        deadline = time.monotonic() + _REBIND_TRIES_S
        while True:
            sock = self._ctx.socket(zmq.ROUTER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.ROUTER_MANDATORY, 0)
            sock.setsockopt(zmq.MAXMSGSIZE, MAX_WIRE_BYTES)
            try:
                if self._setup is not None:
                    self._setup(sock)
                bind_or_raise(sock, self.endpoint, "control channel", "network.control_endpoint")
                return sock
            except NetworkError as exc:
                sock.close(linger=0)
                if not self._ready.is_set():
                    self._error = exc
                    return None
                if time.monotonic() > deadline or self._stop.is_set():
                    self.last_failure = str(exc)
                    log.error("control channel: %s", exc)
                    return None
                time.sleep(0.02)

    def _serve(self, sock: zmq.Socket) -> None:
        """Answer requests until stopped or asked to rebind."""
        while not self._stop.is_set():
            if self._rebind.is_set():
                self._rebind.clear()
                return
            if not sock.poll(100):
                continue
            frames = sock.recv_multipart()
            reply_envelope, body = self._split(frames)
            try:
                reply = json.dumps(self._answer(body)).encode("utf-8")
            except Exception as exc:  # noqa: BLE001 - e.g. a handler reply that is not JSON
                log.exception("control reply could not be built")
                reply = json.dumps({"id": None, "ok": False, "error": f"internal error: {exc}"}).encode("utf-8")
            try:
                sock.send_multipart([*reply_envelope, reply])
            except zmq.ZMQError as exc:  # the client went away
                log.warning("control reply not delivered: %s", exc)

    @staticmethod
    def _split(frames: list[bytes]) -> tuple[list[bytes], list[bytes]]:
        """Split ``[identity, (b""), *body]`` into the reply envelope and the body frames."""
        identity, rest = frames[0], frames[1:]
        if rest and rest[0] == b"":
            return [identity, b""], rest[1:]
        return [identity], rest

    def _answer(self, body: list[bytes]) -> dict[str, Any]:
        if len(body) != 1:
            self.refused += 1
            return {"id": None, "ok": False, "error": f"request must be one frame of JSON, got {len(body)} frames"}
        try:
            req = parse_request(body[0])
        except ValueError as exc:
            self.refused += 1
            return {"id": exc.args[1] if len(exc.args) > 1 else None, "ok": False, "error": exc.args[0]}
        try:
            result = dict(self._handler(req))
        except Exception as exc:  # never let one request kill the channel
            log.exception("control handler failed on %r", req.command)
            self.refused += 1
            return {"id": req.id, "ok": False, "error": f"internal error: {exc}"}
        self.served += 1
        result.setdefault("ok", False)
        return {"id": req.id, **result}
