"""Reading and checking the recorded captures the ``sonoguide calibrate`` commands take offline.

A capture is one JSON object whose keys each hold a list (of 4x4 transforms, of points, of
pixels). Every check here ends in one :class:`~core.errors.InputError` line that names the file,
the key, the entry and the fix, so a wrong file never turns into a silent wrong calibration::

    {"T_world_from_headset": [[[...4x4...]], ...], "T_camera_from_marker": [...]}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InputError
from core.jsonfile import load_json

RIGID_TOLERANCE = 1e-3
"""Largest deviation of ``R.T @ R`` from the identity (and of ``det R`` from 1) accepted as rigid.
Trackers write rotations with 6-7 significant digits; a scaled or sheared matrix is far above."""


def load_capture(path: str | Path, what: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """Load a capture file and check that it holds the named keys.

    Args:
        path: the JSON file.
        what: what the file is, for messages (``"hand-eye capture"``).
        keys: keys the file must hold.

    Raises:
        InputError: missing, unreadable or not-JSON file, not an object, or a key missing.
    """
    data = load_json(path, what=what, error=InputError, missing_fix="check the --input path",
                     corrupt_fix="it is not a JSON capture; record it again or fix the file")
    if not isinstance(data, dict):
        raise InputError(f"{path}: a {what} must be a JSON object with the keys {', '.join(keys)}")
    missing = [k for k in keys if k not in data]
    if missing:
        raise InputError(f"{path}: the {what} lacks the key(s) {', '.join(missing)}; "
                         f"expected {', '.join(keys)} (is this the right kind of file?)")
    return data


def _array(value: Any, path: str | Path, key: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{path}: '{key}' must hold numbers only (nested lists of equal length)") from None
    return arr


def read_transforms(data: dict[str, Any], key: str, path: str | Path, *, allow_scale: bool = False) -> np.ndarray:
    """The list of 4x4 transforms under ``key`` as an ``(N, 4, 4)`` array, each checked.

    Args:
        data: the loaded capture.
        key: its key.
        path: the file, for messages.
        allow_scale: accept per-axis scale in the linear part (transforms from image pixels).

    Raises:
        InputError: wrong shape, NaN/inf, a last row other than ``[0, 0, 0, 1]``, or a linear
            part that is not a rotation; the message names the first bad entry.
    """
    arr = _array(data[key], path, key)
    if arr.ndim != 3 or arr.shape[1:] != (4, 4):
        raise InputError(f"{path}: '{key}' must be a list of 4x4 matrices, got an array of shape {arr.shape}")
    for i, m in enumerate(arr):
        if not np.all(np.isfinite(m)):
            raise InputError(f"{path}: {key}[{i}] contains NaN or infinite values; drop that pose or record again")
        if not np.allclose(m[3], [0.0, 0.0, 0.0, 1.0], atol=1e-9):
            raise InputError(f"{path}: {key}[{i}] last row is {m[3].tolist()}, not [0, 0, 0, 1]")
        lin = m[:3, :3]
        if allow_scale:
            lin = lin / np.maximum(np.linalg.norm(lin, axis=0), 1e-12)
        err = float(np.abs(lin.T @ lin - np.eye(3)).max())
        if err > RIGID_TOLERANCE or np.linalg.det(lin) < 0:
            raise InputError(f"{path}: {key}[{i}] is not a rigid transform (rotation part off orthonormal by "
                             f"{err:.2g} or mirrored); poses must be 4x4 rigid matrices in mm")
    return arr


def read_points(data: dict[str, Any], key: str, path: str | Path, dim: int) -> np.ndarray:
    """The list of ``dim``-vectors under ``key`` as an ``(N, dim)`` array.

    Raises:
        InputError: wrong shape or non-finite values (names the first bad entry).
    """
    arr = _array(data[key], path, key)
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise InputError(f"{path}: '{key}' must be a list of [{', '.join('xyz'[:dim] if dim <= 3 else 'x' * dim)}] "
                         f"entries ({dim} numbers each), got an array of shape {arr.shape}")
    bad = np.flatnonzero(~np.all(np.isfinite(arr), axis=1))
    if bad.size:
        raise InputError(f"{path}: {key}[{int(bad[0])}] contains NaN or infinite values; drop it or record again")
    return arr


def same_length(path: str | Path, **arrays: np.ndarray) -> int:
    """Check that the named arrays hold one entry per station; returns that count.

    Raises:
        InputError: the lengths differ (names each key's count).
    """
    counts = {k: len(v) for k, v in arrays.items()}
    if len(set(counts.values())) != 1:
        listed = ", ".join(f"{k}: {n}" for k, n in counts.items())
        raise InputError(f"{path}: the lists must have one entry per station, got {listed}")
    return next(iter(counts.values()))


def at_least(path: str | Path, n: int, minimum: int, what: str, advice: str) -> None:
    """Refuse a capture with fewer than ``minimum`` stations.

    Raises:
        InputError: too few (says how many more and what to record).
    """
    if n < minimum:
        raise InputError(f"{path}: {n} {what}, at least {minimum} are needed; {advice}")
