"""NeedleTracker over a phantom sequence: confirmation, accuracy, lost frames, proximity, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.errors import ConfigError, InputError
from core.configtools import section_from_dict
from research.needle.evaluate import label_structures
from vision.needle.config import NeedleConfig
from vision.needle.needle_tracker import NeedleTracker, mann_kendall_z
from vision.phantom.config import PhantomAnatomyConfig, PhantomConfig, PhantomMotionConfig, PhantomNeedleConfig
from vision.phantom.render import Phantom
from core.types import Validity


def test_sequence_tip_error_and_validity():
    ph = Phantom(PhantomConfig(seed=11, needle=PhantomNeedleConfig(angle_deg=30.0, side="left")))
    tr = NeedleTracker()
    errs, first_ok = [], None
    for k in range(40, 110, 2):
        t = k / 10
        f = ph.render(t)
        r = tr.update(f.image, int(t * 1e9), f.mm_per_px, [])
        if r.validity == Validity.OK:
            first_ok = first_ok or t
            sy, sx = f.mm_per_px
            errs.append(math.hypot((r.tip_px[0] - f.needle_tip_px[0]) * sx, (r.tip_px[1] - f.needle_tip_px[1]) * sy))
            assert r.trajectory_px.shape == (2, 2)
            assert r.proximity == "safe"  # no structures passed: nothing to hit
    assert len(errs) >= 20
    assert np.median(errs) < 0.5 and np.percentile(errs, 90) < 1.0


def test_scripted_approach_reaches_stop():
    ph = Phantom(PhantomConfig(seed=4, needle=PhantomNeedleConfig(angle_deg=30.0, side="left", target="nerve")))
    tr = NeedleTracker()
    levels = []
    for k in range(0, 160, 4):
        t = k / 10
        f = ph.render(t)
        r = tr.update(f.image, int(t * 1e9), f.mm_per_px, label_structures(f.labels))
        if r.validity == Validity.OK:
            levels.append(r.proximity)
    assert "stop" in levels
    assert levels.index("stop") > 0 and levels[0] != "stop"  # the warning builds up as the needle advances


def test_lost_when_the_needle_is_gone_and_unknown_without_segmentation():
    tr = NeedleTracker()
    ph = Phantom(PhantomConfig(seed=11, needle=PhantomNeedleConfig(angle_deg=30.0)))
    for k in range(60, 70):
        f = ph.render(k / 10)
        r = tr.update(f.image, int(k * 1e8), f.mm_per_px, None)
    assert r.validity in (Validity.OK, Validity.UNCERTAIN) and r.proximity == "unknown"
    blank = Phantom(PhantomConfig(seed=11, needle=PhantomNeedleConfig(enabled=False))).render(7.0)
    r = tr.update(blank.image, int(7.1e9), blank.mm_per_px, [])
    assert r.validity == Validity.LOST and r.tip_px is None and r.proximity == "unknown"


def test_bad_input():
    tr = NeedleTracker()
    with pytest.raises(InputError, match="dtype"):
        tr.update(np.zeros((50, 50), np.float32), 0, (0.1, 0.1), [])
    with pytest.raises(InputError, match="mm_per_px"):
        tr.update(np.zeros((50, 50), np.uint8), 0, (0.0, 0.1), [])


def test_config_validation():
    with pytest.raises(ConfigError, match=r"needle\.proximity\.stop_mm"):
        section_from_dict(NeedleConfig, {"proximity": {"stop_mm": 5.0, "caution_mm": 2.0}}, "needle")
    with pytest.raises(ConfigError, match=r"needle\.detector\.max_angle_deg"):
        section_from_dict(NeedleConfig, {"detector": {"min_angle_deg": 50.0, "max_angle_deg": 40.0}}, "needle")
    with pytest.raises(ConfigError, match=r"needle\.proximity\.stop_mm"):  # flat keys of the previous release
        section_from_dict(NeedleConfig, {"stop_mm": 5.0, "caution_mm": 2.0}, "needle")


def test_mann_kendall_trend_statistic():
    assert mann_kendall_z(np.arange(10.0)) > 3.0
    assert mann_kendall_z(np.arange(10.0)[::-1]) < -3.0
    assert abs(mann_kendall_z([1.0, 1.01, 0.99, 1.0, 1.02, 0.98, 1.0])) < 1e-9  # ties within 0.05 mm
    rng = np.random.default_rng(0)
    assert abs(mann_kendall_z(rng.normal(0, 1, 20))) < 2.33


def test_no_needle_confirmed_on_a_sliding_needle_free_view():
    """Fascia, vessel walls and bone move with the tissue: never a needle, however the probe slides."""
    tr = NeedleTracker()
    ph = Phantom(PhantomConfig(seed=21,
                               anatomy=PhantomAnatomyConfig(preset="random"),
                               motion=PhantomMotionConfig(enabled=True, amplitude_mm=3.0),
                               needle=PhantomNeedleConfig(enabled=False)))
    for k in range(0, 100):
        f = ph.render(k / 10)
        r = tr.update(f.image, int(k * 1e8), f.mm_per_px, label_structures(f.labels))
        assert r.validity != Validity.OK, k


def test_a_needle_that_does_not_move_relative_to_the_tissue_is_not_confirmed():
    """A needle already in place looks like any straight echo: it is not shown as ``ok``."""
    ph = Phantom(PhantomConfig(seed=5,
                               needle=PhantomNeedleConfig(angle_deg=30.0, start_s=-20.0, max_insert_mm=18.0)))
    tr = NeedleTracker()
    for k in range(0, 60):
        f = ph.render(k / 10)
        assert f.needle_visible
        r = tr.update(f.image, int(k * 1e8), f.mm_per_px, [])
        assert r.validity != Validity.OK, k


def test_replaying_the_same_frames_gives_the_same_results():
    ph = Phantom(PhantomConfig(seed=11, needle=PhantomNeedleConfig(angle_deg=35.0, side="right")))
    frames = [ph.render(k / 10) for k in range(30, 70)]
    runs = []
    for _ in range(2):
        tr = NeedleTracker()
        runs.append([tr.update(f.image, int(round(f.t_s * 1e9)), f.mm_per_px, []) for f in frames])
    for a, b in zip(*runs):
        assert a.validity == b.validity and a.tip_px == b.tip_px and a.angle_deg == b.angle_deg
    assert any(r.validity == Validity.OK for r in runs[0])


def test_a_time_jump_or_new_spacing_starts_over():
    ph = Phantom(PhantomConfig(seed=11, needle=PhantomNeedleConfig(angle_deg=30.0)))
    tr = NeedleTracker()
    for k in range(50, 75):
        f = ph.render(k / 10)
        r = tr.update(f.image, int(k * 1e8), f.mm_per_px, [])
    assert r.validity == Validity.OK
    f = ph.render(9.0)
    r = tr.update(f.image, int(9.0e9), f.mm_per_px, [])  # 1.6 s later: a new stream
    assert r.validity != Validity.OK
    r = tr.update(f.image, int(9.1e9), (0.2, 0.2), [])  # another spacing
    assert r.validity != Validity.OK
    with pytest.raises(InputError, match="channels"):
        tr.update(np.zeros((50, 50, 4), np.uint8), 0, (0.1, 0.1), [])
