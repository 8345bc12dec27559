"""Control channel: the headset (or any client) sends JSON commands, every request gets a reply.

A ROUTER socket serves both REQ clients (envelope ``[identity, b"", request]``) and DEALER
clients (``[identity, request]`` or with the empty delimiter), so a client may pipeline
requests (ZeroMQ Guide ch. 3, "The Asynchronous Client/Server Pattern"). Requests::

    {"id": "42", "command": "freeze"}        -> {"id": "42", "ok": true, "status": "executed"}
    {"id": "43", "command": "hide all"}      -> {"id": "43", "ok": true, "status": "awaiting_confirmation"}
    {"id": "44", "command": "get_state"}     -> {"id": "44", "ok": true, "state": {...}}
    {"id": "45", "command": "fly"}           -> {"id": "45", "ok": false, "error": "unknown command 'fly'; ..."}

A malformed request (not UTF-8 JSON, not an object, missing ``id`` or ``command``, too large,
more than one frame) gets ``ok: false`` with the reason, never silence; a handler that raises
gets ``ok: false`` too, and the server keeps serving.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import zmq

from ar_bridge.publisher import bind_or_raise
from sonoguide.errors import NetworkError

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 64 * 1024


@dataclass(frozen=True)
class ControlRequest:
    """A validated request: its ``id``, ``command`` and the whole object (for extra arguments)."""

    id: str | int
    command: str
    raw: Mapping[str, Any]


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
        obj = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"request is not UTF-8 JSON ({exc})", None) from None
    if not isinstance(obj, dict):
        raise ValueError("request must be a JSON object like {\"id\": \"1\", \"command\": \"freeze\"}", None)
    rid = obj.get("id")
    if not isinstance(rid, (str, int)) or isinstance(rid, bool):
        raise ValueError("request needs an 'id' (string or integer)", None)
    cmd = obj.get("command")
    if not isinstance(cmd, str) or not cmd.strip():
        raise ValueError("request needs a 'command' string", rid)
    return ControlRequest(id=rid, command=" ".join(cmd.strip().lower().split()), raw=obj)


class ControlServer:
    """Serves control requests on a ROUTER socket from its own thread.

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
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self.served = 0
        self.refused = 0

    def start(self) -> None:
        """Bind and serve.

        Raises:
            NetworkError: the endpoint cannot be bound.
        """
        self._thread = threading.Thread(target=self._run, name="ar_bridge-control", daemon=True)
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

    def _run(self) -> None:
        sock = self._ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.ROUTER_MANDATORY, 0)
        try:
            if self._setup is not None:
                self._setup(sock)
            bind_or_raise(sock, self.endpoint, "control channel", "network.control_endpoint")
        except NetworkError as exc:
            self._error = exc
            sock.close()
            self._ready.set()
            return
        self._ready.set()
        try:
            while not self._stop.is_set():
                if not sock.poll(100):
                    continue
                frames = sock.recv_multipart()
                reply_envelope, body = self._split(frames)
                reply = self._answer(body)
                try:
                    sock.send_multipart([*reply_envelope, json.dumps(reply).encode("utf-8")])
                except zmq.ZMQError as exc:  # the client went away
                    log.warning("control reply not delivered: %s", exc)
        finally:
            sock.close(linger=0)

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
