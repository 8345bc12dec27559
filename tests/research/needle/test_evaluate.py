"""The phantom needle evaluation and its report on a short sequence."""

from __future__ import annotations

import cv2

from research.needle.evaluate import (SequenceSpec, default_sequences, evaluate_needle, label_structures,
                                      legacy_sequences)
from research.needle.report import write_needle_report
from vision.phantom.config import PhantomConfig
from vision.phantom.render import Phantom


def test_short_evaluation_and_report(tmp_path):
    s = evaluate_needle([SequenceSpec(seed=3, angle_deg=30.0, side="left", target="nerve", duration_s=12.0),
                         SequenceSpec(seed=4, angle_deg=30.0, side="left", duration_s=3.0, needle=False)],
                        fps=5.0, progress=False)
    st = s.stats()
    assert st["sequences"] == 2 and st["frames_with_tip"] > 5
    assert st["detected"] > 0 and st["tip_median_mm"] < 1.0
    assert st["approaches"] == 1 and st["approaches_confirmable"] == 1
    assert st["needle_free_frames"] == 15 and st["needle_free_false_alarms"] == 0
    assert len(s.wall_ms) == 60 + 15 and st["update_wall_p50_ms"] > 0
    out = write_needle_report(s, tmp_path / "needle.png")
    assert cv2.imread(str(out)) is not None


def test_default_sequences_vary_the_conditions():
    seqs = default_sequences()
    with_needle = [q for q in seqs if q.needle]
    assert len(with_needle) == 24 and len(seqs) == 28
    assert {q.side for q in with_needle} == {"left", "right"}
    assert {q.target for q in with_needle} == {"none", "nerve", "vessel"}
    assert {q.depth_mm for q in with_needle} == {30.0, 40.0, 50.0} and {q.gain_db for q in seqs} == {-6.0, 0.0, 6.0}
    assert {q.motion for q in with_needle} == {True, False} and {q.bone for q in with_needle} == {True, False}
    assert min(q.angle_deg for q in with_needle) == 15.0 and max(q.angle_deg for q in with_needle) == 70.0
    assert len(legacy_sequences()) == 12


def test_label_structures_follow_the_labels():
    f = Phantom(PhantomConfig(seed=1)).render(0.0)
    structs = label_structures(f.labels)
    assert {s.cls for s in structs} == {"nerve", "vessel"}
    assert all(s.contour_px.shape[1] == 2 for s in structs)
