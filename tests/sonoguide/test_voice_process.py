"""The voice listener in its child process: real engine on the bundled demo script, gate in the parent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sonoguide.voice_process import VoiceProcess
from voice.commandset import bundled_command_set_path, load_command_set
from voice.config import VoiceConfig, VoiceInputConfig
from voice.confirm import ConfirmationGate, apply_gate
from voice.events import Decision, VoiceEvent

REPO = Path(__file__).resolve().parents[2]


def _gate() -> ConfirmationGate:
    return ConfirmationGate(load_command_set(bundled_command_set_path("en")), 5.0)


def _event(intent: str, t_s: float, decision: Decision = Decision.ACCEPTED) -> VoiceEvent:
    t = int(t_s * 1e9)
    return VoiceEvent(t_end_ns=t, t_event_ns=t, text=intent, confidence=0.9, intent=intent, decision=decision,
                      reason="", engine="pocketsphinx", noise_dbfs=-60.0)


def test_apply_gate_holds_confirms_and_rejects():
    gate = _gate()
    assert apply_gate(gate, _event("freeze", 1.0)).decision is Decision.ACCEPTED
    held = apply_gate(gate, _event("hide all", 2.0))
    assert held.decision is Decision.AWAITING_CONFIRMATION and held.intent == "hide all"
    done = apply_gate(gate, _event("confirm", 3.0))
    assert done.decision is Decision.CONFIRMED and done.intent == "hide all"
    nothing = apply_gate(gate, _event("cancel", 4.0))
    assert nothing.decision is Decision.REJECTED and nothing.reason == "nothing to cancel"
    rejected = _event("freeze", 5.0, Decision.REJECTED)
    assert apply_gate(gate, rejected) is rejected


def _run(config: VoiceConfig, seconds: float, demo: bool = False) -> dict:
    got: dict = {"events": [], "ready": None, "error": None}
    done = threading.Event()

    def on_error(reason: str) -> None:
        got["error"] = reason
        done.set()

    proc = VoiceProcess(config, None, got["events"].append, _gate(),
                        on_ready=lambda name: got.__setitem__("ready", name), on_error=on_error, demo=demo)
    proc.start()
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end and not done.is_set():
        if got["ready"] and proc._proc is not None and not proc._proc.is_alive():
            break
        time.sleep(0.1)
    got["noise"] = proc.noise_dbfs
    proc.stop()
    got["alive_after_stop"] = proc._proc.is_alive()
    return got


@pytest.mark.timeout(120)
def test_child_listens_and_the_parent_gates(tmp_path):
    audit = tmp_path / "audit.jsonl"
    cfg = VoiceConfig(audit_log=str(audit),
                      input=VoiceInputConfig(source="wav", wav_realtime=False, wav_loop=False))
    got = _run(cfg, 90.0, demo=True)
    assert got["error"] is None and got["ready"] == "pocketsphinx"
    assert not got["alive_after_stop"]
    events = got["events"]
    accepted = [e.intent for e in events if e.decision is Decision.ACCEPTED]
    assert accepted, "the demo script's commands were not heard"
    # the child's gate passes everything; only the parent's gate holds the confirm-gated intents
    # (those that hide a layer: the demo script says "hide vessel" and "hide all")
    assert not {"hide all", "hide vessel", "confirm"} & set(accepted)
    held = [e for e in events if e.decision is Decision.AWAITING_CONFIRMATION]
    assert held and {e.intent for e in held} <= {"hide vessel", "hide all"}
    lines = [json.loads(x) for x in audit.read_text().splitlines()]
    assert len(lines) == len(events)  # the parent audits every gated decision
    assert got["noise"] < -20.0  # the child's noise estimate reached the parent


def test_missing_wav_is_one_line_and_no_listener(tmp_path):
    cfg = VoiceConfig(audit_log="", input=VoiceInputConfig(source="wav", wav_path=str(tmp_path / "nope.wav")))
    got = _run(cfg, 60.0)
    assert got["ready"] is None and "nope.wav" in got["error"] and "\n" not in got["error"]


@pytest.mark.parametrize("cfg", [VoiceConfig(audit_log="", input=VoiceInputConfig(
                                     source="auto", microphone_device="no such device 12345")),
                                 VoiceConfig(audit_log="", input=VoiceInputConfig(source="wav"))])
def test_a_real_session_never_plays_the_demo_script(cfg):
    """Without a microphone, 'run' gets no voice (said in one line), never the demo's canned commands."""
    got = _run(cfg, 60.0, demo=False)
    assert got["ready"] is None and got["events"] == []
    assert ("no microphone" in got["error"] or "demo" in got["error"]) and "\n" not in got["error"]


_OWNER = """
import sys, time
from sonoguide.voice_process import VoiceProcess
from voice.commandset import bundled_command_set_path, load_command_set
from voice.config import VoiceConfig, VoiceInputConfig
from voice.confirm import ConfirmationGate
gate = ConfirmationGate(load_command_set(bundled_command_set_path("en")), 5.0)
vp = VoiceProcess(VoiceConfig(input=VoiceInputConfig(source="wav"), audit_log=""), None, lambda e: None, gate,
                  on_ready=lambda name: print("ready", vp._proc.pid, flush=True), demo=True)
if __name__ == "__main__":
    vp.start()
    time.sleep(60)
"""


@pytest.mark.timeout(120)
def test_child_ends_when_its_owner_is_killed(tmp_path):

    script = tmp_path / "owner.py"
    script.write_text(_OWNER)
    owner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True,
                             cwd=str(tmp_path), env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        line = owner.stdout.readline()
        assert line.startswith("ready"), line
        child = int(line.split()[1])
        os.kill(owner.pid, signal.SIGKILL)
        owner.wait(10)
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.kill(child, signal.SIGKILL)
            pytest.fail("the voice process outlived its owner")
    finally:
        if owner.poll() is None:
            owner.kill()
