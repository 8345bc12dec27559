"""k-fold cross-validation: tiny real fold runs pooled by ``seg crossval``; bad fold sets refused."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from sonoguide.cli import main
from core.errors import InputError
from research.segmentation.crossval import FoldRun, check_folds, pool
from research.segmentation.train import TrainConfig, train
from vision.segmentation.modelcard import load_model

CPU_OR_CUDA_RUNTIME = "torch" if torch.cuda.is_available() else "opencv"   # segmentation.runtime = "auto"

TINY = TrainConfig(epochs=1, size=64, batch=2, phantom_fraction=0.0, n_cv_folds=2, threads=1,
                   arch_kwargs={"widths": [8, 8, 16, 16, 16]})


def test_two_fold_runs_hold_out_disjoint_folds_and_pool_to_every_image(usgra_subset, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)                         # the default report folder is the working directory
    data = usgra_subset(5)
    runs = [tmp_path / f"cv{k}" for k in range(2)]
    for k, out in enumerate(runs):
        train(data, out, replace(TINY, cv_fold=k), progress=False)
    cards = [json.loads((r / "metadata.json").read_text()) for r in runs]
    for k, card in enumerate(cards):
        assert f"cross-validation fold {k} of 2" in card["training"]["split"]
        assert card["metrics"]["split"].startswith(f"cross-validation fold {k} of 2")
        assert card["training"]["n_train"] + card["training"]["n_val"] == 5
    held = [set(c["training"]["val_ids"]) for c in cards]
    assert held[0].isdisjoint(held[1]) and len(held[0] | held[1]) == 5

    res = pool(data, runs, report_dir=tmp_path / "rep", progress=False)
    assert res["n_images"] == 5 and res["folds_done"] == res["n_folds"] == 2
    assert sorted(r["id"] for r in res["per_image"]) == sorted(held[0] | held[1])
    assert 0.0 <= res["nerve"]["dice"] <= 1.0 and res["nerve"]["dice_fold_sd"] is not None
    assert (tmp_path / "rep" / "worst_fold0.png").is_file() and (tmp_path / "rep" / "worst_fold1.png").is_file()

    # the CLI prints the per-fold lines, the pooled table and a JSON last line
    assert main(["seg", "crossval", "--data", str(data), "--report-dir", str(tmp_path / "rep"), "--json",
                 *map(str, runs)]) == 0
    out = capsys.readouterr().out
    assert "fold 0:" in out and "fold 1:" in out and "nerve" in out
    last = json.loads(out.strip().splitlines()[-1])
    assert last["n_images"] == 5 and last["nerve"]["dice"] == pytest.approx(res["nerve"]["dice"])
    assert last["runtime"] == res["runtime"] == CPU_OR_CUDA_RUNTIME   # what ran the network for the fps
    # the gate is pooled over every held-out structure, with its reliability diagram
    n_structures = sum(len(r["structures"]) for r in res["per_image"])
    assert sum(res["gate"][c]["n_structures"] for c in ("nerve", "vessel")) == n_structures
    assert "confidence gate" in out and (tmp_path / "rep" / "reliability.png").is_file()
    assert last["gate"]["nerve"]["n_certain"] == res["gate"]["nerve"]["n_certain"]

    # the final refit of the same settings carries the pooled figures as its protocol estimate
    refit = train(data, tmp_path / "refit", replace(TINY, val_fraction=0.0), progress=False)
    assert main(["seg", "crossval", "--data", str(data), "--report-dir", str(tmp_path / "rep"), "--card", str(refit),
                 *map(str, runs)]) == 0
    card = json.loads((tmp_path / "refit" / "metadata.json").read_text())
    cv = card["training"]["protocol_crossval"]
    assert cv["n_folds"] == 2 and cv["n_images"] == 5 and [f["fold"] for f in cv["folds"]] == [0, 1]
    assert card["metrics"]["split"].startswith("protocol estimate, not of these weights: 2-fold cross-validation")
    assert card["metrics"]["nerve"]["dice"] == pytest.approx(res["nerve"]["dice"])
    assert card["metrics"]["gate"]["gate_on"] == card["metrics"]["settings"]["gate_on"]
    assert card["metrics"]["runtime"] == CPU_OR_CUDA_RUNTIME
    assert "sweep" not in card["metrics"]["gate"]["nerve"]   # the card keeps the gate as drawn
    load_model(refit)                                   # the rewritten card still loads with its weights
    other = train(data, tmp_path / "other", replace(TINY, val_fraction=0.0, lr=1e-3), progress=False)
    assert main(["seg", "crossval", "--data", str(data), "--card", str(other), *map(str, runs)]) == 2
    assert "other settings than the folds (lr)" in capsys.readouterr().err
    assert not list(tmp_path.glob("worst_fold*.png"))   # refused before any evaluation
    assert main(["seg", "crossval", "--data", str(data), "--card", str(refit), str(runs[0])]) == 2
    assert "only 1 of 2 folds" in capsys.readouterr().err

    # one fold alone is pooled with a note; a run that is not a fold is one clear error line
    assert main(["seg", "crossval", "--data", str(data), "--report-dir", str(tmp_path / "rep"), str(runs[0])]) == 0
    assert "1 of 2 folds given" in capsys.readouterr().out
    plain = tmp_path / "plain"
    train(data, plain, replace(TINY, n_cv_folds=4), progress=False)
    assert main(["seg", "crossval", "--data", str(data), str(runs[0]), str(plain)]) == 2
    err = capsys.readouterr().err
    assert "not a cross-validation fold run" in err and "--cv-fold K" in err and "Traceback" not in err


def _run(fold: int, ids: tuple[str, ...], n_folds: int = 4, seed: int = 0, **cfg) -> FoldRun:
    return FoldRun(Path(f"cv{fold}/model.pt"), fold, n_folds, seed, ids,
                   {"epochs": 300, "cv_fold": fold, "n_cv_folds": n_folds, "threads": 1, **cfg})


def test_folds_of_different_cross_validations_are_refused():
    check_folds([_run(0, ("a", "b")), _run(1, ("c",), threads=2)])      # thread count is free
    with pytest.raises(InputError, match="both fold 1"):
        check_folds([_run(1, ("a",)), _run(1, ("b",))])
    with pytest.raises(InputError, match="split seed 1"):
        check_folds([_run(0, ("a",)), _run(1, ("b",), seed=1)])
    with pytest.raises(InputError, match=r"other settings .*\(epochs\)"):
        check_folds([_run(0, ("a",)), _run(1, ("b",), epochs=100)])
    with pytest.raises(InputError, match="overlap"):
        check_folds([_run(0, ("a", "b")), _run(1, ("b",))])
    with pytest.raises(InputError, match="no fold runs"):
        check_folds([])
