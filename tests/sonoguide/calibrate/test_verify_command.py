"""``sonoguide calibrate verify``: exit 0 on pass, 3 on fail with one clear line, files and limit from the
[calibration] section, and unusable input as one error line (exit 2)."""

from __future__ import annotations

import json

import pytest

from research.calibration.verify_sim import VerifySimConfig, made_calibrations, simulate_capture
from sonoguide.calibrate.verify import EXIT_FAIL
from sonoguide.cli import main


def _setup(tmp_path, **kw):
    cfg = VerifySimConfig(n_frames=15, seed=21, **kw)
    (tmp_path / "capture.json").write_text(json.dumps(simulate_capture(cfg)))
    i2m, c2h = made_calibrations(cfg)
    i2m.save(tmp_path / "i2m.json")
    c2h.save(tmp_path / "c2h.json")
    return ["calibrate", "verify", "--input", str(tmp_path / "capture.json"), "--out", str(tmp_path / "v.json")]


def _files(tmp_path):
    return ["--image-to-marker", str(tmp_path / "i2m.json"), "--camera-to-headset", str(tmp_path / "c2h.json")]


def test_a_good_chain_passes_with_status_0(tmp_path, capsys):
    argv = _setup(tmp_path, i2m_error_mm=0.2, i2m_error_deg=0.05, c2h_error_mm=0.3, c2h_error_deg=0.05)
    assert main(argv + _files(tmp_path)) == 0
    out = capsys.readouterr().out
    assert out.startswith("PASS: the overlay places the target") and "limit 1.50 mm" in out
    record = json.loads((tmp_path / "v.json").read_text())
    assert record["passed"] and len(record["errors_mm"]) == 15 and record["mean_mm"] < 1.5
    assert (tmp_path / "v.png").stat().st_size > 10_000


def test_a_bad_chain_fails_with_status_3_and_one_line(tmp_path, capsys):
    argv = _setup(tmp_path, c2h_error_mm=4.0)
    assert main(argv + _files(tmp_path) + ["--json"]) == EXIT_FAIL == 3
    cap = capsys.readouterr()
    summary = json.loads(cap.out.strip().splitlines()[-1])
    assert summary["passed"] is False and summary["mean_mm"] > 3.0
    assert cap.err.startswith("FAIL: the overlay places the target") and len(cap.err.strip().splitlines()) == 1
    # a looser limit passes the same chain
    assert main(argv + _files(tmp_path) + ["--limit-mm", "6"]) == 0


def test_files_and_limit_come_from_the_config(tmp_path, capsys):
    argv = _setup(tmp_path, c2h_error_mm=1.0, c2h_error_deg=0.0, i2m_error_mm=0.0, i2m_error_deg=0.0,
                  marker_noise_mm=0.0, marker_noise_deg=0.0, pixel_noise_px=0.0)
    toml = tmp_path / "s.toml"
    toml.write_text(f'[calibration]\nimage_to_marker = "{tmp_path / "i2m.json"}"\n'
                    f'camera_to_headset = "{tmp_path / "c2h.json"}"\nverify_limit_mm = 0.8\n')
    assert main(argv + ["--config", str(toml)]) == EXIT_FAIL  # 1.0 mm > 0.8 mm
    assert "limit 0.80 mm" in capsys.readouterr().out
    toml.write_text(toml.read_text().replace("0.8", "1.2"))
    assert main(argv + ["--config", str(toml)]) == 0


def test_the_criterion_max(tmp_path, capsys):
    argv = _setup(tmp_path, i2m_error_mm=0.0, c2h_error_mm=0.0, i2m_error_deg=0.0, c2h_error_deg=0.0)
    assert main(argv + _files(tmp_path) + ["--limit-mm", "0.3", "--criterion", "max"]) == EXIT_FAIL
    assert "(max over 15 frames)" in capsys.readouterr().out


@pytest.mark.parametrize("extra, message", [
    ([], "no --image-to-marker file"),
    (["--image-to-marker", "{d}/nope.json", "--camera-to-headset", "{d}/c2h.json"], "not found"),
    (["--image-to-marker", "{d}/c2h.json", "--camera-to-headset", "{d}/c2h.json"],
     "camera -> headset, but image -> marker"),
    (["--image-to-marker", "{d}/i2m.json", "--camera-to-headset", "{d}/c2h.json", "--device", "probe=other"],
     "is for probe None, but the configured probe is 'other'"),
    (["--image-to-marker", "{d}/i2m.json", "--camera-to-headset", "{d}/c2h.json", "--limit-mm", "-1"],
     "--limit-mm must be a positive"),
])
def test_unusable_input_is_one_error_line(tmp_path, capsys, extra, message):
    argv = _setup(tmp_path)
    rc = main(argv + [e.format(d=tmp_path) for e in extra])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "v.json").exists()


def test_a_capture_of_another_kind_is_refused(tmp_path, capsys):
    argv = _setup(tmp_path)
    (tmp_path / "capture.json").write_text(json.dumps({"T_tracker_from_stylus": []}))
    assert main(argv + _files(tmp_path)) == 2
    assert "lacks the key(s) pixels, T_camera_from_marker" in capsys.readouterr().err


def test_live_frames_from_a_plus_like_openigtlink_server(tmp_path, capsys, igtl_stream):
    """The target seen as a bright point in streamed images; the probe pose streamed beside them."""
    import numpy as np
    import pyigtl

    cfg = VerifySimConfig(n_frames=12, seed=4, pixel_noise_px=0.0, marker_noise_mm=0.0, marker_noise_deg=0.0,
                          i2m_error_mm=0.0, i2m_error_deg=0.0, c2h_error_mm=0.0, c2h_error_deg=0.0)
    cap = simulate_capture(cfg)
    i2m, c2h = made_calibrations(cfg)
    i2m.save(tmp_path / "i2m.json")
    c2h.save(tmp_path / "c2h.json")
    w, h = cap["image_size"]
    yy, xx = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(1)
    frames = []
    for (u, v), T in zip(cap["pixels"], cap["T_camera_from_marker"]):
        img = rng.rayleigh(14.0, (h, w)) + 150.0 * np.exp(-(((xx - u) / 2.5) ** 2 + ((yy - v) / 2.0) ** 2) / 2)
        frames.append((np.clip(img, 0, 255).astype(np.uint8), np.asarray(T)))
    igtl_stream.start(lambda k: [pyigtl.TransformMessage(frames[(k // 8) % len(frames)][1], device_name="ProbeToTracker"),
                                 pyigtl.ImageMessage(frames[(k // 8) % len(frames)][0][np.newaxis], device_name="Image")])
    rc = main(["calibrate", "verify", "--igtl", igtl_stream.address, "--target-headset-mm",
               *[str(x) for x in cap["p_headset_target_mm"][0]], "--frames", "8", "--timeout", "60",
               "--out", str(tmp_path / "v.json")] + _files(tmp_path))
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "Image the phantom target" in err and out.startswith("PASS")
    record = json.loads((tmp_path / "v.json").read_text())
    assert len(record["errors_mm"]) == 8 and record["mean_mm"] < 0.5
