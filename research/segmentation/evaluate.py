"""Evaluation on labelled images at each mask's native resolution, with a worst-case report.

Per class: Dice and IoU (mean over images where the class is present in the truth or the
prediction), sensitivity (mean over images with the class in the truth), precision (mean over
images with the class predicted), HD95 in pixels (95th percentile of the symmetric boundary
distances, Huttenlocher et al., IEEE TPAMI 1993; mean over images with the class in both),
detection rate (class in the truth and predicted) and false-alarm rate (class absent from the
truth but predicted). Throughput is timed on the whole :class:`Segmenter` call at batch size 1.
How far the confidence gate's "certain" can be trusted is measured alongside, structure by
structure (:mod:`research.segmentation.reliability`).
"""

from __future__ import annotations

import logging
import math
import subprocess
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from research.segmentation.data import CLASSES, Sample, list_pairs, read_pair
from research.segmentation.reliability import as_drawn, structure_records, summarise_gate
from vision.segmentation.postprocess import CLASS_NAMES as FG

log = logging.getLogger(__name__)


def git_hash(repo: Path) -> str:
    """Short git commit of the repository (``"unknown"`` outside git)."""
    try:
        out = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _boundary(mask: np.ndarray) -> np.ndarray:
    m = mask.astype(np.uint8)
    return (m - cv2.erode(m, np.ones((3, 3), np.uint8))).astype(bool)


def hd95(pred: np.ndarray, truth: np.ndarray) -> float:
    """95th-percentile symmetric Hausdorff distance (pixels) between two non-empty masks."""
    bp, bt = _boundary(pred), _boundary(truth)
    dt_t = cv2.distanceTransform((~bt).astype(np.uint8), cv2.DIST_L2, 5)
    dt_p = cv2.distanceTransform((~bp).astype(np.uint8), cv2.DIST_L2, 5)
    d = np.concatenate([dt_t[bp], dt_p[bt]])
    return float(np.percentile(d, 95)) if d.size else 0.0


def image_metrics(pred: np.ndarray, truth: np.ndarray) -> dict[str, dict[str, float | bool | None]]:
    """Per-class metrics of one image (``None`` where undefined)."""
    out = {}
    for cls, name in FG.items():
        p, t = pred == cls, truth == cls
        np_, nt = int(p.sum()), int(t.sum())
        inter = int(np.logical_and(p, t).sum())
        union = np_ + nt - inter
        out[name] = {
            "truth": nt > 0, "pred": np_ > 0,
            "dice": 2.0 * inter / (np_ + nt) if np_ + nt else None,
            "iou": inter / union if union else None,
            "sensitivity": inter / nt if nt else None,
            "precision": inter / np_ if np_ else None,
            "hd95": hd95(p, t) if np_ and nt else None,
        }
    return out


def _mean(vals: list[float | None]) -> float | None:
    v = [x for x in vals if x is not None]
    return float(np.mean(v)) if v else None


def summarise(per_image: list[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Per-class summary over images (see the module docstring for each mean's population)."""
    out = {}
    for name in FG.values():
        rows = [r["metrics"][name] for r in per_image]
        present = [r for r in rows if r["truth"]]
        absent = [r for r in rows if not r["truth"]]
        out[name] = {
            "dice": _mean([r["dice"] for r in rows]),
            "iou": _mean([r["iou"] for r in rows]),
            "sensitivity": _mean([r["sensitivity"] for r in rows]),
            "precision": _mean([r["precision"] for r in rows]),
            "hd95_px": _mean([r["hd95"] for r in rows]),
            "detection_rate": (sum(r["pred"] for r in present) / len(present)) if present else None,
            "false_alarm_rate": (sum(r["pred"] for r in absent) / len(absent)) if absent else None,
            "n_present": len(present),
            "n_absent": len(absent),
        }
    return out


def _overlay(gray: np.ndarray, truth: np.ndarray, pred: np.ndarray, title: str, tile: int = 320) -> np.ndarray:
    """Tile: the image with truth outlines (thin white) and prediction filled (nerve yellow, vessel red)."""
    from vision.segmentation.modelcard import CLASS_SPEC
    img = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    fill = img.copy()
    for c in CLASS_SPEC[1:]:
        fill[pred == c["id"]] = tuple(int(v) for v in reversed(c["colour_rgb"]))
    img = cv2.addWeighted(img, 0.6, fill, 0.4, 0)
    for c in CLASS_SPEC[1:]:
        cs, _ = cv2.findContours((truth == c["id"]).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        col = tuple(int(v) for v in reversed(c["colour_rgb"]))
        cv2.drawContours(img, cs, -1, (255, 255, 255), 3)
        cv2.drawContours(img, cs, -1, col, 1)
    s = tile / max(img.shape[:2])
    img = cv2.resize(img, (int(img.shape[1] * s), int(img.shape[0] * s)), interpolation=cv2.INTER_AREA)
    out = np.zeros((tile + 24, tile, 3), np.uint8)
    out[24:24 + img.shape[0], :img.shape[1]] = img
    cv2.putText(out, title, (4, 17), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def report_grid(tiles: list[np.ndarray], cols: int = 4) -> np.ndarray:
    """Tiles (same size) in a grid, with a legend line at the top."""
    th, tw = tiles[0].shape[:2]
    rows = math.ceil(len(tiles) / cols)
    grid = np.zeros((28 + rows * th, cols * tw, 3), np.uint8)
    cv2.putText(grid, "worst cases: fill = prediction (nerve yellow, vessel red), outline = truth",
                (6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    for i, t in enumerate(tiles):
        r, c = divmod(i, cols)
        grid[28 + r * th:28 + (r + 1) * th, c * tw:(c + 1) * tw] = t
    return grid


def evaluate_samples(samples, model: str | Path | None = None, *, roi: str | None = None,
                     progress: bool = True, report_png: str | Path | None = None, n_worst: int = 8,
                     device: str | None = None, precision: str = "fp32", runtime: str = "auto"
                     ) -> dict[str, Any]:
    """Evaluate the segmenter on labelled samples (an iterable of :class:`Sample`).

    Each image is segmented independently (temporal state reset), at batch size 1, and scored
    against its mask at the mask's native resolution. Throughput times the live call (frame to
    contours, region of interest detected afresh on every image); the label image for the
    metrics comes from a second, untimed call.

    Returns:
        ``{"nerve": {...}, "vessel": {...}, "fps": .., "p50_ms": .., "n_images": .., "runtime": ..,
        "gate": {...}, "per_image": [...]}``; ``runtime`` is what ran the network (``"opencv"`` or
        ``"torch"``), ``gate`` is :func:`~research.segmentation.reliability.summarise_gate`.
    """
    from tqdm import tqdm

    from vision.segmentation.config import SegmentationConfig
    from vision.segmentation.segmenter import Segmenter

    cfg = SegmentationConfig(model=str(model) if model else "", precision=precision, runtime=runtime)
    if roi is not None:
        cfg = replace(cfg, roi=roi)
    seg = Segmenter(cfg, device=device)
    per_image: list[dict[str, Any]] = []
    times: list[float] = []
    worst: list[tuple[float, Sample, np.ndarray]] = []
    warm = False
    for s in tqdm(samples, desc="evaluating", unit="image", disable=not progress):
        if not warm:
            seg.segment(s.gray)
            warm = True
        # timed: the live call (pre-processing, network, post-processing to contours); the
        # native-resolution label image that the metrics need is made by a second, untimed call
        seg.reset()
        t0 = time.perf_counter()
        seg.segment(s.gray)
        times.append(time.perf_counter() - t0)
        seg.reset()
        drawn = seg.segment(s.gray, want_labels=True)
        pred = drawn.labels
        m = image_metrics(pred, s.labels)
        per_image.append({"id": s.id, "metrics": m, "structures": structure_records(drawn.structures, s.labels)})
        dices = [m[n]["dice"] for n in FG.values() if m[n]["dice"] is not None]
        score = float(np.mean(dices)) if dices else 1.0
        worst.append((score, s, pred))
        worst.sort(key=lambda t: t[0])
        del worst[n_worst:]
    if not per_image:
        raise ValueError("no images to evaluate")
    summary = summarise(per_image)
    t = np.asarray(times)
    result: dict[str, Any] = {**summary, "fps": float(len(t) / t.sum()), "p50_ms": float(np.median(t) * 1000),
                              "n_images": len(per_image), "runtime": seg.runtime,
                              "gate": summarise_gate(per_image, cfg.gate_on)}
    if report_png and worst:
        tiles = []
        for score, s, pred in worst:
            m = next(r["metrics"] for r in per_image if r["id"] == s.id)
            d = ", ".join(f"{n} {m[n]['dice']:.2f}" for n in FG.values() if m[n]["dice"] is not None)
            tiles.append(_overlay(s.gray, s.labels, pred, f"{s.id}: Dice {d}"))
        Path(report_png).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(report_png), report_grid(tiles))
    result["per_image"] = per_image
    return result


def card_metrics(samples, weights: str | Path, split: str, report_png: str | Path | None = None,
                 progress: bool = True) -> dict[str, Any]:
    """The ``metrics`` entry of a model card: :func:`evaluate_samples` with the default
    :class:`~vision.segmentation.config.SegmentationConfig`, plus the post-processing settings,
    date and git commit it was measured with."""
    report = evaluate_samples(samples, weights, progress=progress, report_png=report_png, precision="fp32")
    report.pop("per_image")
    return card_entry(report, split)


def card_entry(figures: dict[str, Any], split: str) -> dict[str, Any]:
    """A card's ``metrics`` entry: ``figures`` (per-class summary, fps, image count) measured with
    the default :class:`~vision.segmentation.config.SegmentationConfig`, labelled with ``split``
    and stamped with the post-processing settings, the date and the git commit."""
    import datetime as _dt

    from vision.segmentation.config import SegmentationConfig

    d = SegmentationConfig()
    settings = {k: getattr(d, k) for k in ("roi", "min_area_fraction", "min_confidence", "fill_holes", "flip_tta",
                                           "gate_on")}
    if "gate" in figures:   # the card keeps the gate's figures as drawn; bins and sweep stay in the report
        figures = {**figures, "gate": as_drawn(figures["gate"])}
    return {"split": split, **figures, "settings": settings, "measured": _dt.date.today().isoformat(),
            "git": git_hash(Path(__file__).resolve().parents[2])}


def iter_dataset(data_dir: str | Path):
    """Lazily read every ``(image, mask)`` pair of a data directory as samples."""
    for sid, ip, mp in list_pairs(data_dir):
        yield read_pair(ip, mp, sid)


def format_table(result: dict[str, Any]) -> str:
    """Human-readable per-class table of an evaluation result."""
    keys = ("dice", "iou", "sensitivity", "precision", "hd95_px", "detection_rate", "false_alarm_rate")
    lines = [f"{'class':8s} " + " ".join(f"{k:>16s}" for k in keys)]
    for name in FG.values():
        row = result[name]
        cells = ["{:>16s}".format("n/a" if row[k] is None else f"{row[k]:.3f}") for k in keys]
        lines.append(f"{name:8s} " + " ".join(cells))
    p50 = f"p50 {result['p50_ms']:.1f} ms per frame, " if "p50_ms" in result else ""
    runtime = f", {result['runtime']} runtime" if "runtime" in result else ""
    lines.append(f"images: {result['n_images']}   throughput: {result['fps']:.1f} fps at batch size 1 "
                 f"({p50}frame to contours, whole segmenter call{runtime})")
    return "\n".join(lines)


__all__ = ["CLASSES", "card_entry", "card_metrics", "evaluate_samples", "format_table", "hd95", "image_metrics", "iter_dataset", "summarise"]
