"""Typed message bodies of the wire contract: one class per topic, mirroring the headset's
``unity_client/Protocol/Messages`` (``OverlayMessage``, ``StateMessage``, ``HeartbeatMessage``,
``VoiceMessage``).

:mod:`ar_bridge.schema` frames a message (topic, JSON header, binary arrays); this module says
what each topic's body holds. Every class turns itself into the body (and arrays) that
:class:`~ar_bridge.schema.WireMessage` carries (``to_body``) and back (``from_wire``), refusing an
incomplete body with :class:`~ar_bridge.schema.ProtocolError`. Domain objects (the guidance
state, a voice decision, the runtime's figures) are turned into these messages in one place,
``sonoguide/compose.py``; PROTOCOL.md documents every field.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping

import numpy as np

from ar_bridge.schema import ProtocolError, WireMessage

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


def _from_body(cls: type, msg: WireMessage, topic: str, older_core_defaults: Mapping[str, Any] | None = None) -> Any:
    """Build a flat message dataclass from ``msg.body``: every field required (except those an
    older core did not send yet, given with their values in ``older_core_defaults``), extra keys ignored."""
    if msg.topic != topic:
        raise ProtocolError(f"expected a {topic} message, got {msg.topic!r}")
    body = {**(older_core_defaults or {}), **msg.body}
    names = [f.name for f in fields(cls)]
    missing = [n for n in names if n not in body]
    if missing:
        raise ProtocolError(f"{topic} body lacks {', '.join(repr(n) for n in missing)}")
    return cls(**{n: body[n] for n in names})


@dataclass(frozen=True)
class StateMessage:
    """The ``state`` topic: what the system shows and does now (PROTOCOL.md, "state").

    Attributes:
        version: +1 on every change.
        frozen: the overlay content is held.
        layers: visibility per layer (``nerve``, ``vessel``, ``needle``).
        recording: a recording is being written.
        tracking: probe tracking: ``ok``, ``occluded``, ``lost``, ``stale`` or ``off``.
        pending_confirmation: intent waiting for "confirm", or ``None``.
        pending_deadline_ns: when it expires (core host ns), or 0.
        last_command: ``{"intent", "origin", "t_ns"}`` of the last executed command, or ``None``.
        snapshots: snapshots taken.
        noise_dbfs: the voice front end's running noise level (0.1 dB), or ``None``.
        voice_engine: the speech engine in use, or ``None`` when voice is off.
        overloaded: the core's guidance loop cannot keep up (frames dropped or latency over
            budget); the heartbeat's ``overlay_hz`` gives the rate it achieves.
    """

    version: int
    frozen: bool
    layers: Mapping[str, bool]
    recording: bool
    tracking: str
    pending_confirmation: str | None
    pending_deadline_ns: int
    last_command: Mapping[str, Any] | None
    snapshots: int
    noise_dbfs: float | None
    voice_engine: str | None
    overloaded: bool = False

    def to_body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"version": int(self.version), "frozen": bool(self.frozen), "layers": dict(self.layers),
                "recording": bool(self.recording), "tracking": self.tracking,
                "pending_confirmation": self.pending_confirmation,
                "pending_deadline_ns": int(self.pending_deadline_ns),
                "last_command": dict(self.last_command) if self.last_command else None,
                "snapshots": int(self.snapshots),
                "noise_dbfs": None if self.noise_dbfs is None else round(float(self.noise_dbfs), 1),
                "voice_engine": self.voice_engine, "overloaded": bool(self.overloaded)}

    @classmethod
    def from_wire(cls, msg: WireMessage) -> "StateMessage":
        """Rebuild from a decoded ``state`` message (raises ProtocolError on missing fields;
        ``overloaded`` may be absent: older cores)."""
        return _from_body(cls, msg, "state", {"overloaded": False})


@dataclass(frozen=True)
class HeartbeatMessage:
    """The ``heartbeat`` topic, at ``network.heartbeat_hz`` (PROTOCOL.md, "heartbeat").

    A publisher without video (``voice listen --pub``) sends the defaults: no overlays, tracking
    off, nothing frozen, no state yet, control ``up`` meaning "not applicable, nothing failed".

    Attributes:
        uptime_s: seconds since the publisher started (it falls when the core restarted).
        subscribers: connected subscriber peers.
        overlay_hz: overlays per second over the last two seconds.
        tracking: probe tracking, as in the state.
        frozen: as in the state.
        state_version: the newest state's version (a newer one than seen means a state was lost).
        control: the control channel: ``up``, ``restarting`` or ``down``.
        clock_origin_ns: identifies the core clock's mapping of monotonic time to wall time
            (:mod:`core.clock`); it changes only when a core starts, and a client then starts its
            estimate of the core's clock afresh.
        clock_steps: steps of the core host's wall clock seen since then (announced; the stamps
            themselves are monotonic and never step).
        clock_wall_step_ns: the core host's wall clock minus the stamps now (0 until a step).
    """

    uptime_s: float
    subscribers: int
    overlay_hz: float = 0.0
    tracking: str = "off"
    frozen: bool = False
    state_version: int = 0
    control: str = "up"
    clock_origin_ns: int = 0
    clock_steps: int = 0
    clock_wall_step_ns: int = 0

    def to_body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"uptime_s": round(float(self.uptime_s), 3), "subscribers": int(self.subscribers),
                "overlay_hz": round(float(self.overlay_hz), 2), "tracking": self.tracking,
                "frozen": bool(self.frozen), "state_version": int(self.state_version), "control": self.control,
                "clock_origin_ns": int(self.clock_origin_ns), "clock_steps": int(self.clock_steps),
                "clock_wall_step_ns": int(self.clock_wall_step_ns)}

    @classmethod
    def from_wire(cls, msg: WireMessage) -> "HeartbeatMessage":
        """Rebuild from a decoded ``heartbeat`` message (``control`` and the clock fields may be absent: older cores)."""
        return _from_body(cls, msg, "heartbeat",
                          {"control": "up", "clock_origin_ns": 0, "clock_steps": 0, "clock_wall_step_ns": 0})


@dataclass(frozen=True)
class VoiceMessage:
    """The ``voice`` topic: one decision of the voice front end (PROTOCOL.md, "voice").

    Attributes:
        t_end_ns: end of the utterance (core host ns).
        t_event_ns: when the decision was made.
        text: what the engine heard.
        confidence: the engine's confidence 0..1.
        intent: the command, or ``None`` when nothing was recognised.
        decision: ``accepted``, ``rejected``, ``awaiting_confirmation``, ``confirmed``,
            ``cancelled`` or ``expired``.
        reason: why (for rejections and expiries).
        engine: the speech engine.
        noise_dbfs: the noise level when it was heard.
    """

    t_end_ns: int
    t_event_ns: int
    text: str
    confidence: float
    intent: str | None
    decision: str
    reason: str
    engine: str
    noise_dbfs: float

    def to_body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"t_end_ns": int(self.t_end_ns), "t_event_ns": int(self.t_event_ns), "text": self.text,
                "confidence": round(float(self.confidence), 4), "intent": self.intent, "decision": self.decision,
                "reason": self.reason, "engine": self.engine, "noise_dbfs": round(float(self.noise_dbfs), 2)}

    @classmethod
    def from_wire(cls, msg: WireMessage) -> "VoiceMessage":
        """Rebuild from a decoded ``voice`` message (raises ProtocolError on missing fields)."""
        return _from_body(cls, msg, "voice")
