"""Slow: the Unity package's client against the whole running core (``sonoguide demo``), not only its wire parts.

Real overlays from the phantom pipeline (segmentation, needle, tracked probe, ultrasound image) must decode without
a single refused message, be current and placed, and commands must act on the running system. Skips, saying why,
when the demo itself cannot start (that is the core's failure, reported by its own tests).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_client_decodes_the_running_demo_and_commands_it(probe_build, probe_tools):
    Probe, _reply = probe_tools.Probe, probe_tools.reply

    pub, ctl = f"tcp://127.0.0.1:{_free_port()}", f"tcp://127.0.0.1:{_free_port()}"
    exe = Path(sys.executable).with_name("sonoguide")
    demo = subprocess.Popen([str(exe), "demo", "--duration", "60", "--no-status", "--pub", pub, "--control", ctl],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    probe = Probe(probe_build.exe, "--data", pub, "--control", ctl)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if demo.poll() is not None:
                err = demo.stderr.read().strip().splitlines()
                pytest.skip(f"sonoguide demo did not run (exit {demo.returncode}): {err[-1] if err else ''}")
            if any(e["event"] == "link" and e["state"] == "Up" for e in probe.events) or probe.report()["link"] == "Up":
                break
            time.sleep(0.5)
        else:
            pytest.fail("no heartbeat from the demo within 90 s")
        start = probe.mark()
        time.sleep(5)
        probe.drain()
        overlays = [e for e in probe.events[start:] if e["event"] == "overlay"]
        assert len(overlays) >= 25, f"only {len(overlays)} overlays in 5 s"
        assert any(o["current"] and o["placed"] for o in overlays), "no current, placed overlay"
        assert any(o["structures"] > 0 for o in overlays), "the phantom's nerve and vessels never arrived"
        r = _reply(probe, "freeze")
        assert r["ok"] and r["status"] == "executed"
        probe.after(probe.mark(), lambda e: e["event"] == "overlay" and e["frozen"], 5, "a frozen overlay")
        assert _reply(probe, "unfreeze")["ok"]
        r = _reply(probe, "hide all")
        assert r["ok"] and r["status"] == "awaiting_confirmation"
        assert _reply(probe, "cancel")["ok"]
        rep = probe.report()
        assert rep["decode_errors"] == 0 and rep["link"] == "Up"
    finally:
        probe.close()
        demo.terminate()
        demo.wait(30)
