"""Whole-chain verification: exact chain gives zero error, a known error is measured, every way of giving the
target agrees, and malformed captures are one clear line."""

from __future__ import annotations

import json

import numpy as np
import pytest

from calibration.verify import load_verify_capture, verify_chain
from core.errors import InputError
from core.se3 import invert, make_T, rotvec_to_R
from research.calibration.verify_sim import VerifySimConfig, simulate_capture, true_marker_from_image
from calibration.simulated import T_HEADSET_FROM_CAMERA

EXACT = VerifySimConfig(n_frames=12, pixel_noise_px=0.0, marker_noise_mm=0.0, marker_noise_deg=0.0, seed=4)


def _write(tmp_path, data, name="cap.json"):
    p = tmp_path / name
    p.write_text(json.dumps(data))
    return p


def test_the_true_chain_places_the_target_exactly(tmp_path):
    cap = load_verify_capture(_write(tmp_path, simulate_capture(EXACT)))
    r = verify_chain(cap, true_marker_from_image(), T_HEADSET_FROM_CAMERA, 1.5)
    assert r.passed and r.max_mm < 1e-6 and r.n_over == 0


def test_a_known_headset_offset_is_measured_and_fails(tmp_path):
    cap = load_verify_capture(_write(tmp_path, simulate_capture(EXACT)))
    shift = make_T(np.eye(3), [0.0, 2.0, 0.0]) @ T_HEADSET_FROM_CAMERA
    r = verify_chain(cap, true_marker_from_image(), shift, 1.5)
    assert not r.passed and np.allclose(r.errors_mm, 2.0) and np.allclose(r.bias_mm, [0.0, 2.0, 0.0])
    assert r.n_over == 12
    assert verify_chain(cap, true_marker_from_image(), shift, 2.5).passed


def test_the_criterion_max_is_stricter_than_the_mean(tmp_path):
    noisy = simulate_capture(VerifySimConfig(n_frames=20, seed=5, i2m_error_mm=0.0, c2h_error_mm=0.0))
    cap = load_verify_capture(_write(tmp_path, noisy))
    r_mean = verify_chain(cap, true_marker_from_image(), T_HEADSET_FROM_CAMERA, 1.6, "mean")
    r_max = verify_chain(cap, true_marker_from_image(), T_HEADSET_FROM_CAMERA, 1.6, "max")
    assert r_mean.mean_mm < r_mean.max_mm and r_mean.figure_mm == r_mean.mean_mm and r_max.figure_mm == r_max.max_mm
    assert (r_max.passed, r_mean.passed) != (True, False)


def test_an_out_of_plane_error_is_reported_as_such(tmp_path):
    cap = load_verify_capture(_write(tmp_path, simulate_capture(EXACT)))
    # push the image 1.5 mm along its own normal (marker frame): all error is out of plane
    T_mi = true_marker_from_image()
    n = T_mi[:3, 2] / np.linalg.norm(T_mi[:3, 2])
    r = verify_chain(cap, make_T(np.eye(3), 1.5 * n) @ T_mi, T_HEADSET_FROM_CAMERA, 1.0)
    assert np.allclose(r.out_of_plane_mm, 1.5, atol=1e-6) and np.all(r.in_plane_mm < 1e-4)


def test_every_way_of_giving_the_target_agrees(tmp_path):
    data = simulate_capture(EXACT)
    p_h = np.asarray(data["p_headset_target_mm"][0])
    rng = np.random.default_rng(0)
    T_hp = make_T(rotvec_to_R(rng.normal(size=3)), rng.normal(0, 100, 3))
    q = (invert(T_hp) @ np.append(p_h, 1))[:3]
    T_wh = [make_T(rotvec_to_R(rng.normal(0, 0.3, 3)), rng.normal(0, 300, 3)) for _ in range(12)]
    T_wp = make_T(rotvec_to_R(rng.normal(size=3)), rng.normal(0, 100, 3))
    q_w = (invert(T_wp) @ T_wh[0] @ np.append(p_h, 1))[:3]  # phantom fixed in the world; head moves
    base = {k: data[k] for k in ("pixels", "T_camera_from_marker")}
    # per-frame head poses: the capture's camera poses stay as they are only when the head is still, so use
    # the world forms with the headset still (T_wh all equal) and check the moving form separately below
    forms = [
        {"p_headset_target_mm": p_h.tolist()},
        {"target_phantom_mm": q.tolist(), "T_headset_from_phantom": T_hp.tolist()},
        {"target_phantom_mm": q_w.tolist(), "T_world_from_phantom": T_wp.tolist(),
         "T_world_from_headset": [T_wh[0].tolist()] * 12},
        {"p_world_target_mm": (T_wh[0] @ np.append(p_h, 1))[:3].tolist(), "T_world_from_headset": T_wh[0].tolist()},
    ]
    for k, form in enumerate(forms):
        cap = load_verify_capture(_write(tmp_path, {**base, **form}, f"c{k}.json"))
        assert np.allclose(cap.p_headset_true, p_h, atol=1e-6), form.keys()


def test_a_moving_head_gives_the_target_per_frame(tmp_path):
    data = simulate_capture(EXACT)
    data.pop("p_headset_target_mm")
    p_w = np.array([10.0, 20.0, 30.0])
    T_wh = [make_T(rotvec_to_R([0, 0.1 * k, 0]), [k, 0, 0]) for k in range(12)]
    cap = load_verify_capture(_write(tmp_path, {**data, "p_world_target_mm": p_w.tolist(),
                                                "T_world_from_headset": [T.tolist() for T in T_wh]}))
    for k in range(12):
        assert np.allclose(T_wh[k][:3, :3] @ cap.p_headset_true[k] + T_wh[k][:3, 3], p_w)


@pytest.mark.parametrize("change, message", [
    (lambda d: d.pop("p_headset_target_mm"), "does not say where the target is"),
    (lambda d: d.update(pixels=d["pixels"][:5]), "one entry per station"),
    (lambda d: d.update(pixels=d["pixels"][:2], T_camera_from_marker=d["T_camera_from_marker"][:2],
                        p_headset_target_mm=d["p_headset_target_mm"][:2]), "at least 3 are needed"),
    (lambda d: d["T_camera_from_marker"][3].__setitem__(0, [2.0, 0, 0, 0]),
     r"T_camera_from_marker\[3\] is not a rigid"),
    (lambda d: d["pixels"][1].__setitem__(0, float("nan")), r"pixels\[1\] contains NaN"),
    (lambda d: d["pixels"][2].__setitem__(0, 900.0), r"pixels\[2\] = .* lies outside the 400x400 image"),
    (lambda d: (d.pop("p_headset_target_mm"), d.update(p_world_target_mm=[0, 0, 0])), "needs 'T_world_from_headset'"),
    (lambda d: d.pop("pixels"), "lacks the key"),
])
def test_malformed_captures_are_one_clear_line(tmp_path, change, message):
    data = simulate_capture(EXACT)
    change(data)
    with pytest.raises(InputError, match=message):
        load_verify_capture(_write(tmp_path, data))


def test_a_bad_limit_or_criterion_is_refused(tmp_path):
    cap = load_verify_capture(_write(tmp_path, simulate_capture(EXACT)))
    with pytest.raises(InputError, match="criterion"):
        verify_chain(cap, true_marker_from_image(), T_HEADSET_FROM_CAMERA, 1.5, "median")
    with pytest.raises(InputError, match="positive"):
        verify_chain(cap, true_marker_from_image(), T_HEADSET_FROM_CAMERA, 0.0)
