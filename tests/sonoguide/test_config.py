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
    p.write_text('[phantom]\nseed = 4\n[phantom.anatomy]\npreset = "interscalene"\n[ultrasound]\nfps = 20\n'
                 '[network]\npub_endpoint = "tcp://127.0.0.1:6000"\n')
    cfg = load_config(p)
    assert cfg.phantom.anatomy.preset == "interscalene" and cfg.phantom.seed == 4
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
    ({"voice": {"engine": {"name": "siri"}}}, "voice.engine.name"),
    ({"voice": {"engine": "siri"}}, "voice.engine.name"),  # the flat key of the previous release
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

    def leaves(obj, prefix):
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            yield from leaves(v, f"{prefix}.{f.name}") if dataclasses.is_dataclass(v) else [f"{prefix}.{f.name}"]

    shown, table = [], ""
    for ln in lines:
        if ln.startswith("["):
            table = ln.strip("[]")
        elif ln:
            shown.append(f"{table}.{ln.removeprefix('# ').split(' = ')[0]}")
    expected = [key for section in dataclasses.fields(cfg) for key in leaves(getattr(cfg, section.name), section.name)]
    assert shown == expected  # every key, in field order, under its own table
    assert "[tracking.sync]" in lines and "[tracking]" not in lines
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
        "voice": {"command_set": str(root / "commands.toml"),
                  "defence": {"calibration": str(root / "voice_cal.json"), "verifier": str(root / "verifier")},
                  "input": {"wav_path": str(root / "audio.wav")}, "vad": {"model": str(root / "vad.npz")},
                  "engine": {"vosk_model": str(root / "vosk")}},
        "network": {"curve": True, "curve_dir": str(root / "curve")},
    }


PATH_KEYS = ["ultrasound.source", "camera.source", "camera.intrinsics", "camera.board", "calibration.image_to_marker",
             "calibration.camera_to_headset", "segmentation.model", "voice.command_set", "voice.defence.calibration",
             "voice.input.wav_path", "voice.vad.model", "voice.engine.vosk_model", "voice.defence.verifier",
             "network.curve_dir"]


def _at(data: dict, key: str) -> tuple[dict, str]:
    """The table holding the dotted ``key`` and the key's last part."""
    *tables, name = key.split(".")
    for t in tables:
        data = data[t]
    return data, name


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
        table, name = _at(data, key)
        value = table[name].removeprefix("folder:")
        if name in ("vosk_model", "verifier", "curve_dir") or key == "ultrasound.source":
            Path(value).mkdir()
        else:
            Path(value).write_bytes(b"x")
    assert check_paths(config_from_dict(data)) == []
    data["calibration"]["image_to_marker"] = str(tmp_path / "vosk")  # a folder where a file belongs
    data["voice"]["engine"]["vosk_model"] = str(tmp_path / "model.pt")  # and the reverse
    problems = check_paths(config_from_dict(data))
    assert [(p.key, p.problem) for p in problems] == [("calibration.image_to_marker", "is a folder"),
                                                      ("voice.engine.vosk_model", "is a file")]
    assert str(problems[0]).endswith(": is a folder, not a file")


# --------------------------------------------------------------------------- declared ranges, nesting, flat keys

def _declared(obj, prefix):
    """``(dotted key, Allowed, annotation)`` of every field of a section and its sub-sections."""
    import dataclasses
    import typing
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if dataclasses.is_dataclass(v):
            yield from _declared(v, f"{prefix}.{f.name}")
        else:
            yield f"{prefix}.{f.name}", f.metadata.get("allowed"), hints[f.name]


def _nested(key: str, value) -> dict:
    out: dict = value
    for part in reversed(key.split(".")):
        out = {part: out}
    return out


def _bad_values():
    import dataclasses
    from core.configtools import Bounds, Choices
    cfg = Config()
    for section in dataclasses.fields(cfg):
        for key, allowed, tp in _declared(getattr(cfg, section.name), section.name):
            if isinstance(allowed, Bounds):
                step = 1 if tp is int else 0.5
                if allowed.lo is not None:
                    yield key, allowed.lo - step
                if allowed.hi is not None:
                    yield key, allowed.hi + step
            elif isinstance(allowed, Choices):
                yield key, "no-such-choice"


BAD_VALUES = list(_bad_values())


def test_every_section_declares_its_ranges():
    sections = {key.split(".")[0] for key, _ in BAD_VALUES}
    assert sections == {"network", "ultrasound", "camera", "phantom", "calibration", "pipeline", "segmentation",
                        "tracking", "needle", "voice", "igtl_server"}
    assert len(BAD_VALUES) > 250


@pytest.mark.parametrize("key, value", BAD_VALUES, ids=[f"{k}={v}" for k, v in BAD_VALUES])
def test_every_declared_range_refuses_a_value_outside_it_naming_the_key(key, value):
    with pytest.raises(ConfigError) as e:
        config_from_dict(_nested(key, value))
    assert f"<dict>: {key} = {value!r} is invalid; allowed: " in str(e.value)


@pytest.mark.parametrize("data, message", [
    ({"tracking": {"detector": {"adaptive_thresh_win_min": 9, "adaptive_thresh_win_max": 7}}},
     "tracking.detector.adaptive_thresh_win_max = 7 is invalid; allowed: a value >= adaptive_thresh_win_min"),
    ({"tracking": {"sync": {"max_pose_age_ms": 300.0}}},
     "tracking.sync.max_pose_age_hard_ms = 200.0 is invalid; allowed: a number >= tracking.sync.max_pose_age_ms (300)"),
    ({"needle": {"detector": {"background_px": [5, 4]}}}, "needle.detector.background_px = (5, 4) is invalid"),
    ({"needle": {"detector": {"min_angle_deg": 50.0, "max_angle_deg": 40.0}}}, "needle.detector.max_angle_deg = 40.0"),
    ({"needle": {"proximity": {"stop_mm": 5.0}}}, "needle.proximity.stop_mm = 5.0 is invalid; allowed: a value <= caution_mm"),
    ({"segmentation": {"gate_on": 0.5, "gate_off": 0.6}}, "segmentation.gate_off = 0.6 is invalid"),
    ({"network": {"control_endpoint": "tcp://127.0.0.1:5556"}}, "network.control_endpoint = 'tcp://127.0.0.1:5556'"),
    ({"network": {"pub_endpoint": "tcp://127.0.0.1:99999"}},
     "network.pub_endpoint = 'tcp://127.0.0.1:99999' is invalid; allowed: a port 1..65535 (got '99999')"),
    ({"igtl_server": {"segmentation_device": "Image"}}, "igtl_server.segmentation_device = 'Image' is invalid"),
    ({"ultrasound": {"source": "device:0"}}, "ultrasound.mm_per_px = None is invalid"),
    ({"camera": {"source": "igtl:host:0"}}, "camera.source = 'igtl:host:0' is invalid"),
])
def test_checks_between_fields_and_custom_checks_name_the_key(data, message):
    with pytest.raises(ConfigError) as e:
        config_from_dict(data)
    assert message in str(e.value)


FLAT_V1 = Path(__file__).parents[1] / "data" / "config" / "config_v1_flat.toml"


def test_an_old_flat_configuration_still_loads_with_one_deprecation_line_per_key(caplog):
    import logging
    from core.configtools import flat_keys
    data = tomllib.loads(FLAT_V1.read_text())
    with caplog.at_level(logging.WARNING, logger="core.configtools"):
        cfg = config_from_dict(data, source="meta.json")  # what replay does with a recording's config_toml
    lines = [r.getMessage() for r in caplog.records]
    moved = [(name, key) for name in ("tracking", "needle", "phantom", "voice") for key in data[name]
             if key in flat_keys(type(getattr(cfg, name)))]
    assert len(moved) == len(lines) > 140 and len(set(lines)) == len(lines)
    for name, key in moved:  # every value at its new place
        sub, new = flat_keys(type(getattr(cfg, name)))[key]
        assert f"{name}.{key} is deprecated: write it as {name}.{sub}.{new}" in lines
        value = getattr(getattr(getattr(cfg, name), sub), new)
        assert value == (tuple(data[name][key]) if isinstance(data[name][key], list) else data[name][key])
    assert cfg.tracking.sync.max_pose_age_ms == 101.0 and cfg.tracking.filter.kind == "one_euro"
    assert cfg.tracking.filter.reset_ms == 303.0 and cfg.tracking.detector.corner_refinement == "contour"
    assert cfg.tracking.pose.min_charuco_corners == 7
    assert cfg.needle.detector.background_px == (6, 11) and cfg.needle.tracker.max_missed == 6
    assert cfg.needle.proximity.stop_mm == 1.01
    assert cfg.phantom.seed == 1 and cfg.phantom.needle.enabled is False and cfg.phantom.motion.enabled is False
    assert cfg.phantom.needle.side == "right" and cfg.phantom.motion.period_s == 8.08
    assert cfg.phantom.anatomy.preset == "interscalene" and cfg.phantom.imaging.depth_mm == 40.4


def test_the_nested_dump_of_an_old_configuration_reads_back_without_deprecation_lines(tmp_path, caplog):
    import logging
    cfg = config_from_dict(tomllib.loads(FLAT_V1.read_text()))
    text = dump_toml(cfg)
    for table in ("[tracking.detector]", "[tracking.pose]", "[tracking.filter]", "[tracking.sync]",
                  "[needle.detector]", "[needle.tracker]", "[needle.proximity]", "[phantom]", "[phantom.imaging]",
                  "[phantom.anatomy]", "[phantom.motion]", "[phantom.vessels]", "[phantom.needle]"):
        assert f"\n{table}\n" in f"\n{text}"
    p = tmp_path / "c.toml"
    p.write_text(text)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="core.configtools"):
        assert load_config(p) == cfg
    assert caplog.records == []


def test_a_key_given_flat_and_nested_in_one_file_is_refused_naming_both(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text("[tracking]\nmax_pose_age_ms = 90\n[tracking.sync]\nmax_pose_age_ms = 80\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    assert str(e.value) == (f"{p}: tracking.max_pose_age_ms and tracking.sync.max_pose_age_ms are both given; "
                            "keep only tracking.sync.max_pose_age_ms")
