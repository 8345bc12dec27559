"""A tiny real training run: checkpoints, resume, exported weights with a loadable model card."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from core.errors import InputError
from research.segmentation.train import TrainConfig, WeightAverage, dice_ce_loss, protocol_check, train
from vision.segmentation.modelcard import load_model


@pytest.fixture()
def tiny_data(usgra_subset):
    return usgra_subset(5)


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


def test_per_image_dice_ignores_classes_absent_from_an_image():
    target = torch.zeros(2, 8, 8, dtype=torch.long)
    target[0, 2:6, 2:6] = 1                              # image 0: a nerve, no vessel
    target[1, 1:4, 1:4] = 2                              # image 1: a vessel, no nerve
    perfect = F.one_hot(target, 3).permute(0, 3, 1, 2).float() * 40.0 - 20.0
    cw = torch.ones(3)
    assert dice_ce_loss(perfect, target, cw, 1.0, "image").item() < 1e-3
    wrong = perfect.clone()
    wrong[0] = perfect[1]                                # image 0 now predicts image 1's labels
    assert dice_ce_loss(wrong, target, cw, 1.0, "image").item() > 0.5
    assert dice_ce_loss(wrong, target, cw, 0.0).item() == pytest.approx(F.cross_entropy(wrong, target).item())


def test_weight_average_follows_the_weights_with_warm_up():
    m = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        m.weight.fill_(0.0)
    avg = WeightAverage(m, decay=0.9)
    with torch.no_grad():
        m.weight.fill_(1.0)
    avg.update(m)                                        # warm-up decay min(0.9, 2/11)
    assert avg.state["weight"][0, 0].item() == pytest.approx(1.0 - 2.0 / 11.0)
    for _ in range(200):
        avg.update(m)
    target = torch.nn.Linear(2, 1, bias=False)
    avg.copy_to(target)
    assert target.weight[0, 0].item() == pytest.approx(1.0, abs=1e-6)


def test_dev_fold_training_holds_out_part_of_the_training_images(tiny_data, tmp_path):
    cfg = TrainConfig(epochs=1, size=64, batch=2, phantom_fraction=0.0, dev_fold=1, n_dev_folds=2,
                      arch_kwargs={"widths": [8, 8, 16, 16, 16]}, threads=1)
    train(tiny_data, tmp_path / "dev", cfg, progress=False)
    card = json.loads((tmp_path / "dev" / "metadata.json").read_text())
    assert "development fold 1" in card["training"]["split"] and card["training"]["n_val"] >= 1
    assert card["training"]["n_train"] + card["training"]["n_val"] == 4    # the 5th image is the validation split
    assert card["training"]["arch_kwargs"]["decoder"] == "add"


def test_final_refit_trains_on_every_image_and_carries_the_protocol_estimate(tiny_data, tmp_path):
    small = {"widths": [8, 8, 16, 16, 16]}
    held = TrainConfig(epochs=1, size=64, batch=2, phantom_fraction=0.0, arch_kwargs=small, threads=1)
    train(tiny_data, tmp_path / "held", held, progress=False)
    held_card = json.loads((tmp_path / "held" / "metadata.json").read_text())
    refit = replace(held, val_fraction=0.0, val_every=5)   # how often it validates is not the protocol
    weights = train(tiny_data, tmp_path / "refit", refit, progress=False,
                    protocol_card=tmp_path / "held" / "metadata.json")
    card = json.loads(weights.with_name("metadata.json").read_text())
    assert card["training"]["n_train"] == 5 and card["training"]["n_val"] == 0 and card["training"]["val_ids"] == []
    assert "final refit" in card["training"]["split"] and card["version"].endswith("-refit")
    check = card["training"]["protocol_check"]
    assert check["val_ids"] == held_card["training"]["val_ids"] and check["n_val"] == 1
    assert card["metrics"]["nerve"]["dice"] == held_card["metrics"]["nerve"]["dice"]
    assert card["metrics"]["split"].startswith("protocol estimate, not of these weights")
    load_model(weights)


def test_protocol_card_must_repeat_the_measured_settings(tiny_data, tmp_path):
    small = {"widths": [8, 8, 16, 16, 16]}
    held = TrainConfig(epochs=1, size=64, batch=2, phantom_fraction=0.0, arch_kwargs=small, threads=1)
    train(tiny_data, tmp_path / "held", held, progress=False)
    card = tmp_path / "held" / "metadata.json"
    with pytest.raises(InputError, match=r"other settings \(epochs=1, weight_decay"):
        protocol_check(card, replace(held, val_fraction=0.0, epochs=2, weight_decay=0.05))
    with pytest.raises(InputError, match="add --val-fraction 0"):
        train(tiny_data, tmp_path / "x", held, progress=False, protocol_card=card)
    broken = tmp_path / "broken.json"
    broken.write_text("{}")
    with pytest.raises(InputError, match=r"broken\.json: not a model card"):
        protocol_check(broken, held)
    refit_card = json.loads(card.read_text())
    refit_card["training"]["val_ids"] = []
    card.write_text(json.dumps(refit_card))
    with pytest.raises(InputError, match="held out no validation split"):
        protocol_check(card, replace(held, val_fraction=0.0))


def test_split_seed_keeps_the_split_while_the_run_seed_changes(tiny_data, tmp_path):
    small = {"widths": [8, 8, 16, 16, 16]}
    cards = []
    for name, seed in (("a", 0), ("b", 5)):
        cfg = TrainConfig(epochs=1, size=64, batch=2, phantom_fraction=0.0, arch_kwargs=small, seed=seed, split_seed=0)
        train(tiny_data, tmp_path / name, cfg, progress=False)
        cards.append(json.loads((tmp_path / name / "metadata.json").read_text()))
    assert cards[0]["training"]["val_ids"] == cards[1]["training"]["val_ids"]
    assert cards[0]["weights"]["sha256"] != cards[1]["weights"]["sha256"]
