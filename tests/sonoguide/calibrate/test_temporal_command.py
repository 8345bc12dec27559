"""``sonoguide calibrate temporal`` end to end on rendered sweeps: lag within 2 ms, the TOML loads, the sign
matches the pose buffer's, and bad captures end in one error line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from calibration.simulated import T_MARKER_FROM_PROBE
from core.pose import PoseMeasurement
from core.types import Validity
from research.calibration.temporal_sim import TemporalSimConfig, simulate, write_capture
from sonoguide.cli import main
from sonoguide.config import load_config
from vision.phantom.line_target import LineTargetConfig
from vision.tracking.config import SyncConfig
from vision.tracking.sync import PoseBuffer

SMALL = LineTargetConfig(width_px=160, height_px=200, mm_per_px=(0.2, 0.25), noise_std=5.0)


def _capture(tmp_path, name="cap", **kw):
    cfg = TemporalSimConfig(duration_s=12.0, image=SMALL, **kw)
    sim = simulate(cfg)
    return sim, write_capture(sim, tmp_path / name)


@pytest.mark.parametrize("lag_ms, us_hz, pose_hz, seed", [(-80.0, 20.0, 30.0, 11), (95.0, 30.0, 60.0, 12)])
def test_the_lag_of_a_rendered_sweep_is_recovered_and_the_snippet_loads(tmp_path, capsys, lag_ms, us_hz, pose_hz, seed):
    _, cap = _capture(tmp_path, lag_ms=lag_ms, us_hz=us_hz, pose_hz=pose_hz, seed=seed)
    out = tmp_path / "temporal.toml"
    assert main(["calibrate", "temporal", "--input", str(cap), "--out", str(out)]) == 0
    assert "temporal offset" in capsys.readouterr().out
    offset = load_config(out).tracking.sync.temporal_offset_ms
    assert abs(offset - lag_ms) < 2.0
    assert (tmp_path / "temporal.png").stat().st_size > 10_000


def test_the_offset_makes_the_pose_buffer_answer_the_pose_the_image_saw(tmp_path, capsys):
    sim, cap = _capture(tmp_path, lag_ms=70.0, seed=13, pose_noise_mm=0.0, pose_noise_deg=0.0)
    assert main(["calibrate", "temporal", "--input", str(cap), "--out", str(tmp_path / "t.json"), "--json"]) == 0
    offset = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["temporal_offset_ms"]

    def mismatch(offset_ms):
        buf = PoseBuffer(SyncConfig(temporal_offset_ms=offset_ms, buffer_size=10000, max_pose_age_ms=1000.0,
                                    max_pose_age_hard_ms=1000.0))
        for t_ns, T in sim.poses:
            if T is not None:
                buf.push(PoseMeasurement(T, Validity.OK, t_ns))
        n = sim.normal_tracker
        errs = []
        for t_ns, img in sim.frames[20:-20:5]:
            m = buf.at(t_ns)
            probe = m.T_camera_from_board @ T_MARKER_FROM_PROBE  # T_tracker_from_probe
            errs.append(float(n @ probe[:3, 3]))
        return np.asarray(errs)

    # the probe's height at the looked-up pose follows the image's line only with the estimated sign
    from calibration.line_detect import detect_line
    depth = np.array([detect_line(img, SMALL.mm_per_px).distance_mm for _, img in sim.frames[20:-20:5]])
    good, bad = mismatch(offset), mismatch(-offset)
    spread_good, spread_bad = np.std(depth - good), np.std(depth - bad)
    assert spread_good < 0.3 and spread_bad > 5 * spread_good, (spread_good, spread_bad)
    assert abs(offset - 70.0) < 2.0


def test_too_little_motion_is_one_error_line_naming_the_motion(tmp_path, capsys):
    _, cap = _capture(tmp_path, amplitude_mm=1.0, seed=14)
    rc = main(["calibrate", "temporal", "--input", str(cap), "--out", str(tmp_path / "t.toml")])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: the plate line moved only") and "move the probe up and down" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "t.toml").exists()


def test_bad_captures_are_one_error_line(tmp_path, capsys):
    sim, cap = _capture(tmp_path, seed=15)
    out = str(tmp_path / "t.toml")
    # no pixel spacing anywhere
    (cap / "capture.json").write_text("{}")
    assert main(["calibrate", "temporal", "--input", str(cap), "--out", out]) == 2
    assert "pass --pixel-spacing" in capsys.readouterr().err
    # a bad --pixel-spacing
    assert main(["calibrate", "temporal", "--input", str(cap), "--out", out, "--pixel-spacing", "abc"]) == 2
    assert "--pixel-spacing" in capsys.readouterr().err
    # a non-rigid pose on line 3
    lines = (cap / "poses.jsonl").read_text().splitlines()
    bad = json.loads(lines[2])
    bad["T_tracker_from_marker"] = (np.diag([2.0, 1, 1, 1])).tolist()
    lines[2] = json.dumps(bad)
    (cap / "poses.jsonl").write_text("\n".join(lines) + "\n")
    assert main(["calibrate", "temporal", "--input", str(cap), "--out", out, "--pixel-spacing", "0.2,0.25"]) == 2
    err = capsys.readouterr().err
    assert "poses.jsonl:3" in err and "not a rigid transform" in err
    # a frame file missing
    (cap / "poses.jsonl").write_text("\n".join(lines[:2] + lines[3:]) + "\n")
    next((cap / "frames").glob("*.png")).unlink()
    assert main(["calibrate", "temporal", "--input", str(cap), "--out", out, "--pixel-spacing", "0.2,0.25"]) == 2
    assert "not found" in capsys.readouterr().err
    # not a folder
    assert main(["calibrate", "temporal", "--input", str(tmp_path / "nope"), "--out", out]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert not (tmp_path / "t.toml").exists()


def test_frames_without_the_plate_are_refused(tmp_path, capsys):
    _, cap = _capture(tmp_path, seed=16)
    import cv2
    for f in (cap / "frames").glob("*.png"):
        cv2.imwrite(str(f), np.full((200, 160), 20, np.uint8))
    rc = main(["calibrate", "temporal", "--input", str(cap), "--out", str(tmp_path / "t.toml")])
    err = capsys.readouterr().err
    assert rc == 2 and "plate line was found in only 0 of" in err


def test_live_recording_from_a_plus_like_openigtlink_server(tmp_path, capsys, igtl_stream):
    """Images and probe poses streamed in real time with their own (lagged) time stamps."""
    import time

    import pyigtl
    sim = simulate(TemporalSimConfig(lag_ms=37.0, duration_s=7.0, us_hz=20.0, pose_hz=40.0, seed=3))
    events = sorted([(t, "image", img) for t, img in sim.frames] +
                    [(t, "pose", T) for t, T in sim.poses if T is not None], key=lambda e: e[0])
    server = igtl_stream.server
    ijk = np.diag([sim.mm_per_px[1], sim.mm_per_px[0], 1.0, 1.0])

    def stream() -> None:
        t_end = time.monotonic() + 10.0
        while not server.is_connected() and time.monotonic() < t_end:
            time.sleep(0.01)
        base_wall, base_sim, start = time.time(), events[0][0], time.monotonic()
        for t, kind, payload in events:
            delay = (t - base_sim) / 1e9 - (time.monotonic() - start)
            if delay > 0:
                time.sleep(delay)
            stamp = base_wall + (t - base_sim) / 1e9
            if kind == "image":
                msg = pyigtl.ImageMessage(payload[np.newaxis], ijk_to_world_matrix=ijk, timestamp=stamp,
                                          device_name="Image")
            else:
                msg = pyigtl.TransformMessage(payload, timestamp=stamp, device_name="ProbeToTracker")
            server.send_message(msg, wait=True)

    igtl_stream.start_thread(stream)
    rc = main(["calibrate", "temporal", "--igtl", igtl_stream.address, "--seconds", "7.5",
               "--out", str(tmp_path / "temporal.toml"), "--json"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "Move the probe up and down" in err
    summary = json.loads(out.strip().splitlines()[-1])
    assert abs(summary["temporal_offset_ms"] - 37.0) < 3.0
    assert summary["mm_per_px"] == pytest.approx(list(sim.mm_per_px))
    assert (tmp_path / "temporal.capture" / "frames.jsonl").is_file()
