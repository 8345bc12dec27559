"""The Unity package's client (protocol layer + client worker) against the real core wire, over real ZeroMQ.

The core side is the real thing: ``ar_bridge.publisher.Publisher`` (XPUB, last-value cache, heartbeat),
``ar_bridge.control.ControlServer`` (ROUTER) serving the real ``sonoguide.state.CommandProcessor`` with the
bundled English command set, and ``ar_bridge.security`` for CurveZMQ pairing. The headset side is
``unity_client/Protocol`` driven by ``runner/ClientProbe.cs`` over libzmq (the Unity build uses NetMQ behind
the same ``IMessageTransport`` interface). Checks: overlays decoded and placed, the late joiner gets the state
at once, control round trips (executed, awaiting confirmation, refused, get_state), overlays turn stale when
they stop and when the heartbeat stops, the client reconnects after a core restart, headset audio arrives in
the contract's format, and CurveZMQ lets the paired headset in and keeps a stranger out.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import numpy as np
import pytest
import zmq

from ar_bridge.config import NetworkConfig
from ar_bridge.control import ControlServer
from sonoguide.golden import golden_messages
from ar_bridge.publisher import Publisher
from ar_bridge.schema import decode
from ar_bridge.security import CurveSecurity, pair_headset
from core.clock import CoreClock
from sonoguide.state import CommandProcessor
from voice.commandset import bundled_command_set_path, load_command_set
from voice.confirm import ConfirmationGate
from sonoguide.compose import state_message
from sonoguide.routing import handle_control


def _free_endpoint() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


class Core:
    """The core's wire: publisher, control server and command processor, publishing overlays at 25 Hz."""

    def __init__(self, pub_ep: str, ctl_ep: str, ctx: zmq.Context, security: CurveSecurity | None = None) -> None:
        self.cfg = NetworkConfig(pub_endpoint=pub_ep, control_endpoint=ctl_ep, heartbeat_hz=20.0, state_hz=1.0)
        self.ctx = ctx
        self.setup = security.setup if security is not None else None
        self.commands = CommandProcessor(ConfirmationGate(load_command_set(bundled_command_set_path("en")), 5.0))
        self.commands.add_listener(lambda s: self.publisher.set_state(state_message(s).to_body()) if self.publisher else None)
        self.publisher: Publisher | None = None
        self.wall_shift_ns = 0  # a step of this core host's wall clock (NTP)
        self.clock = self._new_clock()
        self.requests: list[dict] = []
        self.control = ControlServer(ctl_ep, self._handle, context=ctx, socket_setup=self.setup)
        self.send_overlays = threading.Event()
        self._stop = threading.Event()
        golden = golden_messages()["overlay"]
        self._body, self._arrays = dict(golden.body), dict(golden.arrays)
        self._thread = threading.Thread(target=self._overlays, daemon=True)

    def _new_clock(self) -> CoreClock:
        """A core clock as a starting core makes one (a restarted core maps its clock afresh)."""
        return CoreClock(wall=lambda: time.time_ns() + self.wall_shift_ns)

    def _handle(self, req) -> dict[str, Any]:  # what the core answers (sonoguide.routing)
        self.requests.append(dict(req.raw))
        return handle_control(self.commands, req)[0]

    def _heartbeat(self) -> dict[str, Any]:
        s = self.commands.state
        return {"overlay_hz": 25.0, "tracking": "ok", "frozen": s.frozen, "state_version": s.version}

    def start_publisher(self) -> None:
        self.publisher = Publisher(self.cfg, heartbeat_body=self._heartbeat, context=self.ctx, socket_setup=self.setup,
                                   clock=self.clock)
        self.publisher.start()
        self.publisher.set_state(state_message(self.commands.state).to_body())

    def stop_publisher(self) -> None:
        pub, self.publisher = self.publisher, None
        if pub is not None:
            pub.stop()

    def start(self) -> None:
        self.start_publisher()
        self.control.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.control.stop()
        self.stop_publisher()

    def _overlays(self) -> None:
        frame = 0
        while not self._stop.wait(0.04):
            pub = self.publisher
            if pub is None or not self.send_overlays.is_set():
                continue
            frame += 1
            t = self.clock.now_ns()
            body = dict(self._body, frame_seq=frame, valid_until_ns=t + 200_000_000, frozen=self.commands.state.frozen)
            pub.publish("overlay", t, body, self._arrays)


@pytest.fixture
def ctx():
    c = zmq.Context()
    yield c
    c.term()


def test_client_follows_a_real_core_through_commands_staleness_and_a_restart(probe_build, probe_tools, ctx,
                                                                            wire_contract):
    Probe, _reply = probe_tools.Probe, probe_tools.reply
    pub_ep, ctl_ep, audio_ep = _free_endpoint(), _free_endpoint(), _free_endpoint()
    audio = ctx.socket(zmq.PULL)
    audio.setsockopt(zmq.LINGER, 0)
    audio.bind(audio_ep)
    core = Core(pub_ep, ctl_ep, ctx)
    core.start()
    probe = Probe(probe_build.exe, "--data", pub_ep, "--control", ctl_ep, "--audio", audio_ep, "--heartbeat-ms", "50")
    try:
        # connect: link up from the heartbeat; the late joiner gets the state at once (last-value cache)
        probe.wait_for(lambda e: e["event"] == "link" and e["state"] == "Up", 10, "link up")
        probe.wait_for(lambda e: e["event"] == "message" and e["topic"] == "state", 3, "the cached state")

        # overlays arrive, decode, are current and placed with T_unity_from_image
        core.send_overlays.set()
        start = probe.mark()
        ov = probe.after(start, lambda e: e["event"] == "overlay" and e["current"], 5, "a current overlay")
        assert ov["placed"] and ov["structures"] == 2 and ov["proximity"] == "CAUTION 2.4 mm to nerve"
        golden = golden_messages()["overlay"]
        T = golden.arrays["T_unity_from_image"]
        x, y = golden.arrays["contour_7"][0]
        np.testing.assert_allclose(ov["nerve0"], (T @ [x, y, 0.0, 1.0])[:3], rtol=0, atol=1e-12)

        # control round trips through the real command processor
        r = _reply(probe, "freeze")
        assert r["ok"] and r["status"] == "executed" and r["intent"] == "freeze"
        probe.wait_for(lambda e: e["event"] == "message" and e["topic"] == "state" and e["frozen"], 3, "the frozen state")
        start = probe.mark()
        probe.after(start, lambda e: e["event"] == "overlay" and e["frozen"], 3, "a frozen overlay")
        r = _reply(probe, "Hide   ALL")
        assert r["ok"] and r["status"] == "awaiting_confirmation" and r["intent"] == "hide all"
        probe.wait_for(lambda e: e["event"] == "message" and e["topic"] == "state" and e["pending"] == "hide all", 3,
                       "the pending confirmation")
        assert any(line.startswith('Warning: Say "confirm" to hide all') for line in probe.report()["hud"])
        r = _reply(probe, "fly")
        assert not r["ok"] and "unknown command 'fly'" in r["error"]
        r = _reply(probe, "get_state")
        assert r["ok"] and r["state_version"] == core.commands.state.version
        for request in core.requests:  # what the C# client sent conforms to the wire schema
            wire_contract.check("control_request", request)

        # voice decisions reach the headset
        for name in ("voice", "voice_rejected"):
            golden_voice = golden_messages()[name]
            core.publisher.publish("voice", golden_voice.t_capture_ns, dict(golden_voice.body))
            probe.wait_for(lambda e: e["event"] == "message" and e["topic"] == "voice"
                           and e["decision"] == golden_voice.body["decision"], 3, f"the {name} message")

        # the core host's wall clock steps one second back (NTP): announced, fresh overlays stay current
        start = probe.mark()
        core.wall_shift_ns = -1_000_000_000
        probe.after(start, lambda e: e["event"] == "notice" and "wall clock stepped" in e["text"], 3, "the step notice")
        time.sleep(0.3)
        rep = probe.report()
        assert rep["overlay_current"], rep
        assert all(o["current"] for o in probe.events[start:] if o["event"] == "overlay")

        # headset audio in the contract's format
        probe.send("audio 5")
        got = []
        deadline = time.monotonic() + 5
        while len(got) < 5 and time.monotonic() < deadline:
            if audio.poll(200):
                frames = audio.recv_multipart()
                assert wire_contract.check_frames(frames) == "audio"  # what the C# encoder sent conforms
                got.append(decode(frames))
        assert len(got) == 5, f"{len(got)} audio chunks arrived"
        assert [m.seq for m in got] == [1, 2, 3, 4, 5]
        for m in got:
            assert m.topic == "audio" and m.schema == "sonoguide.audio/1"
            assert m.body == {"sample_rate": 16000, "channels": 1}
            assert m.arrays["pcm"].dtype == np.dtype("<i2") and 320 <= m.arrays["pcm"].size <= 1600
        pcm = np.concatenate([m.arrays["pcm"] for m in got]).astype(float)
        spectrum = np.abs(np.fft.rfft(pcm * np.hanning(pcm.size)))
        assert abs(np.fft.rfftfreq(pcm.size, 1 / 16000)[np.argmax(spectrum)] - 440) < 20, "the 440 Hz tone survives"

        # overlays stop (heartbeat continues): the last one turns stale, reason expired
        core.send_overlays.clear()
        time.sleep(0.4)
        rep = probe.report()
        assert rep["link"] == "Up" and not rep["overlay_current"] and rep["overlay_reason"] == "Expired"
        assert rep["decode_errors"] == 0 and rep["host_clock_known"]
        assert 45 <= rep["heartbeat_period_ms"] <= 55, "the 20 Hz heartbeat period is learned"

        # the core goes away: link down within 3 periods (+ scheduling slack), overlays stale
        core.send_overlays.set()
        probe.after(probe.mark(), lambda e: e["event"] == "overlay" and e["current"], 3, "fresh overlays again")
        start = probe.mark()
        t_stop = time.monotonic()
        core.stop_publisher()
        probe.after(start, lambda e: e["event"] == "link" and e["state"] == "Down", 3, "link down")
        assert time.monotonic() - t_stop < 1.5
        rep = probe.report()
        assert not rep["overlay_current"] and rep["overlay_reason"] in ("LinkDown", "Expired")
        assert rep["hud"][0].startswith("Alarm: LINK DOWN")

        # the core comes back on the same endpoint, with a new clock mapping: the client reconnects with back-off,
        # starts its clock estimate afresh and resumes
        core.clock = core._new_clock()
        core.start_publisher()
        start = probe.mark()
        probe.after(start, lambda e: e["event"] == "link" and e["state"] == "Up", 10, "link up after the restart")
        probe.after(start, lambda e: e["event"] == "message" and e["topic"] == "heartbeat"
                    and e["clock_origin_ns"] == core.clock.origin_ns, 5, "the new core's clock origin")
        probe.after(start, lambda e: e["event"] == "overlay" and e["current"], 5, "current overlays after the restart")
        rep = probe.report()
        assert rep["reconnects"] >= 1 and rep["decode_errors"] == 0
        errors = [e for e in probe.events if e["event"] in ("error", "fatal", "garbage")]
        assert not errors, errors
    finally:
        probe.close()
        core.stop()
        audio.close()
    assert probe.proc.returncode == 0, probe.proc.stderr.read()


def test_curve_pairing_admits_the_paired_headset_and_keeps_a_stranger_out(probe_build, probe_tools, ctx, tmp_path):
    Probe, _reply = probe_tools.Probe, probe_tools.reply
    pub_ep, ctl_ep = _free_endpoint(), _free_endpoint()
    bundle = pair_headset(tmp_path / "curve", "probe-hl2", pub_ep, ctl_ep)
    bundle.save(tmp_path / "probe-hl2.json")
    stranger_pub, stranger_sec = zmq.curve_keypair()
    stranger = dict(json.loads((tmp_path / "probe-hl2.json").read_text()), name="stranger",
                    client_public=stranger_pub.decode(), client_secret=stranger_sec.decode())
    (tmp_path / "stranger.json").write_text(json.dumps(stranger))
    security = CurveSecurity(tmp_path / "curve", ctx)
    core = Core(pub_ep, ctl_ep, ctx, security)
    core.start()
    core.send_overlays.set()
    paired = Probe(probe_build.exe, "--bundle", str(tmp_path / "probe-hl2.json"), "--heartbeat-ms", "50")
    alien = Probe(probe_build.exe, "--bundle", str(tmp_path / "stranger.json"), "--heartbeat-ms", "50",
                  "--control-timeout-ms", "1500")
    try:
        paired.wait_for(lambda e: e["event"] == "link" and e["state"] == "Up", 10, "the paired headset's link")
        paired.wait_for(lambda e: e["event"] == "overlay" and e["current"], 5, "an encrypted overlay")
        assert _reply(paired, "ping")["ok"]
        r = _reply(alien, "ping")
        assert not r["ok"] and r["timed_out"], "the core must not answer an unpaired headset"
        rep = alien.report()
        assert rep["link"] != "Up" and rep["received"] == 0 and not rep["overlay_current"]
    finally:
        paired.close()
        alien.close()
        core.stop()
        security.stop()
