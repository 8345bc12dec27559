"""Typed bodies of the state, heartbeat and voice topics: encode, decode, refuse incomplete ones."""

from __future__ import annotations

import pytest

from ar_bridge.messages import HeartbeatMessage, StateMessage, VoiceMessage
from ar_bridge.schema import ProtocolError, WireMessage, decode, encode, schema_name


def _wire(topic: str, body: dict) -> WireMessage:
    return decode(encode(WireMessage(topic, schema_name(topic), 1, 10, 20, body)))


def test_state_heartbeat_and_voice_round_trip_through_the_wire():
    state = StateMessage(version=3, frozen=True, layers={"nerve": True, "vessel": False, "needle": True},
                         recording=False, tracking="ok", pending_confirmation=None, pending_deadline_ns=0,
                         last_command={"intent": "freeze", "origin": "voice", "t_ns": 5}, snapshots=1,
                         noise_dbfs=-50.0, voice_engine="pocketsphinx")
    assert StateMessage.from_wire(_wire("state", state.to_body())) == state
    hb = HeartbeatMessage(uptime_s=1.5, subscribers=2, overlay_hz=25.0, tracking="stale", frozen=False,
                          state_version=3, control="restarting")
    assert HeartbeatMessage.from_wire(_wire("heartbeat", hb.to_body())) == hb
    voice = VoiceMessage(t_end_ns=1, t_event_ns=2, text="hide all", confidence=0.875, intent="hide all",
                         decision="awaiting_confirmation", reason="", engine="pocketsphinx", noise_dbfs=-52.5)
    assert VoiceMessage.from_wire(_wire("voice", voice.to_body())) == voice


def test_a_heartbeat_without_video_has_every_required_field():
    body = HeartbeatMessage(uptime_s=0.1, subscribers=0).to_body()
    assert body == {"uptime_s": 0.1, "subscribers": 0, "overlay_hz": 0.0, "tracking": "off", "frozen": False,
                    "state_version": 0, "control": "up", "clock_origin_ns": 0, "clock_steps": 0,
                    "clock_wall_step_ns": 0}


def test_an_older_cores_heartbeat_without_control_or_clock_fields_is_read():
    body = {"uptime_s": 2.0, "subscribers": 1, "overlay_hz": 25.0, "tracking": "ok", "frozen": False,
            "state_version": 3}
    hb = HeartbeatMessage.from_wire(_wire("heartbeat", body))
    assert hb.control == "up" and hb.clock_origin_ns == 0 and hb.clock_steps == 0


def test_incomplete_bodies_and_wrong_topics_are_refused():
    body = HeartbeatMessage(uptime_s=1.0, subscribers=1).to_body()
    del body["tracking"]
    with pytest.raises(ProtocolError, match="'tracking'"):
        HeartbeatMessage.from_wire(_wire("heartbeat", body))
    with pytest.raises(ProtocolError, match="expected a state message"):
        StateMessage.from_wire(_wire("heartbeat", HeartbeatMessage(1.0, 1).to_body()))
    old_core = HeartbeatMessage(uptime_s=1.0, subscribers=1).to_body()
    del old_core["control"]  # a core from before the field: read as "up"
    assert HeartbeatMessage.from_wire(_wire("heartbeat", old_core)).control == "up"
