"""Camera intrinsics: load, validate and save the camera JSON file.

The file holds the pinhole matrix and the distortion coefficients of OpenCV's
Brown-Conrady model (Zhang, "A flexible new technique for camera calibration",
IEEE TPAMI 22(11), 2000; OpenCV ``calib3d`` distortion model)::

    {"K": [[fx, 0, cx], [0, fy, cy], [0, 0, 1]], "dist": [k1, k2, p1, p2, k3],
     "width": 1280, "height": 720}
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import CalibrationError, InputError
from core.jsonfile import check_devices, load_json

logger = logging.getLogger(__name__)

_VALID_DIST_LENGTHS = (0, 4, 5, 8, 12, 14)


@dataclass(frozen=True, eq=False)
class CameraIntrinsics:
    """Pinhole camera matrix, distortion and the image size they belong to.

    Attributes:
        K: ``3x3`` float64 camera matrix (pixels).
        dist: distortion coefficients in OpenCV order (length 0, 4, 5, 8, 12 or 14).
        width: image width in pixels the calibration belongs to.
        height: image height in pixels the calibration belongs to.
        source: where the values came from (file path or ``"<dict>"``), used in messages.
    """

    K: np.ndarray
    dist: np.ndarray
    width: int
    height: int
    source: str = field(default="<dict>", compare=False)

    def __post_init__(self) -> None:
        K = np.asarray(self.K, dtype=np.float64)
        dist = np.asarray(self.dist, dtype=np.float64).ravel()
        where = self.source
        if K.shape != (3, 3) or not np.all(np.isfinite(K)):
            raise CalibrationError(f"{where}: key 'K' must be a finite 3x3 matrix, got shape {K.shape}")
        if K[0, 0] <= 0 or K[1, 1] <= 0 or abs(K[2, 2] - 1.0) > 1e-9 or np.any(K[2, :2] != 0) or K[1, 0] != 0:
            raise CalibrationError(
                f"{where}: key 'K' must be [[fx,0,cx],[0,fy,cy],[0,0,1]] with fx, fy > 0"
            )
        if dist.size not in _VALID_DIST_LENGTHS or not np.all(np.isfinite(dist)):
            raise CalibrationError(
                f"{where}: key 'dist' must hold {_VALID_DIST_LENGTHS[1:]} finite coefficients, got {dist.size}"
            )
        if not isinstance(self.width, (int, np.integer)) or not isinstance(self.height, (int, np.integer)):
            raise CalibrationError(f"{where}: keys 'width' and 'height' must be integers")
        if self.width <= 0 or self.height <= 0:
            raise CalibrationError(f"{where}: keys 'width' and 'height' must be positive")
        if not (0 <= K[0, 2] <= self.width and 0 <= K[1, 2] <= self.height):
            raise CalibrationError(
                f"{where}: principal point ({K[0, 2]:.1f}, {K[1, 2]:.1f}) lies outside the "
                f"{self.width}x{self.height} image; check 'K', 'width' and 'height'"
            )
        K.setflags(write=False)
        dist.setflags(write=False)
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "dist", dist)
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CameraIntrinsics):
            return NotImplemented
        return (self.size == other.size and np.array_equal(self.K, other.K)
                and np.array_equal(self.dist, other.dist))

    def __hash__(self) -> int:
        return hash((self.size, self.K.tobytes(), self.dist.tobytes()))

    @property
    def size(self) -> tuple[int, int]:
        """Image size ``(width, height)`` in pixels."""
        return (self.width, self.height)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<dict>") -> "CameraIntrinsics":
        """Build from the JSON object layout; raises CalibrationError naming the missing key."""
        if not isinstance(data, dict):
            raise CalibrationError(f"{source}: camera file must hold a JSON object")
        for key in ("K", "width", "height"):
            if key not in data:
                raise CalibrationError(f"{source}: missing key '{key}' (expected K, dist, width, height)")
        try:
            K = np.asarray(data["K"], dtype=np.float64)
            dist = np.asarray(data.get("dist", []), dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise CalibrationError(f"{source}: keys 'K'/'dist' must be numbers ({exc})") from None
        return cls(K=K, dist=dist, width=data["width"], height=data["height"], source=source)

    @classmethod
    def load(cls, path: str | Path, camera_id: str = "", max_rms_px: float | None = None) -> "CameraIntrinsics":
        """Load a camera JSON file.

        Args:
            path: the file.
            camera_id: when given, the file's ``devices.camera`` (written by ``sonoguide calibrate
                camera --device camera=ID``) must be this camera.
            max_rms_px: when given, a file that records its reprojection RMS (``rms_px``) must not
                exceed it (a hand-written file without ``rms_px`` is not checked).

        Raises:
            CalibrationError: the file is missing, not JSON, a key is missing/invalid, it is
                another camera's file, or its residual is over the limit.
        """
        data = load_json(path, what="camera file", error=CalibrationError,
                         missing_fix="run camera calibration or pass --camera", corrupt_fix="re-save it")
        rms = data.get("rms_px") if isinstance(data, dict) else None
        if max_rms_px is not None and isinstance(rms, (int, float)) and not isinstance(rms, bool) \
                and not rms <= max_rms_px:
            raise CalibrationError(f"camera file {path}: reprojection RMS {rms:.3f} px exceeds camera.max_rms_px "
                                   f"{max_rms_px:.3f}; recalibrate the camera (sonoguide calibrate camera)")
        check_devices(data, {"camera": camera_id}, what=f"camera file {path}", error=CalibrationError,
                      fix=f"use that camera's file or recalibrate it (sonoguide calibrate camera --device "
                          f"camera={camera_id})")
        return cls.from_dict(data, source=str(path))

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable dict in the file layout."""
        return {
            "K": self.K.tolist(),
            "dist": self.dist.tolist(),
            "width": self.width,
            "height": self.height,
        }

    def save(self, path: str | Path) -> None:
        """Write the camera JSON file (creates parent folders)."""
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    def check_image(self, image: np.ndarray) -> None:
        """Refuse an image whose size differs from the calibrated size.

        Raises:
            InputError: the image is not ``height x width``.
        """
        h, w = image.shape[:2]
        if (w, h) != (self.width, self.height):
            raise InputError(
                f"frame is {w}x{h} but camera intrinsics {self.source} are for "
                f"{self.width}x{self.height}; use the matching camera file or capture size"
            )

    def scaled(self, width: int, height: int) -> "CameraIntrinsics":
        """Intrinsics for the same camera at another resolution (pixel-centre convention)."""
        sx, sy = width / self.width, height / self.height
        K = self.K.copy()
        K[0, 0] *= sx
        K[0, 2] = (K[0, 2] + 0.5) * sx - 0.5
        K[1, 1] *= sy
        K[1, 2] = (K[1, 2] + 0.5) * sy - 0.5
        return CameraIntrinsics(K=K, dist=self.dist.copy(), width=width, height=height, source=self.source)
