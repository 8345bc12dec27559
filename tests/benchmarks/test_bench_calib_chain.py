"""The whole-chain bench end to end: us-probe and hand-eye files made by the commands, then verify."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_one_set_runs_every_command_and_places_the_target_within_a_few_mm() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "benchmarks" / "bench_calib_chain.py"), "--sets", "2",
                           "--seed", "5", "--json"], capture_output=True, text=True, timeout=240, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(summary["rows"]) == 2
    for row in summary["rows"]:
        # the files' own error (noise-free capture) and the chain with the capture's noise
        assert 0.0 < row["calibration_only"] < 5.0 and 0.0 < row["chain"] < 5.0
        assert row["us_rms_mm"] < 1.5
    assert "| chain |" in proc.stdout
