"""ONNX export (``seg export``): the exported graph reproduces the torch network, says what it
is, runs in OpenCV with any batch size; bad graphs and paths are clear errors."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import onnx
import pytest
import torch

from sonoguide.cli import main
from core.errors import InputError, ModelError
from research.segmentation.export import export_file, phantom_frames
from vision.segmentation.modelcard import BUNDLED_WEIGHTS, card_path, load_model
from vision.segmentation.onnx_export import (INPUT_NAME, MAX_ABS_DIFF, OUTPUT_NAME, check_against_torch,
                                             check_inputs, onnx_bytes, read_opencv)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx") / "seg.onnx"
    return export_file(None, out), out


def test_exported_file_reproduces_torch_and_carries_the_card(exported):
    report, out = exported
    assert out.is_file() and report["bytes"] == out.stat().st_size
    assert report["max_abs_diff"] <= MAX_ABS_DIFF
    assert not list(out.parent.glob("*.tmp"))
    proto = onnx.load(str(out))
    onnx.checker.check_model(proto)
    assert [i.name for i in proto.graph.input] == [INPUT_NAME]
    assert [o.name for o in proto.graph.output] == [OUTPUT_NAME]
    props = {p.key: p.value for p in proto.metadata_props}
    card = json.loads(card_path(BUNDLED_WEIGHTS).read_text())
    assert props["sonoguide.name"] == card["name"] and props["sonoguide.version"] == card["version"]
    assert props["sonoguide.source_sha256"] == card["weights"]["sha256"]
    assert json.loads(props["sonoguide.input"]) == card["input"]
    assert [c["name"] for c in json.loads(props["sonoguide.classes"])] == ["background", "nerve", "vessel"]


def test_opencv_runs_the_file_with_any_batch_size_like_torch(exported):
    _, out = exported
    model, card = load_model()
    size = card["input"]["size"][0]
    x = check_inputs(card, phantom_frames(size))            # a blank and two phantom frames: batch 3
    net = cv2.dnn.readNetFromONNX(str(out))
    net.setInput(x)
    logits = net.forward()
    assert logits.shape == (3, 3, size, size)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    assert np.array_equal(logits.argmax(1), ref.argmax(1))
    assert check_against_torch(net, model, x[1:2], "seg.onnx") <= MAX_ABS_DIFF


def test_a_graph_of_other_weights_or_garbage_is_refused(exported, tmp_path):
    model, card = load_model()
    other = load_model()[0]
    with torch.no_grad():
        for p in other.parameters():
            p.mul_(0.5)
    net = read_opencv(onnx_bytes(model, card), "seg.onnx")
    with pytest.raises(ModelError, match="other.onnx: the ONNX graph run by OpenCV differs from the torch network"):
        check_against_torch(net, other, check_inputs(card, phantom_frames(card["input"]["size"][0])), "other.onnx")
    with pytest.raises(ModelError, match="junk.onnx: OpenCV cannot read the ONNX graph"):
        read_opencv(b"not an onnx file", "junk.onnx")


def test_export_to_a_folder_or_an_unwritable_place_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="is a folder; give a file name"):
        export_file(None, tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot write the ONNX file"):
        export_file(None, blocker / "seg.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_export_of_corrupt_weights_names_the_file(tmp_path):
    w = tmp_path / "model.pt"
    shutil.copy(BUNDLED_WEIGHTS, w)
    shutil.copy(card_path(BUNDLED_WEIGHTS), card_path(w))
    w.write_bytes(w.read_bytes()[:1000])
    with pytest.raises(ModelError, match=str(w)):
        export_file(w, tmp_path / "seg.onnx")
    assert not (tmp_path / "seg.onnx").exists()


def test_cli_export_writes_the_file_and_refuses_a_folder(tmp_path, capsys):
    out = tmp_path / "deploy" / "seg.onnx"
    assert main(["seg", "export", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert out.is_file() and "ONNX opset 17" in printed and "(N, 1, 256, 256)" in printed
    assert main(["seg", "export", "--out", str(tmp_path)]) != 0
    err = capsys.readouterr().err
    assert "is a folder" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
