"""Command processor: every intent, confirmation window, cancel, expiry, actions, listeners."""

from __future__ import annotations

import pytest

from sonoguide.state import CommandProcessor
from voice.commandset import command_set_from_dict
from voice.confirm import ConfirmationGate
from voice.intents import INTENTS


def _gate(window_s: float = 4.0) -> ConfirmationGate:
    cs = command_set_from_dict({"lang": "en", "intents": {
        name: {"phrases": [name], **({"confirm": True} if name == "hide all" else {})} for name in INTENTS}})
    return ConfirmationGate(cs, window_s)


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000_000

    def __call__(self) -> int:
        return self.t


def test_layers_and_freeze():
    cp = CommandProcessor()
    assert cp.submit("hide nerve").ok and cp.state.layers == {"nerve": False, "vessel": True, "needle": True}
    cp.submit("hide all")
    assert not any(cp.state.layers.values())
    cp.submit("show vessel")
    assert cp.state.layers == {"nerve": False, "vessel": True, "needle": False}
    cp.submit("freeze", origin="voice")
    assert cp.state.frozen and cp.state.last_command["origin"] == "voice"
    cp.submit("unfreeze")
    assert not cp.state.frozen


def test_confirmation_executes_only_after_confirm_within_the_window():
    clock = Clock()
    seen = []
    cp = CommandProcessor(_gate(4.0), clock_ns=clock)
    cp.add_listener(seen.append)
    r = cp.submit("hide all", origin="voice")
    assert (r.ok, r.status) == (True, "awaiting_confirmation")
    assert all(cp.state.layers.values()) and cp.state.pending_confirmation == "hide all"
    clock.t += 3_000_000_000
    r = cp.submit("confirm", origin="voice")
    assert (r.status, r.intent) == ("executed", "hide all") and not any(cp.state.layers.values())
    assert cp.state.pending_confirmation is None
    assert [s.version for s in seen] == sorted(s.version for s in seen)


def test_cancel_and_expiry():
    clock = Clock()
    cp = CommandProcessor(_gate(4.0), clock_ns=clock)
    cp.submit("hide all")
    r = cp.submit("cancel")
    assert (r.status, r.intent) == ("cancelled", "hide all") and all(cp.state.layers.values())
    cp.submit("hide all")
    expired = []
    cp.on_expired = lambda intent, t: expired.append(intent)
    clock.t += 5_000_000_000
    assert cp.state.pending_confirmation is None and expired == ["hide all"]
    r = cp.submit("confirm")
    assert not r.ok and "nothing is awaiting" in r.error and all(cp.state.layers.values())


def test_unknown_and_unavailable_commands_are_rejected_with_a_reason():
    cp = CommandProcessor()
    r = cp.submit("launch")
    assert not r.ok and "unknown command" in r.error
    r = cp.submit("snapshot")
    assert not r.ok and "not available" in r.error


def test_actions_run_and_report_errors():
    calls = []
    cp = CommandProcessor(actions={"snapshot": lambda: calls.append(1),
                                   "start recording": lambda: "disk full"})
    assert cp.submit("snapshot").ok and cp.state.snapshots == 1 and calls == [1]
    r = cp.submit("start recording")
    assert not r.ok and r.error == "disk full" and not cp.state.recording


def test_every_intent_is_handled():
    cp = CommandProcessor(actions={k: (lambda: None) for k in ("snapshot", "start recording", "stop recording")})
    for intent in INTENTS:
        r = cp.submit(intent)
        assert r.ok or intent in ("confirm", "cancel"), intent


def test_update_refuses_command_fields():
    cp = CommandProcessor()
    v = cp.state.version
    cp.update(tracking="lost")
    assert cp.state.tracking == "lost" and cp.state.version == v + 1
    cp.update(tracking="lost")
    assert cp.state.version == v + 1
    with pytest.raises(ValueError):
        cp.update(frozen=True)


def _event(decision, intent):
    from voice.events import Decision, VoiceEvent
    return VoiceEvent(t_end_ns=1, t_event_ns=2, text=intent or "", confidence=0.9, intent=intent,
                      decision=Decision(decision), reason="", engine="test", noise_dbfs=-50.0)


def test_voice_decisions_that_passed_the_shared_gate_are_applied_once():
    clock = Clock()
    gate = _gate(4.0)
    cp = CommandProcessor(gate, clock_ns=clock)
    gate.submit("hide all", clock.t)  # what the listener does before emitting awaiting_confirmation
    assert cp.apply_voice(_event("awaiting_confirmation", "hide all")) is None
    assert cp.state.pending_confirmation == "hide all" and cp.state.pending_deadline_ns == clock.t + 4_000_000_000
    assert all(cp.state.layers.values())
    # "confirm" may come from the control channel: same gate
    r = cp.submit("confirm")
    assert r.intent == "hide all" and not any(cp.state.layers.values()) and cp.state.pending_confirmation is None
    r = cp.apply_voice(_event("accepted", "show nerve"))
    assert r.ok and cp.state.layers["nerve"] and cp.state.last_command["origin"] == "voice"
    assert cp.apply_voice(_event("rejected", None)) is None
    gate.submit("hide all", clock.t)
    cp.apply_voice(_event("awaiting_confirmation", "hide all"))
    gate.submit("cancel", clock.t)
    cp.apply_voice(_event("cancelled", "hide all"))
    assert cp.state.pending_confirmation is None and cp.state.layers["nerve"]
