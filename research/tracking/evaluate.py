"""``sonoguide track eval``: pose accuracy, detection rate and throughput on a folder of stills.

The folder holds ``camera.json``, ``board.json``, ``frames/*.png`` and optionally
``truth.jsonl`` (one ``{"frame": "0000.png", "T_camera_from_board": 4x4 mm}`` per line).
Frames are independent stills: the tracker's memory of the previous pose is cleared before
each one, so no frame helps another. A frame counts as detected when the tracker returns a
usable pose (``ok`` or ``occluded``); ``uncertain`` and ``lost`` frames are reported apart.
Errors: translation ``||t_est - t_true||`` (mm) of the board origin and the angle of
``R_est^T R_true`` (degrees). Throughput is frames per second of ``BoardTracker.process``
alone (decoding the PNG files is not counted), on one thread of control.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from core.camera import CameraIntrinsics
from core.errors import InputError
from vision.tracking.board import load_board
from vision.tracking.config import TrackingConfig
from core.se3 import is_rigid, rotation_angle_deg
from vision.tracking.board_tracker import BoardTracker

logger = logging.getLogger(__name__)

_IMAGE_EXT = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


@dataclass
class FrameResult:
    """Outcome on one frame."""

    frame: str
    validity: str
    reason: str
    n_points: int
    reproj_err_px: float
    seconds: float
    trans_err_mm: float | None = None
    rot_err_deg: float | None = None
    depth_mm: float | None = None
    trans_std_mm: float = float("nan")
    rot_std_deg: float = float("nan")


@dataclass
class EvalSummary:
    """Aggregate figures of one evaluation."""

    n: int
    detected: int
    uncertain: int
    trans_rmse_mm: float | None
    trans_median_mm: float | None
    rot_rmse_deg: float | None
    rot_median_deg: float | None
    fps: float
    n_truth: int
    frames: list[FrameResult] = field(default_factory=list, repr=False)

    @property
    def detection_rate(self) -> float:
        """Detected frames / all frames."""
        return self.detected / self.n if self.n else 0.0

    def json_line(self) -> str:
        """The one-line JSON summary printed last by ``--json``."""
        r = lambda v, d: None if v is None else round(float(v), d)  # noqa: E731
        return json.dumps({"n": self.n, "detected": self.detected, "trans_rmse_mm": r(self.trans_rmse_mm, 4),
                           "rot_rmse_deg": r(self.rot_rmse_deg, 4), "fps": r(self.fps, 2),
                           "uncertain": self.uncertain, "trans_median_mm": r(self.trans_median_mm, 4),
                           "rot_median_deg": r(self.rot_median_deg, 4), "detection_rate": r(self.detection_rate, 4)})


def _load_truth(path: Path) -> dict[str, np.ndarray]:
    truth: dict[str, np.ndarray] = {}
    if not path.exists():
        return truth
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            T = np.asarray(d["T_camera_from_board"], dtype=np.float64)
            name = str(d["frame"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{path}:{n}: not a truth line {{\"frame\": ..., \"T_camera_from_board\": 4x4}} ({exc})") from None
        if not is_rigid(T, tol=1e-4):
            raise InputError(f"{path}:{n}: T_camera_from_board of {name} is not a 4x4 rigid transform")
        truth[Path(name).name] = T
    return truth


def list_frames(data_dir: Path) -> list[Path]:
    """Image files under ``data_dir/frames`` in name order."""
    fdir = data_dir / "frames"
    if not fdir.is_dir():
        raise InputError(f"{fdir} not found; the data folder needs frames/*.png (see sonoguide track eval --help)")
    files = sorted(p for p in fdir.iterdir() if p.suffix.lower() in _IMAGE_EXT)
    if not files:
        raise InputError(f"{fdir} holds no images (.png, .jpg...)")
    return files


def read_frame(path: Path) -> np.ndarray:
    """Read one frame as stored (grey or BGR, 8 or 16 bit).

    Raises:
        InputError: the file cannot be decoded as an image.
    """
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        raise InputError(f"frame {path} cannot be read as an image; re-export it or remove it from frames/")
    return img


def evaluate(data_dir: str | Path, config: TrackingConfig | None = None, progress: bool = True) -> EvalSummary:
    """Run the tracker on every frame of ``data_dir`` and compare with ``truth.jsonl``.

    Raises:
        CalibrationError: ``camera.json`` missing or invalid.
        ConfigError: ``board.json`` missing or invalid.
        InputError: no frames, an unreadable frame, a frame of another size than the
            camera calibration, or a malformed truth file.
    """
    d = Path(data_dir)
    if not d.is_dir():
        raise InputError(f"data folder {d} not found; pass --data DIR with camera.json, board.json and frames/")
    camera = CameraIntrinsics.load(d / "camera.json")
    board = load_board(d / "board.json")
    files = list_frames(d)
    truth = _load_truth(d / "truth.jsonl")
    tracker = BoardTracker(board, camera, config or TrackingConfig())
    from vision.tracking.simulate import board_centre
    centre = board_centre(board)
    results: list[FrameResult] = []
    total_s = 0.0
    for k, path in enumerate(tqdm(files, desc="track eval", unit="frame", disable=not progress)):
        img = read_frame(path)
        tracker.reset()  # independent stills: no memory between frames
        t0 = time.perf_counter()
        m = tracker.process(img, k)
        dt = time.perf_counter() - t0
        total_s += dt
        r = FrameResult(path.name, m.validity.value, m.reason, m.n_points, m.reproj_err_px, dt,
                        trans_std_mm=m.trans_std_mm, rot_std_deg=m.rot_std_deg)
        T_true = truth.get(path.name)
        if T_true is not None:
            r.depth_mm = float((T_true[:3, :3] @ centre + T_true[:3, 3])[2])
            if m.usable:
                T = m.T_camera_from_board
                r.trans_err_mm = float(np.linalg.norm(T[:3, 3] - T_true[:3, 3]))
                r.rot_err_deg = rotation_angle_deg(T[:3, :3], T_true[:3, :3])
        results.append(r)
    detected = sum(1 for r in results if r.validity in ("ok", "occluded"))
    te = np.array([r.trans_err_mm for r in results if r.trans_err_mm is not None])
    re = np.array([r.rot_err_deg for r in results if r.rot_err_deg is not None])
    rms = lambda a: float(np.sqrt(np.mean(a ** 2))) if a.size else None  # noqa: E731
    med = lambda a: float(np.median(a)) if a.size else None  # noqa: E731
    return EvalSummary(n=len(results), detected=detected, uncertain=sum(r.validity == "uncertain" for r in results),
                       trans_rmse_mm=rms(te), trans_median_mm=med(te), rot_rmse_deg=rms(re), rot_median_deg=med(re),
                       fps=len(results) / total_s if total_s > 0 else 0.0,
                       n_truth=sum(1 for r in results if r.depth_mm is not None), frames=results)


def format_summary(s: EvalSummary) -> str:
    """Human-readable summary lines."""
    f = lambda v, unit, d=3: "n/a (no truth)" if v is None else f"{v:.{d}f} {unit}"  # noqa: E731
    lines = [
        f"frames            {s.n}",
        f"detected          {s.detected} ({100 * s.detection_rate:.1f} %); uncertain {s.uncertain}; "
        f"lost {s.n - s.detected - s.uncertain}",
        f"translation RMSE  {f(s.trans_rmse_mm, 'mm')}   median {f(s.trans_median_mm, 'mm')}",
        f"rotation RMSE     {f(s.rot_rmse_deg, 'deg')}   median {f(s.rot_median_deg, 'deg')}",
        f"throughput        {s.fps:.1f} frames/s (detection + pose, per frame)",
    ]
    if s.n_truth:
        lines.append(f"truth frames      {s.n_truth}")
    return "\n".join(lines)
