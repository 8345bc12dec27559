"""Post-training int8 quantization of the segmentation network for CPU inference (``seg quantize``).

Static quantization with PyTorch's FX graph mode (``torch.ao.quantization``, x86 backend: per-
channel int8 weights, per-tensor uint8 activations, fused convolution + ReLU), as in Jacob et al.,
"Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference",
CVPR 2018. Activation ranges are observed on letterboxed *training* images (never the validation
split); the result is a frozen TorchScript module saved next to the float weights, with its own
checksum, calibration record and validation metrics in the model card (``card["int8"]``).

The network's input (normalised float, ``(1, 1, S, S)``) and output (float logits) are the float
model's, so the rest of :class:`~vision.segmentation.segmenter.Segmenter` is unchanged; loading and
checking the int8 weights at run time is :mod:`vision.segmentation.int8`.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import torch

from vision.segmentation.int8 import BACKEND
from vision.segmentation.modelcard import card_path, sha256

log = logging.getLogger(__name__)


def quantize_int8(model: torch.nn.Module, inputs: Iterable[torch.Tensor]) -> torch.jit.ScriptModule:
    """Quantize ``model`` (float, eval) with activation ranges observed on ``inputs``.

    Args:
        model: the float network (batch norm already folded or not: FX fuses what it can).
        inputs: normalised network inputs ``(1, 1, S, S)``; the first is also the tracing example.

    Returns:
        A frozen TorchScript module taking and returning float tensors.
    """
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

    inputs = list(inputs)
    if not inputs:
        raise ValueError("no calibration inputs")
    torch.backends.quantized.engine = BACKEND
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # FX's deprecation notices
        prepared = prepare_fx(model.eval(), get_default_qconfig_mapping(BACKEND), (inputs[0],))
        with torch.inference_mode():
            for x in inputs:
                prepared(x)
        quantized = convert_fx(prepared)
        with torch.inference_mode():
            module = torch.jit.freeze(torch.jit.trace(quantized, inputs[0]).eval())
    return module


def calibration_inputs(segmenter: Any, images: Iterable[np.ndarray], limit: int = 64) -> list[torch.Tensor]:
    """Letterboxed, normalised network inputs of ``images`` as the segmenter would see them."""
    out: list[torch.Tensor] = []
    for img in images:
        net_img = segmenter.network_input(img)
        if net_img is not None:
            out.append(torch.from_numpy(segmenter.net.normalise(net_img[None])))
        if len(out) >= limit:
            break
    return out


def export_int8(weights: Path, data_dir: Path, progress: bool = True) -> dict[str, Any]:
    """Quantize the float ``weights`` with training images of ``data_dir`` and evaluate the result
    on the card's validation ids; write ``<stem>_int8.pt`` and the card's ``int8`` entry.

    Returns:
        The card's new ``int8`` entry.
    """
    import json

    from research.segmentation.evaluate import evaluate_samples, iter_dataset
    from vision.segmentation.config import SegmentationConfig
    from vision.segmentation.model import fold_batchnorm
    from vision.segmentation.modelcard import load_model, read_card
    from vision.segmentation.segmenter import Segmenter

    card = read_card(weights)
    val = set(card.get("training", {}).get("val_ids", []))
    samples = list(iter_dataset(data_dir))
    train = [s for s in samples if s.id not in val]
    seg = Segmenter(SegmentationConfig(model=str(weights), precision="fp32"))
    inputs = calibration_inputs(seg, (s.gray for s in train[::3]))
    model, _ = load_model(weights, "cpu")
    module = quantize_int8(fold_batchnorm(model), inputs)
    out = weights.with_name(weights.stem + "_int8.pt")
    torch.jit.save(module, str(out))
    entry: dict[str, Any] = {
        "file": out.name, "sha256": sha256(out), "bytes": out.stat().st_size, "backend": BACKEND,
        "method": "post-training static quantization, FX graph mode, per-channel int8 weights",
        "calibration": f"{len(inputs)} letterboxed training images (every 3rd"
                       + (", validation ids excluded)" if val else ")")}
    card["int8"] = entry
    card_path(weights).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    if val:
        vs = [s for s in samples if s.id in val]
        r = evaluate_samples(vs, weights, progress=progress, precision="int8")
        entry["metrics"] = {"split": "validation (held-out real images, native resolution)",
                            **{c: {"dice": r[c]["dice"], "iou": r[c]["iou"]} for c in ("nerve", "vessel")},
                            "fps": r["fps"], "p50_ms": r["p50_ms"], "n_images": r["n_images"]}
        card["int8"] = entry
        card_path(weights).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    log.info("int8 weights %s written (%d calibration images)", out, len(inputs))
    return entry
