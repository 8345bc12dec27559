"""Fitting the fusion of engine evidence and verifier posteriors, and the thresholds on its log-odds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from research.voice.fusion_fit import fit
from research.voice.thresholds import UtteranceRecord, calibrate_fusion
from voice.fusion import Evidence, FusionWeights, decide
from voice.score_thresholds import Calibration

LABELS = ["freeze", "show nerve", "unfreeze", "none"]


def _post(k, p, n=4):
    v = np.full(n, (1 - p) / (n - 1))
    v[k] = p
    return v


def test_fit_learns_that_engine_agreement_is_informative():
    rng = np.random.default_rng(0)
    evs, targets = [], []
    for _ in range(600):
        t = int(rng.integers(0, 4))
        # a noisy verifier: right 60 % of the time
        k = t if rng.random() < 0.6 else int(rng.integers(0, 4))
        post = _post(k, 0.55)
        # an engine that names the true intent 90 % of the time for commands, and hears garbage for "none"
        hyp = None if t == 3 else (LABELS[t] if rng.random() < 0.9 else LABELS[int(rng.integers(0, 3))])
        evs.append(Evidence(post, hyp, math.nan, hyp is None, 0.0))
        targets.append(None if t == 3 else LABELS[t])
    w, report = fit(evs, targets, LABELS)
    assert w.b_agree > 1.0 and w.g_garbage_only > 1.0
    assert report["nll_fused"] < report["nll_verifier_alone"]


@pytest.mark.parametrize("policy", ["shared", "per-intent"])
def test_calibrate_fusion_keeps_false_accepts_under_target(policy):
    rng = np.random.default_rng(1)
    records, expects = [], []
    for clip in range(400):
        t = int(rng.integers(0, 4))
        expect = None if t == 3 else LABELS[t]
        expects.append(expect)
        k = t if rng.random() < 0.8 else int(rng.integers(0, 4))
        hyp = None if t == 3 and rng.random() < 0.7 else LABELS[int(rng.integers(0, 3))] if t == 3 else LABELS[t]
        records.append(UtteranceRecord(clip, expect, expect, "", Evidence(_post(k, float(rng.uniform(0.4, 0.95))),
                                                                           hyp, math.nan, hyp is None, 0.0)))
        records.append(UtteranceRecord(clip, expect, None, "too short", Evidence(_post(0, 0.9), "freeze", math.nan,
                                                                                 False, 0.0)))
    base = Calibration(engine="test", lang="en", garbage_penalty_log10=-20, default_threshold=0.1,
                       thresholds={"freeze": 0.3})
    cal = calibrate_fusion(records, expects, LABELS, base, "v1", fa_target=0.01, policy=policy)
    assert cal.fusion["policy"] == policy and bool(cal.fusion["thresholds"]) == (policy == "per-intent")
    assert cal.has_fusion and cal.thresholds == {"freeze": 0.3}  # engine-only thresholds kept
    w = FusionWeights.from_json(cal.fusion["weights"])
    fa = 0
    for r in records:
        if r.reason or r.expect is not None:
            continue
        d = decide(r.evidence, LABELS, w)
        fa += d.verifier_agrees and d.log_odds >= cal.fusion_threshold(d.intent)
    assert fa <= 0.01 * sum(e is None for e in expects)
    assert cal.fusion["n_utterances"] == 400  # the hard-rejected utterances were left out of the fit
