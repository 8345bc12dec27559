"""The committed weights and their model card: declared spec, attribution, and bad files."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from core.errors import ModelError
from vision.segmentation.modelcard import BUNDLED_WEIGHTS, CLASS_SPEC, card_path, load_model, save_weights, sha256
from vision.segmentation.model import build_model


def test_bundled_weights_match_their_declared_input_output_spec():
    model, card = load_model()
    size = card["input"]["size"]
    assert size[0] == size[1] and size[0] % 32 == 0 and card["input"]["channels"] == 1
    assert [c["name"] for c in card["classes"]] == ["background", "nerve", "vessel"]
    x = (torch.rand(1, 1, *size) - card["input"]["mean"]) / card["input"]["std"]
    with torch.inference_mode():
        y = model(x)
    assert list(y.shape) == card["output"]["shape"]
    assert card["output"]["activation"].startswith("softmax")
    assert card["weights"]["sha256"] == sha256(BUNDLED_WEIGHTS)
    assert BUNDLED_WEIGHTS.stat().st_size + card_path(BUNDLED_WEIGHTS).stat().st_size < 20 * 2**20


def test_model_card_carries_attribution_metrics_and_provenance():
    card = json.loads(card_path(BUNDLED_WEIGHTS).read_text())
    data = card["training"]["data"]
    assert "tmkand/usgra-seg" in data["source"] and "66dc77d" in data["source"]
    assert "Kandaouroff" in data["authors"] and "CC-BY 4.0" in data["licence"]
    tr = card["training"]
    assert len(tr["val_ids"]) == tr["n_val"]
    if not tr["val_ids"]:                     # a final refit: held-out evidence is its protocol's
        check = tr["protocol_check"]
        assert len(check["val_ids"]) == check["n_val"] > 0 and check["val_fraction"] > 0
        assert card["metrics"]["split"].startswith("protocol estimate, not of these weights")
        cv = tr.get("protocol_crossval")       # the cross-validated estimate supersedes the single split's
        estimate = cv["metrics"] if cv else check["metrics"]
        assert card["metrics"]["nerve"] == estimate["nerve"] and card["metrics"]["vessel"] == estimate["vessel"]
        if cv:
            assert sum(len(f["val_ids"]) for f in cv["folds"]) == cv["n_images"] == card["metrics"]["n_images"]
    for cls in ("nerve", "vessel"):
        assert 0.0 <= card["metrics"][cls]["dice"] <= 1.0
    assert card["version"] and card["date"] and card["git"]


def _copy_bundle(tmp_path):
    dst = tmp_path / "model.pt"
    shutil.copy(BUNDLED_WEIGHTS, dst)
    shutil.copy(card_path(BUNDLED_WEIGHTS), card_path(dst))
    int8 = BUNDLED_WEIGHTS.with_name("model_int8.pt")
    if int8.exists():
        shutil.copy(int8, tmp_path / int8.name)
    return dst


def test_missing_weights_name_the_file(tmp_path):
    with pytest.raises(ModelError, match="nothere.pt"):
        load_model(tmp_path / "nothere.pt")


def test_corrupt_weights_name_the_file(tmp_path):
    w = _copy_bundle(tmp_path)
    data = bytearray(w.read_bytes())
    data[len(data) // 2:len(data) // 2 + 64] = b"\0" * 64
    w.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=r"model\.pt.*corrupt"):
        load_model(w)


def test_truncated_weights_with_matching_checksum_are_refused(tmp_path):
    w = _copy_bundle(tmp_path)
    w.write_bytes(w.read_bytes()[:1000])
    card = json.loads(card_path(w).read_text())
    card["weights"]["sha256"] = sha256(w)
    card_path(w).write_text(json.dumps(card))
    with pytest.raises(ModelError, match=r"model\.pt.*cannot read weights"):
        load_model(w)


def test_weights_of_another_architecture_are_refused(tmp_path):
    w = tmp_path / "model.pt"
    card = json.loads(card_path(BUNDLED_WEIGHTS).read_text())
    wrong = build_model("ours", widths=(8, 8, 8, 8, 8))
    save_weights(wrong, "ours", {}, w, card)          # declares default widths, holds others
    with pytest.raises(ModelError, match=r"model\.pt.*do not match"):
        load_model(w)


def test_missing_or_broken_card_names_the_card(tmp_path):
    w = _copy_bundle(tmp_path)
    card_path(w).write_text("{not json")
    with pytest.raises(ModelError, match=r"metadata\.json.*JSON"):
        load_model(w)
    card_path(w).unlink()
    with pytest.raises(ModelError, match=r"model\.pt.*metadata\.json.*missing"):
        load_model(w)


def test_card_declaring_other_classes_is_refused(tmp_path):
    w = _copy_bundle(tmp_path)
    card = json.loads(card_path(w).read_text())
    card["classes"] = CLASS_SPEC[:2]
    card_path(w).write_text(json.dumps(card))
    with pytest.raises(ModelError, match="classes"):
        load_model(w)


def test_segmenter_reports_a_bad_model_path_as_model_error(tmp_path):
    from vision.segmentation.config import SegmentationConfig
    from vision.segmentation.segmenter import Segmenter
    bad = tmp_path / "garbage.pt"
    bad.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(ModelError, match="garbage.pt"):
        Segmenter(SegmentationConfig(model=str(bad)))
