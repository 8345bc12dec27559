"""N-wire phantom mode: wire crossings by the N geometry, rendered dots where the wires cross."""

from __future__ import annotations

import numpy as np

from vision.phantom.nwire import NWireGeometry, NWireImagingConfig, fcal_like_geometry, render_nwire, wire_crossings

W, H, SX, SY = 512, 480, 0.08, 0.1


def _pose(y_mm: float) -> np.ndarray:
    """Image plane across the wires at ``y_mm``: u along phantom x, v along phantom z (depth)."""
    M = np.eye(4)
    M[:3, 0], M[:3, 1], M[:3, 2] = [SX, 0, 0], [0, 0, SY], [0, -1, 0]
    M[:3, 3] = [-0.5 * W * SX, y_mm, -5.0]
    return M


def test_crossings_follow_the_n_geometry():
    g = fcal_like_geometry(40.0)
    for y in (10.0, 20.0, 30.0):
        px, ok = wire_crossings(g, _pose(y))
        assert ok.all()
        for layer, dots in zip(g.wires, px):
            # side wires at their x; the diagonal's dot at the fraction of the way along y
            x1, x3 = layer[0, 0, 0], layer[2, 0, 0]
            frac = (y - layer[1, 0, 1]) / (layer[1, 1, 1] - layer[1, 0, 1])
            expect_u = (np.array([x1, x1 + frac * (x3 - x1), x3]) + 0.5 * W * SX) / SX
            np.testing.assert_allclose(dots[:, 0], expect_u, atol=1e-9)
            np.testing.assert_allclose(dots[:, 1], (layer[0, 0, 2] + 5.0) / SY, atol=1e-9)


def test_plane_beyond_the_walls_does_not_cross():
    _, ok = wire_crossings(fcal_like_geometry(40.0), _pose(45.0))
    assert not ok.any()


def test_dots_are_bright_blurred_laterally_and_deterministic():
    g = fcal_like_geometry()
    f = render_nwire(g, _pose(20.0), (W, H), seed=4)
    assert f.image.shape == (H, W) and f.image.dtype == np.uint8 and f.inside.all()
    img = f.image.astype(float)
    bg = np.median(img)
    for u, v in f.dots_px.reshape(-1, 2):
        iu, iv = int(round(u)), int(round(v))
        assert img[iv - 1:iv + 2, iu - 1:iu + 2].mean() > bg + 80
        # wider laterally than axially: 4 px to the side is still bright, 4 px below is not
        assert img[iv, iu + 4] > img[iv + 4, iu] + 20
    np.testing.assert_array_equal(f.image, render_nwire(g, _pose(20.0), (W, H), seed=4).image)
    assert not np.array_equal(f.image, render_nwire(g, _pose(20.0), (W, H), seed=5).image)


def test_attenuation_darkens_depth_without_tgc():
    cfg = NWireImagingConfig(attenuation_db_per_cm=8.0, tgc_db_per_cm=0.0, reverb_db=None)
    img = render_nwire(fcal_like_geometry(), _pose(20.0), (W, H), cfg, seed=1).image.astype(float)
    assert img[:80].mean() > img[-80:].mean() + 20


def test_geometry_round_trip():
    g = fcal_like_geometry()
    back = NWireGeometry.from_dict(g.to_dict())
    np.testing.assert_array_equal(back.wires, g.wires)
    assert back.n_layers == 3 and back.name == g.name
