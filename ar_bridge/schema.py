"""Wire messages: the one source of truth for what travels to the headset.

Every message is a ZeroMQ multipart ``[topic, header, *binary frames]`` (see PROTOCOL.md):

- ``topic``: ASCII, one of :data:`TOPICS`.
- ``header``: UTF-8 JSON object with at least ``schema`` (``"sonoguide.<kind>/<version>"``),
  ``seq`` (per topic, +1 per message), ``t_capture_ns`` (host ``time.time_ns()`` at capture of
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

_ALLOWED_DTYPES = {"<f4", "<f8", "<i4", "<u1", "<u2", "<i2", "|u1"}
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
        if dt not in _ALLOWED_DTYPES:
            raise ProtocolError(f"array {name!r} has dtype {dt}; allowed: {sorted(_ALLOWED_DTYPES)}")
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
        if dt not in _ALLOWED_DTYPES:
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


# --------------------------------------------------------------------------- typed bodies

# Headset frame convention (right-handed, OpenXR-like): +x right, +y up, +z towards the viewer.
# Unity: left-handed, +x right, +y up, +z forward, metres. Points convert by flipping z and
# scaling mm -> m; this is the only place the conversion happens (see PROTOCOL.md).
UNITY_FROM_HEADSET = np.diag([0.001, 0.001, -0.001, 1.0])


@dataclass(frozen=True)
class StructureOverlay:
    """One outlined structure in an overlay message."""

    id: int
    cls: str
    validity: str
    confidence: float
    area_mm2: float
    contour_px: np.ndarray  # (N, 2) float32 image px


@dataclass(frozen=True)
class NeedleOverlay:
    """The needle layer of an overlay message."""

    validity: str
    tip_px: tuple[float, float] | None
    entry_px: tuple[float, float] | None
    angle_deg: float | None
    proximity: str
    tip_distance_mm: Mapping[str, float | None]
    trajectory_distance_mm: Mapping[str, float | None]
    trajectory_px: np.ndarray | None  # (2, 2) float32: tip, extrapolated point


@dataclass(frozen=True)
class OverlayMessage:
    """Everything the headset draws for one processed ultrasound frame.

    ``valid_until_ns`` is ``t_capture_ns`` plus the validity limit: a client must stop drawing
    the overlay as current after it (and show it as stale). ``pose_validity`` tells whether
    ``T_headset_from_image`` is trustworthy; when the pose is lost or stale the matrices are
    absent. While ``frozen``, the content (structures, needle, image, pose) is the one captured at
    ``frozen_at_ns``, and ``t_capture_ns`` is the live frame that produced this message.
    """

    frame_seq: int
    t_capture_ns: int
    valid_until_ns: int
    image_size: tuple[int, int]  # (width, height) px
    mm_per_px: tuple[float, float]  # (row, col)
    frozen: bool
    layers: Mapping[str, bool]
    quality: float
    quality_flags: tuple[str, ...]
    pose_validity: str
    pose_age_ms: float | None
    T_headset_from_image: np.ndarray | None
    structures: tuple[StructureOverlay, ...]
    needle: NeedleOverlay | None
    source: str = ""
    image: np.ndarray | None = None
    frozen_at_ns: int | None = None

    def to_body(self) -> tuple[dict, dict[str, np.ndarray]]:
        """Split into the JSON body and the binary arrays."""
        arrays: dict[str, np.ndarray] = {}
        if self.T_headset_from_image is not None:
            t = np.asarray(self.T_headset_from_image, dtype=np.float64)
            arrays["T_headset_from_image"] = t
            arrays["T_unity_from_image"] = UNITY_FROM_HEADSET @ t
        if self.image is not None:
            arrays["image"] = np.asarray(self.image, dtype=np.uint8)
        structs = []
        for s in self.structures:
            key = f"contour_{s.id}"
            arrays[key] = np.asarray(s.contour_px, dtype=np.float32).reshape(-1, 2)
            structs.append({"id": s.id, "cls": s.cls, "validity": s.validity, "confidence": round(s.confidence, 4),
                            "area_mm2": round(s.area_mm2, 3), "contour": key})
        needle = None
        if self.needle is not None:
            n = self.needle
            needle = {"validity": n.validity, "tip_px": _pt(n.tip_px), "entry_px": _pt(n.entry_px),
                      "angle_deg": None if n.angle_deg is None else round(n.angle_deg, 3),
                      "proximity": n.proximity, "tip_distance_mm": _rounded(n.tip_distance_mm),
                      "trajectory_distance_mm": _rounded(n.trajectory_distance_mm),
                      "trajectory": None}
            if n.trajectory_px is not None:
                arrays["needle_trajectory"] = np.asarray(n.trajectory_px, dtype=np.float32).reshape(-1, 2)
                needle["trajectory"] = "needle_trajectory"
        body = {
            "frame_seq": self.frame_seq, "valid_until_ns": self.valid_until_ns,
            "image_size": list(self.image_size), "mm_per_px": list(self.mm_per_px),
            "frozen": self.frozen, "layers": dict(self.layers), "quality": round(self.quality, 4),
            "quality_flags": list(self.quality_flags), "pose_validity": self.pose_validity,
            "pose_age_ms": None if self.pose_age_ms is None else round(self.pose_age_ms, 3),
            "structures": structs, "needle": needle, "source": self.source,
            "image": "image" if self.image is not None else None, "frozen_at_ns": self.frozen_at_ns,
        }
        return body, arrays

    @classmethod
    def from_wire(cls, msg: WireMessage) -> "OverlayMessage":
        """Rebuild from a decoded message (raises ProtocolError on missing fields)."""
        b, arr = msg.body, msg.arrays
        try:
            structures = tuple(
                StructureOverlay(id=int(s["id"]), cls=s["cls"], validity=s["validity"],
                                 confidence=float(s["confidence"]), area_mm2=float(s["area_mm2"]),
                                 contour_px=arr[s["contour"]])
                for s in b["structures"])
            needle = None
            if b.get("needle"):
                n = b["needle"]
                needle = NeedleOverlay(
                    validity=n["validity"], tip_px=_tuple(n["tip_px"]), entry_px=_tuple(n["entry_px"]),
                    angle_deg=n["angle_deg"], proximity=n["proximity"], tip_distance_mm=n["tip_distance_mm"],
                    trajectory_distance_mm=n["trajectory_distance_mm"],
                    trajectory_px=arr.get(n["trajectory"]) if n.get("trajectory") else None)
            return cls(frame_seq=int(b["frame_seq"]), t_capture_ns=msg.t_capture_ns,
                       valid_until_ns=int(b["valid_until_ns"]), image_size=tuple(b["image_size"]),
                       mm_per_px=tuple(b["mm_per_px"]), frozen=bool(b["frozen"]), layers=b["layers"],
                       quality=float(b["quality"]), quality_flags=tuple(b["quality_flags"]),
                       pose_validity=b["pose_validity"], pose_age_ms=b["pose_age_ms"],
                       T_headset_from_image=arr.get("T_headset_from_image"), structures=structures,
                       needle=needle, source=b.get("source", ""),
                       image=arr.get(b["image"]) if b.get("image") else None,
                       frozen_at_ns=b.get("frozen_at_ns"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"overlay body incomplete: {exc!r}") from exc


def _pt(p) -> list[float] | None:
    return None if p is None else [round(float(p[0]), 3), round(float(p[1]), 3)]


def _tuple(p) -> tuple[float, float] | None:
    return None if p is None else (float(p[0]), float(p[1]))


def _rounded(d: Mapping[str, float | None]) -> dict[str, float | None]:
    return {k: (None if v is None else round(float(v), 3)) for k, v in d.items()}
