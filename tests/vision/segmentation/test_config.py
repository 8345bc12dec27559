"""Validation of the [segmentation] configuration section."""

from __future__ import annotations

import pytest

from core.configtools import section_from_dict
from core.errors import ConfigError
from vision.segmentation.config import SegmentationConfig, parse_roi


def test_defaults_are_valid_and_load_from_toml_table():
    cfg = section_from_dict(SegmentationConfig, {"roi": "10,20,300,200", "gate_on": 0.95}, "segmentation")
    assert cfg.roi == "10,20,300,200" and cfg.gate_on == 0.95
    assert parse_roi(cfg.roi) == (10, 20, 300, 200)
    assert parse_roi("auto") is None and parse_roi("full") is None


@pytest.mark.parametrize("data, key", [
    ({"roi": "somewhere"}, "segmentation.roi"),
    ({"roi": "1,2,0,5"}, "segmentation.roi"),
    ({"gate_on": 1.5}, "segmentation.gate_on"),
    ({"gate_on": 0.5, "gate_off": 0.6}, "segmentation.gate_off"),
    ({"smoothing": 1.0}, "segmentation.smoothing"),
    ({"device": "tpu"}, "segmentation.device"),
    ({"threads": -1}, "segmentation.threads"),
    ({"min_confidence": 1.0}, "segmentation.min_confidence"),
    ({"fill_holes": 1}, "segmentation.fill_holes"),
    ({"flip_tta": "yes"}, "segmentation.flip_tta"),
    ({"colour": "red"}, "segmentation.colour"),
])
def test_bad_values_name_the_key(data, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        section_from_dict(SegmentationConfig, data, "segmentation")
