"""``sonoguide seg export``: the segmentation network written as an ONNX file for other runtimes.

The graph is the one the segmenter's OpenCV runtime builds in memory
(:func:`vision.segmentation.onnx_export.onnx_bytes`: batch-norm folded, opset 17, the model
card's name, version, classes, input specification and source checksum in ``metadata_props``).
Before the file is written, OpenCV reads it back and must reproduce torch's class probabilities
on a blank input and two phantom frames (:data:`~vision.segmentation.onnx_export.MAX_ABS_DIFF`).
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InputError
from vision.segmentation.modelcard import load_model
from vision.segmentation.onnx_export import OPSET, check_against_torch, check_inputs, onnx_bytes, read_opencv
from vision.segmentation.preprocess import Letterbox, to_gray

log = logging.getLogger(__name__)


def phantom_frames(size: int) -> list[np.ndarray]:
    """Letterboxed ``size x size`` network inputs of one femoral and one interscalene phantom frame."""
    from vision.phantom.config import PhantomAnatomyConfig, PhantomConfig
    from vision.phantom.render import Phantom

    out = []
    for preset in ("femoral", "interscalene"):
        gray = to_gray(Phantom(PhantomConfig(seed=0, anatomy=PhantomAnatomyConfig(preset=preset))).render(0.5).image)
        out.append(Letterbox.fit((0, 0, gray.shape[1], gray.shape[0]), size).apply(gray))
    return out


def export_file(weights: str | Path | None, out: str | Path) -> dict[str, Any]:
    """Write the ONNX file of ``weights`` (``None``: the bundled ones) to ``out`` and check it.

    The file is written atomically (a temporary file renamed into place) only after OpenCV has
    read the graph back and matched torch's probabilities on a blank input and two phantom frames.

    Returns:
        ``{"path", "bytes", "max_abs_diff", "opset", "name", "version", "size"}``.

    Raises:
        ModelError: bad weights, or an export that does not reproduce the network.
        InputError: ``out`` cannot be written (names the path).
    """
    out = Path(out)
    if out.is_dir():
        raise InputError(f"{out}: is a folder; give a file name such as {out / 'model.onnx'}")
    model, card = load_model(weights, "cpu")
    data = onnx_bytes(model, card, str(weights or "bundled weights"))
    frames = phantom_frames(int(card["input"]["size"][0]))
    diff = check_against_torch(read_opencv(data, str(out)), model, check_inputs(card, frames), str(out))
    tmp = None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=out.name, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, out)
        tmp = None
    except OSError as exc:
        raise InputError(f"{out}: cannot write the ONNX file ({exc.strerror}); choose a writable path") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
    log.info("wrote %s (%d bytes, max |dp| %.2g against torch)", out, len(data), diff)
    return {"path": str(out), "bytes": len(data), "max_abs_diff": diff, "opset": OPSET,
            "name": card.get("name"), "version": card.get("version"), "size": int(card["input"]["size"][0])}
