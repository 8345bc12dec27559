"""A tiny real training run: checkpoints, resume, exported weights with a loadable model card."""

from __future__ import annotations

import json
import shutil

import pytest

from vision.segmentation.modelcard import load_model
from vision.segmentation.train import TrainConfig, train


@pytest.fixture()
def tiny_data(tmp_path, usgra_dir):
    d = tmp_path / "data"
    (d / "images").mkdir(parents=True)
    (d / "masks").mkdir()
    for name in sorted(p.name for p in (usgra_dir / "images").iterdir())[:5]:
        shutil.copy(usgra_dir / "images" / name, d / "images" / name)
        shutil.copy(usgra_dir / "masks" / name, d / "masks" / name)
    return d


def test_tiny_training_exports_weights_card_and_curve_and_resumes(tiny_data, tmp_path):
    out = tmp_path / "run"
    cfg = TrainConfig(epochs=1, size=64, batch=2, phantom_bank=2, phantom_fraction=0.5, val_every=1,
                      arch_kwargs={"widths": [8, 8, 16, 16, 16]}, threads=1)
    weights = train(tiny_data, out, cfg, progress=False)
    for name in ("model.pt", "metadata.json", "curve.png", "checkpoint.pt", "history.json", "val_worst.png"):
        assert (out / name).is_file(), name
    card = json.loads((out / "metadata.json").read_text())
    assert card["input"]["size"] == [64, 64] and card["training"]["n_val"] == 1
    assert set(card["training"]["val_ids"]).isdisjoint({"x"}) and len(card["training"]["val_ids"]) == 1
    assert "CC-BY 4.0" in card["training"]["data"]["licence"]
    assert 0.0 <= card["metrics"]["nerve"]["dice"] <= 1.0
    model, card2 = load_model(weights)
    assert card2["arch"] == "ours"
    # resume with one more epoch is refused (other settings), the same settings finish at once
    history = json.loads((out / "history.json").read_text())
    train(tiny_data, out, cfg, resume=True, progress=False)
    assert json.loads((out / "history.json").read_text()) == history
