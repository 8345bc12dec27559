"""The segmentation runtime choice: which engine runs the network, with which weights.

``segmentation.runtime`` (``auto``, ``opencv``, ``torch``) and ``segmentation.precision``
(``auto``, ``fp32``, ``int8``) with the device decide it, in one place:

- int8 when asked for, or with ``precision = "auto"`` on the CPU when the model card lists int8
  weights; int8 runs on torch (:class:`~vision.segmentation.inference.Network` with the int8
  module of :mod:`vision.segmentation.int8`), on the CPU only.
- otherwise, on the CPU, OpenCV's DNN module runs the network exported to ONNX
  (:class:`~vision.segmentation.inference.OpenCVNetwork`); with ``runtime = "auto"`` a network
  that cannot be exported falls back to torch with a warning.
- on CUDA, or with ``runtime = "torch"``: torch (TorchScript-optimised unless
  ``segmentation.optimise`` is off).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import cv2
import torch

from core.errors import ConfigError, ModelError
from vision.segmentation.config import SegmentationConfig
from vision.segmentation.inference import Network, OpenCVNetwork
from vision.segmentation.int8 import load_int8

log = logging.getLogger(__name__)


def wants_int8(config: SegmentationConfig, card: dict[str, Any], device: torch.device) -> bool:
    """Whether the int8 weights run: asked for, or ``precision = "auto"`` on the CPU with int8
    weights listed in ``card``."""
    return config.precision == "int8" or (config.precision == "auto" and device.type == "cpu" and "int8" in card)


def make_runner(config: SegmentationConfig, model: torch.nn.Module, card: dict[str, Any], weights: Path,
                device: torch.device, threads: int) -> Network | OpenCVNetwork:
    """The network runner that ``config`` asks for on ``device``.

    Args:
        config: the stage settings (``runtime``, ``precision``, ``optimise``).
        model: the float network, loaded and checked (eval mode, on ``device``).
        card: its model card.
        weights: the float weights file (names errors; the int8 file sits beside it).
        device: where the network runs.
        threads: OpenCV's process-wide thread count when OpenCV runs the network.

    Returns:
        A runner with ``probabilities``, ``normalise``, ``size``, ``runtime`` (``"opencv"`` or
        ``"torch"``) and ``precision`` (``"fp32"`` or ``"int8"``).

    Raises:
        ModelError: int8 asked for but not listed in the card, or the int8 file is bad; with
            ``runtime = "opencv"``, a network that cannot be exported to or read by OpenCV.
        ConfigError: ``runtime = "opencv"`` with int8 weights or a device other than the CPU.
    """
    int8 = wants_int8(config, card, device)
    if int8 and "int8" not in card:
        raise ModelError(f"{weights}: segmentation.precision = \"int8\" but the "
                         "model card lists no int8 weights; create them with 'sonoguide seg quantize'")
    if config.runtime == "opencv" and (int8 or device.type != "cpu"):
        raise ConfigError("segmentation.runtime = \"opencv\" runs float weights on the CPU only; use "
                          f"\"auto\" or \"torch\" for {'int8 weights' if int8 else device.type}")
    net: Network | OpenCVNetwork
    if config.runtime == "opencv" or (config.runtime == "auto" and not int8 and device.type == "cpu"):
        try:
            net = OpenCVNetwork(model, card, str(weights))
            cv2.setNumThreads(threads)
        except ModelError as exc:
            if config.runtime == "opencv":
                raise
            log.warning("%s; running the network on torch", exc)
            net = Network(model, card, device, optimise=config.optimise)
        return net
    net = Network(model, card, device, optimise=config.optimise and not int8)
    if int8:
        net.module = load_int8(weights, card, device)
        net.precision = "int8"
    return net
