"""The ``sonoguide voice listen`` / ``models`` commands, run as a user would (subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
EXE = [sys.executable, "-m", "sonoguide.cli"]


def run(*args, timeout=300):
    return subprocess.run([*EXE, *args], capture_output=True, text=True, timeout=timeout, cwd=REPO)


def test_listen_wav_prints_one_json_line_per_command(voice_data, tmp_path):
    from voice.audio.wavio import read_wav, write_wav

    a, _ = read_wav(voice_data / "en_freeze.wav")
    b, _ = read_wav(voice_data / "en_chatter_nerve.wav")
    c, _ = read_wav(voice_data / "en_unfreeze.wav")
    gap = np.zeros(16000, np.int16)
    wav = tmp_path / "s.wav"
    write_wav(wav, np.concatenate([a, gap, b, gap, c, gap]))
    r = run("voice", "listen", "--wav", str(wav), "--engine", "pocketsphinx")
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["intent"] for x in lines] == ["freeze", "unfreeze"]
    assert set(lines[0]) == {"intent", "text", "confidence", "t_end_ns"}


@pytest.mark.parametrize("args, message", [
    (("voice", "listen", "--wav", "/nonexistent.wav", "--engine", "pocketsphinx"), "not found"),
    (("voice", "listen", "--wav", "x.wav", "--engine", "pocketsphinx", "--lang", "ko"), "only English"),
    (("voice", "listen", "--engine", "vosk", "--lang", "en", "--config", "/nonexistent.toml"), "not found"),
])
def test_bad_input_is_one_clear_line(args, message):
    r = run(*args)
    assert r.returncode != 0
    err = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert len(err) == 1 and message in err[0], r.stderr
    assert "Traceback" not in r.stderr


def test_models_fetch_offline_fails_cleanly(tmp_path):
    r = run("models", "fetch", "vosk-en", "--dir", str(tmp_path), "--url", "http://127.0.0.1:9/none.zip", timeout=60)
    assert r.returncode != 0 and r.stderr.startswith("error: cannot download")


def test_listen_pub_publishes_valid_voice_and_heartbeat_messages(voice_data, tmp_path):
    """'voice listen --pub' failed with ImportError; its heartbeats lacked the required fields."""
    import socket
    import time

    import zmq

    from ar_bridge.schema import decode
    from ar_bridge.watch import validate
    from voice.audio.wavio import read_wav, write_wav

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        ep = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    a, _ = read_wav(voice_data / "en_freeze.wav")
    wav = tmp_path / "f.wav"
    write_wav(wav, np.concatenate([np.zeros(16000, np.int16), a, np.zeros(32000, np.int16)]))
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.setsockopt(zmq.LINGER, 0)
    sub.connect(ep)
    proc = subprocess.Popen([*EXE, "voice", "listen", "--wav", str(wav), "--realtime", "--engine", "pocketsphinx",
                             "--pub", ep], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    msgs = []
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if sub.poll(100):
            msgs.append(decode(sub.recv_multipart()))
    out, err = proc.communicate(timeout=10)
    sub.close()
    assert proc.returncode == 0, err
    for m in msgs:
        validate(m)  # raises ProtocolError on any contract violation
    topics = {m.topic for m in msgs}
    assert {"heartbeat", "voice"} <= topics, topics
    assert any(m.topic == "voice" and m.body["intent"] == "freeze" for m in msgs)
