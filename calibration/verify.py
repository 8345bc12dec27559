"""Whole-chain check: where the overlay puts a phantom target against where the target is.

A target of known position (a cross-wire or bead in a phantom, located in the headset frame by the
headset's own registration) is imaged by the tracked probe. Each frame gives the target's pixel
``(u, v)`` and the tracked marker pose; the chain the running system uses,

    ``T_headset_from_image = T_headset_from_camera @ T_camera_from_marker @ T_marker_from_image``,

places the pixel in the headset frame, and the distance to the target's true position is the
error the engineer would see on the patient. This is the "point reconstruction accuracy" check of
ultrasound calibration (Hsu et al., "Freehand 3D ultrasound calibration: a review", in *Advanced
Imaging in Biology and Medicine*, Springer 2009; PLUS fCal's validation) applied to the whole
chain, not only to the probe calibration.

Capture file (``--input``), JSON::

    {"pixels": [[u, v], ...],                       target pixel per frame (image px)
     "T_camera_from_marker": [[[4x4]], ...],        probe marker pose per frame (mm)
     and where the target is, one of:
     "p_headset_target_mm": [x, y, z]   or [[x, y, z], ...] per frame
     "target_phantom_mm": [x, y, z] with "T_headset_from_phantom": 4x4 or [4x4 per frame]
     "target_phantom_mm": [x, y, z] with "T_world_from_phantom": 4x4 and "T_world_from_headset": [4x4 per frame]
     "p_world_target_mm": [x, y, z] with "T_world_from_headset": [4x4 per frame]
     optional "image_size": [W, H] (pixels outside are refused)}

Each frame's error is split into the part in the ultrasound image's plane and the part along its
normal (a large out-of-plane part means the target was not in the image plane, or the
image-to-marker rotation is off).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from calibration.inputs import at_least, load_capture, read_points, read_transforms, same_length
from core.errors import InputError

log = logging.getLogger(__name__)

CRITERIA = ("mean", "max")
"""What is compared with the limit: the mean or the largest per-frame error."""
MIN_FRAMES = 3


@dataclass(frozen=True)
class VerifyCapture:
    """A loaded verification capture: per frame the target's pixel, the marker pose and the truth.

    Attributes:
        pixels: ``(N, 2)`` target pixels.
        T_camera_from_marker: ``(N, 4, 4)`` marker poses.
        p_headset_true: ``(N, 3)`` where the target is, in the headset frame.
    """

    pixels: np.ndarray
    T_camera_from_marker: np.ndarray
    p_headset_true: np.ndarray


@dataclass(frozen=True)
class VerifyResult:
    """Per-frame and summary errors of the whole chain.

    Attributes:
        errors_mm: per frame, the distance from the overlay's target to the true one.
        in_plane_mm: per frame, the part within the ultrasound image's plane.
        out_of_plane_mm: per frame, the part along the image's normal (absolute).
        bias_mm: the mean error vector (overlay minus truth) in the headset frame.
        mean_mm, max_mm, rms_mm: summaries of ``errors_mm``.
        limit_mm: the limit.
        criterion: ``"mean"`` or ``"max"``.
        passed: the criterion's figure is within the limit.
        n_over: frames whose error exceeds the limit.
        p_overlay: ``(N, 3)`` where the chain puts the target.
        error_vectors_mm: ``(N, 3)`` overlay minus truth, headset frame.
    """

    errors_mm: np.ndarray
    in_plane_mm: np.ndarray
    out_of_plane_mm: np.ndarray
    bias_mm: np.ndarray
    mean_mm: float
    max_mm: float
    rms_mm: float
    limit_mm: float
    criterion: str
    passed: bool
    n_over: int
    p_overlay: np.ndarray = field(repr=False)
    error_vectors_mm: np.ndarray = field(repr=False)

    @property
    def figure_mm(self) -> float:
        """The figure compared with the limit."""
        return self.mean_mm if self.criterion == "mean" else self.max_mm


def _one_or_per_frame_points(data: dict[str, Any], key: str, path: str | Path, n: int) -> np.ndarray:
    arr = np.asarray(data[key], dtype=object)
    if arr.ndim == 1:
        return np.repeat(read_points({key: [data[key]]}, key, path, 3), n, axis=0)
    pts = read_points(data, key, path, 3)
    same_length(path, pixels=np.zeros(n), **{key: pts})
    return pts


def _one_or_per_frame_transforms(data: dict[str, Any], key: str, path: str | Path, n: int) -> np.ndarray:
    try:
        depth = np.asarray(data[key], dtype=np.float64).ndim
    except (TypeError, ValueError):
        raise InputError(f"{path}: '{key}' must be a 4x4 matrix or a list of them (numbers only)") from None
    if depth == 2:
        return np.repeat(read_transforms({key: [data[key]]}, key, path), n, axis=0)
    T = read_transforms(data, key, path)
    same_length(path, pixels=np.zeros(n), **{key: T})
    return T


def _h(T: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Apply ``(N, 4, 4)`` transforms to ``(N, 3)`` points."""
    return np.einsum("nij,nj->ni", T[:, :3, :3], p) + T[:, :3, 3]


def load_verify_capture(path: str | Path) -> VerifyCapture:
    """Read and check a verification capture (layout in the module docstring).

    Raises:
        InputError: missing or malformed keys, fewer than three frames, no way to place the target,
            or pixels outside ``image_size``.
    """
    data = load_capture(path, "verification capture", ("pixels", "T_camera_from_marker"))
    pixels = read_points(data, "pixels", path, 2)
    T_cm = read_transforms(data, "T_camera_from_marker", path)
    n = same_length(path, pixels=pixels, T_camera_from_marker=T_cm)
    at_least(path, n, MIN_FRAMES, "frames", "record more frames with the target in the image, at different places "
                                          "in the image and from different probe angles")
    if "image_size" in data:
        size = np.asarray(data["image_size"], dtype=np.float64).reshape(-1) if isinstance(data["image_size"], list) \
            else np.array([])
        if size.size != 2 or not np.all(size > 0):
            raise InputError(f"{path}: 'image_size' must be [width, height] in pixels")
        outside = (pixels < -0.5).any(axis=1) | (pixels[:, 0] > size[0] - 0.5) | (pixels[:, 1] > size[1] - 0.5)
        out = np.flatnonzero(outside)
        if out.size:
            raise InputError(f"{path}: pixels[{int(out[0])}] = {pixels[out[0]].tolist()} lies outside the "
                             f"{int(size[0])}x{int(size[1])} image")
    if "p_headset_target_mm" in data:
        p_true = _one_or_per_frame_points(data, "p_headset_target_mm", path, n)
    elif "target_phantom_mm" in data and "T_headset_from_phantom" in data:
        q = _one_or_per_frame_points(data, "target_phantom_mm", path, n)
        p_true = _h(_one_or_per_frame_transforms(data, "T_headset_from_phantom", path, n), q)
    elif ("target_phantom_mm" in data and "T_world_from_phantom" in data) or "p_world_target_mm" in data:
        if "T_world_from_headset" not in data:
            raise InputError(f"{path}: a target given in the world frame needs 'T_world_from_headset' (the headset's "
                             "pose per frame)")
        if "p_world_target_mm" in data:
            p_world = _one_or_per_frame_points(data, "p_world_target_mm", path, n)
        else:
            q = _one_or_per_frame_points(data, "target_phantom_mm", path, n)
            p_world = _h(_one_or_per_frame_transforms(data, "T_world_from_phantom", path, n), q)
        T_wh = _one_or_per_frame_transforms(data, "T_world_from_headset", path, n)
        p_true = _h(np.linalg.inv(T_wh), p_world)
    else:
        raise InputError(f"{path}: the capture does not say where the target is; give 'p_headset_target_mm', or "
                         "'target_phantom_mm' with 'T_headset_from_phantom' (or with 'T_world_from_phantom' and "
                         "'T_world_from_headset'), or 'p_world_target_mm' with 'T_world_from_headset'")
    return VerifyCapture(pixels=pixels, T_camera_from_marker=T_cm, p_headset_true=p_true)


def chain(T_headset_from_camera: np.ndarray, T_camera_from_marker: np.ndarray,
          T_marker_from_image: np.ndarray) -> np.ndarray:
    """``T_headset_from_image`` per frame, ``(N, 4, 4)``."""
    return np.asarray(T_headset_from_camera) @ np.asarray(T_camera_from_marker) @ np.asarray(T_marker_from_image)


def verify_chain(capture: VerifyCapture, T_marker_from_image: np.ndarray, T_headset_from_camera: np.ndarray,
                 limit_mm: float, criterion: str = "mean") -> VerifyResult:
    """Place the target through the chain in every frame and compare with where it is.

    Args:
        capture: the frames.
        T_marker_from_image: image (px) to marker (mm), with the pixel spacing.
        T_headset_from_camera: tracking camera to headset.
        limit_mm: the pass limit.
        criterion: ``"mean"`` (the mean per-frame error must be within the limit) or ``"max"``
            (every frame's).

    Raises:
        InputError: an unknown criterion or a non-positive limit.
    """
    if criterion not in CRITERIA:
        raise InputError(f"criterion {criterion!r}: use one of {', '.join(CRITERIA)}")
    if not (limit_mm > 0 and np.isfinite(limit_mm)):
        raise InputError(f"the limit must be a positive number of mm, got {limit_mm!r}")
    T = chain(T_headset_from_camera, capture.T_camera_from_marker, T_marker_from_image)
    n = len(capture.pixels)
    px = np.concatenate([capture.pixels, np.zeros((n, 1))], axis=1)
    p = _h(T, px)
    e = p - capture.p_headset_true
    dist = np.linalg.norm(e, axis=1)
    normal = T[:, :3, 2] / np.linalg.norm(T[:, :3, 2], axis=1, keepdims=True)
    oop = np.abs(np.einsum("ni,ni->n", e, normal))
    inp = np.sqrt(np.maximum(dist ** 2 - oop ** 2, 0.0))
    mean, mx = float(dist.mean()), float(dist.max())
    figure = mean if criterion == "mean" else mx
    result = VerifyResult(errors_mm=dist, in_plane_mm=inp, out_of_plane_mm=oop, bias_mm=e.mean(axis=0),
                          mean_mm=mean, max_mm=mx, rms_mm=float(np.sqrt(np.mean(dist ** 2))), limit_mm=float(limit_mm),
                          criterion=criterion, passed=bool(figure <= limit_mm), n_over=int((dist > limit_mm).sum()),
                          p_overlay=p, error_vectors_mm=e)
    log.info("whole-chain error mean %.3f mm, max %.3f mm over %d frames (limit %.2f mm, %s)", mean, mx, n, limit_mm,
             "pass" if result.passed else "FAIL")
    return result
