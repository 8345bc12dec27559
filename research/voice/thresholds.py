"""Fitting the score thresholds and the fusion on labelled clips (``sonoguide voice calibrate``).

The result is a :class:`~voice.score_thresholds.Calibration` (written as JSON by
:func:`save_calibration`) that the live defence reads with
:func:`~voice.score_thresholds.load_calibration`.

:func:`calibrate` chooses each intent's threshold on labelled scores so that the false-accept
rate on non-command utterances stays under ``fa_target`` while as few commands as possible are
missed (a Neyman-Pearson operating point, shared between intents through one cost per false
accept). :func:`shared_threshold` chooses one threshold for every intent such that the 95 %
upper confidence bound of the false-accept rate stays under ``fa_target``; the fused decision is
calibrated that way (see :func:`calibrate_fusion`). Held-out data is used only to report.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from research.voice.fusion_fit import fit
from voice.fusion import decide
from voice.score_thresholds import Calibration

log = logging.getLogger(__name__)

FA_TARGET = 0.01
"""Default false-accept target: the requirement itself, at most 1 false accept per 100 non-command
utterances. With the shared policy it bounds the 95 % upper confidence limit on the calibration
clips, not the point estimate (2400 English calibration clips accept at most 15)."""


CONFUSION_COST = 3.0
"""Cost of executing the wrong intent, in missed commands (never cheaper than this)."""
MIN_NULL_FOR_FLOOR = 20
"""The safety floor needs at least this many non-command scores to be estimated."""


def _cost_threshold(pos: Sequence[float], conf: Sequence[float], null: Sequence[float], lam: float,
                    floor: float) -> float:
    """Threshold >= ``floor`` minimising misses + confusions + false accepts, each with its cost."""
    neg = [*conf, *null]
    cands = sorted({floor, *[s for s in pos if s >= floor], *[s + 1e-6 for s in neg if s >= floor]})
    best, best_cost = floor, math.inf
    for t in cands:
        cost = (sum(1 for s in pos if s < t) + max(lam, CONFUSION_COST) * sum(1 for s in conf if s >= t)
                + lam * sum(1 for s in null if s >= t))
        if cost < best_cost - 1e-9:
            best, best_cost = t, cost
    return best


LAMBDAS = (0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 50.0, 200.0, 1e4)


def calibrate(samples: Sequence[tuple[str | None, str | None, float]], engine: str, lang: str,
              garbage_penalty_log10: float, fa_target: float = FA_TARGET, safety_quantile: float = 75.0,
              meta: Mapping[str, object] | None = None) -> Calibration:
    """Choose per-intent thresholds from labelled scores.

    For a cost ``lam`` per false accept, each intent's threshold minimises its own
    ``misses + max(lam, 3) * confusions + lam * false_accepts`` (confusions: other intents' clips
    recognised as it; false accepts: non-command clips recognised as it); the smallest ``lam`` whose total false accepts on non-command clips is
    within ``fa_target`` wins (the Lagrangian form of a Neyman-Pearson constraint shared by all
    intents). No threshold goes below ``safety_quantile`` of the scores of all non-command clips
    that reached scoring (when at least 20 did), so an intent without negatives in the
    calibration data is not left open to chatter.

    Args:
        samples: ``(expected_intent_or_None, recognised_intent_or_None, score)`` per clip, where
            the recognised intent already passed every check except the score threshold.
        engine, lang, garbage_penalty_log10: recorded in the result.
        fa_target: largest allowed fraction of non-command clips accepted.
        safety_quantile: percentile of non-command scores below which nothing is accepted.
        meta: provenance to store.
    """
    ok = [(e, r, s) for e, r, s in samples if r is not None and not math.isnan(s)]
    null_scores = sorted(s for e, r, s in ok if e is None)
    n_null = sum(1 for e, _, _ in samples if e is None)
    allowed = int(math.floor(fa_target * n_null))
    floor = float(np.percentile(null_scores, safety_quantile)) if len(null_scores) >= MIN_NULL_FOR_FLOOR \
        else -math.inf
    intents = sorted({e for e, _, _ in samples if e is not None} | {r for _, r, _ in ok})
    pos = {it: [s for e, r, s in ok if e == it and r == it] for it in intents}
    conf = {it: [s for e, r, s in ok if r == it and e is not None and e != it] for it in intents}
    null = {it: [s for e, r, s in ok if r == it and e is None] for it in intents}
    chosen: dict[str, float] = {}
    lam_used = LAMBDAS[-1]
    for lam in LAMBDAS:
        th = {it: _cost_threshold(pos[it], conf[it], null[it], lam, floor) for it in intents}
        fa = sum(sum(1 for s in null[it] if s >= th[it]) for it in intents)
        chosen, lam_used = th, lam
        if fa <= allowed:
            break
    pos_all = [s for v in pos.values() for s in v]
    spread = 0.5
    if len(pos_all) > 2:
        mu = sum(pos_all) / len(pos_all)
        spread = max(1e-3, math.sqrt(sum((s - mu) ** 2 for s in pos_all) / (len(pos_all) - 1)))
    default = max(chosen.values()) if chosen else (floor if not math.isinf(floor) else 0.0)
    m = {"created": _dt.date.today().isoformat(), "fa_target": fa_target, "safety_quantile": safety_quantile,
         "lambda": lam_used, "n_command": sum(1 for e, _, _ in samples if e is not None), "n_null": n_null,
         **dict(meta or {})}
    return Calibration(engine=engine, lang=lang, garbage_penalty_log10=garbage_penalty_log10,
                       default_threshold=default, thresholds=chosen, spread=spread, meta=m)


FA_CONFIDENCE = 0.95
"""Confidence of the upper bound on the false-accept rate that :func:`shared_threshold` keeps under target."""


def fa_upper_bound(k: int, n: int, confidence: float = FA_CONFIDENCE) -> float:
    """One-sided Clopper-Pearson upper bound of a rate with ``k`` events in ``n`` trials.

    C. J. Clopper and E. S. Pearson, "The use of confidence or fiducial limits illustrated in the
    case of the binomial", Biometrika 26(4), 1934: the ``confidence`` quantile of
    ``Beta(k + 1, n - k)``.
    """
    from scipy.stats import beta

    if n <= 0:
        return 1.0
    if k >= n:
        return 1.0
    return float(beta.ppf(confidence, k + 1, n - k))


def shared_threshold(samples: Sequence[tuple[str | None, str | None, float]], fa_target: float = FA_TARGET,
                     confidence: float = FA_CONFIDENCE) -> tuple[float, dict]:
    """One threshold for every intent: the lowest whose false-accept rate is certified under ``fa_target``.

    With ``k`` non-command clips scoring above it out of ``n``, the threshold is accepted while
    the Clopper-Pearson upper bound (:func:`fa_upper_bound`) of ``k / n`` stays within
    ``fa_target``. One threshold estimated from the pooled non-command scores transfers to unseen
    speakers and sentences; per-intent thresholds rest on the few non-command clips that happen to
    hit each intent and did not (BENCHMARKS.md, voice). When even ``k = 0`` cannot be certified
    (too few non-command clips) the threshold sits just above the highest non-command score, with
    a warning.

    Args:
        samples: ``(expected_intent_or_None, recognised_intent_or_None, score)`` per clip, as for
            :func:`calibrate`.
        fa_target: the false-accept rate the upper bound must not exceed.
        confidence: confidence of that bound.

    Returns:
        ``(threshold, report)`` where the report holds ``n_null``, the calibration clips' false
        accepts ``k``, their rate and upper bound, and the command clips accepted.
    """
    if not 0.0 <= fa_target < 1.0:
        raise ValueError(f"false-accept target {fa_target!r}: expected a rate in [0, 1)")
    n_null = sum(1 for e, _, _ in samples if e is None)
    null = sorted((s for e, r, s in samples if e is None and r is not None and not math.isnan(s)), reverse=True)
    if not null:
        log.warning("no non-command clip reached the fused decision: the shared threshold is log-odds 0")
        threshold = 0.0
    else:
        # accept the k highest non-command scores (never below the lowest one seen)
        k = 0
        while k + 1 < len(null) and fa_upper_bound(k + 1, n_null, confidence) <= fa_target:
            k += 1
        threshold = float(np.nextafter(null[k], math.inf))
    if fa_upper_bound(0, n_null, confidence) > fa_target:
        needed = (f"needs at least {math.ceil(math.log(1 - confidence) / math.log(1 - fa_target))}" if fa_target > 0
                  else "a zero rate never can be")
        log.warning("%d non-command clips cannot certify a false-accept rate of %.4f at %.0f %% confidence (%s): "
                    "the threshold sits above every non-command score", n_null, fa_target, 100 * confidence, needed)
    accepted_null = sum(1 for s in null if s >= threshold)
    n_cmd = sum(1 for e, _, _ in samples if e is not None)
    hits = sum(1 for e, r, s in samples if e is not None and r == e and not math.isnan(s) and s >= threshold)
    report = {"n_null": n_null, "false_accepts": accepted_null,
              "fa_rate": round(accepted_null / n_null, 5) if n_null else None,
              "fa_upper_bound": round(fa_upper_bound(accepted_null, n_null, confidence), 5),
              "confidence": confidence, "n_command": n_cmd,
              "command_accuracy": round(hits / n_cmd, 4) if n_cmd else None}
    return threshold, report


def save_calibration(cal: Calibration, path: str | Path) -> None:
    """Write a calibration as JSON."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(cal.to_json(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


HARD_REASONS = ("too short", "too long", "embedded in longer speech")
"""Rejections made before the fused decision (their utterances never reach fusion)."""


@dataclass(frozen=True)
class UtteranceRecord:
    """One utterance of a calibration clip, for fitting the fusion.

    Attributes:
        clip: index of the clip in the manifest.
        expect: the clip's expected intent (``None``: a non-command clip).
        target: what this utterance is (the clip's intent when it overlaps the clip's speech, else ``None``).
        reason: the defence's reason with thresholds open (``HARD_REASONS`` are skipped).
        evidence: what fusion saw.
    """

    clip: int
    expect: str | None
    target: str | None
    reason: str
    evidence: object


def clip_samples(records: Sequence[UtteranceRecord], n_clips: int, expects: Sequence[str | None],
                 labels: Sequence[str], weights) -> list[tuple[str | None, str | None, float]]:
    """Per clip, the utterance most likely to fire under ``weights``: ``(expect, intent, fused log-odds)``.

    Only utterances past the hard checks on which the verifier agrees count; a clip without one
    gives ``(expect, None, nan)``.
    """
    best: dict[int, tuple[str | None, float]] = {}
    for r in records:
        if r.reason in HARD_REASONS:
            continue
        d = decide(r.evidence, labels, weights)
        if not d.verifier_agrees:
            continue
        if r.clip not in best or d.log_odds > best[r.clip][1]:
            best[r.clip] = (d.intent, d.log_odds)
    return [(expects[k], *best.get(k, (None, math.nan))) for k in range(n_clips)]


def calibrate_fusion(records: Sequence[UtteranceRecord], expects: Sequence[str | None], labels: Sequence[str],
                     base: Calibration, verifier: str, fa_target: float = FA_TARGET, safety_quantile: float = 75.0,
                     meta: Mapping[str, object] | None = None, policy: str = "shared") -> Calibration:
    """Fit the fusion weights on calibration utterances, then the threshold(s) on the fused log-odds.

    ``policy``: ``shared`` (default) - one threshold for all intents whose false-accept rate is
    certified under ``fa_target`` (:func:`shared_threshold`); ``per-intent`` - a threshold per
    intent from :func:`calibrate` (``safety_quantile`` applies to it only). The engine-only
    thresholds of ``base`` are kept (the fallback when the verifier is off).
    """
    if policy not in ("shared", "per-intent"):
        raise ValueError(f"threshold policy {policy!r}: expected 'shared' or 'per-intent'")
    usable = [r for r in records if r.reason not in HARD_REASONS]
    weights, report = fit([r.evidence for r in usable], [r.target for r in usable], labels)
    samples = clip_samples(records, len(expects), expects, labels, weights)
    if policy == "shared":
        default, th_report = shared_threshold(samples, fa_target)
        thresholds: dict[str, float] = {}
        extra: dict[str, object] = {"operating_point": th_report}
    else:
        th = calibrate(samples, base.engine, base.lang, base.garbage_penalty_log10, fa_target=fa_target,
                       safety_quantile=safety_quantile)
        default, thresholds = th.default_threshold, dict(th.thresholds)
        extra = {"safety_quantile": safety_quantile, "lambda": th.meta.get("lambda")}
    fusion = {"weights": weights.to_json(), "policy": policy,
              "thresholds": {k: round(float(v), 5) for k, v in thresholds.items()},
              "default_threshold": float(default), "verifier": verifier,
              "fit": report, "fa_target": fa_target, **extra, "n_command_clips": sum(e is not None for e in expects),
              "n_null_clips": sum(e is None for e in expects), "n_utterances": len(usable),
              "created": _dt.date.today().isoformat(), **dict(meta or {})}
    return Calibration(engine=base.engine, lang=base.lang, garbage_penalty_log10=base.garbage_penalty_log10,
                       default_threshold=base.default_threshold, thresholds=base.thresholds, spread=base.spread,
                       meta=base.meta, fusion=fusion)
