"""Configuration: defaults, TOML round trip, and refusals that name the key."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from sonoguide.config import Config, config_from_dict, dump_toml, load_config
from sonoguide.errors import ConfigError

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
