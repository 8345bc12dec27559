"""Calibration files: one rigid (or pixel-scaled) transform with its provenance and error.

Layout (JSON, DESIGN.md "Calibration files"; PLUS Toolkit stores its calibrations with their
error and date in the same spirit)::

    {"format_version": 1, "from_frame": "image", "to_frame": "marker",
     "matrix": [[...], [...], [...], [0, 0, 0, 1]],
     "units": {"from": "px", "to": "mm"}, "method": "n-wire phantom",
     "residuals": {"rms_mm": 0.42, "max_mm": 0.95, "n": 60},
     "date": "2026-11-22T10:15:00+00:00",
     "devices": {"probe": "L14-6Ns#1234", "camera": "cam#42"},
     "software_version": "sonoguide 0.1.0"}

Loading refuses a file whose error exceeds the caller's limit (``residuals.expected_error_mm``
when the method predicts the error of the transform itself, as hand-eye does, whose fit residual
is mostly the trackers' noise; otherwise ``residuals.rms_mm``) or whose device ids differ
from the configured ones, so a calibration of another probe is never used silently.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from core.frames import UNITS, FrameName, check_transform
from core.version import __version__
from core.errors import CalibrationError
from core.jsonfile import check_devices, json_types, load_json, recorded_devices

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Calibration:
    """A calibrated transform ``T_to_from_from`` and where it came from.

    Attributes:
        from_frame: source frame.
        to_frame: destination frame.
        matrix: 4x4 float64 transform.
        method: how it was obtained (free text, e.g. ``"hand-eye (Tsai-Lenz)"``).
        residuals: error figures, at least ``rms_mm`` when measured.
        date: ISO-8601 time of the calibration.
        devices: device identifiers it belongs to (``{"probe": ..., "camera": ...}``).
        software_version: software that produced it.
        extra: method-specific results kept with the transform (for example the pivot
            point of a pivot calibration, the pixel spacing of an ultrasound calibration).
        source: file path, used in messages.
    """

    from_frame: FrameName
    to_frame: FrameName
    matrix: np.ndarray
    method: str = ""
    residuals: Mapping[str, float] = field(default_factory=dict)
    date: str = ""
    devices: Mapping[str, str] = field(default_factory=dict)
    software_version: str = f"sonoguide {__version__}"
    extra: Mapping[str, Any] = field(default_factory=dict)
    source: str = field(default="<memory>", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "from_frame", FrameName(self.from_frame))
        object.__setattr__(self, "to_frame", FrameName(self.to_frame))

    def to_dict(self) -> dict[str, Any]:
        """The JSON layout."""
        return {
            "format_version": FORMAT_VERSION,
            "from_frame": self.from_frame.value,
            "to_frame": self.to_frame.value,
            "matrix": np.asarray(self.matrix, dtype=float).tolist(),
            "units": {"from": UNITS[self.from_frame], "to": UNITS[self.to_frame]},
            "method": self.method,
            "residuals": dict(self.residuals),
            "date": self.date or _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "devices": dict(self.devices),
            "software_version": self.software_version,
            "extra": json_types(dict(self.extra)),
        }

    def save(self, path: str | Path) -> None:
        """Write the JSON file (parent folders are created; written whole, then renamed).

        Raises:
            CalibrationError: the file cannot be written (names the path and the fix).
        """
        p = Path(path)
        tmp = p.with_name(p.name + ".tmp")
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
            tmp.replace(p)
        except OSError as exc:
            raise CalibrationError(f"cannot write the calibration file {p} ({exc.strerror or exc}); "
                                   "pass --out with a writable path") from None


def load_calibration(path: str | Path, from_frame: FrameName | str, to_frame: FrameName | str,
                     max_rms_mm: float | None = None, devices: Mapping[str, str] | None = None) -> Calibration:
    """Load and check a calibration file.

    Args:
        path: the JSON file.
        from_frame: the frame the caller needs the transform from; a file for the inverse
            direction is inverted.
        to_frame: the frame the caller needs the transform to.
        max_rms_mm: refuse the file when its ``residuals.rms_mm`` is larger (``None``: no limit).
        devices: required device ids; each given key must match the file's value.

    Raises:
        CalibrationError: missing, unreadable or malformed file, other frames, residual over the
            limit, or another device; the message names the file and the fix.
    """
    p = Path(path)
    want_from, want_to = FrameName(from_frame), FrameName(to_frame)
    data = load_json(p, what="calibration file", error=CalibrationError,
                     missing_fix="run the calibration or fix the path in the [calibration] section",
                     corrupt_fix="the file is corrupt: restore it or recalibrate")
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise CalibrationError(f"calibration file {p} has format_version {version!r}; this software reads "
                               f"{FORMAT_VERSION} - recalibrate with this version")
    for key in ("from_frame", "to_frame", "matrix"):
        if key not in data:
            raise CalibrationError(f"calibration file {p} lacks '{key}'; recalibrate")
    try:
        f, t = FrameName(data["from_frame"]), FrameName(data["to_frame"])
    except ValueError:
        raise CalibrationError(f"calibration file {p}: unknown frame in from_frame/to_frame "
                               f"({data['from_frame']!r}, {data['to_frame']!r}); known: "
                               f"{', '.join(x.value for x in FrameName)}") from None
    matrix = check_transform(data["matrix"] if isinstance(data["matrix"], list) else [],
                             f"{p}: matrix", allow_scale=FrameName.IMAGE in (f, t))
    if (f, t) == (want_to, want_from):
        f, t, matrix = t, f, np.linalg.inv(matrix)
    elif (f, t) != (want_from, want_to):
        raise CalibrationError(f"calibration file {p} maps {f.value} -> {t.value}, but "
                               f"{want_from.value} -> {want_to.value} is needed; check which file is configured")
    residuals = data.get("residuals") or {}
    if not isinstance(residuals, dict):
        raise CalibrationError(f"calibration file {p}: 'residuals' must be an object")
    if max_rms_mm is not None:
        key = "expected_error_mm" if "expected_error_mm" in residuals else "rms_mm"
        rms = residuals.get(key)
        if not isinstance(rms, (int, float)) or not np.isfinite(rms):
            raise CalibrationError(f"calibration file {p} carries no residuals.rms_mm; recalibrate so its "
                                   "error is known")
        if rms > max_rms_mm:
            what = "expected error" if key == "expected_error_mm" else "residual"
            raise CalibrationError(f"calibration file {p}: {what} {rms:.2f} mm RMS exceeds the limit "
                                   f"{max_rms_mm:.2f} mm; recalibrate")
    check_devices(data, dict(devices or {}), what=f"calibration file {p}",
                  fix="use that device's calibration or recalibrate", error=CalibrationError)
    return Calibration(from_frame=f, to_frame=t, matrix=matrix, method=str(data.get("method", "")),
                       residuals=residuals, date=str(data.get("date", "")), devices=recorded_devices(data),
                       software_version=str(data.get("software_version", "")),
                       extra=data.get("extra") if isinstance(data.get("extra"), dict) else {}, source=str(p))
