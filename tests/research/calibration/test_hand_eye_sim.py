"""The simulated hand-eye captures: consistent truth, marker in view, files others can read."""

from __future__ import annotations

import json

import numpy as np

from core.se3 import is_rigid
from research.calibration.hand_eye_sim import (HandEyeSimConfig, main, pose_error, simulate_station_set,
                                               write_station_set)


def test_truth_is_consistent_and_the_marker_is_in_view():
    s = simulate_station_set(11)
    assert 12 <= len(s.W) <= 30 and s.W.shape == s.C.shape
    for w, c in zip(s.W_true, s.C_true):
        assert np.allclose(w @ s.X @ c, s.Y, atol=1e-6)
        d = np.linalg.norm(c[:3, 3])
        assert 390.0 < d < 810.0
        assert c[2, 3] > 0 and np.degrees(np.arctan2(np.hypot(*c[:2, 3]), c[2, 3])) < 30.0
        # the camera looks at the marker's front (within ~55-65 deg of its normal)
        assert (-c[:3, :3].T @ c[:3, 3])[2] > 0
    assert all(is_rigid(t, 1e-9) for t in np.concatenate([s.W, s.C]))


def test_noise_has_the_stated_size():
    s = simulate_station_set(12, HandEyeSimConfig(n_stations=(30, 30)))
    e = np.array([pose_error(m, t) for m, t in zip(s.W, s.W_true)])
    # 3-D norm of three 1.0 mm / 0.3 deg per-axis components
    assert 1.0 < e[:, 0].mean() < 2.3 and 0.3 < e[:, 1].mean() < 0.7


def test_same_seed_same_set_and_glitches_are_planted():
    a, b = simulate_station_set(5), simulate_station_set(5)
    assert np.array_equal(a.W, b.W) and np.array_equal(a.C, b.C)
    g = simulate_station_set(5, HandEyeSimConfig(outlier_fraction=0.2))
    assert len(g.outliers) >= 2
    assert all(pose_error(g.C[i], g.C_true[i])[0] > 5.0 for i in g.outliers)


def test_written_set_holds_the_input_keys_and_a_separate_truth(tmp_path):
    s = simulate_station_set(13)
    write_station_set(s, tmp_path / "in.json", tmp_path / "truth.json")
    data = json.loads((tmp_path / "in.json").read_text())
    assert set(data) == {"T_world_from_headset", "T_camera_from_marker"}
    assert np.allclose(np.array(data["T_camera_from_marker"]), s.C)
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert np.allclose(np.array(truth["T_headset_from_camera"]), s.X)
    assert np.allclose(np.array(truth["T_world_from_marker"]), s.Y)
    assert main(["--out", str(tmp_path / "many"), "--seeds", "0", "3"]) == 0
    assert len(list((tmp_path / "many").glob("set_*.truth.json"))) == 3
