"""Phantom renderer: determinism, exact truth, moving/pulsating anatomy, needle geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.errors import ConfigError
from vision.phantom import (Phantom, PhantomAnatomyConfig, PhantomConfig, PhantomImagingConfig,
                            PhantomMotionConfig, PhantomNeedleConfig, PhantomVesselsConfig)
from vision.phantom.render import NERVE, VESSEL, pulse_waveform


@pytest.fixture(scope="module")
def phantom() -> Phantom:
    return Phantom(PhantomConfig(seed=3))


def test_same_time_same_frame(phantom):
    a, b = phantom.render(1.234), Phantom(PhantomConfig(seed=3)).render(1.234)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.labels, b.labels)


def test_image_and_truth_shapes(phantom):
    f = phantom.render(0.0)
    assert f.image.shape == f.labels.shape == (400, 400) and f.image.dtype == np.uint8
    assert set(np.unique(f.labels)) <= {0, NERVE, VESSEL}
    assert (f.labels == NERVE).sum() > 200 and (f.labels == VESSEL).sum() > 1000
    assert f.mm_per_px == (0.1, 0.1)


def test_lumen_is_anechoic_and_nerve_brighter(phantom):
    f = phantom.render(0.0)
    img = f.image.astype(float)
    assert img[f.labels == VESSEL].mean() < 0.3 * img[f.labels == NERVE].mean()


def test_depth_attenuation_darkens_without_tgc():
    f = Phantom(PhantomConfig(imaging=PhantomImagingConfig(tgc_db_per_cm=0.0),
                              anatomy=PhantomAnatomyConfig(bone=False),
                              needle=PhantomNeedleConfig(enabled=False))).render(0.0)
    rows = f.image.astype(float).mean(axis=1)
    assert rows[300:350].mean() < rows[60:110].mean()


def test_probe_motion_moves_the_anatomy():
    ph = Phantom(PhantomConfig(seed=1,
                               motion=PhantomMotionConfig(enabled=True, amplitude_mm=2.0, period_s=8.0),
                               needle=PhantomNeedleConfig(enabled=False)))
    a, b = ph.render(0.0), ph.render(2.0)  # quarter period: full amplitude
    ca = np.argwhere(a.labels == NERVE).mean(axis=0)
    cb = np.argwhere(b.labels == NERVE).mean(axis=0)
    assert abs((ca[1] - cb[1]) - 20.0) < 1.0  # 2 mm at 0.1 mm/px, anatomy moves opposite to the probe
    assert abs(ca[0] - cb[0]) < 0.5


def test_artery_pulsates_and_static_config_does_not():
    ph = Phantom(PhantomConfig(motion=PhantomMotionConfig(enabled=False),
                               vessels=PhantomVesselsConfig(heart_rate_hz=1.0),
                               needle=PhantomNeedleConfig(enabled=False)))
    areas = [(ph.render(t).labels == VESSEL).sum() for t in np.arange(0, 1, 0.05)]
    assert max(areas) > 1.05 * min(areas)
    still = Phantom(PhantomConfig(motion=PhantomMotionConfig(enabled=False),
                                  vessels=PhantomVesselsConfig(pulsation=False),
                                  needle=PhantomNeedleConfig(enabled=False)))
    assert len({(still.render(t).labels == VESSEL).sum() for t in (0.1, 0.3, 0.5)}) == 1
    assert 0.0 <= min(pulse_waveform(p) for p in np.linspace(0, 1, 50)) <= max(
        pulse_waveform(p) for p in np.linspace(0, 1, 50)) <= 1.0


def test_needle_truth_matches_the_drawn_shaft():
    ph = Phantom(PhantomConfig(motion=PhantomMotionConfig(enabled=False),
                               needle=PhantomNeedleConfig(angle_deg=25.0, speed_mm_s=5.0, start_s=0.0)))
    f = ph.render(4.0)  # 20 mm inserted
    assert f.needle_visible and f.needle_angle_deg == pytest.approx(25.0)
    tip = np.array(f.needle_tip_px)
    ys, xs = np.nonzero(f.needle_mask)
    # the shaft's far end (largest x for a needle from the left) is the tip
    far = np.array([xs.max(), ys[xs.argmax()]], float)
    assert np.linalg.norm(far - tip) < 2.0
    direction = tip - np.array(f.needle_entry_px)
    assert math.degrees(math.atan2(direction[1], direction[0])) == pytest.approx(25.0, abs=0.5)
    # the echo along the shaft is brighter than the tissue around it
    assert f.image[f.needle_mask].mean() > f.image[~f.needle_mask].mean() + 40


def test_needle_aimed_at_the_nerve_stops_at_its_wall():
    ph = Phantom(PhantomConfig(motion=PhantomMotionConfig(enabled=False),
                               needle=PhantomNeedleConfig(target="nerve", speed_mm_s=10.0, start_s=0.0)))
    f = ph.render(30.0)
    tip = np.array(f.needle_tip_px)
    nerve = np.argwhere(f.labels == NERVE)[:, ::-1]
    gap_mm = np.min(np.linalg.norm(nerve - tip, axis=1)) * 0.1
    assert gap_mm < 1.0


def test_needle_shows_inside_an_anechoic_lumen():
    # a shallow needle crossing the artery: the reflector is bright in the lumen too
    ph = Phantom(PhantomConfig(motion=PhantomMotionConfig(enabled=False),
                               vessels=PhantomVesselsConfig(pulsation=False),
                               needle=PhantomNeedleConfig(angle_deg=22.0, max_insert_mm=60.0, speed_mm_s=10.0,
                                                          start_s=0.0)))
    f = ph.render(10.0)
    in_lumen = f.needle_mask & (f.labels == VESSEL)
    assert in_lumen.sum() > 50
    lumen_only = (f.labels == VESSEL) & ~f.needle_mask
    assert f.image[in_lumen].mean() > f.image[lumen_only].mean() + 100


def test_needle_stops_on_bone():
    ph = Phantom(PhantomConfig(motion=PhantomMotionConfig(enabled=False),
                               needle=PhantomNeedleConfig(angle_deg=60.0, max_insert_mm=80.0, speed_mm_s=20.0,
                                                          start_s=0.0)))
    assert ph.anatomy.bone
    f = ph.render(10.0)
    tip = np.array(f.needle_tip_px) * 0.1  # mm (0.1 mm per pixel)
    bone = np.array(ph.anatomy.bone)
    xs = np.linspace(bone[0, 0], bone[-1, 0], 2000)
    surface = np.interp(xs, bone[:, 0], bone[:, 1])
    gap = np.min(np.hypot(xs - tip[0], surface - tip[1]))
    assert 0.2 < gap < 1.0  # resting on the surface, not through it


def test_needle_not_visible_before_insertion():
    f = Phantom(PhantomConfig(needle=PhantomNeedleConfig(start_s=5.0))).render(1.0)
    assert not f.needle_visible and f.needle_tip_px is None and not f.needle_mask.any()


@pytest.mark.parametrize("make, key", [
    (lambda: PhantomAnatomyConfig(preset="knee"), "phantom.anatomy.preset"),
    (lambda: PhantomImagingConfig(depth_mm=500.0), "phantom.imaging.depth_mm"),
    (lambda: PhantomNeedleConfig(side="top"), "phantom.needle.side"),
    (lambda: PhantomConfig(seed=-1), "phantom.seed"),
    (lambda: PhantomMotionConfig(period_s=0.1), "phantom.motion.period_s"),
    (lambda: PhantomVesselsConfig(vein_compression=0.95), "phantom.vessels.vein_compression"),
])
def test_bad_configuration_names_the_key(make, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.") + " = "):
        make()


@pytest.mark.parametrize("preset", ["femoral", "interscalene", "random"])
def test_every_preset_renders_nerves_and_vessels(preset):
    f = Phantom(PhantomConfig(seed=5, anatomy=PhantomAnatomyConfig(preset=preset))).render(0.5)
    assert (f.labels == NERVE).any() and (f.labels == VESSEL).any()
