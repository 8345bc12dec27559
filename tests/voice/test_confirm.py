"""Confirmation gate: pure, time injected."""

from __future__ import annotations

from voice.confirm import ConfirmationGate, GateAction

S = 1_000_000_000


def test_plain_intent_executes(en_set):
    g = ConfirmationGate(en_set, window_s=5)
    r = g.submit("freeze", 0)
    assert r.action is GateAction.EXECUTE and r.intent == "freeze"


def test_confirm_within_window_executes_pending(en_set):
    g = ConfirmationGate(en_set, window_s=5)
    r = g.submit("hide all", 0)
    assert r.action is GateAction.AWAIT and r.deadline_ns == 5 * S
    assert g.pending == "hide all"
    r = g.submit("confirm", 4 * S)
    assert r.action is GateAction.CONFIRMED and r.intent == "hide all"
    assert g.pending is None
    assert g.submit("confirm", 4 * S + 1).action is GateAction.NOTHING_PENDING


def test_cancel_drops_pending(en_set):
    g = ConfirmationGate(en_set, window_s=5)
    g.submit("hide all", 0)
    r = g.submit("cancel", S)
    assert r.action is GateAction.CANCELLED and r.intent == "hide all"
    assert g.poll(10 * S) is None


def test_late_confirm_expires_once(en_set):
    g = ConfirmationGate(en_set, window_s=5)
    g.submit("hide all", 0)
    assert g.poll(4 * S) is None
    r = g.submit("confirm", 6 * S)
    assert r.action is GateAction.NOTHING_PENDING
    e = g.poll(6 * S)
    assert e is not None and e.action is GateAction.EXPIRED and e.intent == "hide all"
    assert g.poll(7 * S) is None


def test_other_intents_pass_while_pending(en_set):
    g = ConfirmationGate(en_set, window_s=5)
    g.submit("hide all", 0)
    assert g.submit("freeze", S).action is GateAction.EXECUTE
    assert g.submit("confirm", 2 * S).intent == "hide all"


def test_new_gated_intent_replaces_pending(en_set):
    g = ConfirmationGate(en_set, window_s=5)
    g.submit("hide all", 0)
    g.submit("stop recording", S)
    assert g.submit("confirm", 2 * S).intent == "stop recording"
