"""The phantom needle evaluation and its report on a short sequence."""

from __future__ import annotations

import cv2

from vision.needle.evaluate import SequenceSpec, evaluate_needle, label_structures
from vision.needle.report import write_needle_report
from vision.phantom.config import PhantomConfig
from vision.phantom.render import Phantom


def test_short_evaluation_and_report(tmp_path):
    s = evaluate_needle([SequenceSpec(seed=3, angle_deg=30.0, side="left", target="nerve", duration_s=12.0)],
                        fps=5.0, progress=False)
    st = s.stats()
    assert st["sequences"] == 1 and st["frames_with_tip"] > 5
    assert st["detected"] > 0 and st["tip_median_mm"] < 1.0
    assert st["approaches"] == 1
    out = write_needle_report(s, tmp_path / "needle.png")
    assert cv2.imread(str(out)) is not None


def test_label_structures_follow_the_labels():
    f = Phantom(PhantomConfig(seed=1)).render(0.0)
    structs = label_structures(f.labels)
    assert {s.cls for s in structs} == {"nerve", "vessel"}
    assert all(s.contour_px.shape[1] == 2 for s in structs)
