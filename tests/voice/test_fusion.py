"""Fusion of engine evidence and verifier posteriors: fitting and the decision rule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from voice.fusion import Evidence, FusionWeights, decide, fit, fused_posteriors

LABELS = ["freeze", "show nerve", "unfreeze", "none"]


def _post(k, p, n=4):
    v = np.full(n, (1 - p) / (n - 1))
    v[k] = p
    return v


def test_verifier_alone_reproduces_its_posteriors():
    ev = Evidence(post=_post(1, 0.7), hyp="freeze", score=2.0, garbage_only=False, extra_s=0.0)
    np.testing.assert_allclose(fused_posteriors(ev, LABELS, FusionWeights()), _post(1, 0.7), atol=1e-6)


def test_engine_agreement_raises_the_intent_and_garbage_raises_none():
    w = FusionWeights(b_agree=1.0, g_garbage_only=1.0)
    agree = decide(Evidence(_post(0, 0.5), "freeze", math.nan, False, 0.0), LABELS, w)
    alone = decide(Evidence(_post(0, 0.5), None, math.nan, True, 0.0), LABELS, w)
    assert agree.intent == alone.intent == "freeze"
    assert agree.prob > 0.5 > alone.prob
    assert agree.log_odds > alone.log_odds


def test_verifier_must_agree():
    # the engine's strong vote can make "freeze" the fused best, but the verifier ranks "show nerve" first
    w = FusionWeights(b_agree=5.0)
    d = decide(Evidence(_post(1, 0.6), "freeze", math.nan, False, 0.0), LABELS, w)
    assert d.intent == "freeze" and not d.verifier_agrees


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


def test_weights_round_trip_through_json():
    w = FusionWeights(1.2, 0.5, 0.1, 2.0, 0.3, -1.0)
    assert FusionWeights.from_json(w.to_json()) == w


@pytest.mark.parametrize("policy", ["shared", "per-intent"])
def test_calibrate_fusion_keeps_false_accepts_under_target(policy):
    from voice.calibration import Calibration, UtteranceRecord, calibrate_fusion

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
