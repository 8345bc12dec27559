"""Int8 weights of the segmentation network at run time: loading and checking them.

The int8 module is a frozen TorchScript file beside the float weights, listed in the model card's
``int8`` entry with its SHA-256 (made by ``sonoguide seg quantize``,
:mod:`research.segmentation.quantize`). It takes and returns the float network's tensors
(normalised input ``(1, 1, S, S)``, float logits) and runs on the CPU only, with PyTorch's x86
quantized engine.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch

from core.errors import ModelError
from vision.segmentation.modelcard import card_path, sha256

BACKEND = "x86"
"""PyTorch's quantized engine the int8 weights are made for and run with."""


def load_int8(weights: Path, card: dict[str, Any], device: torch.device) -> torch.jit.ScriptModule:
    """The int8 module the card lists beside ``weights``, checked like the float weights.

    Raises:
        ModelError: missing or corrupt file (checksum), unreadable, or wrong output shape; the
            message names the file and the fix.
    """
    entry = card["int8"]
    path = weights.parent / entry["file"]
    fix = f"restore it with the model, or re-create it with 'sonoguide seg quantize --model {weights}'"
    if not path.is_file():
        raise ModelError(f"{path}: int8 weights listed in {card_path(weights).name} are missing; {fix}, "
                         "or set segmentation.precision = \"fp32\"")
    if sha256(path) != entry.get("sha256"):
        raise ModelError(f"{path}: int8 weights are corrupt or do not belong to {card_path(weights).name} "
                         f"(SHA-256 mismatch); {fix}")
    if device.type != "cpu":
        raise ModelError(f"{path}: int8 weights run on the CPU only; set segmentation.precision = \"fp32\" "
                         f"for {device.type}")
    torch.backends.quantized.engine = BACKEND
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TorchScript's notice about torch.export
            module = torch.jit.load(str(path), map_location="cpu").eval()
        size = int(card["input"]["size"][0])
        with torch.inference_mode():
            out = module(torch.zeros(1, 1, size, size))
    except Exception as exc:  # TorchScript raises many types for a broken archive
        raise ModelError(f"{path}: cannot run the int8 weights ({type(exc).__name__}); {fix}") from None
    if tuple(out.shape) != (1, len(card["classes"]), size, size):
        raise ModelError(f"{path}: int8 network output {tuple(out.shape)} differs from the declared "
                         f"(1, {len(card['classes'])}, {size}, {size}); {fix}")
    return module
