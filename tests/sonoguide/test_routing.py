"""Routing of control requests and voice decisions: what reaches the state, the wire and the recording."""

from __future__ import annotations

import dataclasses

from ar_bridge.control import parse_request
from ar_bridge.messages import VoiceMessage
from sonoguide.routing import VoiceRouter, handle_control
from sonoguide.state import CommandProcessor
from voice.commandset import command_set_from_dict
from voice.confirm import ConfirmationGate
from voice.events import Decision, VoiceEvent
from voice.intents import INTENTS


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000_000

    def __call__(self) -> int:
        return self.t


class Wire:
    """Collects what the router publishes and records."""

    def __init__(self) -> None:
        self.published: list[tuple[str, int, dict]] = []
        self.records: list[tuple[str, dict]] = []

    def publish(self, topic: str, t_ns: int, body: dict) -> None:
        self.published.append((topic, t_ns, body))

    def record(self, rtype: str, header: dict) -> None:
        self.records.append((rtype, header))


def _setup(actions=None):
    clock = Clock()
    cs = command_set_from_dict({"lang": "en", "intents": {
        n: {"phrases": [n], **({"confirm": True} if n == "hide all" else {})} for n in INTENTS}})
    gate = ConfirmationGate(cs, 4.0)
    cp = CommandProcessor(gate, actions=actions, clock_ns=clock)
    wire = Wire()
    router = VoiceRouter(cp, wire.publish, wire.record, lambda: None)
    return clock, gate, cp, wire, router


def _event(decision: Decision, intent: str | None) -> VoiceEvent:
    return VoiceEvent(t_end_ns=5, t_event_ns=6, text=intent or "", confidence=0.9, intent=intent,
                      decision=decision, reason="", engine="test", noise_dbfs=-50.0)


def test_an_accepted_voice_command_is_published_recorded_and_applied():
    _, _, cp, wire, router = _setup()
    router.on_voice(_event(Decision.ACCEPTED, "freeze"))
    assert cp.state.frozen and router.accepted == 1
    [(topic, t_ns, body)] = wire.published
    assert topic == "voice" and t_ns == 5 and body["intent"] == "freeze" and body["decision"] == "accepted"
    assert set(body) == {f.name for f in dataclasses.fields(VoiceMessage)}  # every field of the contract
    assert [r[0] for r in wire.records] == ["voice", "command"]
    assert wire.records[1][1]["origin"] == "voice" and wire.records[1][1]["result"]["ok"] is True


def test_a_voice_command_the_state_cannot_execute_gets_a_rejected_decision_on_the_wire():
    _, _, cp, wire, router = _setup(actions={"snapshot": lambda: "no frame has been processed yet"})
    router.on_voice(_event(Decision.ACCEPTED, "snapshot"))
    assert router.accepted == 0
    assert [b["decision"] for _, _, b in wire.published] == ["accepted", "rejected"]
    assert wire.published[1][2]["reason"] == "no frame has been processed yet"


def test_a_confirmation_that_runs_out_is_announced_as_expired():
    clock, gate, cp, wire, router = _setup()
    gate.submit("hide all", clock.t)
    router.on_voice(_event(Decision.AWAITING_CONFIRMATION, "hide all"))
    assert cp.state.pending_confirmation == "hide all"
    clock.t += 5_000_000_000
    assert cp.state.pending_confirmation is None and all(cp.state.layers.values())
    last = wire.published[-1][2]
    assert last["decision"] == "expired" and last["intent"] == "hide all" and last["engine"] == "control"
    assert wire.records[-1][0] == "voice"


def test_control_requests_share_the_confirmation_gate_with_voice():
    clock, gate, cp, wire, router = _setup()
    reply, result = handle_control(cp, parse_request(b'{"id": 1, "command": "hide all"}'))
    assert reply["status"] != "executed" and all(cp.state.layers.values())
    reply, result = handle_control(cp, parse_request(b'{"id": 2, "command": "confirm"}'))
    assert reply["ok"] and result is not None and not any(cp.state.layers.values())
    reply, result = handle_control(cp, parse_request(b'{"id": 3, "command": "get_state"}'))
    assert result is None and reply["state"]["layers"] == {"nerve": False, "vessel": False, "needle": False}
