"""PnP on synthetic correspondences: IPPE + LM, ambiguity flag and a sound covariance."""

from __future__ import annotations

import numpy as np

from vision.tracking.pnp import noise_sigma, pose_covariance, project, solve_general, solve_planar
from core.se3 import R_to_rotvec, make_T, rotvec_to_R

K = np.array([[1100.0, 0, 640.0], [0, 1100.0, 360.0], [0, 0, 1.0]])
GRID = np.array([[x, y, 0.0] for y in range(10, 70, 10) for x in range(10, 50, 10)])


def test_exact_points_give_the_exact_pose():
    T = make_T(rotvec_to_R([0.5, -0.2, 0.3]), [10.0, -5.0, 350.0])
    sol = solve_planar(GRID, project(GRID, T, K), K)
    assert sol is not None and sol.rms_px < 1e-6
    assert np.allclose(sol.T, T, atol=1e-6)


def test_collinear_points_are_refused():
    line = np.array([[x, 10.0, 0.0] for x in range(10, 60, 10)])
    T = make_T(np.eye(3), [0, 0, 300.0])
    assert solve_planar(line, project(line, T, K), K) is None


def test_covariance_matches_monte_carlo_spread():
    """The first-order covariance predicts the spread of poses under pixel noise (within 30 %)."""
    T = make_T(rotvec_to_R([0.4, 0.1, 0.2]), [5.0, 0.0, 450.0])
    clean = project(GRID, T, K)
    rng = np.random.default_rng(0)
    sigma = 0.2
    d = []
    for _ in range(300):
        sol = solve_planar(GRID, clean + rng.normal(0, sigma, clean.shape), K, prior_T=T)
        dth = R_to_rotvec(sol.T[:3, :3] @ T[:3, :3].T)
        d.append(np.concatenate([dth, sol.T[:3, 3] - T[:3, 3]]))
    emp = np.cov(np.array(d).T)
    cov = pose_covariance(GRID, T, K, sigma)
    ratio = np.sqrt(np.diag(emp) / np.diag(cov))
    assert np.all((ratio > 0.7) & (ratio < 1.3)), ratio


def test_noise_sigma_estimate():
    rng = np.random.default_rng(1)
    r = np.linalg.norm(rng.normal(0, 0.3, (400, 2)), axis=1)
    assert abs(noise_sigma(r, 6, 0.01) - 0.3) < 0.03
    assert noise_sigma(np.zeros(10), 6, 0.05) == 0.05


def test_mirrored_solution_is_flagged_ambiguous_and_prior_decides():
    # far, small, nearly fronto-parallel: the two IPPE solutions fit about equally well
    small = GRID[:6] * 0.5
    T = make_T(rotvec_to_R([0.12, 0.0, 0.0]), [0.0, 0.0, 800.0])
    rng = np.random.default_rng(3)
    img = project(small, T, K) + rng.normal(0, 0.3, (len(small), 2))
    sol = solve_planar(small, img, K)
    assert sol.ambiguous and not sol.used_prior
    with_prior = solve_planar(small, img, K, prior_T=T)
    assert with_prior.used_prior
    from core.se3 import rotation_angle_deg
    assert rotation_angle_deg(with_prior.T[:3, :3], T[:3, :3]) <= rotation_angle_deg(sol.T[:3, :3], T[:3, :3]) + 1e-9


def test_general_pnp_on_two_faces():
    face_a = np.array([[x, y, 0.0] for x in (-15, 15) for y in (-15, 15)])
    face_b = np.array([[20.0, y, z] for y in (-15, 15) for z in (5, 35)])
    obj = np.concatenate([face_a, face_b])
    T = make_T(rotvec_to_R([0.3, 0.6, 0.1]), [0.0, 10.0, 300.0])
    sol = solve_general(obj, project(obj, T, K), K, groups=[np.arange(4), np.arange(4, 8)])
    assert sol is not None and np.allclose(sol.T, T, atol=1e-5)
