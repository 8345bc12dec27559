"""The Unity package's client against ``sonoguide replay --publish``, over real ZeroMQ sockets.

A replay must look to a headset exactly like the live loop (issue: the replay's heartbeats once lacked fields the
client requires, so it stayed on CONNECTING and showed every overlay stale). A short demo run is recorded, replayed
with ``--publish``, and the C# client (``runner/ClientProbe.cs`` over libzmq) must: accept the heartbeats (link up),
decode every replayed overlay with no refused message, show them current and placed, get the state, and say that
commands are unavailable (a replay takes none: its heartbeat says ``control: down``).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXE = str(Path(sys.executable).with_name("sonoguide"))


@pytest.fixture(scope="module")
def recording(tmp_path_factory, free_endpoint) -> Path:
    rec = tmp_path_factory.mktemp("replay_client") / "session"
    p = subprocess.run([EXE, "demo", "--duration", "3", "--no-status", "--record", str(rec), "--pub", free_endpoint(),
                        "--control", free_endpoint()], capture_output=True, text=True, timeout=300, cwd=REPO)
    if p.returncode != 0:
        pytest.fail(f"sonoguide demo could not record: {p.stderr.strip().splitlines()[-1:]}")
    return rec


def test_client_takes_a_replay_like_the_live_loop(probe_build, probe_tools, recording, free_endpoint):
    Probe = probe_tools.Probe
    pub, ctl = free_endpoint(), free_endpoint()
    probe = Probe(probe_build.exe, "--data", pub, "--control", ctl)
    replay = subprocess.Popen([EXE, "replay", str(recording), "--publish", "--pub", pub], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        probe.wait_for(lambda e: e["event"] == "link" and e["state"] == "Up", 30, "link up from the replay's heartbeat")
        probe.wait_for(lambda e: e["event"] == "message" and e["topic"] == "state", 5, "the replay's state")
        probe.wait_for(lambda e: e["event"] == "overlay" and e["current"] and e["placed"], 10,
                       "a current, placed overlay")
        rep = probe.report()
        assert "Warning: COMMANDS UNAVAILABLE (core control down)" in rep["hud"], rep["hud"]
        out, err = replay.communicate(timeout=120)
        assert replay.returncode == 0, err
        n = int(out.split("replayed ")[1].split()[0])
        time.sleep(0.3)
        rep = probe.report()
        assert rep["decode_errors"] == 0 and rep["lost"] == 0, rep
        assert rep["overlays"] == n, f"{rep['overlays']} of {n} replayed overlays decoded"
        heartbeats = [e for e in probe.events if e["event"] == "message" and e["topic"] == "heartbeat"]
        assert len(heartbeats) >= 10 and {e["control"] for e in heartbeats} == {"down"}
        assert all(e["clock_origin_ns"] > 0 for e in heartbeats)
        overlays = [e for e in probe.events if e["event"] == "overlay"]
        assert sum(e["current"] for e in overlays) >= 0.9 * len(overlays), "replayed overlays must arrive current"
        errors = [e for e in probe.events if e["event"] in ("error", "fatal", "garbage")]
        assert not errors, errors
    finally:
        if replay.poll() is None:
            replay.kill()
            replay.communicate()
        probe.close()
