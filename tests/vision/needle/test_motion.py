"""The anatomy's displacement in the image: median Lucas-Kanade flow against the phantom's probe slide."""

from __future__ import annotations

import cv2
import numpy as np

from vision.needle.motion import AnatomyMotion
from vision.phantom.config import (PhantomAnatomyConfig, PhantomConfig, PhantomMotionConfig, PhantomNeedleConfig,
                                   PhantomVesselsConfig)
from vision.phantom.render import Phantom


def test_follows_the_probe_slide_despite_pulsating_arteries():
    ph = Phantom(PhantomConfig(seed=10,
                               anatomy=PhantomAnatomyConfig(preset="femoral"),
                               motion=PhantomMotionConfig(enabled=True),
                               vessels=PhantomVesselsConfig(pulsation=True),
                               needle=PhantomNeedleConfig(enabled=False)))
    m = AnatomyMotion()
    errs = []
    for k in range(0, 60):
        f = ph.render(k / 10)
        D = m.update(cv2.pyrDown(f.image))
        true_dx = -f.probe_offset_mm / f.mm_per_px[1]  # the content moves opposite to the probe
        errs.append((D[0] - true_dx, D[1]))
    errs = np.abs(np.asarray(errs))
    assert errs[:, 0].max() < 1.0 and errs[:, 1].max() < 1.0, errs.max(axis=0)
    assert abs(true_dx) > 10  # the probe did slide


def test_reset_and_a_still_view():
    f = Phantom(PhantomConfig(seed=2,
                              motion=PhantomMotionConfig(enabled=False),
                              needle=PhantomNeedleConfig(enabled=False))).render(1.0)
    m = AnatomyMotion()
    half = cv2.pyrDown(f.image)
    for _ in range(3):
        D = m.update(half)
    assert np.allclose(D, 0.0, atol=0.05)
    m.reset()
    assert np.array_equal(m.displacement, np.zeros(2))
