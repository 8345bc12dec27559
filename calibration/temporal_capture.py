"""Reading a recorded temporal-calibration capture (a folder), for ``sonoguide calibrate temporal``.

Layout of the folder ``DIR`` (every time in ns on one clock, e.g. the host's ``time.time_ns()``)::

    DIR/frames/0000.png ...   the ultrasound frames (grey or colour PNG)
    DIR/frames.jsonl          one line per frame: {"frame": "0000.png", "t_ns": 1733600000000000000}
                              ("frame" is a file name under DIR/frames/, or a path relative to DIR)
    DIR/poses.jsonl           one line per pose:  {"t_ns": ..., "T_tracker_from_marker": [[4x4]]}
                              (the probe marker in the tracker's frame, mm; null when the marker was lost)
    DIR/capture.json          optional: {"mm_per_px": [row, col] or one number}

``mm_per_px`` is the pixel spacing (depth per row, lateral per column); ``--pixel-spacing``
overrides it. Other keys of capture.json are ignored. Also read: ``t_capture_ns`` for ``t_ns``,
``T_camera_from_marker`` for ``T_tracker_from_marker`` (the tracking camera as the tracker), and
``pixel_spacing_mm`` for ``mm_per_px``. Lines may come in any order; they are sorted
by time and exact duplicates of a time are dropped.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from calibration.inputs import read_transforms
from core.errors import InputError
from core.jsonfile import load_json

log = logging.getLogger(__name__)

POSE_KEYS = ("T_tracker_from_marker", "T_camera_from_marker")
SPACING_KEYS = ("mm_per_px", "pixel_spacing_mm")


@dataclass(frozen=True)
class TemporalCapture:
    """A loaded capture.

    Attributes:
        frame_paths: ultrasound frame files, by time.
        frame_t_ns: their capture times.
        pose_t_ns: capture times of the tracked poses (lost ones left out).
        T_tracker_from_marker: ``(N, 4, 4)`` poses.
        mm_per_px: pixel spacing ``(row, col)``.
        n_lost: pose lines marked lost (null).
    """

    frame_paths: list[Path]
    frame_t_ns: np.ndarray
    pose_t_ns: np.ndarray
    T_tracker_from_marker: np.ndarray
    mm_per_px: tuple[float, float]
    n_lost: int


def _jsonl(path: Path, what: str) -> list[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise InputError(f"{path} not found; a temporal capture folder holds frames.jsonl, poses.jsonl and frames/ "
                         "(see sonoguide calibrate temporal --help)")
    out = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} cannot be read ({exc})") from None
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            raise InputError(f"{path}:{n}: not a JSON object; each line must be one {what}") from None
        if not isinstance(obj, dict):
            raise InputError(f"{path}:{n}: not a JSON object; each line must be one {what}")
        out.append((n, obj))
    return out


def _time(obj: dict[str, Any], where: str) -> int:
    t = obj.get("t_ns", obj.get("t_capture_ns"))
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not np.isfinite(t):
        raise InputError(f"{where}: 't_ns' must be a capture time in nanoseconds (a number), got {t!r}")
    return int(t)


def _spacing(value: Any, where: str) -> tuple[float, float]:
    try:
        arr = np.asarray(value, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        arr = np.array([])
    if arr.size == 1:
        arr = np.repeat(arr, 2)
    if arr.size != 2 or not np.all(np.isfinite(arr)) or np.any(arr <= 0) or np.any(arr > 10):
        raise InputError(f"{where}: the pixel spacing must be one or two positive numbers in mm per pixel "
                         f"([row, col], e.g. 0.1), got {value!r}")
    return float(arr[0]), float(arr[1])


def parse_spacing(text: str) -> tuple[float, float]:
    """``--pixel-spacing ROW[,COL]`` as ``(row, col)`` mm per pixel.

    Raises:
        InputError: not one or two positive numbers.
    """
    try:
        values = [float(x) for x in text.replace(" ", "").split(",") if x]
    except ValueError:
        values = []
    return _spacing(values if values else text, "--pixel-spacing")


def _sorted_unique(t: np.ndarray, what: str) -> np.ndarray:
    order = np.argsort(t, kind="stable")
    ts = t[order]
    keep = np.ones(len(ts), bool)
    keep[1:] = np.diff(ts) > 0
    if not keep.all():
        log.warning("%d %s with a repeated capture time dropped", int((~keep).sum()), what)
    return order[keep]


def load_temporal_capture(folder: str | Path, pixel_spacing: tuple[float, float] | None = None) -> TemporalCapture:
    """Read and check a capture folder (layout in the module docstring).

    Args:
        folder: the capture folder.
        pixel_spacing: ``(row, col)`` mm per pixel; overrides ``capture.json``.

    Raises:
        InputError: a missing or malformed file or entry (names the file and line), no pixel
            spacing, a frame file that is not there.
    """
    d = Path(folder)
    if not d.is_dir():
        raise InputError(f"{d} is not a folder; --input takes a temporal capture folder (frames/, frames.jsonl, "
                         "poses.jsonl)")
    meta: dict[str, Any] = {}
    if (d / "capture.json").is_file():
        meta = load_json(d / "capture.json", what="capture description", error=InputError,
                         missing_fix="check the folder", corrupt_fix="fix or delete capture.json")
    if pixel_spacing is None:
        key = next((k for k in SPACING_KEYS if k in meta), None)
        if key is None:
            raise InputError(f"{d}: the pixel spacing is not known; pass --pixel-spacing ROW[,COL] (mm per pixel) or "
                             "put \"mm_per_px\" in capture.json")
        pixel_spacing = _spacing(meta[key], f"{d / 'capture.json'}: {key}")

    frames, times = [], []
    for n, obj in _jsonl(d / "frames.jsonl", "frame ({\"frame\": NAME, \"t_ns\": T})"):
        where = f"{d / 'frames.jsonl'}:{n}"
        name = obj.get("frame")
        if not isinstance(name, str) or not name:
            raise InputError(f"{where}: 'frame' must name a PNG under frames/")
        path = d / "frames" / name
        if not path.is_file():
            path = d / name
        if not path.is_file():
            raise InputError(f"{where}: frame file {name!r} not found under {d / 'frames'}")
        frames.append(path)
        times.append(_time(obj, where))
    if not frames:
        raise InputError(f"{d / 'frames.jsonl'} lists no frames; record the ultrasound frames while moving the probe")
    ft = np.asarray(times, dtype=np.int64)
    order = _sorted_unique(ft, "frames")

    pose_t, mats, lost = [], [], 0
    for n, obj in _jsonl(d / "poses.jsonl", "pose ({\"t_ns\": T, \"T_tracker_from_marker\": 4x4})"):
        where = f"{d / 'poses.jsonl'}:{n}"
        key = next((k for k in POSE_KEYS if k in obj), None)
        if key is None:
            raise InputError(f"{where}: lacks 'T_tracker_from_marker' (a 4x4 matrix in mm, or null when lost)")
        t = _time(obj, where)
        if obj[key] is None:
            lost += 1
            continue
        mats.append(read_transforms({key: [obj[key]]}, key, where)[0])
        pose_t.append(t)
    if not mats:
        raise InputError(f"{d / 'poses.jsonl'} holds no tracked pose; record the probe marker's poses")
    pt = np.asarray(pose_t, dtype=np.int64)
    porder = _sorted_unique(pt, "poses")
    return TemporalCapture(frame_paths=[frames[i] for i in order], frame_t_ns=ft[order], pose_t_ns=pt[porder],
                           T_tracker_from_marker=np.asarray(mats)[porder], mm_per_px=pixel_spacing,
                           n_lost=lost)
