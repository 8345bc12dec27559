"""``sonoguide seg``: one-line errors for bad options, and ``seg card`` re-measuring a model card."""

from __future__ import annotations

import json
import shutil

from sonoguide.cli import main
from research.segmentation.train import TrainConfig, train
from vision.segmentation.modelcard import BUNDLED_WEIGHTS, card_path, load_model, sha256


def test_bad_arch_kwargs_and_dev_fold_are_one_line_errors(tmp_path, capsys):
    base = ["seg", "train", "--data", str(tmp_path), "--out", str(tmp_path / "o")]
    assert main(base + ["--arch-kwargs", "{widths"]) != 0
    assert "--arch-kwargs is not JSON" in capsys.readouterr().err
    assert main(base + ["--arch-kwargs", '{"depth": 3}']) != 0
    assert "does not fit" in capsys.readouterr().err
    assert main(base + ["--dev-fold", "7"]) != 0
    err = capsys.readouterr().err
    assert "--dev-fold 7" in err and "Traceback" not in err
    assert main(base + ["--val-fraction", "1.5"]) != 0
    assert "--val-fraction 1.5 must be in [0, 1)" in capsys.readouterr().err
    assert main(base + ["--protocol-card", str(tmp_path / "m.json")]) != 0
    assert "add --val-fraction 0" in capsys.readouterr().err
    assert main(base + ["--phantom-fraction", "-1"]) != 0
    assert "--phantom-fraction -1.0 must be in [0, 1]" in capsys.readouterr().err
    assert main(base + ["--elastic", "2"]) != 0
    assert "--elastic 2.0 must be a probability" in capsys.readouterr().err
    assert main(base + ["--val-fraction", "0", "--dev-fold", "1"]) != 0
    assert "cannot be combined with --val-fraction 0" in capsys.readouterr().err
    assert main(base + ["--cv-fold", "7"]) != 0
    assert "fold 7 must be 0..3 (--cv-fold)" in capsys.readouterr().err
    assert main(base + ["--cv-fold", "0", "--cv-folds", "1"]) != 0
    assert "at least 2 folds" in capsys.readouterr().err
    assert main(base + ["--cv-fold", "0", "--val-fraction", "0"]) != 0
    err = capsys.readouterr().err
    assert "--cv-fold holds out a fold" in err and "Traceback" not in err


def test_refitted_weights_have_no_validation_split_to_evaluate(usgra_dir, tmp_path, capsys):
    weights = tmp_path / "model.pt"
    shutil.copy(BUNDLED_WEIGHTS, weights)
    card = json.loads(card_path(BUNDLED_WEIGHTS).read_text())
    card["training"].update(val_ids=[], n_val=0)
    card_path(weights).write_text(json.dumps(card))
    assert main(["seg", "eval", "--data", str(usgra_dir), "--model", str(weights), "--split", "val"]) == 2
    err = capsys.readouterr().err
    assert "refitted on every image" in err and "--split all" in err and "Traceback" not in err
    assert main(["seg", "card", "--data", str(usgra_dir), "--model", str(weights)]) == 2
    assert "refitted on every image" in capsys.readouterr().err


def test_eval_on_the_training_data_says_the_figures_are_not_held_out(usgra_subset, tmp_path, capsys):
    data = usgra_subset(2)
    weights = tmp_path / "model.pt"
    shutil.copy(BUNDLED_WEIGHTS, weights)
    card = json.loads(card_path(BUNDLED_WEIGHTS).read_text())
    card["training"]["data_dir"] = str(data)
    card_path(weights).write_text(json.dumps(card))
    args = ["seg", "eval", "--data", str(data), "--model", str(weights), "--report", str(tmp_path / "w.png"),
            "--reliability", str(tmp_path / "rel.png"), "--json"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "trained on" in out and "not held-out figures" in out
    last = json.loads(out.strip().splitlines()[-1])
    assert last["n_images"] == 2
    # the confidence gate's figures: a table, the JSON entry and the reliability diagram
    assert "confidence gate (gate_on 0.90" in out and "gate_on sweep" in out
    assert last["gate"]["gate_on"] == 0.9 and last["gate"]["nerve"]["n_certain"] >= 0
    assert (tmp_path / "rel.png").is_file() and (tmp_path / "w.png").is_file()
    card["training"]["data_dir"] = str(tmp_path / "elsewhere")
    card_path(weights).write_text(json.dumps(card))
    assert main(args) == 0
    assert "not held-out" not in capsys.readouterr().out


def test_card_command_remeasures_metrics_and_keeps_the_checksum_valid(usgra_subset, tmp_path, capsys):
    data = usgra_subset(5)
    cfg = TrainConfig(epochs=1, size=64, batch=2, phantom_fraction=0.0, arch_kwargs={"widths": [8, 8, 16, 16, 16]})
    weights = train(data, tmp_path / "run", cfg, progress=False)
    card_file = weights.with_name("metadata.json")
    card = json.loads(card_file.read_text())
    card["metrics"] = {"split": card["metrics"]["split"]}
    card_file.write_text(json.dumps(card))
    assert main(["seg", "card", "--data", str(data), "--model", str(weights),
                 "--report", str(tmp_path / "worst.png")]) == 0
    assert "model card updated" in capsys.readouterr().out
    new = json.loads(card_file.read_text())
    assert 0.0 <= new["metrics"]["nerve"]["dice"] <= 1.0 and new["metrics"]["n_images"] == 1
    assert set(new["metrics"]["settings"]) >= {"min_confidence", "fill_holes", "flip_tta"}
    assert new["weights"]["sha256"] == sha256(weights) and (tmp_path / "worst.png").is_file()
    load_model(weights)
