"""N-wire ultrasound calibration (calibration.nwire): geometry checks, dots, N patterns, the fit."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.nwire import (calibrate_nwire, detect_dots, find_n_patterns, middle_point, parse_geometry,
                               predicted_dots)
from core.errors import CalibrationError, InputError
from research.calibration.nwire_sim import NWireSimConfig, grid_errors, simulate_nwire
from vision.phantom.nwire import fcal_like_geometry, render_nwire

GEOM = parse_geometry(fcal_like_geometry().to_dict())


def _obs(cap, px_noise: float = 0.0, seed: int = 0, flip_width: int | None = None) -> list[np.ndarray]:
    """Triplets from the true dots (optionally with pixel noise, optionally mirrored left-right)."""
    rng = np.random.default_rng(seed)
    out = []
    for d in cap.dots_px:
        d = d + px_noise * rng.standard_normal(d.shape)
        if flip_width is not None:
            d = d.copy()
            d[..., 0] = flip_width - 1 - d[..., 0]
            d = d[:, ::-1]
        out.append(d)
    return out


def test_geometry_is_checked():
    good = fcal_like_geometry().to_dict()
    assert parse_geometry(good).n_layers == 3
    bad = fcal_like_geometry().to_dict()
    bad["layers"][0]["wires"][2][1][0] += 5.0  # wire 3 no longer parallel to wire 1
    with pytest.raises(InputError, match="not parallel"):
        parse_geometry(bad, "ph.json")
    bad = fcal_like_geometry().to_dict()
    bad["layers"][1]["wires"][1][0][2] += 3.0  # diagonal off wire 1's line
    with pytest.raises(InputError, match="diagonal must start on wire 1"):
        parse_geometry(bad, "ph.json")
    with pytest.raises(InputError, match="layer 0 must hold 'wires'"):
        parse_geometry({"layers": [{"wires": [[0, 0, 0]]}]}, "ph.json")
    with pytest.raises(InputError, match="'layers' list"):
        parse_geometry({"wires": []}, "ph.json")


def test_middle_point_by_similar_triangles():
    layer = GEOM.layers[0]
    a, c = np.array([100.0, 50.0]), np.array([300.0, 60.0])
    b = a + 0.25 * (c - a)
    np.testing.assert_allclose(middle_point(layer, a, b, c), layer.d1 + 0.25 * (layer.d3 - layer.d1))


def test_dots_found_within_half_a_pixel_on_rendered_frames():
    cap = simulate_nwire(5, NWireSimConfig(n_frames=4))
    for img, truth in zip(cap.images, cap.dots_px):
        trip = find_n_patterns(detect_dots(img), 3)
        if len(trip) < 3:  # two dots merged into one blob: the frame is skipped, never mis-read
            continue
        assert np.abs(trip - truth).max() < 0.5


def test_patterns_ignore_a_stray_dot():
    cap = simulate_nwire(6, NWireSimConfig(n_frames=1), render=False)
    dots = np.vstack([cap.dots_px[0].reshape(-1, 2), [[30.0, 30.0], [600.0, 450.0]]])
    trip = find_n_patterns(dots[np.random.default_rng(1).permutation(len(dots))], 3)
    np.testing.assert_allclose(trip, cap.dots_px[0])


def test_noise_free_frames_give_the_exact_calibration():
    cap = simulate_nwire(1, NWireSimConfig(n_frames=15, pose_mm=0.0, pose_deg=0.0), render=False)
    r = calibrate_nwire(_obs(cap), cap.T_tracker_from_marker, cap.T_tracker_from_phantom, GEOM)
    assert grid_errors(r.T_marker_from_image, cap.T_marker_from_image, cap.image_size).max() < 1e-6
    np.testing.assert_allclose(r.spacing_mm_per_px, cap.spacing_mm, rtol=1e-8)
    assert r.rms_mm < 1e-6 and np.max(r.loo_pre_mm) < 1e-6 and np.max(r.loo_tre_mm) < 1e-6
    # the calibrated prediction of where the wires cross frame 0 is where they are
    T_pi = np.linalg.inv(cap.T_tracker_from_phantom[0]) @ cap.T_tracker_from_marker[0] @ r.T_marker_from_image
    np.testing.assert_allclose(predicted_dots(GEOM, T_pi), cap.dots_px[0].reshape(-1, 2), atol=1e-6)


def test_noisy_poses_within_the_target_and_a_mirrored_probe_is_read():
    cap = simulate_nwire(2, NWireSimConfig(n_frames=30), render=False)
    r = calibrate_nwire(_obs(cap, 0.2), cap.T_tracker_from_marker, cap.T_tracker_from_phantom, GEOM)
    assert grid_errors(r.T_marker_from_image, cap.T_marker_from_image, cap.image_size).mean() < 0.4
    assert not r.flipped and 0.3 < np.sqrt(np.mean(r.loo_tre_mm ** 2)) < 1.5
    w = cap.image_size[0]
    F = np.diag([-1.0, 1.0, -1.0, 1.0])
    F[0, 3] = w - 1  # mirrored image: u -> W-1-u (z flips too, so the frame stays right-handed)
    m = calibrate_nwire(_obs(cap, 0.2, flip_width=w), cap.T_tracker_from_marker, cap.T_tracker_from_phantom, GEOM)
    assert m.flipped
    assert grid_errors(m.T_marker_from_image, cap.T_marker_from_image @ F, cap.image_size).mean() < 0.4


def test_too_few_frames_and_degenerate_sweeps_are_refused():
    cap = simulate_nwire(3, NWireSimConfig(n_frames=12, pose_mm=0.0, pose_deg=0.0), render=False)
    obs = _obs(cap)
    with pytest.raises(CalibrationError, match="only 9 of 12 frames show all 3 N patterns"):
        calibrate_nwire([o if i > 2 else o[:2] for i, o in enumerate(obs)], cap.T_tracker_from_marker,
                        cap.T_tracker_from_phantom, GEOM)
    same = np.repeat(cap.T_tracker_from_marker[:1], 12, axis=0)
    with pytest.raises(CalibrationError, match="degenerate sweep.*slide the probe along the wires.*rock/tilt"):
        calibrate_nwire([obs[0]] * 12, same, cap.T_tracker_from_phantom, GEOM)


def test_dots_on_one_line_are_refused():
    cap = simulate_nwire(4, NWireSimConfig(n_frames=12, pose_mm=0.0, pose_deg=0.0), render=False)
    one = parse_geometry({"layers": [fcal_like_geometry().to_dict()["layers"][0]]})
    flat = [d[:1].copy() for d in cap.dots_px]
    for d in flat:
        d[..., 1] = 100.0 + 0.01 * d[..., 0]  # every dot on the same image row
    with pytest.raises(CalibrationError, match="one line in the image"):
        calibrate_nwire(flat, cap.T_tracker_from_marker, cap.T_tracker_from_phantom, one)


def test_blank_frames_have_no_dots():
    img = render_nwire(fcal_like_geometry(), np.eye(4), (200, 150), seed=0).image  # plane misses every wire
    assert len(detect_dots(img)) == 0


def test_frames_showing_some_layers_join_with_the_right_layer():
    cap = simulate_nwire(7, NWireSimConfig(n_frames=20), render=False)
    obs = _obs(cap, 0.2, seed=3)
    for i in range(0, 20, 4):  # these frames lose a layer (out of the image): first, middle, last in turn
        obs[i] = np.delete(obs[i], (i // 4) % 3, axis=0)
    r = calibrate_nwire(obs, cap.T_tracker_from_marker, cap.T_tracker_from_phantom, GEOM)
    assert r.frames_used == list(range(20)) and len(r.point_px) == 20 * 3 - 5
    assert r.residuals_mm.max() < 2.5 and r.inlier.all()
    assert grid_errors(r.T_marker_from_image, cap.T_marker_from_image, cap.image_size).mean() < 0.4


def test_reverberations_and_edge_blobs_are_not_dots():
    from vision.phantom.nwire import NWireImagingConfig

    cfg = NWireSimConfig(n_frames=3, imaging=NWireImagingConfig(reverb_db=-8.0, reverb_spacing_mm=0.6, wire_db=34.0))
    cap = simulate_nwire(11, cfg)
    for img, truth in zip(cap.images, cap.dots_px):
        d = detect_dots(img)
        # every dot found is a wire crossing (no reverberation below one; a strong tail merged
        # under a dot moves it by under a pixel), and most crossings are found
        near = np.min(np.linalg.norm(d[:, None, :2] - truth.reshape(1, -1, 2), axis=2), axis=1)
        assert np.all(near < 1.2) and len(d) >= 8
        edge = img.copy()
        edge[100:110, :12] = 255  # a bright blob cut by the left edge
        assert len(detect_dots(edge)) == len(d)


def test_partial_frames_in_a_rendered_capture_are_used():
    cap = simulate_nwire(12, NWireSimConfig(n_frames=14, partial_fraction=0.3))
    obs = [find_n_patterns(detect_dots(img), 3) for img in cap.images]
    assert any(0 < len(o) < 3 for o in obs)
    r = calibrate_nwire(obs, cap.T_tracker_from_marker, cap.T_tracker_from_phantom, GEOM)
    assert len(r.frames_used) > sum(len(o) == 3 for o in obs)
    assert grid_errors(r.T_marker_from_image, cap.T_marker_from_image, cap.image_size).mean() < 0.6
