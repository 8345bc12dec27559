"""How far a drawn structure can be trusted: the confidence gate measured on labelled images.

The segmenter draws each structure (one connected region of one class) as *certain* when its
mean class probability reaches ``gate_on`` and as *uncertain* (dashed) below it. Whether that
split means anything is measured here, structure by structure, on annotated images.

A drawn structure is **correct** when at least half of the area inside its outline lies on the
annotation of its own class (region-level precision >= :data:`CORRECT_OVERLAP`): a clinician who
trusts that outline is looking at the right structure. Per class, over every structure of every
image:

* certain and uncertain structures: how many, and the share correct (for the certain ones, the
  positive predictive value of "certain");
* certain detection rate: images with the class in the truth that show a correct certain
  structure of it; certain false-alarm rate: images without the class in the truth that show a
  certain structure of it;
* hidden correct: the share of correct structures that the gate marks uncertain (its cost);
* the same figures for other ``gate_on`` values (a sweep, for choosing it on held-out images);
* reliability bins (share correct against confidence: the reliability diagram of DeGroot &
  Fienberg, "The comparison and evaluation of forecasters", The Statistician 1983) and the
  expected calibration error over them (Naeini, Cooper & Hauskrecht, AAAI 2015).

Each image is segmented on its own (no temporal state), so "certain" is exactly
``confidence >= gate_on`` here; in a live sequence the hysteresis (``gate_off``) keeps an
already-certain structure certain a little longer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import cv2
import numpy as np

from vision.segmentation.postprocess import CLASS_NAMES as FG
from core.types import Structure, Validity

CORRECT_OVERLAP = 0.5
SWEEP = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)
N_BINS = 10


def structure_records(structures: Iterable[Structure], truth: np.ndarray) -> list[dict[str, Any]]:
    """One record per drawn structure: class, confidence, certain, and ``overlap``, the share of
    the area inside its outline that lies on the annotation of its class (``truth``: the label
    image at frame resolution)."""
    ids = {name: cls for cls, name in FG.items()}
    h, w = truth.shape
    out = []
    for s in structures:
        mask = np.zeros((h, w), np.uint8)
        cv2.fillPoly(mask, [np.round(s.contour_px).astype(np.int32).reshape(-1, 1, 2)], 1)
        inside = mask.astype(bool)
        area = int(inside.sum())
        overlap = float(np.count_nonzero(truth[inside] == ids[s.cls]) / area) if area else 0.0
        out.append({"cls": s.cls, "confidence": round(float(s.confidence), 4),
                    "certain": s.validity is Validity.OK, "overlap": round(overlap, 4)})
    return out


def _share(flags: list[bool]) -> float | None:
    return float(np.mean(flags)) if flags else None


def _at(per_image: list[dict[str, Any]], name: str, certain) -> dict[str, Any]:
    """Gate figures of class ``name`` when ``certain(record)`` says which structures are certain."""
    structs = [s for r in per_image for s in r["structures"] if s["cls"] == name]
    sure = [s["overlap"] >= CORRECT_OVERLAP for s in structs if certain(s)]
    unsure = [s["overlap"] >= CORRECT_OVERLAP for s in structs if not certain(s)]
    present = [r for r in per_image if r["metrics"][name]["truth"]]
    absent = [r for r in per_image if not r["metrics"][name]["truth"]]
    found = [any(s["cls"] == name and certain(s) and s["overlap"] >= CORRECT_OVERLAP for s in r["structures"])
             for r in present]
    alarms = [any(s["cls"] == name and certain(s) for s in r["structures"]) for r in absent]
    n_correct = sum(sure) + sum(unsure)
    return {"n_certain": len(sure), "certain_correct": _share(sure),
            "n_uncertain": len(unsure), "uncertain_correct": _share(unsure),
            "certain_detection_rate": _share(found), "certain_false_alarm_rate": _share(alarms),
            "hidden_correct": (sum(unsure) / n_correct) if n_correct else None}


def _bins(per_image: list[dict[str, Any]], name: str) -> tuple[list[dict[str, Any]], float | None]:
    """Reliability bins of class ``name`` over confidence 0..1 and their expected calibration error."""
    structs = [s for r in per_image for s in r["structures"] if s["cls"] == name]
    bins, ece = [], 0.0
    for i in range(N_BINS):
        lo, hi = i / N_BINS, (i + 1) / N_BINS
        inside = [s for s in structs if lo <= s["confidence"] < hi or (i == N_BINS - 1 and s["confidence"] == 1.0)]
        correct = _share([s["overlap"] >= CORRECT_OVERLAP for s in inside])
        conf = float(np.mean([s["confidence"] for s in inside])) if inside else None
        bins.append({"lo": lo, "hi": hi, "n": len(inside), "correct": correct, "confidence": conf})
        if inside:
            ece += len(inside) * abs(correct - conf)
    return bins, (ece / len(structs) if structs else None)


def summarise_gate(per_image: list[dict[str, Any]], gate_on: float) -> dict[str, Any]:
    """The gate's figures per class (see the module docstring).

    Args:
        per_image: rows with ``metrics`` (as :func:`~research.segmentation.evaluate.image_metrics`)
            and ``structures`` (as :func:`structure_records`).
        gate_on: the gate the structures were drawn with.
    """
    out: dict[str, Any] = {"gate_on": gate_on, "correct_overlap": CORRECT_OVERLAP}
    for name in FG.values():
        bins, ece = _bins(per_image, name)
        drawn = _at(per_image, name, lambda s: s["certain"])
        out[name] = {**drawn, "n_structures": drawn["n_certain"] + drawn["n_uncertain"],
                     "ece": ece, "bins": bins,
                     "sweep": [{"gate_on": t, **_at(per_image, name, lambda s, t=t: s["confidence"] >= t)}
                               for t in SWEEP]}
    return out


def as_drawn(gate: dict[str, Any]) -> dict[str, Any]:
    """The gate's figures at the gate actually used, without the bins and the sweep (for a model
    card or a ``--json`` line; the report tables and the PNG carry the rest)."""
    return {"gate_on": gate["gate_on"], "correct_overlap": gate["correct_overlap"],
            **{n: {k: v for k, v in gate[n].items() if k not in ("bins", "sweep")} for n in FG.values()}}


def _fmt(v: float | None, pct: bool = True) -> str:
    if v is None:
        return "n/a"
    return f"{100 * v:.0f}%" if pct else f"{v:.3f}"


def format_gate(gate: dict[str, Any]) -> str:
    """Human-readable tables: the gate as drawn, then the sweep of ``gate_on``."""
    lines = [f"confidence gate (gate_on {gate['gate_on']:.2f}; a structure is correct when at least "
             f"{100 * gate['correct_overlap']:.0f}% of its outline's area is on that class's annotation):",
             f"{'class':8s} {'certain':>8s} {'correct':>8s} {'uncertain':>10s} {'correct':>8s} "
             f"{'certain detection':>18s} {'certain false alarm':>20s} {'hidden correct':>15s} {'ECE':>6s}"]
    for name in FG.values():
        g = gate[name]
        lines.append(f"{name:8s} {g['n_certain']:8d} {_fmt(g['certain_correct']):>8s} {g['n_uncertain']:10d} "
                     f"{_fmt(g['uncertain_correct']):>8s} {_fmt(g['certain_detection_rate']):>18s} "
                     f"{_fmt(g['certain_false_alarm_rate']):>20s} {_fmt(g['hidden_correct']):>15s} "
                     f"{_fmt(g['ece'], pct=False):>6s}")
    lines.append("gate_on sweep (certain structures correct / certain detection / certain false alarm):")
    for i, t in enumerate(SWEEP):
        cells = []
        for name in FG.values():
            s = gate[name]["sweep"][i]
            cells.append(f"{name} {_fmt(s['certain_correct'])} / {_fmt(s['certain_detection_rate'])} / "
                         f"{_fmt(s['certain_false_alarm_rate'])}")
        lines.append(f"  {t:.2f}{' *' if abs(t - gate['gate_on']) < 1e-9 else '  '} " + "   ".join(cells))
    return "\n".join(lines)


def reliability_png(gate: dict[str, Any], path: str | Path, title: str = "") -> Path:
    """Write a reliability diagram per class: share of correct structures against confidence
    (bars, with their counts), the diagonal of perfect calibration and the gate."""
    from vision.segmentation.modelcard import CLASS_SPEC

    colours = {c["name"]: tuple(int(v) for v in reversed(c["colour_rgb"])) for c in CLASS_SPEC}
    pw, ph, m = 420, 320, 48
    img = np.full((ph + 2 * m + 24, 2 * (pw + 2 * m), 3), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX
    if title:
        cv2.putText(img, title, (m, 22), font, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    for k, name in enumerate(FG.values()):
        g = gate[name]
        ox, oy = k * (pw + 2 * m) + m, 24 + m

        def xy(cx: float, cy: float) -> tuple[int, int]:
            return int(round(ox + cx * pw)), int(round(oy + (1 - cy) * ph))

        cv2.rectangle(img, xy(0, 0), xy(1, 1), (0, 0, 0), 1)
        for b in g["bins"]:
            if b["n"]:
                cv2.rectangle(img, xy(b["lo"] + 0.01, 0), xy(b["hi"] - 0.01, b["correct"]), colours[name], -1)
                cv2.putText(img, str(b["n"]), xy(b["lo"] + 0.02, min(b["correct"], 0.9) + 0.03), font, 0.4,
                            (0, 0, 0), 1, cv2.LINE_AA)
        cv2.line(img, xy(0, 0), xy(1, 1), (150, 150, 150), 1, cv2.LINE_AA)
        cv2.line(img, xy(gate["gate_on"], 0), xy(gate["gate_on"], 1), (0, 0, 0), 2)
        for v in (0.0, 0.5, 1.0):
            cv2.putText(img, f"{v:.1f}", (xy(v, 0)[0] - 10, oy + ph + 16), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
            cv2.putText(img, f"{v:.1f}", (ox - 30, xy(0, v)[1] + 4), font, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
        head = (f"{name}: certain {_fmt(g['certain_correct'])} correct (n {g['n_certain']}), "
                f"ECE {_fmt(g['ece'], pct=False)}")
        cv2.putText(img, head, (ox, oy - 10), font, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(img, "confidence (bar: share correct; line: gate_on)", (ox, oy + ph + 34), font, 0.4,
                    (0, 0, 0), 1, cv2.LINE_AA)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img)
    return path


__all__ = ["CORRECT_OVERLAP", "SWEEP", "as_drawn", "format_gate", "reliability_png", "structure_records", "summarise_gate"]
