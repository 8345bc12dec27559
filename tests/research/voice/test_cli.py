"""The research ``sonoguide voice`` commands (``eval``, ``gen-data``), run as a user would (subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from research.voice.corpus import VOICES

REPO = Path(__file__).resolve().parents[3]
EXE = [sys.executable, "-m", "sonoguide.cli"]


def run(*args, timeout=300):
    return subprocess.run([*EXE, *args], capture_output=True, text=True, timeout=timeout, cwd=REPO)


def test_eval_json_last_line(voice_data, tmp_path):
    r = run("voice", "eval", "--manifest", str(voice_data / "manifest_en.jsonl"), "--json", "--engine", "pocketsphinx",
            "--report", str(tmp_path / "r.png"))
    assert r.returncode == 0, r.stderr
    last = json.loads(r.stdout.strip().splitlines()[-1])
    assert {"accuracy", "false_accepts", "n_command", "n_null", "latency_ms_p95"} <= set(last)
    assert last["n_command"] == 5 and last["n_null"] == 2
    assert last["false_accepts"] == 0 and last["accuracy"] >= 0.8
    assert (tmp_path / "r.png").stat().st_size > 5000


@pytest.mark.parametrize("args, message", [
    (("voice", "eval", "--manifest", "/nonexistent.jsonl"), "manifest"),
])
def test_bad_input_is_one_clear_line(args, message):
    r = run(*args)
    assert r.returncode != 0
    err = [x for x in r.stderr.splitlines() if x.startswith("error:")]
    assert len(err) == 1 and message in err[0], r.stderr
    assert "Traceback" not in r.stderr


def test_bad_manifest_line(tmp_path):
    m = tmp_path / "m.jsonl"
    m.write_text('{"audio": "a.wav"}\n', encoding="utf-8")
    r = run("voice", "eval", "--manifest", str(m))
    assert r.returncode != 0 and "m.jsonl:1" in r.stderr and "Traceback" not in r.stderr


def test_gen_data_small(tmp_path):
    r = run("voice", "gen-data", "--lang", "en", "--split", "test", "--out", str(tmp_path / "d"),
            "--conditions", "babble@10", "--chatter-per-voice", "1", timeout=600)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in (tmp_path / "d" / "manifest.jsonl").read_text().splitlines()]
    n_voices = len(VOICES["en"]["test"])
    assert sum(x["expect"] is None for x in lines) == n_voices
    assert all(x["snr_db"] == 10 and x["noise"] == "babble" for x in lines)
    assert all((tmp_path / "d" / x["audio"]).is_file() for x in lines)
    assert all(0 < x["speech_start_s"] < x["speech_end_s"] for x in lines)
