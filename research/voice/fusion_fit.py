"""Maximum-likelihood fitting of the fusion weights of :mod:`voice.fusion` on labelled utterances.

The conditional logit model of :mod:`voice.fusion` (D. McFadden, 1973) is fitted on the
*calibration* split only, by L-BFGS-B (scipy) on the mean negative log-likelihood with a small L2
penalty towards the verifier alone (``a = 1``, the other weights 0); the thresholds on the fused
log-odds are chosen afterwards (:func:`research.voice.thresholds.calibrate_fusion`).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from voice.fusion import WEIGHT_NAMES, Evidence, FusionWeights, design


def fit(evidence: Sequence[Evidence], targets: Sequence[str | None], labels: Sequence[str], l2: float = 0.005,
        sample_weight: Sequence[float] | None = None) -> tuple[FusionWeights, dict]:
    """Maximum-likelihood fusion weights on labelled utterances (``None`` target = ``none``).

    Returns:
        ``(weights, report)`` with the mean negative log-likelihood before (verifier alone,
        ``a = 1``, others 0) and after fitting.
    """
    from scipy.optimize import minimize

    xs = [design(ev, labels) for ev in evidence]
    ys = np.array([len(labels) - 1 if t is None else list(labels).index(t) for t in targets])
    sw = np.ones(len(xs)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    big = np.stack(xs)  # (N, C, 6)
    w0 = np.array([1.0, 0, 0, 0, 0, 0])

    def nll(w):
        z = big @ w  # (N, C)
        zmax = z.max(axis=1, keepdims=True)
        lse = zmax[:, 0] + np.log(np.exp(z - zmax).sum(axis=1))
        ll = z[np.arange(len(ys)), ys] - lse
        p = np.exp(z - lse[:, None])
        grad_z = p.copy()
        grad_z[np.arange(len(ys)), ys] -= 1.0
        grad = np.einsum("n,nc,nck->k", sw, grad_z, big) / sw.sum()
        reg = l2 * np.sum((w - w0) ** 2)
        return float(-(sw * ll).sum() / sw.sum() + reg), grad + 2 * l2 * (w - w0)

    before = nll(w0)[0]
    res = minimize(nll, w0, jac=True, method="L-BFGS-B",
                   bounds=[(0.05, 10.0), (-10, 10), (-10, 10), (-10, 10), (-10, 10), (-20, 20)])
    w = FusionWeights(**dict(zip(WEIGHT_NAMES, (float(v) for v in res.x))))
    return w, {"nll_verifier_alone": round(before, 5), "nll_fused": round(float(res.fun), 5), "n": int(len(ys)),
               "converged": bool(res.success)}
