"""TrackingConfig: defaults, TOML loading through section_from_dict, range errors naming the key."""

from __future__ import annotations

import pytest

from core.configtools import section_from_dict, section_to_dict
from core.errors import ConfigError
from vision.tracking.config import TrackingConfig


def test_defaults_round_trip():
    cfg = TrackingConfig()
    assert section_from_dict(TrackingConfig, section_to_dict(cfg), "tracking") == cfg


@pytest.mark.parametrize("key,value", [("max_reproj_err_px", -1.0), ("filter", "median"), ("buffer_size", 1),
                                       ("corner_refinement", "magic"), ("adaptive_thresh_win_min", 2),
                                       ("max_pose_age_ms", 0.0), ("fast_window", 2),
                                       ("max_pose_age_hard_ms", 0.0), ("pose_age_grace_ms", -1.0),
                                       ("max_pose_age_hard_ms", 50.0)])  # below max_pose_age_ms (100)
def test_bad_values_name_the_key(key, value):
    with pytest.raises(ConfigError, match=f"tracking.{key}"):
        section_from_dict(TrackingConfig, {key: value}, "tracking")


def test_unknown_key():
    with pytest.raises(ConfigError, match="tracking.speed: unknown key"):
        section_from_dict(TrackingConfig, {"speed": 3}, "tracking")


def test_pose_age_hysteresis_defaults_keep_an_explicit_safety_bound():
    cfg = TrackingConfig()
    assert cfg.max_pose_age_ms == 100.0 and cfg.max_pose_age_hard_ms == 200.0 and cfg.pose_age_grace_ms == 150.0
    assert cfg.max_pose_age_ms <= cfg.max_pose_age_hard_ms
    with pytest.raises(ConfigError, match="tracking.max_pose_age_hard_ms .* >= tracking.max_pose_age_ms"):
        section_from_dict(TrackingConfig, {"max_pose_age_ms": 300.0}, "tracking")
