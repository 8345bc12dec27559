"""Fitting the score thresholds: the per-intent operating point, the shared fused-score threshold and
its certified false-accept bound."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest

from research.voice.thresholds import calibrate, fa_upper_bound, shared_threshold
from voice.score_thresholds import Calibration


def test_upper_bound_matches_the_closed_form_at_zero_and_grows_with_events():
    # k = 0: the bound solves (1 - p)^n = 1 - confidence
    assert fa_upper_bound(0, 2400) == pytest.approx(1 - 0.05 ** (1 / 2400), rel=1e-9)
    bounds = [fa_upper_bound(k, 2400) for k in range(10)]
    assert all(b > k / 2400 for k, b in enumerate(bounds))
    assert bounds == sorted(bounds)
    assert fa_upper_bound(5, 0) == 1.0 and fa_upper_bound(3, 3) == 1.0


def _samples(rng, n_null=2400, n_cmd=600):
    """Non-command clips score around -2 (a fifth of them never reach scoring); commands around +3."""
    s = []
    for _ in range(n_null):
        s.append((None, None, math.nan) if rng.random() < 0.2 else (None, "freeze", float(rng.normal(-2, 1.2))))
    for _ in range(n_cmd):
        s.append(("show nerve", "show nerve", float(rng.normal(3, 1.0))))
    return s


def test_shared_threshold_accepts_the_most_non_command_clips_the_bound_allows():
    samples = _samples(np.random.default_rng(3))
    t, rep = shared_threshold(samples, fa_target=0.005)
    null = sorted((s for e, r, s in samples if e is None and r is not None), reverse=True)
    k = sum(1 for s in null if s >= t)
    assert rep["false_accepts"] == k and rep["n_null"] == 2400
    assert fa_upper_bound(k, 2400) <= 0.005 < fa_upper_bound(k + 1, 2400)
    assert null[k] < t <= null[k - 1]
    assert rep["fa_upper_bound"] <= 0.005
    hits = sum(1 for e, r, s in samples if e is not None and s >= t)
    assert rep["command_accuracy"] == pytest.approx(hits / 600, abs=1e-4)
    # a looser target moves the threshold down and accepts more commands
    t2, rep2 = shared_threshold(samples, fa_target=0.01)
    assert t2 < t and rep2["false_accepts"] > k and rep2["command_accuracy"] >= rep["command_accuracy"]


def test_too_few_non_command_clips_sit_above_all_of_them_with_a_warning(caplog):
    samples = _samples(np.random.default_rng(4), n_null=300, n_cmd=50)
    with caplog.at_level(logging.WARNING, logger="research.voice.thresholds"):
        t, rep = shared_threshold(samples, fa_target=0.005)
    assert "cannot certify" in caplog.text
    assert rep["false_accepts"] == 0
    assert t > max(s for e, r, s in samples if e is None and r is not None)


def test_without_scored_non_command_clips_the_threshold_is_even_odds(caplog):
    samples = [(None, None, math.nan)] * 50 + [("freeze", "freeze", 2.0)] * 5
    with caplog.at_level(logging.WARNING, logger="research.voice.thresholds"):
        t, rep = shared_threshold(samples, fa_target=0.005)
    assert t == 0.0 and rep["false_accepts"] == 0 and "no non-command clip" in caplog.text


def test_calibrate_fusion_rejects_an_unknown_policy():
    from research.voice.thresholds import calibrate_fusion

    base = Calibration(engine="test", lang="en", garbage_penalty_log10=-20, default_threshold=0.1)
    with pytest.raises(ValueError, match="policy"):
        calibrate_fusion([], [], ["freeze", "none"], base, "v1", policy="per-word")


def test_a_zero_target_is_never_certified_and_a_rate_outside_0_1_is_refused(caplog):
    samples = _samples(np.random.default_rng(5), n_null=500, n_cmd=20)
    with caplog.at_level(logging.WARNING, logger="research.voice.thresholds"):
        t, rep = shared_threshold(samples, fa_target=0.0)
    assert rep["false_accepts"] == 0 and "a zero rate never can be" in caplog.text
    with pytest.raises(ValueError, match="false-accept target"):
        shared_threshold(samples, fa_target=1.5)


def test_calibration_meets_the_false_accept_target():
    rng = np.random.default_rng(0)
    samples = [("freeze", "freeze", float(s)) for s in rng.normal(1.0, 0.5, 200)]
    samples += [("hide all", "hide all", float(s)) for s in rng.normal(0.0, 0.5, 200)]  # scores lower by nature
    samples += [(None, "freeze", float(s)) for s in rng.normal(-1.0, 0.7, 300)]
    samples += [(None, None, math.nan)] * 700
    cal = calibrate(samples, "test", "en", -25.0, fa_target=0.01, safety_quantile=90.0)
    fa = sum(1 for e, r, s in samples if e is None and r is not None and s >= cal.threshold(r))
    assert fa <= 10
    # an intent whose commands score low gets its own, lower threshold (no chatter is recognised as it)
    assert cal.threshold("hide all") < cal.threshold("freeze")
    null = sorted(s for e, r, s in samples if e is None and r is not None)
    assert cal.threshold("hide all") >= np.percentile(null, 90)  # the safety floor
    hits = sum(1 for e, r, s in samples if e == "hide all" and s >= cal.threshold("hide all"))
    assert hits > 80
