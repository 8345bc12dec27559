"""Golden message files that pin the wire format for clients (the Unity package tests read them).

Each golden message is two files in the golden folder:

* ``<name>.frames``: the multipart message exactly as sent, each frame as
  ``u32 little-endian length`` followed by its bytes;
* ``<name>.expected.json``: what a client must decode from it (topic, header fields, body, and
  every array as nested lists with its dtype and shape).

The messages are built from fixed values (no clock, no randomness), so :func:`build_golden` is
byte-for-byte reproducible; a test checks the committed files against it, so a change of the
format cannot slip through unnoticed. Regenerate deliberately with
``python -m sonoguide.golden DIR`` after a compatible extension, and bump the schema version on
a breaking one.
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import numpy as np

from ar_bridge.schema import WireMessage, decode, encode, schema_name
from ar_bridge.messages import HeartbeatMessage, NeedleOverlay, OverlayMessage, StructureOverlay
from calibration.simulated import T_HEADSET_FROM_CAMERA, T_MARKER_FROM_PROBE, T_probe_from_image
from sonoguide.state import GuidanceState
from core.se3 import make_T, rotvec_to_R
from voice.events import Decision, VoiceEvent
from sonoguide.compose import state_message, voice_message

T0 = 1_790_000_000_000_000_000
"""Fixed capture time of the golden messages (ns)."""


def _overlay(frozen: bool, lost: bool) -> OverlayMessage:
    T_cm = make_T(rotvec_to_R([0.3, -0.2, 0.1]), [12.5, -8.0, 352.0])
    T = T_HEADSET_FROM_CAMERA @ T_cm @ T_MARKER_FROM_PROBE @ T_probe_from_image((0.1, 0.1), 8)
    nerve = np.array([[2.0, 1.0], [4.5, 1.5], [5.0, 3.0], [2.5, 3.5]], np.float32)
    vessel = np.array([[6.0, 4.0], [7.0, 4.0], [7.0, 5.0]], np.float32)
    image = (np.arange(48, dtype=np.uint16) * 5 % 256).astype(np.uint8).reshape(6, 8)
    needle = NeedleOverlay("ok", (3.25, 2.5), (0.0, 0.5), 31.5, "caution", {"nerve": 2.4, "vessel": 6.125},
                           {"nerve": 0.75, "vessel": None}, np.array([[3.25, 2.5], [6.5, 4.5]], np.float32))
    return OverlayMessage(
        frame_seq=1234, t_capture_ns=T0, valid_until_ns=T0 + 200_000_000, image_size=(8, 6), mm_per_px=(0.1, 0.1),
        frozen=frozen, layers={"nerve": True, "vessel": True, "needle": True}, quality=0.8125,
        quality_flags=() if not lost else ("no_vessel",), pose_validity="lost" if lost else "ok",
        pose_age_ms=None if lost else 4.5, T_headset_from_image=None if lost else T,
        structures=(StructureOverlay(7, "nerve", "ok", 0.9375, 11.25, nerve),
                    StructureOverlay(8, "vessel", "uncertain", 0.5, 3.5, vessel)),
        needle=needle, source="phantom:femoral", image=image, frozen_at_ns=T0 - 2_000_000_000 if frozen else None)


def golden_messages() -> dict[str, WireMessage]:
    """The golden messages by name."""
    msgs: dict[str, WireMessage] = {}
    for name, frozen, lost in (("overlay", False, False), ("overlay_frozen", True, False),
                               ("overlay_pose_lost", False, True)):
        body, arrays = _overlay(frozen, lost).to_body()
        msgs[name] = WireMessage("overlay", schema_name("overlay"), 42, T0, T0 + 12_500_000, body, arrays)
    state = GuidanceState(version=9, frozen=False, layers={"nerve": True, "vessel": False, "needle": True},
                          recording=True, tracking="stale", pending_confirmation="hide all",
                          pending_deadline_ns=T0 + 5_000_000_000,
                          last_command={"intent": "hide vessel", "origin": "voice", "t_ns": T0 - 1_000_000},
                          snapshots=2, noise_dbfs=-48.25, voice_engine="pocketsphinx")
    msgs["state"] = WireMessage("state", schema_name("state"), 17, T0, T0 + 100_000, state_message(state).to_body(), {})
    awaiting = VoiceEvent(t_end_ns=T0 - 350_000_000, t_event_ns=T0 - 120_000_000, text="hide all", confidence=0.875,
                          intent="hide all", decision=Decision.AWAITING_CONFIRMATION, reason="", engine="pocketsphinx",
                          noise_dbfs=-52.5)
    msgs["voice"] = WireMessage("voice", schema_name("voice"), 3, awaiting.t_end_ns, T0, voice_message(awaiting).to_body(), {})
    rejected = VoiceEvent(t_end_ns=T0 - 50_000_000, t_event_ns=T0, text="the nerve looks swollen", confidence=0.25,
                          intent=None, decision=Decision.REJECTED, reason="embedded in longer speech",
                          engine="pocketsphinx", noise_dbfs=-47.0)
    msgs["voice_rejected"] = WireMessage("voice", schema_name("voice"), 4, rejected.t_end_ns, T0 + 1_000_000,
                                         voice_message(rejected).to_body(), {})
    heartbeat = HeartbeatMessage(uptime_s=500.0, subscribers=1, overlay_hz=25.0, tracking="ok", frozen=False,
                                 state_version=9, control="up")
    msgs["heartbeat"] = WireMessage("heartbeat", schema_name("heartbeat"), 5000, T0, T0, heartbeat.to_body(), {})
    return msgs


def pack_frames(frames: list[bytes]) -> bytes:
    """Frames as ``u32 LE length + bytes`` each."""
    return b"".join(struct.pack("<I", len(f)) + bytes(f) for f in frames)


def unpack_frames(data: bytes) -> list[bytes]:
    """Inverse of :func:`pack_frames`."""
    out, pos = [], 0
    while pos < len(data):
        (n,) = struct.unpack_from("<I", data, pos)
        out.append(data[pos + 4:pos + 4 + n])
        pos += 4 + n
    return out


def expected_json(msg: WireMessage) -> dict:
    """What a client must decode from ``msg``."""
    return {"topic": msg.topic, "schema": msg.schema, "seq": msg.seq, "t_capture_ns": msg.t_capture_ns,
            "t_publish_ns": msg.t_publish_ns, "body": msg.body,
            "arrays": {k: {"dtype": np.asarray(v).dtype.str, "shape": list(np.shape(v)),
                           "values": np.asarray(v).tolist()} for k, v in msg.arrays.items()}}


def build_golden() -> dict[str, bytes]:
    """File name → content of every golden file."""
    files: dict[str, bytes] = {}
    for name, msg in golden_messages().items():
        frames = encode(msg)
        decode(frames)  # the golden files must themselves be valid
        files[f"{name}.frames"] = pack_frames(frames)
        files[f"{name}.expected.json"] = (json.dumps(expected_json(decode(frames)), indent=1) + "\n").encode()
    return files


def main(argv: list[str] | None = None) -> int:
    """Write the golden files into the folder given as the only argument."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m sonoguide.golden DIR", file=sys.stderr)
        return 2
    out = Path(args[0])
    out.mkdir(parents=True, exist_ok=True)
    for name, content in build_golden().items():
        (out / name).write_bytes(content)
    print(f"wrote {len(build_golden())} golden files to {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
