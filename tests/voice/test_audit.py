"""Audit log: append-only JSON lines, thread-safe, survives kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

from voice.audit import AuditLog, read_audit
from voice.events import Decision, VoiceEvent


def _event(i: int) -> VoiceEvent:
    return VoiceEvent(t_end_ns=i, t_event_ns=1_700_000_000_000_000_000 + i, text="freeze", confidence=0.9,
                      intent="freeze", decision=Decision.ACCEPTED, reason="", engine="pocketsphinx", noise_dbfs=-60.0)


def test_lines_are_complete_json_and_appended(tmp_path):
    p = tmp_path / "a" / "audit.jsonl"
    with AuditLog(p) as log:
        log.write_event(_event(1))
    with AuditLog(p) as log:
        log.write_event(_event(2))
    recs = read_audit(p)
    assert [r["t_end_ns"] for r in recs] == [1, 2]
    assert recs[0]["decision"] == "accepted" and recs[0]["intent"] == "freeze" and recs[0]["time"].endswith("+00:00")
    assert VoiceEvent.from_body({k: v for k, v in recs[0].items() if k != "time"}) == _event(1)


def test_threads_never_interleave(tmp_path):
    p = tmp_path / "audit.jsonl"
    log = AuditLog(p)
    threads = [threading.Thread(target=lambda k=k: [log.write({"k": k, "i": i, "pad": "x" * 200}) for i in range(200)])
               for k in range(4)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    log.close()
    lines = p.read_text().splitlines()
    assert len(lines) == 800
    assert all(json.loads(x)["pad"] == "x" * 200 for x in lines)


def test_survives_kill_9(tmp_path):
    p = tmp_path / "audit.jsonl"
    code = ("import sys, time; sys.path.insert(0, %r)\n"
            "from voice.audit import AuditLog\n"
            "log = AuditLog(%r)\n"
            "i = 0\n"
            "while True:\n"
            "    log.write({'i': i, 'text': 'hide all'}); i += 1\n") % (os.getcwd(), str(p))
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.time() + 20
    while time.time() < deadline and (not p.exists() or p.stat().st_size < 20000):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    recs = read_audit(p)
    assert len(recs) > 100
    assert [r["i"] for r in recs] == list(range(len(recs)))  # complete lines are all there, in order
    # reopening closes a partial last line so new records stay parseable
    with AuditLog(p) as log:
        log.write({"i": -1})
    assert read_audit(p)[-1] == {"i": -1}
