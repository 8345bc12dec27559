"""Wire messages: the one source of truth for what travels to the headset.

Every message is a ZeroMQ multipart ``[topic, header, *binary frames]`` (see PROTOCOL.md):

- ``topic``: ASCII, one of :data:`TOPICS`.
- ``header``: UTF-8 JSON object with at least ``schema`` (``"sonoguide.<kind>/<version>"``),
  ``seq`` (per topic, +1 per message), ``t_capture_ns`` (the core clock, :func:`core.clock.now_ns`, at capture of
  the source data) and ``t_publish_ns``; ``arrays`` describes the binary frames in order
  (``name``, ``dtype`` as a little-endian NumPy type string, ``shape``); ``body`` holds the
  message fields.
- binary frames: raw little-endian C-order array bytes, one per ``arrays`` entry.

This follows the pyzmq pattern of a JSON header plus zero-copy array buffers
(pyzmq docs, "Serializing messages", ``send_json`` + ``send(buf, copy=False)``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

SCHEMA_PREFIX = "sonoguide."
TOPIC_OVERLAY = "overlay"
TOPIC_STATE = "state"
TOPIC_HEARTBEAT = "heartbeat"
TOPIC_VOICE = "voice"
TOPIC_AUDIO = "audio"  # headset -> host microphone PCM on its own PULL socket (voice/audio/sources.py)
TOPICS: tuple[str, ...] = (TOPIC_OVERLAY, TOPIC_STATE, TOPIC_HEARTBEAT, TOPIC_VOICE, TOPIC_AUDIO)

SCHEMA_VERSIONS: dict[str, int] = {
    TOPIC_OVERLAY: 1,
    TOPIC_STATE: 1,
    TOPIC_HEARTBEAT: 1,
    TOPIC_VOICE: 1,
    TOPIC_AUDIO: 1,
}
"""Current schema version per topic. Extend fields compatibly; bump only on breaking change."""

ALLOWED_DTYPES = {"<f4", "<f8", "<i4", "<u1", "<u2", "<i2", "|u1"}
MAX_HEADER_BYTES = 1 << 20


class ProtocolError(ValueError):
    """A message does not follow the wire contract; the text says which part."""


def schema_name(topic: str) -> str:
    """Return ``"sonoguide.<topic>/<version>"`` for a known topic."""
    return f"{SCHEMA_PREFIX}{topic}/{SCHEMA_VERSIONS[topic]}"


@dataclass(frozen=True)
class WireMessage:
    """A decoded (or to-be-encoded) wire message.

    Attributes:
        topic: the topic frame.
        schema: ``"sonoguide.<kind>/<version>"``.
        seq: per-topic sequence number.
        t_capture_ns: capture time of the source data this message describes.
        t_publish_ns: host time when the message was handed to the socket.
        body: message fields (JSON-serialisable).
        arrays: named arrays carried as binary frames.
    """

    topic: str
    schema: str
    seq: int
    t_capture_ns: int
    t_publish_ns: int
    body: Mapping[str, Any]
    arrays: Mapping[str, np.ndarray] = field(default_factory=dict)


def _le(arr: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(arr)
    if a.dtype.byteorder == ">" or (a.dtype.byteorder == "=" and np.little_endian is False):
        a = a.astype(a.dtype.newbyteorder("<"))
    return a


def encode(msg: WireMessage) -> list[bytes]:
    """Serialise a :class:`WireMessage` into multipart frames.

    Raises:
        ProtocolError: unknown topic or an array dtype outside the contract.
    """
    if msg.topic not in TOPICS:
        raise ProtocolError(f"unknown topic {msg.topic!r}; known: {', '.join(TOPICS)}")
    specs = []
    frames: list[bytes] = []
    for name, arr in msg.arrays.items():
        a = _le(np.asarray(arr))
        dt = a.dtype.str
        if dt not in ALLOWED_DTYPES:
            raise ProtocolError(f"array {name!r} has dtype {dt}; allowed: {sorted(ALLOWED_DTYPES)}")
        specs.append({"name": name, "dtype": dt, "shape": list(a.shape)})
        frames.append(a.tobytes())
    header = {
        "schema": msg.schema,
        "seq": int(msg.seq),
        "t_capture_ns": int(msg.t_capture_ns),
        "t_publish_ns": int(msg.t_publish_ns),
        "arrays": specs,
        "body": msg.body,
    }
    return [msg.topic.encode("ascii"), json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8"),
            *frames]


def decode(frames: list[bytes]) -> WireMessage:
    """Parse multipart frames into a :class:`WireMessage`, validating the contract.

    Raises:
        ProtocolError: with a message naming the offending part.
    """
    if len(frames) < 2:
        raise ProtocolError(f"expected [topic, header, *arrays], got {len(frames)} frame(s)")
    try:
        topic = bytes(frames[0]).decode("ascii")
    except UnicodeDecodeError as exc:
        raise ProtocolError("topic frame is not ASCII") from exc
    raw = bytes(frames[1])
    if len(raw) > MAX_HEADER_BYTES:
        raise ProtocolError(f"header is {len(raw)} bytes, limit {MAX_HEADER_BYTES}")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"header is not UTF-8 JSON: {exc}") from exc
    if not isinstance(header, dict):
        raise ProtocolError("header must be a JSON object")
    for key, typ in (("schema", str), ("seq", int), ("t_capture_ns", int), ("t_publish_ns", int)):
        if not isinstance(header.get(key), typ) or isinstance(header.get(key), bool):
            raise ProtocolError(f"header field {key!r} missing or not {typ.__name__}")
    if not header["schema"].startswith(SCHEMA_PREFIX) or "/" not in header["schema"]:
        raise ProtocolError(f"schema {header['schema']!r} is not 'sonoguide.<kind>/<version>'")
    specs = header.get("arrays", [])
    if not isinstance(specs, list) or len(specs) != len(frames) - 2:
        raise ProtocolError(f"header describes {len(specs) if isinstance(specs, list) else '?'} arrays "
                            f"but {len(frames) - 2} binary frames follow")
    arrays: dict[str, np.ndarray] = {}
    for spec, buf in zip(specs, frames[2:]):
        try:
            name, dt, shape = spec["name"], spec["dtype"], tuple(int(s) for s in spec["shape"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"bad array spec {spec!r}") from exc
        if dt not in ALLOWED_DTYPES:
            raise ProtocolError(f"array {name!r} dtype {dt!r} not allowed")
        dtype = np.dtype(dt)
        expected = int(np.prod(shape)) * dtype.itemsize
        if len(buf) != expected:
            raise ProtocolError(f"array {name!r} has {len(buf)} bytes, shape {shape} {dt} needs {expected}")
        arrays[name] = np.frombuffer(bytes(buf), dtype=dtype).reshape(shape)
    body = header.get("body", {})
    if not isinstance(body, dict):
        raise ProtocolError("header field 'body' must be an object")
    return WireMessage(topic=topic, schema=header["schema"], seq=header["seq"],
                       t_capture_ns=header["t_capture_ns"], t_publish_ns=header["t_publish_ns"],
                       body=body, arrays=arrays)
