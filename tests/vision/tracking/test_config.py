"""TrackingConfig: defaults, nested TOML tables through section_from_dict, range errors naming the
dotted key, and the flat keys of the previous release read with a deprecation line."""

from __future__ import annotations

import dataclasses
import logging

import pytest

from core.configtools import flat_keys, section_from_dict, section_to_dict
from core.errors import ConfigError
from vision.tracking.config import DetectorConfig, FilterConfig, PoseConfig, SyncConfig, TrackingConfig


def test_defaults_round_trip():
    cfg = TrackingConfig()
    assert section_from_dict(TrackingConfig, section_to_dict(cfg), "tracking") == cfg
    assert set(section_to_dict(cfg)) == {"detector", "pose", "filter", "sync"}


@pytest.mark.parametrize("stage,key,value", [
    ("pose", "max_reproj_err_px", -1.0), ("filter", "kind", "median"), ("sync", "buffer_size", 1),
    ("detector", "corner_refinement", "magic"), ("detector", "adaptive_thresh_win_min", 2),
    ("sync", "max_pose_age_ms", 0.0), ("detector", "fast_window", 2), ("detector", "fast_window", 103),
    ("sync", "max_pose_age_hard_ms", 0.0), ("sync", "pose_age_grace_ms", -1.0),
    ("sync", "max_pose_age_hard_ms", 50.0),  # below max_pose_age_ms (100)
    ("detector", "adaptive_thresh_win_max", 4),  # below adaptive_thresh_win_min (5)
    ("detector", "refine_with_board", 1), ("filter", "reset_ms", 0.5), ("pose", "min_charuco_corners", 3.5),
])
def test_bad_values_name_the_key(stage, key, value):
    with pytest.raises(ConfigError, match=rf"tracking\.{stage}\.{key}\b"):
        section_from_dict(TrackingConfig, {stage: {key: value}}, "tracking")


def test_declared_range_message():
    with pytest.raises(ConfigError) as e:
        section_from_dict(TrackingConfig, {"pose": {"max_reproj_err_px": 99}}, "tracking")
    assert str(e.value) == "tracking.pose.max_reproj_err_px = 99.0 is invalid; allowed: a number 0.05..50"
    with pytest.raises(ConfigError) as e:
        SyncConfig(buffer_size=1)
    assert str(e.value) == "tracking.sync.buffer_size = 1 is invalid; allowed: an integer 2..100000"
    with pytest.raises(ConfigError, match="tracking.filter.kind = 'median' is invalid; allowed: 'kalman' or"):
        FilterConfig(kind="median")  # type: ignore[arg-type]


def test_unknown_key():
    with pytest.raises(ConfigError, match="tracking.speed: unknown key"):
        section_from_dict(TrackingConfig, {"speed": 3}, "tracking")
    with pytest.raises(ConfigError, match="tracking.sync.speed: unknown key"):
        section_from_dict(TrackingConfig, {"sync": {"speed": 3}}, "tracking")
    with pytest.raises(ConfigError, match="tracking.sync must be a table"):
        section_from_dict(TrackingConfig, {"sync": 3}, "tracking")


def test_pose_age_hysteresis_defaults_keep_an_explicit_safety_bound():
    cfg = TrackingConfig().sync
    assert cfg.max_pose_age_ms == 100.0 and cfg.max_pose_age_hard_ms == 200.0 and cfg.pose_age_grace_ms == 150.0
    assert cfg.max_pose_age_ms <= cfg.max_pose_age_hard_ms
    with pytest.raises(ConfigError, match=r"tracking\.sync\.max_pose_age_hard_ms .* >= tracking\.sync\.max_pose_age_ms"):
        section_from_dict(TrackingConfig, {"sync": {"max_pose_age_ms": 300.0}}, "tracking")


def test_each_stage_has_its_own_fields():
    stages = {"detector": DetectorConfig, "pose": PoseConfig, "filter": FilterConfig, "sync": SyncConfig}
    assert {f.name: f.type for f in dataclasses.fields(TrackingConfig)} == {k: v.__name__ for k, v in stages.items()}
    names = [g.name for cls in stages.values() for g in dataclasses.fields(cls)]
    assert len(names) == len(set(names)) == 52


def test_flat_keys_of_the_previous_release_are_moved_with_one_line_each(caplog):
    flat = {"max_pose_age_ms": 120.0, "filter": "one_euro", "filter_reset_ms": 250.0, "fast_window": 0,
            "max_reproj_err_px": 0.8}
    with caplog.at_level(logging.WARNING, logger="core.configtools"):
        cfg = section_from_dict(TrackingConfig, flat, "tracking")
    assert cfg == TrackingConfig(detector=DetectorConfig(fast_window=0), pose=PoseConfig(max_reproj_err_px=0.8),
                                 filter=FilterConfig(kind="one_euro", reset_ms=250.0),
                                 sync=SyncConfig(max_pose_age_ms=120.0))
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["tracking.max_pose_age_ms is deprecated: write it as tracking.sync.max_pose_age_ms",
                     "tracking.filter is deprecated: write it as tracking.filter.kind",
                     "tracking.filter_reset_ms is deprecated: write it as tracking.filter.reset_ms",
                     "tracking.fast_window is deprecated: write it as tracking.detector.fast_window",
                     "tracking.max_reproj_err_px is deprecated: write it as tracking.pose.max_reproj_err_px"]
    assert flat == {"max_pose_age_ms": 120.0, "filter": "one_euro", "filter_reset_ms": 250.0, "fast_window": 0,
                    "max_reproj_err_px": 0.8}  # the caller's table is left alone


def test_flat_and_nested_keys_mix_and_a_bad_flat_value_names_its_new_key(caplog):
    cfg = section_from_dict(TrackingConfig, {"buffer_size": 64, "sync": {"max_pose_age_ms": 90.0}}, "tracking")
    assert cfg.sync == SyncConfig(buffer_size=64, max_pose_age_ms=90.0)
    with pytest.raises(ConfigError, match=r"tracking\.sync\.max_pose_age_ms = 0\.0 is invalid"):
        section_from_dict(TrackingConfig, {"max_pose_age_ms": 0.0}, "tracking")


@pytest.mark.parametrize("flat,nested", [("max_pose_age_ms", ("sync", "max_pose_age_ms")),
                                         ("filter_reset_ms", ("filter", "reset_ms"))])
def test_a_key_given_flat_and_nested_is_an_error_naming_both(flat, nested):
    with pytest.raises(ConfigError) as e:
        section_from_dict(TrackingConfig, {flat: 120.0, nested[0]: {nested[1]: 120.0}}, "tracking")
    assert f"tracking.{flat} and tracking.{nested[0]}.{nested[1]} are both given" in str(e.value)


def test_every_field_of_the_previous_release_has_a_place():
    old = ["fast_window", "fast_thresh_constant", "fast_pixels_per_cell", "adaptive_thresh_win_min",
           "adaptive_thresh_win_max", "adaptive_thresh_win_step", "adaptive_thresh_constant",
           "min_marker_perimeter_rate", "cell_margin", "pixels_per_cell", "error_correction_rate",
           "corner_refinement", "refine_with_board", "small_marker_regions", "min_charuco_corners",
           "corner_window_frac", "corner_guard_px", "corner_max_shift_frac", "corner_min_isotropy",
           "max_reproj_err_px", "max_marker_reproj_err_px", "marker_consistency_px", "outlier_px", "ambiguity_chi2",
           "occluded_fraction", "max_trans_std_mm", "max_rot_std_deg", "sigma_floor_px", "prior_max_age_ms",
           "filter", "kalman_accel_mm_s2", "kalman_ang_accel_deg_s2", "kalman_meas_scale", "kalman_adaptive",
           "one_euro_min_cutoff_hz", "one_euro_beta", "one_euro_d_cutoff_hz", "filter_reset_ms", "buffer_size",
           "temporal_offset_ms", "max_pose_age_ms", "max_pose_age_hard_ms", "pose_age_grace_ms",
           "max_interp_gap_ms", "max_extrapolation_ms"]
    new = ["acceptance", "consistency_alpha", "corner_sigma_scale", "calibration_sigma_px", "sharpen_retry",
           "sharpen_sigma_px", "lost_confirm_frames"]  # added since, nested only
    assert sorted(flat_keys(TrackingConfig)) == sorted(old + new)
