"""Rendered imaging conditions and the per-condition evaluation of ``track eval``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from research.tracking.conditions import CONDITIONS, render_condition, sample_condition, visibility
from research.tracking.dataset import DEFAULT_BOARD, default_camera
from core.se3 import make_T, rotvec_to_R
from sonoguide.cli import main
from vision.tracking.board import load_board
from vision.tracking.simulate import SimulatedCamera, board_centre


@pytest.fixture(scope="module")
def scene():
    board, camera = load_board(DEFAULT_BOARD), default_camera()
    T = make_T(rotvec_to_R([0.3, 0.2, 0.4]), [10.0, -5.0, 420.0]) @ make_T(np.eye(3), -board_centre(board))
    return board, camera, SimulatedCamera(board, camera, seed=1), T


@pytest.mark.parametrize("name", CONDITIONS)
def test_every_condition_renders_a_frame_with_its_visibility(scene, name):
    board, camera, sim, T = scene
    rng = np.random.default_rng(4)
    params = sample_condition(rng, name)
    img, vis = render_condition(sim, board, camera, T, params, rng)
    assert img.shape == (720, 1280, 3) and img.dtype == np.uint8
    assert params["condition"] == name and 0.0 <= vis["visible_fraction"] <= 1.0 and vis["span_px"] > 80
    if name == "occlusion":
        assert vis["visible_fraction"] < 1.0
    else:
        assert vis["visible_fraction"] == 1.0


def test_a_board_outside_the_image_is_not_visible(scene):
    board, camera, _, T = scene
    away = make_T(np.eye(3), [2000.0, 0.0, 0.0]) @ T
    assert visibility(board, camera, away)["visible_fraction"] == 0.0


def test_unknown_condition_is_refused(tmp_path, capsys):
    assert main(["track", "render", "--out", str(tmp_path / "x"), "--n", "2", "--conditions", "fog"]) != 0
    assert "unknown render condition" in capsys.readouterr().err


@pytest.fixture(scope="module")
def conditions_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("cond") / "ds"
    assert main(["track", "render", "--out", str(out), "--n", "16", "--seed", "11", "--depth", "250", "450"]) == 0
    return out


def test_eval_reports_per_condition_per_band_and_gross_errors(conditions_set, capsys):
    assert main(["track", "eval", "--data", str(conditions_set), "--json", "--no-report"]) == 0
    out = capsys.readouterr().out
    s = json.loads(out.strip().splitlines()[-1])
    assert set(s["per_condition"]) == set(CONDITIONS)
    assert sum(g["n"] for g in s["per_condition"].values()) == 16 == sum(g["n"] for g in s["per_band"].values())
    assert s["eligible"] <= 16 and s["detected_eligible"] <= s["eligible"]
    assert s["gross_errors"] == 0 and s["detection_rate_eligible"] >= 0.8
    assert "condition" in out and "depth (mm)" in out


def test_the_opencv_baseline_is_scored_the_same_way(conditions_set, capsys):
    assert main(["track", "eval", "--data", str(conditions_set), "--json", "--no-report", "--method", "opencv"]) == 0
    s = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert s["n"] == 16 and set(s["per_condition"]) == set(CONDITIONS) and s["detected"] >= 1
