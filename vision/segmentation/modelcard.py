"""Weights files and their model card (``metadata.json``): saving, loading and checking.

A weights file is a ``torch.save`` dictionary ``{"format", "arch", "arch_kwargs", "state_dict"}``;
its model card beside it declares the input/output specification, the training data and its
licence, the validation metrics and the SHA-256 of the weights file (the MONAI bundle idea:
weights never travel without their declared spec). Any problem raises
:class:`~core.errors.ModelError` naming the file and the fix.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import torch

from core.errors import ModelError
from core.jsonfile import load_json
from vision.segmentation.model import ARCHES, build_model

log = logging.getLogger(__name__)

WEIGHTS_FORMAT = "sonoguide.segmentation.weights/1"
CARD_FORMAT = "sonoguide.segmentation.card/1"
BUNDLED_DIR = Path(__file__).resolve().parent / "weights"
BUNDLED_WEIGHTS = BUNDLED_DIR / "model.pt"

CLASS_SPEC = [
    {"id": 0, "name": "background", "colour_rgb": [0, 0, 0]},
    {"id": 1, "name": "nerve", "colour_rgb": [255, 220, 0]},
    {"id": 2, "name": "vessel", "colour_rgb": [220, 30, 30]},
]
"""Classes and their display colours (nerve yellow, vessel red, as on anatomy atlases)."""

DATA_ATTRIBUTION = {
    "name": "USGRA nerve and vessel segmentation images",
    "source": "GitHub repository tmkand/usgra-seg, folder dataset/, commit 66dc77d",
    "authors": "Timm Kandaouroff (images acquired on volunteers with a Mindray TE7, L14-6Ns "
               "linear probe; annotated with LabelMe)",
    "licence": "CC-BY 4.0 (https://creativecommons.org/licenses/by/4.0/)",
    "notice": "Model weights trained on these images; the images themselves are not redistributed here.",
}


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def card_path(weights: Path) -> Path:
    """The model card that belongs to a weights file: ``metadata.json`` in the same folder."""
    return weights.with_name("metadata.json")


def save_weights(model: torch.nn.Module, arch: str, arch_kwargs: dict[str, Any], path: Path,
                 card: dict[str, Any]) -> None:
    """Write ``path`` and its model card; the card gets the file's SHA-256 and size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    torch.save({"format": WEIGHTS_FORMAT, "arch": arch, "arch_kwargs": arch_kwargs, "state_dict": state}, path)
    card = dict(card)
    card["weights"] = {"file": path.name, "sha256": sha256(path), "bytes": path.stat().st_size}
    card_path(path).write_text(json.dumps(card, indent=2) + "\n")


def write_card(weights: Path, card: dict[str, Any]) -> None:
    """Rewrite the model card of an existing weights file (its checksum entry is recomputed)."""
    card = dict(card)
    card["weights"] = {"file": weights.name, "sha256": sha256(weights), "bytes": weights.stat().st_size}
    card_path(weights).write_text(json.dumps(card, indent=2) + "\n")


def read_card(weights: Path) -> dict[str, Any]:
    """The model card of ``weights``, checked for the keys inference needs.

    Raises:
        ModelError: the card is missing, not JSON, or lacks a required key.
    """
    cp = card_path(weights)
    if not cp.is_file():
        raise ModelError(f"{weights}: its model card {cp} is missing; every weights file needs its "
                         "metadata.json beside it")
    card = load_json(cp, what="model card", error=ModelError, missing_fix="restore it from the repository",
                     corrupt_fix="restore it from the repository")
    try:
        if card["format"] != CARD_FORMAT:
            raise ModelError(f"{cp}: card format {card['format']!r} is not {CARD_FORMAT!r}")
        inp = card["input"]
        size = inp["size"]
        if not (isinstance(size, list) and len(size) == 2 and size[0] == size[1] and size[0] % 32 == 0):
            raise ModelError(f"{cp}: input.size {size!r} must be [S, S] with S a multiple of 32")
        float(inp["mean"]), float(inp["std"]), float(inp["scale"])
        names = [c["name"] for c in card["classes"]]
        if names != [c["name"] for c in CLASS_SPEC]:
            raise ModelError(f"{cp}: classes {names} are not {[c['name'] for c in CLASS_SPEC]}")
        card["weights"]["sha256"]
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{cp}: model card lacks or has a bad entry {exc}; regenerate it with sonoguide seg train")
    return card


def load_model(weights: str | Path | None = None, device: str | torch.device = "cpu"
               ) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Load a network and its model card, verifying checksum, architecture and output shape.

    Args:
        weights: path to a weights file; ``None`` or ``""``: the bundled weights.
        device: torch device for the network.

    Returns:
        ``(model, card)`` with the model in eval mode on ``device``.

    Raises:
        ModelError: missing, corrupt or mismatched weights or card; the message names the file.
    """
    path = Path(weights) if weights else BUNDLED_WEIGHTS
    if not path.is_file():
        raise ModelError(f"{path}: weights file not found; give an existing file "
                         "(segmentation.model) or leave it empty for the bundled weights")
    card = read_card(path)
    if sha256(path) != card["weights"]["sha256"]:
        raise ModelError(f"{path}: weights file is corrupt or does not belong to {card_path(path).name} "
                         "(SHA-256 mismatch); restore both files together")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a broken file
        raise ModelError(f"{path}: cannot read weights ({type(exc).__name__}); the file is corrupt") from None
    if not isinstance(blob, dict) or blob.get("format") != WEIGHTS_FORMAT:
        raise ModelError(f"{path}: not a sonoguide segmentation weights file (format {WEIGHTS_FORMAT})")
    arch = blob.get("arch")
    if arch not in ARCHES or arch != card.get("arch"):
        raise ModelError(f"{path}: architecture {arch!r} does not match the card's {card.get('arch')!r}")
    kwargs = blob.get("arch_kwargs") or {}
    try:
        model = build_model(arch, **{k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()})
        model.load_state_dict(blob["state_dict"], strict=True)
    except (RuntimeError, TypeError, KeyError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0][:200]
        raise ModelError(f"{path}: weights do not match the {arch!r} network ({first})") from None
    model.eval().to(device)
    size = int(card["input"]["size"][0])
    with torch.inference_mode():
        out = model(torch.zeros(1, 1, size, size, device=device))
    if tuple(out.shape) != (1, len(CLASS_SPEC), size, size):
        raise ModelError(f"{path}: network output {tuple(out.shape)} differs from the declared "
                         f"(1, {len(CLASS_SPEC)}, {size}, {size})")
    return model, card
