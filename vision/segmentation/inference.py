"""Batch-1 network execution tuned for CPU real time (and CUDA when present).

Two runtimes with one interface (:meth:`_Runner.probabilities`):

- :class:`Network` (torch): inference mode, channels-last memory layout, and TorchScript tracing
  followed by ``torch.jit.optimize_for_inference`` (freezing, convolution/batch-norm folding,
  oneDNN fusion); falls back to eager execution if tracing fails. Runs on CUDA when present.
- :class:`OpenCVNetwork`: the same network exported to ONNX (:mod:`.onnx_export`) and run by
  OpenCV's DNN module on the CPU, checked against the torch network when it is built.

Which of them runs, and with which weights, is decided by :func:`.runtime.make_runner`.
"""

from __future__ import annotations

import logging
import warnings
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import torch

import vision.segmentation.onnx_export as onnx_export
from vision.segmentation.model import fold_batchnorm
from vision.segmentation.preprocess import normalise

log = logging.getLogger(__name__)


def pick_device(device: str | torch.device | None) -> torch.device:
    """``device`` if given, else CUDA when available, else CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class _Runner(ABC):
    """Input normalisation and test-time flipping shared by the runtimes; each runtime supplies
    :meth:`probabilities_batch`.

    Args:
        card: the model card (input size, scale, mean, std).
    """

    runtime = ""
    precision = "fp32"
    """``"fp32"``, or ``"int8"`` once :func:`.runtime.make_runner` swapped in the int8 module."""

    def __init__(self, card: dict[str, Any]) -> None:
        self.input = card["input"]
        self.size = int(self.input["size"][0])

    def normalise(self, batch_u8: np.ndarray) -> np.ndarray:
        """Normalised network inputs ``(N, 1, S, S)`` of ``(N, S, S)`` uint8 images (:func:`normalise`)."""
        return normalise(batch_u8, self.input)

    def probabilities(self, net_input: np.ndarray, flip_width: int = 0) -> np.ndarray:
        """Softmax class probabilities ``(C, S, S)`` float32 for one ``S x S`` uint8 image.

        ``flip_width > 0``: average with the mirrored prediction of the mirrored image
        (horizontal-flip test-time augmentation; both run as one batch of two). Only the first
        ``flip_width`` columns (the letterbox's image content) are mirrored, so the padding stays
        where the network saw it in training.
        """
        if flip_width <= 0:
            return self.probabilities_batch(net_input[None])[0]
        cw = min(int(flip_width), net_input.shape[1])
        mirrored = net_input.copy()
        mirrored[:, :cw] = net_input[:, cw - 1::-1]
        p = self.probabilities_batch(np.stack([net_input, mirrored]))
        out = p[0]
        out[:, :, :cw] = 0.5 * (out[:, :, :cw] + p[1][:, :, cw - 1::-1])
        return out

    @abstractmethod
    def probabilities_batch(self, batch_u8: np.ndarray) -> np.ndarray:
        """Softmax probabilities ``(N, C, S, S)`` float32 for ``(N, S, S)`` uint8 images."""


class Network(_Runner):
    """A loaded segmentation network run by torch, with its input normalisation.

    Args:
        model: the torch module (eval mode).
        card: its model card (input size, scale, mean, std).
        device: where to run.
        optimise: trace and optimise with TorchScript.
    """

    runtime = "torch"

    def __init__(self, model: torch.nn.Module, card: dict[str, Any], device: torch.device,
                 optimise: bool = True) -> None:
        super().__init__(card)
        self.device = device
        self.channels_last = device.type == "cpu"
        model = fold_batchnorm(model.eval()).to(device)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.module: Any = model
        if optimise:
            try:
                with torch.no_grad(), warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    example = self._tensor(np.zeros((1, self.size, self.size), np.uint8))
                    traced = torch.jit.trace(model, example, check_trace=False)
                    self.module = torch.jit.optimize_for_inference(torch.jit.freeze(traced.eval()))
                    for _ in range(2):
                        self.module(example)
            except Exception as exc:  # pragma: no cover - depends on the torch build
                log.warning("TorchScript optimisation failed (%s); running eager", exc)
                self.module = model

    def _tensor(self, batch_u8: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(self.normalise(batch_u8)).to(self.device)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def probabilities_batch(self, batch_u8: np.ndarray) -> np.ndarray:
        """Softmax probabilities ``(N, C, S, S)`` for ``(N, S, S)`` uint8 images."""
        with torch.no_grad():
            logits = self.module(self._tensor(batch_u8))
            return torch.softmax(logits.float(), dim=1).cpu().numpy()


class OpenCVNetwork(_Runner):
    """The network exported to ONNX and run by OpenCV's DNN module (CPU).

    OpenCV's thread count is process-wide (``cv2.setNumThreads``); whoever builds the runner
    sets it. When built, the graph's probabilities are checked against the torch network on a
    blank and a textured input.

    Args:
        model: the torch module it is exported from (eval mode, on the CPU).
        card: its model card.
        name: named in errors (the weights file).

    Raises:
        ModelError: the network cannot be exported, read by OpenCV, or does not reproduce torch.
    """

    runtime = "opencv"
    device = torch.device("cpu")

    def __init__(self, model: torch.nn.Module, card: dict[str, Any], name: str) -> None:
        super().__init__(card)
        self.net = onnx_export.read_opencv(onnx_export.onnx_bytes(model, card, name), name)
        texture = np.random.default_rng(0).integers(0, 256, (self.size, self.size), dtype=np.uint8)
        onnx_export.check_against_torch(self.net, model, onnx_export.check_inputs(card, [texture]), name)

    def probabilities_batch(self, batch_u8: np.ndarray) -> np.ndarray:
        """Softmax probabilities ``(N, C, S, S)`` for ``(N, S, S)`` uint8 images."""
        self.net.setInput(self.normalise(batch_u8))
        return torch.softmax(torch.from_numpy(self.net.forward()), dim=1).numpy()
