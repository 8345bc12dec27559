"""Fusion of engine evidence and verifier posteriors: the decision rule (fitting:
``tests/research/voice/test_fusion_fit.py``)."""

from __future__ import annotations

import math

import numpy as np

from voice.fusion import Evidence, FusionWeights, decide, fused_posteriors

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


def test_weights_round_trip_through_json():
    w = FusionWeights(1.2, 0.5, 0.1, 2.0, 0.3, -1.0)
    assert FusionWeights.from_json(w.to_json()) == w
