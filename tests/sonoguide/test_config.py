"""Configuration: defaults, TOML round trip, and refusals that name the key."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from sonoguide.config import Config, config_from_dict, dump_toml, load_config
from core.errors import ConfigError

EXE = str(Path(sys.executable).with_name("sonoguide"))


def test_defaults_are_valid_and_round_trip_through_toml(tmp_path):
    cfg = Config()
    text = dump_toml(cfg)
    p = tmp_path / "c.toml"
    p.write_text(text)
    assert load_config(p) == cfg
    assert {"network", "ultrasound", "camera", "phantom", "calibration", "pipeline", "recording", "segmentation",
            "tracking", "needle", "voice"} <= set(tomllib.loads(text))


def test_file_values_override_defaults(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text('[phantom]\npreset = "interscalene"\nseed = 4\n[ultrasound]\nfps = 20\n'
                 '[network]\npub_endpoint = "tcp://127.0.0.1:6000"\n')
    cfg = load_config(p)
    assert cfg.phantom.preset == "interscalene" and cfg.phantom.seed == 4
    assert cfg.ultrasound.fps == 20.0 and isinstance(cfg.ultrasound.fps, float)
    assert cfg.network.pub_endpoint == "tcp://127.0.0.1:6000" and cfg.network.control_endpoint.endswith(":5557")


@pytest.mark.parametrize("data, key", [
    ({"phantom": {"bogus": 1}}, "phantom.bogus"),
    ({"bogus": {}}, "[bogus]"),
    ({"network": {"heartbeat_hz": "fast"}}, "network.heartbeat_hz"),
    ({"network": {"heartbeat_hz": 1.0}}, "network.heartbeat_hz"),
    ({"pipeline": {"send_image": 1}}, "pipeline.send_image"),
    ({"ultrasound": {"source": "device:0"}}, "ultrasound.mm_per_px"),
    ({"ultrasound": {"mm_per_px": [0.1]}}, "ultrasound.mm_per_px"),
    ({"camera": {"source": "device:1"}}, "camera.intrinsics"),
    ({"calibration": {"max_rms_mm": -1}}, "calibration.max_rms_mm"),
    ({"voice": {"engine": "siri"}}, "voice.engine"),
    ({"network": []}, "network"),
])
def test_bad_values_name_the_key(data, key):
    with pytest.raises(ConfigError) as e:
        config_from_dict(data)
    assert key in str(e.value)


def test_config_show_prints_loadable_toml(tmp_path):
    p = subprocess.run([EXE, "config", "show"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert config_from_dict(tomllib.loads(p.stdout)) == Config()
    assert "\n# mm_per_px = unset (optional: a list of 2 numbers)\n" in p.stdout


@pytest.mark.parametrize("data", [{}, {"ultrasound": {"source": "device:0", "mm_per_px": [0.1, 0.2]}}])
def test_dump_toml_shows_every_key_and_reads_back(tmp_path, data):
    import dataclasses
    cfg = config_from_dict(data)
    text = dump_toml(cfg)
    lines = text.splitlines()
    for section in dataclasses.fields(cfg):
        for f in dataclasses.fields(getattr(cfg, section.name)):
            shown = [ln for ln in lines if ln.startswith((f"{f.name} = ", f"# {f.name} = unset"))]
            assert shown, f"{section.name}.{f.name} is missing from config show"
    if not data:
        assert "# mm_per_px = unset (optional: a list of 2 numbers)" in lines
    else:
        assert "mm_per_px = [0.1, 0.2]" in lines
    p = tmp_path / "c.toml"
    p.write_text(text)
    assert load_config(p) == cfg


def _every_path(root: Path) -> dict:
    """A configuration naming every input path key, all under ``root``."""
    return {
        "ultrasound": {"source": f"folder:{root / 'us'}", "mm_per_px": [0.1, 0.1]},
        "camera": {"source": str(root / "cam.mp4"), "intrinsics": str(root / "camera.json"),
                   "board": str(root / "board.json")},
        "calibration": {"image_to_marker": str(root / "i2m.json"), "camera_to_headset": str(root / "c2h.json")},
        "segmentation": {"model": str(root / "model.pt")},
        "voice": {"command_set": str(root / "commands.toml"), "calibration": str(root / "voice_cal.json"),
                  "wav_path": str(root / "audio.wav"), "vad_model": str(root / "vad.npz"),
                  "vosk_model": str(root / "vosk"), "verifier": str(root / "verifier")},
        "network": {"curve": True, "curve_dir": str(root / "curve")},
    }


PATH_KEYS = ["ultrasound.source", "camera.source", "camera.intrinsics", "camera.board", "calibration.image_to_marker",
             "calibration.camera_to_headset", "segmentation.model", "voice.command_set", "voice.calibration",
             "voice.wav_path", "voice.vad_model", "voice.vosk_model", "voice.verifier", "network.curve_dir"]


def test_load_config_accepts_placeholder_paths_and_check_paths_names_each_missing_one(tmp_path):
    from sonoguide.config import check_paths
    cfg = config_from_dict(_every_path(tmp_path / "missing"))  # loading never touches the disk
    problems = check_paths(cfg)
    assert [p.key for p in problems] == PATH_KEYS
    assert all(p.problem == "not found" and str(tmp_path / "missing") in p.path for p in problems)
    first = str(problems[0])
    assert first.startswith("ultrasound.source = ") and str(tmp_path / "missing" / "us") in first
    assert str(problems[4]) == f'calibration.image_to_marker = "{tmp_path / "missing" / "i2m.json"}": file not found'


def test_check_paths_passes_defaults_and_existing_paths_and_refuses_the_wrong_kind(tmp_path):
    from sonoguide.config import check_paths
    assert check_paths(Config()) == []
    data = _every_path(tmp_path)
    for key in PATH_KEYS:
        section, name = key.split(".")
        value = data[section][name].removeprefix("folder:")
        if name in ("vosk_model", "verifier", "curve_dir") or key == "ultrasound.source":
            Path(value).mkdir()
        else:
            Path(value).write_bytes(b"x")
    assert check_paths(config_from_dict(data)) == []
    data["calibration"]["image_to_marker"] = str(tmp_path / "vosk")  # a folder where a file belongs
    data["voice"]["vosk_model"] = str(tmp_path / "model.pt")  # and the reverse
    problems = check_paths(config_from_dict(data))
    assert [(p.key, p.problem) for p in problems] == [("calibration.image_to_marker", "is a folder"),
                                                      ("voice.vosk_model", "is a file")]
    assert str(problems[0]).endswith(": is a folder, not a file")
