"""ONNX export of the segmentation network, run by OpenCV's DNN module.

The exported graph is the batch-norm-folded network: input ``image`` ``(N, 1, S, S)`` float32,
already normalised as the model card's ``input`` entry says (``(grey * scale - mean) / std``),
output ``logits`` ``(N, C, S, S)``; the batch size is dynamic. A softmax over axis 1 gives the
class probabilities; it runs outside the graph, because on one core torch's softmax of the
logits takes 1.2 ms less per frame than OpenCV's softmax layer. ONNX (Open Neural Network
Exchange, opset 17, https://onnx.ai) is the format that other runtimes read (OpenCV's
``cv2.dnn``, which is what checks it here; ONNX Runtime or Unity Sentis on a headset are not
tried here). The model card's name, version, classes, input specification and the SHA-256 of
the source weights travel in the file's ``metadata_props``, so an exported file says what it is.

The same graph is the segmenter's CPU runtime (``segmentation.runtime``): on one core of this
machine OpenCV runs it 1-2 ms per frame faster than TorchScript runs the torch module, with
the same masks (BENCHMARKS.md, "Speed"). This module builds the graph in memory and checks it
when the segmenter starts; writing it to a file for other runtimes (``sonoguide seg export``) is
:mod:`research.segmentation.export`.
"""

from __future__ import annotations

import io
import json
import logging
import warnings
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

from core.errors import ModelError
from vision.segmentation.model import fold_batchnorm
from vision.segmentation.preprocess import normalise

log = logging.getLogger(__name__)

OPSET = 17
INPUT_NAME = "image"
OUTPUT_NAME = "logits"
MAX_ABS_DIFF = 1e-4
"""Largest allowed difference between the exported graph's probabilities (OpenCV) and torch's."""

_CACHE: dict[str, bytes] = {}


def metadata(card: dict[str, Any]) -> dict[str, str]:
    """The ``metadata_props`` written into an exported file (all values strings)."""
    return {
        "sonoguide.name": str(card.get("name", "")),
        "sonoguide.version": str(card.get("version", "")),
        "sonoguide.classes": json.dumps(card["classes"]),
        "sonoguide.input": json.dumps(card["input"]),
        "sonoguide.source_sha256": str(card["weights"]["sha256"]),
        "sonoguide.output": f"{OUTPUT_NAME} (N, C, S, S); softmax over axis 1 gives the class probabilities",
    }


def onnx_bytes(model: nn.Module, card: dict[str, Any], name: str = "") -> bytes:
    """The ONNX file of ``model`` (its card gives the input size) as bytes.

    Cached in-process by the SHA-256 of the source weights (a few MB per network), so
    segmenters of the same weights export once.

    Raises:
        ModelError: the network cannot be expressed in ONNX (names ``name``, else the card's model).
    """
    key = str(card["weights"]["sha256"])
    if key in _CACHE:
        return _CACHE[key]
    try:
        import onnx
    except ImportError:
        raise ModelError("the onnx package is missing (the OpenCV runtime and 'seg export' need it); run "
                         "'make setup', or use segmentation.runtime = \"torch\"") from None

    size = int(card["input"]["size"][0])
    net = fold_batchnorm(model).cpu().eval()
    buf = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the TorchScript-based exporter's deprecation notice
            torch.onnx.export(net, (torch.zeros(1, 1, size, size),), buf, dynamo=False, opset_version=OPSET,
                              input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                              dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}})
    except Exception as exc:  # the exporter raises many types for unsupported operators
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise ModelError(f"{name or card.get('name')}: the network cannot be exported to ONNX "
                         f"({type(exc).__name__}: {first}); use segmentation.runtime = \"torch\"") from None
    proto = onnx.load_from_string(buf.getvalue())
    for k, v in metadata(card).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = k, v
    proto.producer_name = "sonoguide"
    data = proto.SerializeToString()
    _CACHE[key] = data
    return data


def read_opencv(data: bytes, name: str) -> cv2.dnn.Net:
    """An OpenCV DNN network from ONNX bytes (OpenCV's own CPU backend, its default).

    Raises:
        ModelError: OpenCV cannot read the graph (names ``name``).
    """
    try:
        net = cv2.dnn.readNetFromONNX(np.frombuffer(data, np.uint8))
    except cv2.error as exc:
        raise ModelError(f"{name}: OpenCV cannot read the ONNX graph ({str(exc).strip().splitlines()[-1]}); "
                         "use segmentation.runtime = \"torch\"") from None
    return net


def check_against_torch(net: cv2.dnn.Net, model: nn.Module, inputs: np.ndarray, name: str) -> float:
    """Largest absolute difference between the class probabilities of OpenCV (softmax of the
    graph's logits) and of torch on ``inputs``.

    Args:
        net: the OpenCV network of the exported graph.
        model: the torch network it was exported from.
        inputs: normalised inputs ``(N, 1, S, S)`` float32.
        name: named in the error.

    Raises:
        ModelError: the difference exceeds :data:`MAX_ABS_DIFF`.
    """
    net.setInput(np.ascontiguousarray(inputs, np.float32))
    got = torch.softmax(torch.from_numpy(net.forward()), dim=1).numpy()
    dev = next(model.parameters()).device
    with torch.no_grad():
        ref = torch.softmax(model.eval()(torch.from_numpy(inputs).to(dev)), dim=1).cpu().numpy()
    diff = float(np.abs(got - ref).max()) if got.shape == ref.shape else float("inf")
    if not diff <= MAX_ABS_DIFF:
        raise ModelError(f"{name}: the ONNX graph run by OpenCV differs from the torch network "
                         f"(max |dp| {diff:.2g} > {MAX_ABS_DIFF:g}); use segmentation.runtime = \"torch\"")
    return diff


def check_inputs(card: dict[str, Any], frames: list[np.ndarray]) -> np.ndarray:
    """Normalised network inputs for :func:`check_against_torch`: ``frames`` (uint8 ``S x S``)
    plus a blank one."""
    size = int(card["input"]["size"][0])
    return normalise(np.stack([np.zeros((size, size), np.uint8)] + list(frames)), card["input"])
