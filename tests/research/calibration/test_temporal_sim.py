"""The temporal-calibration simulator: its truth holds (line depth = probe height at the image's time) and
its capture folder has the documented layout."""

from __future__ import annotations

import json

import numpy as np

from calibration.line_detect import detect_line
from calibration.simulated import T_MARKER_FROM_PROBE
from calibration.temporal_capture import load_temporal_capture
from research.calibration.temporal_sim import TemporalSimConfig, main, simulate, write_capture
from vision.phantom.line_target import LineTargetConfig

SMALL = LineTargetConfig(width_px=120, height_px=200, mm_per_px=(0.2, 0.3))


def test_poses_and_frames_see_the_same_motion_shifted_by_the_lag():
    sim = simulate(TemporalSimConfig(duration_s=6.0, lag_ms=60.0, image=SMALL, pose_noise_mm=0.0,
                                     pose_noise_deg=0.0, jitter_ms=0.0, drop_pose=0.0, seed=2))
    assert sim.offset_ms == 60.0
    tracked = [(t, T) for t, T in sim.poses if T is not None]
    t_pose = np.array([t for t, _ in tracked])
    heights = np.array([sim.normal_tracker @ (T @ T_MARKER_FROM_PROBE)[:3, 3] for _, T in tracked])
    errs = []
    for t_ns, img in sim.frames[10:-10]:
        d = detect_line(img, SMALL.mm_per_px)
        errs.append(d.distance_mm - np.interp(t_ns + 60e6, t_pose, heights))
    errs = np.asarray(errs)
    assert np.std(errs) < 0.1  # a constant (the echo's leading edge, the plate's offset) and nothing else


def test_the_capture_folder_reads_back(tmp_path):
    sim = simulate(TemporalSimConfig(duration_s=3.0, image=SMALL, seed=3))
    write_capture(sim, tmp_path / "c")
    cap = load_temporal_capture(tmp_path / "c")
    assert len(cap.frame_paths) == len(sim.frames) and cap.mm_per_px == SMALL.mm_per_px
    assert cap.n_lost == sum(T is None for _, T in sim.poses) > 0
    truth = json.loads((tmp_path / "c" / "truth.json").read_text())
    assert truth["temporal_offset_ms"] == sim.offset_ms
    assert np.allclose(truth["plate_normal_tracker"], sim.normal_tracker)


def test_the_command_line(tmp_path, capsys):
    assert main(["--out", str(tmp_path / "d"), "--lag-ms", "-20", "--duration-s", "2", "--us-hz", "10",
                 "--pose-hz", "20"]) == 0
    assert "true temporal_offset_ms -20" in capsys.readouterr().out
    d = tmp_path / "d"
    assert len((d / "frames.jsonl").read_text().splitlines()) == len(list((d / "frames").glob("*.png")))
