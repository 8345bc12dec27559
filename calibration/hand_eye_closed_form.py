"""Closed-form hand-eye solutions of ``A X = X B`` from station pairs.

A camera rigidly on the headset sees a static marker while the headset moves. With the headset
pose ``W_i = T_world_from_headset_i``, the marker pose ``C_i = T_camera_from_marker_i``, the
unknown ``X = T_headset_from_camera`` and the static ``Y = T_world_from_marker``::

    W_i X C_i = Y  for every station i   =>   (W_j^-1 W_i) X = X (C_j C_i^-1)

so each station pair gives one motion pair ``A = W_j^-1 W_i`` (headset motion, in the headset
frame of station j) and ``B = C_j C_i^-1`` (the same motion seen from the camera). Three classic
solvers are written here from their papers (the pinned OpenCV 5 lacks ``calibrateHandEye``):

* Tsai & Lenz, "A new technique for fully autonomous and efficient 3D robotics hand/eye
  calibration", IEEE Trans. Robotics and Automation 5(3), 1989: rotation from the modified
  Rodrigues vectors, then translation by linear least squares.
* Park & Martin, "Robot sensor calibration: solving AX = XB on the Euclidean group", IEEE Trans.
  Robotics and Automation 10(5), 1994: rotation from the log-map axes,
  ``R_X = (M^T M)^-1/2 M^T`` with ``M = sum beta alpha^T``, then translation by least squares.
* Daniilidis, "Hand-eye calibration using dual quaternions", Int. J. Robotics Research 18(3),
  1999: rotation and translation at once from the null space of the dual-quaternion equations.
"""

from __future__ import annotations

import logging
import numpy as np
from scipy.spatial.transform import Rotation

from core.errors import CalibrationError
from core.se3 import invert, make_T

log = logging.getLogger(__name__)

CLOSED_FORMS = ("park", "tsai", "daniilidis")
"""Names of the closed-form solvers, as accepted by :func:`solve_closed_form`."""


def motion_pairs(W: np.ndarray, C: np.ndarray, min_angle_deg: float = 2.0,
                 max_angle_deg: float = 170.0) -> tuple[np.ndarray, np.ndarray]:
    """Motion pairs ``(A, B)`` of ``A X = X B`` from every station pair that rotated enough.

    Pairs whose headset rotation is below ``min_angle_deg`` carry no rotation-axis information
    (their axis is noise) and are left out; so are pairs turning more than ``max_angle_deg``,
    whose rotation vector flips sign under noise (log map near 180 deg).

    Args:
        W: ``(N, 4, 4)`` headset poses ``T_world_from_headset``.
        C: ``(N, 4, 4)`` marker poses ``T_camera_from_marker``.
        min_angle_deg: smallest headset rotation of a pair that is used.
        max_angle_deg: largest headset rotation of a pair that is used.

    Returns:
        ``A`` and ``B``, each ``(K, 4, 4)``.
    """
    n = len(W)
    if n < 2:
        return np.zeros((0, 4, 4)), np.zeros((0, 4, 4))
    ii, jj = np.triu_indices(n, k=1)
    Winv = np.array([invert(w) for w in W])
    Cinv = np.array([invert(c) for c in C])
    A = Winv[jj] @ W[ii]
    B = C[jj] @ Cinv[ii]
    angle = np.degrees(np.linalg.norm(Rotation.from_matrix(A[:, :3, :3]).as_rotvec(), axis=1))
    keep = (angle >= min_angle_deg) & (angle <= max_angle_deg)
    return A[keep], B[keep]


def _translation(A: np.ndarray, B: np.ndarray, R_X: np.ndarray) -> np.ndarray:
    """Least-squares ``t_X`` from ``(R_A - I) t_X = R_X t_B - t_A`` (Tsai-Lenz eq. 11, Park-Martin)."""
    M = (A[:, :3, :3] - np.eye(3)).reshape(-1, 3)
    rhs = (np.einsum("ij,kj->ki", R_X, B[:, :3, 3]) - A[:, :3, 3]).reshape(-1)
    return np.linalg.lstsq(M, rhs, rcond=None)[0]


def _need(A: np.ndarray, n: int = 2) -> None:
    if len(A) < n:
        raise CalibrationError(f"only {len(A)} station pairs with enough rotation; record more stations with the "
                               "headset turned about two different axes")


def park_martin(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``X`` by Park & Martin (1994): ``R_X = (M^T M)^-1/2 M^T``, ``M = sum_k beta_k alpha_k^T``.

    ``alpha_k = log R_A``, ``beta_k = log R_B`` (rotation vectors), and ``alpha = R_X beta``.

    Raises:
        CalibrationError: fewer than two pairs, or all rotation axes parallel (``M^T M`` singular).
    """
    _need(A)
    alpha = Rotation.from_matrix(A[:, :3, :3]).as_rotvec()
    beta = Rotation.from_matrix(B[:, :3, :3]).as_rotvec()
    M = beta.T @ alpha
    w, V = np.linalg.eigh(M.T @ M)
    if w[0] <= 1e-12 * max(w[-1], 1e-300):
        raise CalibrationError("the headset rotated about one axis only; rotate it also about a second axis")
    R_X = V @ np.diag(w ** -0.5) @ V.T @ M.T
    U, _, Vt = np.linalg.svd(R_X)  # remove rounding drift
    R_X = U @ np.diag([1.0, 1.0, np.linalg.det(U @ Vt)]) @ Vt
    return make_T(R_X, _translation(A, B, R_X))


def _skew(v: np.ndarray) -> np.ndarray:
    """Cross-product matrices, ``(..., 3) -> (..., 3, 3)``."""
    z = np.zeros(v.shape[:-1])
    return np.stack([np.stack([z, -v[..., 2], v[..., 1]], -1),
                     np.stack([v[..., 2], z, -v[..., 0]], -1),
                     np.stack([-v[..., 1], v[..., 0], z], -1)], -2)


def tsai_lenz(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``X`` by Tsai & Lenz (1989).

    With the modified Rodrigues vectors ``P = 2 sin(theta/2) n`` of ``R_A`` and ``R_B``,
    ``skew(P_A + P_B) P' = P_B - P_A`` is solved by least squares for ``P' = tan(phi/2) n_X``;
    the rotation of ``X`` is the one by ``phi`` about ``n_X``. The translation follows by
    least squares.

    Raises:
        CalibrationError: fewer than two pairs.
    """
    _need(A)
    ra = Rotation.from_matrix(A[:, :3, :3]).as_rotvec()
    rb = Rotation.from_matrix(B[:, :3, :3]).as_rotvec()

    def modified(rv: np.ndarray) -> np.ndarray:
        th = np.linalg.norm(rv, axis=1, keepdims=True)
        return 2.0 * np.sin(th / 2.0) * rv / np.maximum(th, 1e-12)

    Pa, Pb = modified(ra), modified(rb)
    Pp = np.linalg.lstsq(_skew(Pa + Pb).reshape(-1, 3), (Pb - Pa).reshape(-1), rcond=None)[0]
    g = np.linalg.norm(Pp)
    rv = (2.0 * np.arctan(g) / g) * Pp if g > 1e-12 else np.zeros(3)
    R_X = Rotation.from_rotvec(rv).as_matrix()
    return make_T(R_X, _translation(A, B, R_X))


def _quat(R: np.ndarray) -> np.ndarray:
    """Unit quaternions ``(w, x, y, z)`` of rotation matrices, ``w >= 0``."""
    q = Rotation.from_matrix(R).as_quat()  # scipy: (x, y, z, w)
    q = np.concatenate([q[..., 3:], q[..., :3]], axis=-1)
    return q * np.where(q[..., :1] < 0, -1.0, 1.0)


def _qmul(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Hamilton products of ``(w, x, y, z)`` quaternions (broadcast)."""
    pw, pv, qw, qv = p[..., :1], p[..., 1:], q[..., :1], q[..., 1:]
    return np.concatenate([pw * qw - np.sum(pv * qv, -1, keepdims=True),
                           pw * qv + qw * pv + np.cross(pv, qv)], axis=-1)


def _dual(T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit dual quaternions ``(q, q')`` of rigid transforms: ``q' = 1/2 (0, t) q``."""
    q = _quat(T[..., :3, :3])
    t = np.concatenate([np.zeros(T.shape[:-2] + (1,)), T[..., :3, 3]], axis=-1)
    return q, 0.5 * _qmul(t, q)


def daniilidis(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``X`` by Daniilidis (1999), dual quaternions.

    Each pair gives six equations ``[a - b, [a + b]x, 0, 0; a' - b', [a' + b']x, a - b, [a + b]x]``
    in the eight unknowns ``(q, q')`` of ``X`` (vector parts of the pair's dual quaternions, both
    taken with a non-negative scalar part; pairs turning more than ~155 deg, whose sign is ambiguous
    under noise, are left out). ``(q, q')`` lies in the two-dimensional null space of
    the stacked system (SVD); the unit-norm and ``q . q' = 0`` constraints fix the combination.

    Raises:
        CalibrationError: fewer than two pairs, or no real solution (degenerate motion).
    """
    # translations in mm would swamp the rotation rows; solve in units of the typical pair translation
    scale = float(np.median(np.linalg.norm(np.concatenate([A[:, :3, 3], B[:, :3, 3]]), axis=1))) if len(A) else 1.0
    scale = scale if scale > 1e-9 else 1.0
    A, B = A.copy(), B.copy()
    A[:, :3, 3] /= scale
    B[:, :3, 3] /= scale
    qa, qa_d = _dual(A)
    qb, qb_d = _dual(B)
    # the sign of a quaternion is fixed by a0 = b0 >= 0; near 180 deg (a0 ~ 0) noise makes it a coin toss
    keep = (qa[:, 0] > 0.2) & (qb[:, 0] > 0.2)
    qa, qa_d, qb, qb_d = qa[keep], qa_d[keep], qb[keep], qb_d[keep]
    _need(qa)
    a, ad, b, bd = qa[:, 1:], qa_d[:, 1:], qb[:, 1:], qb_d[:, 1:]
    T = np.zeros((len(a), 6, 8))
    T[:, :3, 0] = a - b
    T[:, :3, 1:4] = _skew(a + b)
    T[:, 3:, 0] = ad - bd
    T[:, 3:, 1:4] = _skew(ad + bd)
    T[:, 3:, 4] = a - b
    T[:, 3:, 5:8] = _skew(a + b)
    _, _, Vt = np.linalg.svd(T.reshape(-1, 8), full_matrices=False)
    v1, v2 = Vt[-2], Vt[-1]
    u1, w1, u2, w2 = v1[:4], v1[4:], v2[:4], v2[4:]
    # s = lambda1 / lambda2 solves u1.w1 s^2 + (u1.w2 + u2.w1) s + u2.w2 = 0 (q . q' = 0)
    roots = np.roots([u1 @ w1, u1 @ w2 + u2 @ w1, u2 @ w2])
    roots = roots[np.abs(roots.imag) < 1e-9].real
    if roots.size == 0:
        raise CalibrationError("the dual-quaternion system has no real solution; the motion is degenerate - rotate "
                               "the headset about two well-separated axes")
    norms = [s * s * (u1 @ u1) + 2.0 * s * (u1 @ u2) + u2 @ u2 for s in roots]
    k = int(np.argmax(norms))
    l2 = 1.0 / np.sqrt(norms[k])
    l1 = roots[k] * l2
    q, qd = l1 * u1 + l2 * u2, l1 * w1 + l2 * w2
    qc = q * np.array([1.0, -1.0, -1.0, -1.0])
    t = 2.0 * _qmul(qd, qc)[1:] * scale
    R = Rotation.from_quat(np.r_[q[1:], q[0]]).as_matrix()
    return make_T(R, t)


_SOLVERS = {"park": park_martin, "tsai": tsai_lenz, "daniilidis": daniilidis}


def solve_closed_form(W: np.ndarray, C: np.ndarray, method: str = "park", min_angle_deg: float = 2.0) -> np.ndarray:
    """``X = T_headset_from_camera`` by one closed form over all station pairs.

    Args:
        W: ``(N, 4, 4)`` ``T_world_from_headset``.
        C: ``(N, 4, 4)`` ``T_camera_from_marker``.
        method: ``"park"``, ``"tsai"`` or ``"daniilidis"``.
        min_angle_deg: pairs rotating less are left out (see :func:`motion_pairs`).

    Raises:
        CalibrationError: too few usable pairs or degenerate motion.
        ValueError: unknown method.
    """
    if method not in _SOLVERS:
        raise ValueError(f"unknown closed form {method!r}; choose one of {', '.join(CLOSED_FORMS)}")
    A, B = motion_pairs(W, C, min_angle_deg)
    return _SOLVERS[method](A, B)
