"""The one JSON-file reader: missing, corrupt and non-object files give one clear error of the caller's type."""

from __future__ import annotations

import pytest

from core.errors import CalibrationError, ModelError
from core.jsonfile import load_json


def test_missing_corrupt_and_wrong_shape_each_name_the_file_and_the_fix(tmp_path):
    p = tmp_path / "cal.json"
    with pytest.raises(CalibrationError, match=r"calibration file .*cal\.json not found; recalibrate"):
        load_json(p, what="calibration file", error=CalibrationError, missing_fix="recalibrate", corrupt_fix="x")
    p.write_text("{ not json")
    with pytest.raises(ModelError, match=r"model card .*cal\.json is not valid JSON \(.*\); restore it"):
        load_json(p, what="model card", error=ModelError, missing_fix="x", corrupt_fix="restore it")
    p.write_bytes(b"\xff\xfe")
    with pytest.raises(ModelError, match="not valid JSON"):
        load_json(p, what="model card", error=ModelError, missing_fix="x", corrupt_fix="restore it")
    p.write_text("[1, 2]")
    with pytest.raises(ModelError, match="must hold a JSON object"):
        load_json(p, what="model card", error=ModelError, missing_fix="x", corrupt_fix="restore it")
    assert load_json(p, what="list", error=ModelError, missing_fix="x", corrupt_fix="y", require_object=False) == [1, 2]
    p.write_text('{"a": 1}')
    assert load_json(p, what="card", error=ModelError, missing_fix="x", corrupt_fix="y") == {"a": 1}
