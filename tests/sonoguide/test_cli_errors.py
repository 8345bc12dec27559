"""Expected failures of the CLI: one clear line naming the problem and the fix, non-zero exit, no traceback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

EXE = str(Path(sys.executable).with_name("sonoguide"))


def _run(*args: str, cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([EXE, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd)


def _assert_one_line_error(p: subprocess.CompletedProcess, *fragments: str) -> str:
    assert p.returncode != 0, p.stdout + p.stderr
    assert "Traceback" not in p.stderr, p.stderr
    lines = [ln for ln in p.stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 1, p.stderr
    for f in fragments:
        assert f in errors[0], errors[0]
    return errors[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def ports() -> list[str]:
    return ["--pub", f"tcp://127.0.0.1:{_free_port()}", "--control", f"tcp://127.0.0.1:{_free_port()}"]


def test_busy_port(ports):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = f"tcp://127.0.0.1:{s.getsockname()[1]}"
        p = _run("demo", "--duration", "1", "--no-status", "--pub", busy, "--control", ports[3])
    _assert_one_line_error(p, "already in use", "network.pub_endpoint")


def test_missing_and_bad_configuration(tmp_path, ports):
    _assert_one_line_error(_run("demo", "--config", str(tmp_path / "nope.toml"), *ports), "not found")
    bad = tmp_path / "bad.toml"
    bad.write_text("[network]\nbogus = 1\n")
    _assert_one_line_error(_run("config", "check", str(bad)), "network.bogus", "unknown key")
    bad.write_text("[phantom.imaging]\ndepth_mm = 500\n")
    _assert_one_line_error(_run("demo", "--config", str(bad), *ports), "phantom.imaging.depth_mm")
    bad.write_text("[phantom]\ndepth_mm = 500\n")  # the flat key of the previous release: its new name
    p = _run("config", "check", str(bad))
    _assert_one_line_error(p, "phantom.imaging.depth_mm = 500.0 is invalid")
    assert "phantom.depth_mm is deprecated: write it as phantom.imaging.depth_mm" in p.stderr
    bad.write_text("[pipeline]\nsend_image = \"yes\"\n")
    _assert_one_line_error(_run("config", "show", "--config", str(bad)), "pipeline.send_image", "true or false")
    bad.write_text("[network\n")
    _assert_one_line_error(_run("config", "check", str(bad)), "not valid TOML")
    bad.write_text("[knee]\n")
    _assert_one_line_error(_run("config", "check", str(bad)), "unknown section [knee]")


@pytest.mark.parametrize("content", [None, b"this is not a model", b"\x00" * 1000])
def test_missing_or_corrupt_model(tmp_path, ports, content):
    model = tmp_path / "model.pt"
    if content is not None:
        model.write_bytes(content)
    cfg = tmp_path / "c.toml"
    cfg.write_text(f"[segmentation]\nmodel = {json.dumps(str(model))}\n")
    _assert_one_line_error(_run("demo", "--duration", "1", "--config", str(cfg), *ports), str(model))


def _real_sources(tmp_path: Path) -> Path:
    us = tmp_path / "us"
    us.mkdir()
    cv2.imwrite(str(us / "0.png"), np.zeros((64, 64), np.uint8))
    cam = tmp_path / "camera.json"
    cam.write_text(json.dumps({"K": [[500, 0, 32], [0, 500, 32], [0, 0, 1]], "dist": [0, 0, 0, 0, 0],
                               "width": 64, "height": 64}))
    return us


def test_missing_or_corrupt_calibration(tmp_path, ports):
    us = _real_sources(tmp_path)
    cfg = tmp_path / "c.toml"
    base = (f"[ultrasound]\nsource = \"folder:{us}\"\nmm_per_px = [0.1, 0.1]\n"
            f"[camera]\nsource = \"folder:{us}\"\nintrinsics = \"{tmp_path / 'camera.json'}\"\n")
    cfg.write_text(base + f"[calibration]\nimage_to_marker = \"{tmp_path / 'nope.json'}\"\n"
                          f"camera_to_headset = \"{tmp_path / 'nope2.json'}\"\n")
    _assert_one_line_error(_run("run", "--duration", "1", "--config", str(cfg), *ports), "nope.json", "not found")
    (tmp_path / "broken.json").write_text("{ broken")
    cfg.write_text(base + f"[calibration]\nimage_to_marker = \"{tmp_path / 'broken.json'}\"\n"
                          f"camera_to_headset = \"{tmp_path / 'broken.json'}\"\n")
    _assert_one_line_error(_run("run", "--duration", "1", "--config", str(cfg), *ports), "broken.json", "corrupt")
    cfg.write_text(base)
    _assert_one_line_error(_run("run", "--duration", "1", "--config", str(cfg), *ports),
                           "calibration.image_to_marker is not set")


def test_missing_device_and_video(tmp_path, ports):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[ultrasound]\nsource = \"device:97\"\nmm_per_px = [0.1, 0.1]\n[camera]\nsource = \"none\"\n")
    _assert_one_line_error(_run("run", "--duration", "1", "--config", str(cfg), *ports), "device 97")
    cfg.write_text(f"[ultrasound]\nsource = \"{tmp_path / 'scan.mp4'}\"\nmm_per_px = [0.1, 0.1]\n"
                   "[camera]\nsource = \"none\"\n")
    _assert_one_line_error(_run("run", "--duration", "1", "--config", str(cfg), *ports), "scan.mp4", "not found")
    cfg.write_text("[ultrasound]\nsource = \"device:0\"\n")
    _assert_one_line_error(_run("run", "--config", str(cfg), *ports), "ultrasound.mm_per_px")


def test_unreadable_recording(tmp_path):
    _assert_one_line_error(_run("replay", str(tmp_path)), "not a recording")
    (tmp_path / "session.sgrec").write_bytes(b"garbage!")
    _assert_one_line_error(_run("replay", str(tmp_path)), "not a sonoguide recording")


def test_bad_duration(ports):
    _assert_one_line_error(_run("demo", "--duration", "-3", *ports), "--duration")


def test_out_of_range_port_is_refused_not_wrapped(ports):
    """ZeroMQ would bind tcp://127.0.0.1:99999 as port 34463 and the demo exited 0."""
    _assert_one_line_error(_run("demo", "--duration", "1", "--no-status", "--pub", "tcp://127.0.0.1:99999",
                                "--control", ports[3]), "network.pub_endpoint", "1..65535")


def test_plain_text_bind_reachable_from_the_network_needs_insecure(tmp_path, ports):
    cfg = tmp_path / "open.toml"
    cfg.write_text(f'[network]\npub_endpoint = "tcp://0.0.0.0:{_free_port()}"\n')
    _assert_one_line_error(_run("demo", "--duration", "1", "--no-status", "--config", str(cfg),
                                "--control", ports[3]), "network.pub_endpoint", "--insecure", "network.curve")


def test_insecure_is_accepted_and_said_loudly(caplog):
    import logging

    from ar_bridge.config import NetworkConfig
    from core.errors import ConfigError
    with pytest.raises(ConfigError, match="--insecure"):
        NetworkConfig(control_endpoint="tcp://*:5557").check_exposure()
    NetworkConfig(control_endpoint="tcp://[::1]:5557").check_exposure()  # loopback: fine
    NetworkConfig(curve=True, control_endpoint="tcp://*:5557").check_exposure()  # encrypted: fine
    with caplog.at_level(logging.WARNING):
        NetworkConfig(insecure=True, control_endpoint="tcp://*:5557").check_exposure()
    assert "INSECURE" in caplog.text and "tcp://*:5557" in caplog.text


def test_voice_listen_without_microphone_refuses_instead_of_playing_the_demo(tmp_path):
    """'voice listen' printed "show nerve" from the bundled demo script on a machine with no microphone."""
    cfg = tmp_path / "v.toml"
    cfg.write_text('[voice.input]\nmicrophone_device = "no such device 12345"\n')
    p = _run("voice", "listen", "--config", str(cfg), "--duration", "3")
    _assert_one_line_error(p, "no microphone")
    assert p.stdout == ""


def test_unpair_unknown_headset_names_the_paired_ones(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[network]\ncurve_dir = "{tmp_path / "curve"}"\n')
    assert _run("pair", "--name", "hl2", "--config", str(cfg), "--out", str(tmp_path / "hl2.json")).returncode == 0
    _assert_one_line_error(_run("unpair", "quest", "--config", str(cfg)), "quest", "paired: hl2")
    p = _run("unpair", "hl2", "--config", str(cfg))
    assert p.returncode == 0 and "unpaired hl2" in p.stdout
    assert not (tmp_path / "curve" / "authorized_clients" / "hl2.key").exists()


def test_config_check_refuses_missing_paths(tmp_path):
    cfg = tmp_path / "c.toml"
    missing = tmp_path / "cal" / "image_to_marker.json"
    cfg.write_text(f"[calibration]\nimage_to_marker = \"{missing}\"\n")
    line = _assert_one_line_error(_run("config", "check", str(cfg)), "calibration.image_to_marker", str(missing),
                                  "not found")
    assert "camera_to_headset" not in line  # unset keys are not paths to check
    cfg.write_text(f"[camera]\nintrinsics = \"{missing}\"\nboard = \"{tmp_path / 'board.json'}\"\n")
    _assert_one_line_error(_run("config", "check", str(cfg)), f"camera.intrinsics = \"{missing}\"",
                           f"camera.board = \"{tmp_path / 'board.json'}\"")
    missing.parent.mkdir()
    missing.write_text("{}")
    cfg.write_text(f"[calibration]\nimage_to_marker = \"{missing}\"\n")
    p = _run("config", "check", str(cfg))
    assert p.returncode == 0 and p.stdout.strip() == f"{cfg}: ok", p.stdout + p.stderr


def test_source_that_cannot_open_gives_exactly_one_error_line(tmp_path, ports):
    _real_sources(tmp_path)  # camera.json
    junk = tmp_path / "scan.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 8)
    cfg = tmp_path / "c.toml"
    cases = {
        "device 97": "[ultrasound]\nsource = \"device:97\"\nmm_per_px = [0.1, 0.1]\n[camera]\nsource = \"none\"\n",
        "device 98": f"[camera]\nsource = \"device:98\"\nintrinsics = \"{tmp_path / 'camera.json'}\"\n",
        "cannot be decoded": f"[ultrasound]\nsource = \"{junk}\"\nmm_per_px = [0.1, 0.1]\n[camera]\nsource = \"none\"\n",
        "not found": "[ultrasound]\nsource = \"/nonexistent.mp4\"\nmm_per_px = [0.1, 0.1]\n[camera]\nsource = \"none\"\n",
    }
    for fragment, text in cases.items():
        cfg.write_text(text)
        p = _run("run", "--duration", "1", "--no-status", "--config", str(cfg), *ports)
        assert p.returncode != 0
        lines = p.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], p.stderr
