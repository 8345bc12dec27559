"""``sonoguide track eval``: pose accuracy, detection rate and throughput on a folder of stills.

The folder holds ``camera.json``, ``board.json``, ``frames/*.png`` and optionally
``truth.jsonl`` (one ``{"frame": "0000.png", "T_camera_from_board": 4x4 mm}`` per line).
Frames are independent stills: the tracker's memory of the previous pose is cleared before
each one, so no frame helps another. A frame counts as detected when the tracker returns a
usable pose (``ok`` or ``occluded``); ``uncertain`` and ``lost`` frames are reported apart.
Errors: translation ``||t_est - t_true||`` (mm) of the board origin and the angle of
``R_est^T R_true`` (degrees); an accepted pose more than :data:`GROSS_MM` or :data:`GROSS_DEG`
off is a *gross error* (a pose a clinician must never be shown). Throughput is frames per second
of ``BoardTracker.process`` alone (decoding the PNG files is not counted), on one thread of
control.

*Eligible* frames are those a tracker can be asked to see: at least half of the chessboard
corners visible (``visible_fraction`` of the truth line, else computed from the truth pose:
inside the image and facing the camera) and a board that spans at least :data:`MIN_SPAN_PX`
(square root of its projected area). Figures are also given per imaging ``condition`` (when the
truth lines name one, as ``track render`` writes them), per distance band of the board centre,
and as counts of refusal reasons.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field, fields
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
GROSS_MM = 5.0
"""An accepted pose whose origin is further off than this (mm) is a gross error."""
GROSS_DEG = 3.0
"""An accepted pose whose rotation is further off than this (degrees) is a gross error."""
MIN_VISIBLE = 0.5
"""Eligible frames show at least this fraction of the chessboard corners."""
MIN_SPAN_PX = 80.0
"""Eligible frames show a board at least this large (square root of its projected area, px)."""
DEPTH_BANDS_MM = (250.0, 350.0, 450.0, 550.0, 650.0, 750.0)
"""Edges of the distance bands of the per-band table (board-centre depth, mm)."""


@dataclass(frozen=True)
class TrackerOutput:
    """What a tracker said about one frame (the input of :func:`score`).

    Attributes:
        frame: file name.
        validity: ``ok``, ``occluded``, ``uncertain`` or ``lost``.
        reason: the tracker's reason for a status other than ``ok``.
        n_points: points used.
        reproj_err_px: RMS reprojection error (px).
        seconds: time of the tracker on this frame.
        T: the usable pose (4x4, mm), or ``None``.
        trans_std_mm: translation standard deviation from its covariance.
        rot_std_deg: rotation standard deviation from its covariance.
    """

    frame: str
    validity: str
    reason: str
    n_points: int
    reproj_err_px: float
    seconds: float
    T: np.ndarray | None
    trans_std_mm: float = float("nan")
    rot_std_deg: float = float("nan")


@dataclass(frozen=True)
class FrameResult(TrackerOutput):
    """A tracker's output on one frame with what the truth says of it (:func:`score`).

    Attributes:
        trans_err_mm: distance of the board origin from the truth (``None``: no pose or no truth).
        rot_err_deg: angle of ``R_est^T R_true`` (``None`` likewise).
        depth_mm: board-centre depth of the truth (``None`` without truth).
        condition: the imaging condition named by the truth line (``all`` when it names none).
        eligible: enough of the board is visible to ask for a pose (see the module docstring).
    """

    trans_err_mm: float | None = None
    rot_err_deg: float | None = None
    depth_mm: float | None = None
    condition: str = "all"
    eligible: bool = True

    @property
    def detected(self) -> bool:
        """A usable pose (``ok`` or ``occluded``)."""
        return self.validity in ("ok", "occluded")

    @property
    def gross(self) -> bool:
        """An accepted pose more than 5 mm or 3 degrees off the truth."""
        return self.trans_err_mm is not None and (self.trans_err_mm > GROSS_MM or self.rot_err_deg > GROSS_DEG)


@dataclass
class GroupFigures:
    """Figures of a group of frames (one condition, one distance band, or the eligible ones)."""

    n: int
    detected: int
    trans_rmse_mm: float | None
    rot_rmse_deg: float | None
    gross: int

    @property
    def detection_rate(self) -> float:
        """Detected / frames of the group."""
        return self.detected / self.n if self.n else 0.0

    def as_dict(self) -> dict:
        """Rounded figures for the JSON summary."""
        r = lambda v, d: None if v is None else round(float(v), d)  # noqa: E731
        return {"n": self.n, "detected": self.detected, "detection_rate": r(self.detection_rate, 4),
                "trans_rmse_mm": r(self.trans_rmse_mm, 4), "rot_rmse_deg": r(self.rot_rmse_deg, 4),
                "gross_errors": self.gross}


def group_figures(frames: list[FrameResult]) -> GroupFigures:
    """Detection, RMSE (of frames with truth) and gross errors of ``frames``."""
    te = np.array([f.trans_err_mm for f in frames if f.trans_err_mm is not None])
    re = np.array([f.rot_err_deg for f in frames if f.rot_err_deg is not None])
    rms = lambda a: float(np.sqrt(np.mean(a ** 2))) if a.size else None  # noqa: E731
    return GroupFigures(len(frames), sum(f.detected for f in frames), rms(te), rms(re),
                        sum(f.gross for f in frames))


def depth_band(depth_mm: float | None) -> str:
    """The distance band label (``"250-350"``...) of a board-centre depth."""
    if depth_mm is None:
        return "unknown"
    edges = DEPTH_BANDS_MM
    if depth_mm < edges[0]:
        return f"<{edges[0]:.0f}"
    for lo, hi in zip(edges[:-1], edges[1:]):
        if depth_mm < hi:
            return f"{lo:.0f}-{hi:.0f}"
    return f">={edges[-1]:.0f}"


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

    @property
    def gross_errors(self) -> int:
        """Accepted poses more than 5 mm or 3 degrees off."""
        return sum(f.gross for f in self.frames)

    def eligible(self) -> GroupFigures:
        """Figures of the eligible frames (half the board visible, spanning >= 80 px)."""
        return group_figures([f for f in self.frames if f.eligible])

    def by(self, key: str) -> dict[str, GroupFigures]:
        """Figures per ``condition`` or per distance ``band``, in a stable order."""
        groups: dict[str, list[FrameResult]] = {}
        for f in self.frames:
            g = f.condition if key == "condition" else depth_band(f.depth_mm)
            groups.setdefault(g, []).append(f)
        order = sorted(groups, key=lambda g: (_band_lo(g), g)) if key == "band" else list(groups)
        return {g: group_figures(groups[g]) for g in order}

    def reasons(self) -> dict[str, int]:
        """Counts of the reasons of every frame that was not ``ok`` (refused, lost, partial)."""
        out: dict[str, int] = {}
        for f in self.frames:
            if f.validity != "ok":
                k = f"{f.validity}:{f.reason.split(':')[0] or '-'}"
                out[k] = out.get(k, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def json_line(self) -> str:
        """The one-line JSON summary printed last by ``--json``."""
        r = lambda v, d: None if v is None else round(float(v), d)  # noqa: E731
        el = self.eligible()
        return json.dumps({"n": self.n, "detected": self.detected, "trans_rmse_mm": r(self.trans_rmse_mm, 4),
                           "rot_rmse_deg": r(self.rot_rmse_deg, 4), "fps": r(self.fps, 2),
                           "uncertain": self.uncertain, "trans_median_mm": r(self.trans_median_mm, 4),
                           "rot_median_deg": r(self.rot_median_deg, 4), "detection_rate": r(self.detection_rate, 4),
                           "gross_errors": self.gross_errors, "eligible": el.n, "detected_eligible": el.detected,
                           "detection_rate_eligible": r(el.detection_rate, 4),
                           "per_condition": {k: v.as_dict() for k, v in self.by("condition").items()},
                           "per_band": {k: v.as_dict() for k, v in self.by("band").items()},
                           "reasons": self.reasons()})


def _band_lo(label: str) -> float:
    try:
        return float(label.lstrip("<>=").split("-")[0]) + (0.5 if label.startswith(">") else 0.0)
    except ValueError:
        return float("inf")


def _load_truth(path: Path) -> dict[str, tuple[np.ndarray, dict]]:
    truth: dict[str, tuple[np.ndarray, dict]] = {}
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
        truth[Path(name).name] = (T, d)
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


METHODS = ("sonoguide", "opencv")
"""Trackers ``evaluate`` can run: the board tracker, or :class:`~research.tracking.baseline.OpenCVBaseline`."""


def evaluate(data_dir: str | Path, config: TrackingConfig | None = None, progress: bool = True,
             method: str = "sonoguide") -> EvalSummary:
    """Run the tracker on every frame of ``data_dir`` and compare with ``truth.jsonl``.

    Args:
        data_dir: the data folder.
        config: ``[tracking]`` of the board tracker.
        progress: show a progress bar.
        method: ``"sonoguide"`` (the board tracker) or ``"opencv"`` (the stock OpenCV pipeline,
            for comparison).

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
    if method not in METHODS:
        raise InputError(f"unknown tracking method {method!r}; known: {', '.join(METHODS)}")
    if method == "opencv":
        from research.tracking.baseline import OpenCVBaseline
        tracker = OpenCVBaseline(board, camera)
    else:
        tracker = BoardTracker(board, camera, config or TrackingConfig())
    outputs: list[TrackerOutput] = []
    for k, path in enumerate(tqdm(files, desc="track eval", unit="frame", disable=not progress)):
        img = read_frame(path)
        tracker.reset()  # independent stills: no memory between frames
        t0 = time.perf_counter()
        m = tracker.process(img, k)
        dt = time.perf_counter() - t0
        outputs.append(TrackerOutput(path.name, m.validity.value, m.reason, m.n_points, m.reproj_err_px, dt,
                                     m.T_camera_from_board if m.usable else None, m.trans_std_mm, m.rot_std_deg))
    return score(outputs, board, camera, truth)


def load_truth(data_dir: str | Path) -> dict[str, tuple[np.ndarray, dict]]:
    """``truth.jsonl`` of a data folder: ``{frame: (T_camera_from_board, whole line)}`` (empty without one)."""
    return _load_truth(Path(data_dir) / "truth.jsonl")


def score(outputs: list[TrackerOutput], board, camera: CameraIntrinsics,
          truth: dict[str, tuple[np.ndarray, dict]]) -> EvalSummary:
    """Compare a tracker's outputs with the truth: errors, eligibility, condition and distance band."""
    from research.tracking.conditions import visibility
    from vision.tracking.simulate import board_centre
    centre = board_centre(board)
    results: list[FrameResult] = []
    total_s = 0.0
    for o in outputs:
        total_s += o.seconds
        judged: dict = {}
        t_line = truth.get(o.frame)
        if t_line is not None:
            T_true, line = t_line
            vis = (line if "visible_fraction" in line and "span_px" in line
                   else visibility(board, camera, T_true))
            judged = {"depth_mm": float((T_true[:3, :3] @ centre + T_true[:3, 3])[2]),
                      "condition": str(line.get("condition", "all")),
                      "eligible": float(vis["visible_fraction"]) >= MIN_VISIBLE
                      and float(vis["span_px"]) >= MIN_SPAN_PX}
            if o.T is not None:
                judged["trans_err_mm"] = float(np.linalg.norm(o.T[:3, 3] - T_true[:3, 3]))
                judged["rot_err_deg"] = rotation_angle_deg(o.T[:3, :3], T_true[:3, :3])
        results.append(FrameResult(**{f.name: getattr(o, f.name) for f in fields(TrackerOutput)}, **judged))
    detected = sum(r.detected for r in results)
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
        el = s.eligible()
        lines += [f"truth frames      {s.n_truth}",
                  f"eligible          {el.n} (>= {100 * MIN_VISIBLE:.0f} % of the board visible, >= {MIN_SPAN_PX:.0f} px): "
                  f"detected {el.detected} ({100 * el.detection_rate:.1f} %)",
                  f"gross errors      {s.gross_errors} accepted poses > {GROSS_MM:g} mm or > {GROSS_DEG:g} deg off"]
        lines += ["", *figure_table("condition", s.by("condition")), "", *figure_table("depth (mm)", s.by("band"))]
    reasons = s.reasons()
    if reasons:
        lines += ["", "not ok: " + ", ".join(f"{k} {v}" for k, v in reasons.items())]
    return "\n".join(lines)


def figure_table(title: str, groups: dict[str, GroupFigures]) -> list[str]:
    """Rows ``name  n  detected %  trans RMSE  rot RMSE  gross`` of a per-group table."""
    f = lambda v, d=3: "   n/a" if v is None else f"{v:6.{d}f}"  # noqa: E731
    rows = [f"{title:<14} {'n':>4} {'detected':>9} {'trans mm':>9} {'rot deg':>8} {'gross':>6}"]
    for name, g in groups.items():
        rows.append(f"{name:<14} {g.n:>4} {100 * g.detection_rate:>8.1f}% {f(g.trans_rmse_mm):>9} "
                    f"{f(g.rot_rmse_deg):>8} {g.gross:>6}")
    return rows
