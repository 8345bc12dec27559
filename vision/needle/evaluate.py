"""Needle tracking evaluated on phantom sequences with a known needle.

Each sequence is a :class:`~vision.phantom.render.Phantom` with its own seed, insertion angle,
side and target, played from before the puncture until the needle stops, at ``fps`` frames per
second. Per frame where the true tip lies inside the image:

* tip error: distance (mm) between the tracker's tip and the true tip, on frames the tracker
  reports ``ok``;
* angle error: ``|angle - true angle|`` (degrees) on the same frames;
* detection: fraction of those frames reported ``ok``;
* false alarms: frames without a visible needle reported ``ok``.

Proximity on the scripted approaches (``needle_target`` = nerve / vessel, the needle stops at the
structure's wall): the structures given to the tracker are the ground-truth label contours, so
the check isolates the needle part; the true level uses the true tip with the same contours and
thresholds. Reported: agreement of the levels on ``ok`` frames, and whether every approach
reached ``stop`` before its end.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from tqdm import tqdm

from vision.needle.config import NeedleConfig
from vision.needle.proximity import proximity_level, structure_distances
from vision.needle.tracker import NeedleTracker
from vision.types import Structure, Validity

logger = logging.getLogger(__name__)

LEVELS = ("safe", "caution", "stop")


@dataclass(frozen=True)
class SequenceSpec:
    """One phantom needle sequence."""

    seed: int
    angle_deg: float
    side: str
    target: str = "none"
    preset: str = "femoral"
    duration_s: float = 16.0


def default_sequences(n: int = 12) -> list[SequenceSpec]:
    """``n`` sequences cycling through angles 15-45 degrees, both sides and the three targets."""
    angles = (15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 45.0)
    targets = ("none", "nerve", "vessel")
    presets = ("femoral", "interscalene", "random")
    return [SequenceSpec(seed=100 + k, angle_deg=angles[k % len(angles)], side=("left", "right")[k % 2],
                         target=targets[k % 3], preset=presets[(k // 3) % 3]) for k in range(n)]


def label_structures(labels: np.ndarray) -> list[Structure]:
    """Ground-truth structures (contours of each connected region of the label image)."""
    out: list[Structure] = []
    for value, cls in ((1, "nerve"), (2, "vessel")):
        mask = (labels == value).astype(np.uint8)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        for c in contours:
            if len(c) < 3:
                continue
            out.append(Structure(cls, c.reshape(-1, 2).astype(np.float32), 1.0, float(cv2.contourArea(c)),
                                 Validity.OK))
    return out


@dataclass
class NeedleEvalSummary:
    """Aggregate figures of a needle evaluation."""

    n_sequences: int
    frames_with_tip: int
    detected: int
    tip_errors_mm: list[float] = field(default_factory=list, repr=False)
    angle_errors_deg: list[float] = field(default_factory=list, repr=False)
    false_alarms: int = 0
    frames_without_needle: int = 0
    level_agree: int = 0
    level_total: int = 0
    confusion: dict = field(default_factory=dict)
    approaches: int = 0
    approaches_stopped: int = 0
    per_sequence: list[dict] = field(default_factory=list, repr=False)
    fps: float = 0.0

    def stats(self) -> dict:
        """The summary as a JSON-ready dict."""
        te, ae = np.asarray(self.tip_errors_mm), np.asarray(self.angle_errors_deg)
        f = lambda a, fn: None if a.size == 0 else round(float(fn(a)), 4)  # noqa: E731
        return {
            "sequences": self.n_sequences, "frames_with_tip": self.frames_with_tip, "detected": self.detected,
            "detection_rate": round(self.detected / max(self.frames_with_tip, 1), 4),
            "tip_median_mm": f(te, np.median), "tip_rmse_mm": f(te, lambda a: np.sqrt(np.mean(a ** 2))),
            "tip_p95_mm": f(te, lambda a: np.percentile(a, 95)),
            "angle_median_deg": f(ae, np.median), "angle_rmse_deg": f(ae, lambda a: np.sqrt(np.mean(a ** 2))),
            "angle_p95_deg": f(ae, lambda a: np.percentile(a, 95)),
            "false_alarms": self.false_alarms, "frames_without_needle": self.frames_without_needle,
            "proximity_agreement": round(self.level_agree / max(self.level_total, 1), 4),
            "proximity_frames": self.level_total, "approaches": self.approaches,
            "approaches_reaching_stop": self.approaches_stopped, "fps": round(self.fps, 2),
        }


def evaluate_needle(sequences: list[SequenceSpec] | None = None, fps: float = 10.0,
                    config: NeedleConfig | None = None, progress: bool = True) -> NeedleEvalSummary:
    """Run the needle tracker over phantom sequences and compare with the phantom's truth."""
    import time

    from vision.phantom.config import PhantomConfig
    from vision.phantom.render import Phantom

    seqs = sequences or default_sequences()
    cfg = config or NeedleConfig()
    out = NeedleEvalSummary(n_sequences=len(seqs), frames_with_tip=0, detected=0)
    out.confusion = {t: {p: 0 for p in LEVELS} for t in LEVELS}
    total_s, n_calls = 0.0, 0
    bar = tqdm(total=len(seqs), desc="needle eval", unit="seq", disable=not progress)
    for spec in seqs:
        pc = PhantomConfig(seed=spec.seed, preset=spec.preset, needle_angle_deg=spec.angle_deg,
                           needle_side=spec.side, needle_target=spec.target)
        ph = Phantom(pc)
        tracker = NeedleTracker(cfg)
        seq = {"seed": spec.seed, "angle": spec.angle_deg, "side": spec.side, "target": spec.target,
               "tip_err": [], "ang_err": [], "frames": 0, "ok": 0, "stop_reached": False}
        for k in range(int(spec.duration_s * fps)):
            t_s = k / fps
            f = ph.render(t_s)
            structs = label_structures(f.labels) if spec.target != "none" else []
            t0 = time.perf_counter()
            res = tracker.update(f.image, int(t_s * 1e9), f.mm_per_px, structs)
            total_s += time.perf_counter() - t0
            n_calls += 1
            h, w = f.image.shape
            tip = f.needle_tip_px
            tip_in = (f.needle_visible and tip is not None and 0 <= tip[0] <= w - 1 and 0 <= tip[1] <= h - 1)
            if not f.needle_visible:
                out.frames_without_needle += 1
                out.false_alarms += int(res.validity == Validity.OK)
                continue
            if not tip_in:
                continue
            out.frames_with_tip += 1
            seq["frames"] += 1
            seq["angle"] = float(f.needle_angle_deg)  # the actual angle (a target re-aims the needle)
            if res.validity != Validity.OK:
                continue
            out.detected += 1
            seq["ok"] += 1
            sy, sx = f.mm_per_px
            e = math.hypot((res.tip_px[0] - tip[0]) * sx, (res.tip_px[1] - tip[1]) * sy)
            a = abs(res.angle_deg - f.needle_angle_deg)
            out.tip_errors_mm.append(e)
            out.angle_errors_deg.append(a)
            seq["tip_err"].append(e)
            seq["ang_err"].append(a)
            if spec.target != "none":
                d = np.array([math.cos(math.radians(f.needle_angle_deg)) * (1 if spec.side == "left" else -1),
                              math.sin(math.radians(f.needle_angle_deg))])
                d_px = d / np.array([sx, sy])
                end = np.asarray(tip) + d_px / np.linalg.norm(d * 1.0) * cfg.trajectory_mm
                tdist, pdist = structure_distances(tip, (float(end[0]), float(end[1])), structs, f.mm_per_px)
                true_level = proximity_level(tdist, pdist, cfg)
                out.confusion[true_level][res.proximity] += 1
                out.level_total += 1
                out.level_agree += int(true_level == res.proximity)
                if res.proximity == "stop":
                    seq["stop_reached"] = True
        if spec.target != "none":
            out.approaches += 1
            out.approaches_stopped += int(seq["stop_reached"])
        seq["tip_median_mm"] = float(np.median(seq["tip_err"])) if seq["tip_err"] else None
        seq["angle_median_deg"] = float(np.median(seq["ang_err"])) if seq["ang_err"] else None
        out.per_sequence.append({k: v for k, v in seq.items() if k not in ("tip_err", "ang_err")})
        bar.update(1)
    bar.close()
    out.fps = n_calls / total_s if total_s > 0 else 0.0
    return out


def format_needle_summary(s: NeedleEvalSummary) -> str:
    """Human-readable summary."""
    st = s.stats()
    lines = [
        f"sequences          {st['sequences']}",
        f"frames with tip    {st['frames_with_tip']}; detected (ok) {st['detected']} ({100 * st['detection_rate']:.1f} %)",
        f"tip error          median {st['tip_median_mm']} mm, RMSE {st['tip_rmse_mm']} mm, 95th pct {st['tip_p95_mm']} mm",
        f"angle error        median {st['angle_median_deg']} deg, RMSE {st['angle_rmse_deg']} deg, "
        f"95th pct {st['angle_p95_deg']} deg",
        f"false alarms       {st['false_alarms']} of {st['frames_without_needle']} frames without a visible needle",
        f"proximity          {100 * st['proximity_agreement']:.1f} % of {st['proximity_frames']} frames agree; "
        f"{st['approaches_reaching_stop']}/{st['approaches']} approaches reached 'stop'",
        "confusion (true -> reported) " + json.dumps(s.confusion),
        f"throughput         {st['fps']:.1f} frames/s (tracker.update)",
    ]
    return "\n".join(lines)
