"""``sonoguide track render`` and ``sonoguide track eval`` end to end, and their errors."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from sonoguide.cli import main


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("track") / "ds"
    assert main(["track", "render", "--out", str(out), "--n", "6", "--seed", "4", "--depth", "250", "400"]) == 0
    return out


def test_render_writes_the_eval_layout(dataset):
    assert (dataset / "camera.json").exists() and (dataset / "board.json").exists()
    assert len(list((dataset / "frames").glob("*.png"))) == 6
    lines = (dataset / "truth.jsonl").read_text().splitlines()
    assert len(lines) == 6 and np.asarray(json.loads(lines[0])["T_camera_from_board"]).shape == (4, 4)


def test_eval_json_summary(dataset, capsys, tmp_path):
    report = tmp_path / "r.png"
    assert main(["track", "eval", "--data", str(dataset), "--json", "--report", str(report)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    summary = json.loads(out[-1])
    assert set(summary) >= {"n", "detected", "trans_rmse_mm", "rot_rmse_deg", "fps"}
    assert summary["n"] == 6 and summary["detected"] >= 5
    assert summary["trans_rmse_mm"] < 1.0 and summary["rot_rmse_deg"] < 1.0  # 6 frames: the benchmark has the figure
    assert summary["fps"] > 0
    img = cv2.imread(str(report))
    assert img is not None and img.shape[0] > 300


def test_eval_without_truth_reports_detection_only(dataset, tmp_path, capsys):
    d = tmp_path / "nt"
    shutil.copytree(dataset, d)
    (d / "truth.jsonl").unlink()
    assert main(["track", "eval", "--data", str(d), "--json", "--no-report"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["trans_rmse_mm"] is None and summary["detected"] >= 5


@pytest.mark.parametrize("damage,needle", [
    ("unreadable", "cannot be read as an image"),
    ("camera_size", "1280x720"),
    ("board", "board.json"),
    ("no_frames", "frames"),
])
def test_bad_input_is_one_clear_error(dataset, tmp_path, capsys, damage, needle):
    d = tmp_path / damage
    shutil.copytree(dataset, d)
    if damage == "unreadable":
        (d / "frames" / "0002.png").write_bytes(b"not a png")
    elif damage == "camera_size":
        cam = json.loads((d / "camera.json").read_text())
        cam["width"], cam["height"] = 640, 480
        cam["K"][0][2], cam["K"][1][2] = 320.0, 240.0
        (d / "camera.json").write_text(json.dumps(cam))
    elif damage == "board":
        (d / "board.json").write_text('{"type": "charuco", "dictionary": "DICT_4X4_50"}')
    else:
        shutil.rmtree(d / "frames")
    code = main(["track", "eval", "--data", str(d), "--no-report"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: ") and needle in err[0]


def test_frames_without_markers_are_lost(dataset, tmp_path, capsys):
    d = tmp_path / "blank"
    shutil.copytree(dataset, d)
    for p in (d / "frames").glob("*.png"):
        cv2.imwrite(str(p), np.full((720, 1280), 90, np.uint8))
    assert main(["track", "eval", "--data", str(d), "--json", "--no-report"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["detected"] == 0 and summary["trans_rmse_mm"] is None
