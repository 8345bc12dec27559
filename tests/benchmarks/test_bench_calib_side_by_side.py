"""The side-by-side calibration bench: frame conventions of every method, and the peer-less run."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "benchmarks" / "bench_calib_side_by_side.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_calib_side_by_side", BENCH)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def test_without_peer_env_runs_ours_and_says_how_to_create_it(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, str(BENCH), "--sets", "1", "--seed", "3", "--json",
                           "--peer-python", str(tmp_path / "missing" / "python")],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "python3.11 -m venv .venv-peer-cal" in out
    assert "scikit-surgerycalibration==1.2.6" in out and "opencv-contrib-python-headless==4.10.0.84" in out
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["peer"] == "missing"
    rows = summary["rows"]
    assert {"sonoguide pivot_robust", "sonoguide hand-eye refined", "sonoguide calibrate_points (robust)"} <= set(rows)
    assert all(r["library"] == "sonoguide" for r in rows.values())
    for name, r in rows.items():
        assert r["sets"] == 1 and r["failed"] == 0, name
        if r["problem"] in ("pivot", "hand_eye"):
            assert r["convention_ok"] is True, name  # exact on the noise-free check sets
    # one noisy set: the robust methods land within a few noise levels of the truth
    assert rows["sonoguide pivot_robust"]["worst_mm"] < 0.6
    assert rows["sonoguide hand-eye refined"]["worst_mm"] < 8.0
    assert rows["sonoguide calibrate_points (robust)"]["worst_mm"] < 1.0
    assert out.count("| pivot tip (mm) |") == 2


def test_peer_methods_recover_noise_free_truth(tmp_path: Path) -> None:
    bench = _bench()
    peer_python = bench.PEER_VENV / "bin" / "python"
    if not peer_python.exists():
        pytest.skip(f"peer environment missing; create it with: {bench.PEER_SETUP}")
    truth = bench.write_sets(tmp_path, 0, 5)  # the two noise-free check sets only
    tallies: dict = {}
    note = bench.run_peer(tmp_path, truth, tallies, peer_python)
    assert note is None  # no us-points file given
    assert any(k.startswith("OpenCV calibrateHandEye") for k in tallies)
    assert "sksurgery pivot aos" in tallies and "sksurgery guofang_xiao_handeye_calibration" in tallies
    bad = {k: (t.failures, t.convention_ok) for k, t in tallies.items() if t.convention_ok is not True}
    assert not bad


def test_a_method_off_the_convention_is_flagged_not_reported() -> None:
    bench = _bench()
    import numpy as np
    truth = bench.Truth("hand_eye", X=np.eye(4))
    wrong, right = bench.Tally("hand_eye", "peer"), bench.Tally("hand_eye", "peer")
    off = np.eye(4)
    off[:3, 3] = [0.0, 0.0, 1.0]
    bench.record(wrong, "check_hand_eye.json", {"X": off.tolist(), "seconds": 0.001}, truth)
    bench.record(right, "check_hand_eye.json", {"X": np.eye(4).tolist(), "seconds": 0.001}, truth)
    for t in (wrong, right):
        bench.record(t, "hand_eye_000.json", {"X": off.tolist(), "seconds": 0.002}, truth)
    assert wrong.convention_ok is False and right.convention_ok is True
    lines = bench.table({"wrong": bench.summarise(wrong), "right": bench.summarise(right)}, 1, None)
    assert any("| wrong | convention check failed" in ln for ln in lines)
    assert any(ln.startswith("| hand-eye X (mm / deg) | right | 1/1 | 1.00 / 0.000 |") for ln in lines)
