"""Recording: round trip, truncated tail skipped, corruption in the middle refused, kill -9."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from core.errors import RecordingError
from core.recording import LOG_NAME, Recorder, read_meta, read_records


def test_round_trip_with_arrays(tmp_path):
    rec = Recorder(tmp_path / "r", {"config_toml": "[a]\n"})
    img = np.random.default_rng(0).integers(0, 255, (40, 30), dtype=np.uint8)
    rec.write("frame", {"seq": 1}, arrays={"image": img, "T": np.eye(4)})
    rec.write("state", {"state": {"frozen": True}})
    rec.close()
    recs = list(read_records(tmp_path / "r"))
    assert [r.type for r in recs] == ["frame", "state", "end"]
    np.testing.assert_array_equal(recs[0].arrays()["image"], img)
    np.testing.assert_array_equal(recs[0].arrays()["T"], np.eye(4))
    assert read_meta(tmp_path / "r")["config_toml"] == "[a]\n"


def test_truncated_last_record_is_skipped_with_a_warning(tmp_path, caplog):
    rec = Recorder(tmp_path / "r")
    for i in range(5):
        rec.write("frame", {"seq": i}, payload=bytes(1000))
    rec.close()
    path = tmp_path / "r" / LOG_NAME
    os.truncate(path, path.stat().st_size - 50)  # cut into the end marker and the last frame stays whole
    with caplog.at_level(logging.WARNING):
        recs = list(read_records(tmp_path / "r"))
    assert [r.header["seq"] for r in recs] == list(range(5))
    assert "incomplete" in caplog.text


def test_damage_in_the_middle_is_refused(tmp_path):
    rec = Recorder(tmp_path / "r")
    for i in range(3):
        rec.write("frame", {"seq": i}, payload=bytes(100))
    rec.close()
    path = tmp_path / "r" / LOG_NAME
    data = bytearray(path.read_bytes())
    data[60] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(RecordingError, match="corrupt|unreadable"):
        list(read_records(tmp_path / "r"))


def test_not_a_recording_and_existing_recording(tmp_path):
    with pytest.raises(RecordingError, match="not a recording"):
        list(read_records(tmp_path))
    Recorder(tmp_path / "r").close()
    with pytest.raises(RecordingError, match="already holds a recording"):
        Recorder(tmp_path / "r")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / LOG_NAME).write_bytes(b"JUNKJUNK")
    with pytest.raises(RecordingError, match="bad magic"):
        list(read_records(tmp_path / "bad"))


def test_kill_9_while_writing_loses_at_most_the_last_record(tmp_path):
    script = textwrap.dedent(f"""
        import numpy as np, sys
        from core.recording import Recorder
        rec = Recorder({str(tmp_path / 'k')!r})
        img = np.zeros((400, 400), np.uint8)
        i = 0
        while True:
            rec.write("frame", {{"seq": i}}, arrays={{"image": img}})
            if i == 20:
                print("ready", flush=True)
            i += 1
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.2)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    seqs = [r.header["seq"] for r in read_records(tmp_path / "k")]
    assert len(seqs) > 20 and seqs == list(range(len(seqs)))
