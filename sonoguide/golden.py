"""Golden files that pin the wire contract for clients (the Unity package's tests read them).

Each golden data message is two files in the golden folder:

* ``<name>.frames``: the multipart message exactly as the real :class:`~ar_bridge.publisher.Publisher`
  sent it over a real ZeroMQ socket, each frame as ``u32 little-endian length`` followed by its bytes;
* ``<name>.expected.json``: what a client must decode from it (topic, header fields, body, and
  every array as nested lists with its dtype and shape).

The headset's own message, ``audio`` (microphone PCM, headset to core), is
``audio.upstream`` (frames packed the same way) and ``audio.expected.json``, written by the core's
reference encoder (:func:`voice.audio.sources.encode_audio`, what its headset simulator sends); the
package's encoder must produce the same bytes.

Each golden control exchange is ``control_<name>.request.json`` (the frame a client sends,
:func:`ar_bridge.control.encode_request`) and ``control_<name>.reply.json`` (what the real
:class:`~ar_bridge.control.ControlServer` answered over a real DEALER socket, serving the real
command processor). ``wire_schema.json`` (:mod:`ar_bridge.wire_schema`) describes all of them.

The publisher, the command processor and the confirmation gate run on a scripted
:class:`ScriptedClock` that moves only when told, so the heartbeat fires when the builder says and
every stamp, ``seq`` and uptime is fixed: :func:`build_golden` is byte-for-byte reproducible, and a
test checks the committed files against it, so a change of the format cannot slip through
unnoticed. Regenerate deliberately with ``python -m sonoguide.golden DIR`` after a compatible
extension, and bump the schema version on a breaking one.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Callable

import numpy as np
import zmq

from ar_bridge.config import NetworkConfig
from ar_bridge.control import ControlServer, encode_request
from ar_bridge.messages import NeedleOverlay, OverlayMessage, StructureOverlay
from ar_bridge.publisher import Publisher
from ar_bridge.schema import WireMessage, decode
from ar_bridge.wire_schema import SCHEMA_FILE, wire_schema
from calibration.simulated import T_HEADSET_FROM_CAMERA, T_MARKER_FROM_PROBE, T_probe_from_image
from core.clock import CoreClock
from core.se3 import make_T, rotvec_to_R
from sonoguide.compose import state_message, voice_message
from sonoguide.routing import handle_control
from sonoguide.state import CommandProcessor, GuidanceState
from voice.audio.sources import encode_audio
from voice.commandset import bundled_command_set_path, load_command_set
from voice.confirm import ConfirmationGate
from voice.events import Decision, VoiceEvent

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


T_START = T0 - 500_000_000_000
"""The golden publisher's start: its heartbeat at :data:`T0` reports 500 s of uptime."""
_TIMEOUT_S = 10.0


class ScriptedClock(CoreClock):
    """A core clock that stands still until :meth:`set` moves it (no wall-clock step ever)."""

    def __init__(self, t_ns: int) -> None:
        self._t = int(t_ns)
        super().__init__(offset_ns=0, wall=lambda: self._t, mono=lambda: self._t)

    def set(self, t_ns: int) -> None:
        """Move the clock to ``t_ns``."""
        self._t = int(t_ns)


def _free_endpoint() -> str:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def _wait(cond: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + _TIMEOUT_S
    while not cond():
        if time.monotonic() > deadline:
            raise RuntimeError(f"golden files: timed out waiting for {what}")
        time.sleep(0.005)


def _receive(sub: zmq.Socket, topic: str, t_publish_ns: int | None = None) -> list[bytes]:
    """The next message of ``topic`` (published at ``t_publish_ns`` when given); others are skipped
    (the state refresh, and the start-up heartbeat that a fast subscriber may catch)."""
    deadline = time.monotonic() + _TIMEOUT_S
    while time.monotonic() < deadline:
        if sub.poll(100):
            frames = sub.recv_multipart()
            if frames[0] == topic.encode() and (t_publish_ns is None or decode(frames).t_publish_ns == t_publish_ns):
                return frames
    raise RuntimeError(f"golden files: no {topic!r} message from the publisher")


def _data_messages(ctx: zmq.Context) -> dict[str, list[bytes]]:
    """Every golden data message, as the real publisher sent it to a real subscriber."""
    clock = ScriptedClock(T_START)
    hb = {"overlay_hz": 25.0, "tracking": "ok", "frozen": False, "state_version": 9, "control": "up"}
    ep = _free_endpoint()
    publisher = Publisher(NetworkConfig(pub_endpoint=ep, control_endpoint=_free_endpoint()),
                          heartbeat_body=lambda: hb, context=ctx, clock=clock)
    publisher.start()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    try:
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(ep)
        _wait(lambda: publisher.subscriptions >= 1 and publisher.peers >= 1, "the subscriber to join")
        out: dict[str, list[bytes]] = {}
        clock.set(T0)  # the heartbeat is due: it fires once, with 500 s of uptime and one subscriber
        out["heartbeat"] = _receive(sub, "heartbeat", t_publish_ns=T0)
        for i, (name, frozen, lost) in enumerate((("overlay", False, False), ("overlay_frozen", True, False),
                                                  ("overlay_pose_lost", False, True))):
            body, arrays = _overlay(frozen, lost).to_body()
            clock.set(T0 + 12_500_000 + i * 1_000_000)
            publisher.publish("overlay", T0, body, arrays)
            out[name] = _receive(sub, "overlay")
        state = GuidanceState(version=9, frozen=False, layers={"nerve": True, "vessel": False, "needle": True},
                              recording=True, tracking="stale", pending_confirmation="hide all",
                              pending_deadline_ns=T0 + 5_000_000_000,
                              last_command={"intent": "hide vessel", "origin": "voice", "t_ns": T0 - 1_000_000},
                              snapshots=2, noise_dbfs=-48.25, voice_engine="pocketsphinx", overloaded=True)
        clock.set(T0 + 20_000_000)
        publisher.set_state(state_message(state).to_body(), t_capture_ns=T0)
        out["state"] = _receive(sub, "state")
        awaiting = VoiceEvent(t_end_ns=T0 - 350_000_000, t_event_ns=T0 - 120_000_000, text="hide all",
                              confidence=0.875, intent="hide all", decision=Decision.AWAITING_CONFIRMATION, reason="",
                              engine="pocketsphinx", noise_dbfs=-52.5)
        rejected = VoiceEvent(t_end_ns=T0 - 50_000_000, t_event_ns=T0, text="the nerve looks swollen",
                              confidence=0.25, intent=None, decision=Decision.REJECTED,
                              reason="embedded in longer speech", engine="pocketsphinx", noise_dbfs=-47.0)
        for i, (name, event) in enumerate((("voice", awaiting), ("voice_rejected", rejected))):
            clock.set(T0 + 30_000_000 + i * 1_000_000)
            publisher.publish("voice", event.t_end_ns, voice_message(event).to_body())
            out[name] = _receive(sub, "voice")
        return out
    finally:
        sub.close(linger=0)
        publisher.stop()


CONTROL_EXCHANGES: tuple[tuple[str, bytes], ...] = (
    ("freeze", encode_request("1", "freeze")),
    ("hide_all", encode_request("2", "hide all")),
    ("get_state", encode_request("3", "get_state")),
    ("ping", encode_request(4, "ping")),
    ("unknown", encode_request("5", "fly")),
    ("malformed", b"freeze"),
)
"""Golden control exchanges: executed, held for confirmation, the state, a numeric id, refused, malformed."""


def _control_exchanges(ctx: zmq.Context) -> dict[str, tuple[bytes, bytes]]:
    """Each request of :data:`CONTROL_EXCHANGES` and the real control server's reply, over a DEALER socket."""
    clock = ScriptedClock(T0)
    commands = CommandProcessor(ConfirmationGate(load_command_set(bundled_command_set_path("en")), 5.0),
                                clock_ns=clock)
    ep = _free_endpoint()
    server = ControlServer(ep, lambda req: handle_control(commands, req)[0], context=ctx)
    server.start()
    dealer = ctx.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    try:
        dealer.connect(ep)
        out: dict[str, tuple[bytes, bytes]] = {}
        for i, (name, request) in enumerate(CONTROL_EXCHANGES):
            clock.set(T0 + (i + 1) * 1_000_000)
            dealer.send_multipart([b"", request])
            if not dealer.poll(int(_TIMEOUT_S * 1000)):
                raise RuntimeError(f"golden files: no control reply to {request!r}")
            out[name] = (request, dealer.recv_multipart()[-1])
        return out
    finally:
        dealer.close(linger=0)
        server.stop()


def _build() -> tuple[dict[str, list[bytes]], dict[str, tuple[bytes, bytes]]]:
    ctx = zmq.Context()
    try:
        return _data_messages(ctx), _control_exchanges(ctx)
    finally:
        ctx.term()


def audio_golden() -> list[bytes]:
    """One 20 ms chunk of headset audio (sequence 1), as the reference encoder writes it."""
    pcm = (np.arange(320) * 97 - 15000).astype(np.int16)
    return encode_audio(pcm, 1, T0, t_publish_ns=T0 + 20_000_000)


def golden_messages() -> dict[str, WireMessage]:
    """The golden data messages by name, decoded (as the publisher sent them)."""
    return {name: decode(frames) for name, frames in _build()[0].items()}


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
    """File name → content of every golden file (the data messages, the control exchanges, the schema)."""
    data, control = _build()
    files: dict[str, bytes] = {}
    for name, frames in data.items():
        files[f"{name}.frames"] = pack_frames(frames)
        files[f"{name}.expected.json"] = (json.dumps(expected_json(decode(frames)), indent=1) + "\n").encode()
    for name, (request, reply) in control.items():
        files[f"control_{name}.request.json"] = request
        files[f"control_{name}.reply.json"] = reply
    audio = audio_golden()
    files["audio.upstream"] = pack_frames(audio)
    files["audio.expected.json"] = (json.dumps(expected_json(decode(audio)), indent=1) + "\n").encode()
    files[SCHEMA_FILE] = (json.dumps(wire_schema(), indent=1) + "\n").encode()
    return files


def main(argv: list[str] | None = None) -> int:
    """Write the golden files into the folder given as the only argument."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m sonoguide.golden DIR", file=sys.stderr)
        return 2
    out = Path(args[0])
    out.mkdir(parents=True, exist_ok=True)
    files = build_golden()
    for name, content in files.items():
        (out / name).write_bytes(content)
    print(f"wrote {len(files)} golden files to {out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
