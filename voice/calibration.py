"""Score thresholds calibrated on data, per engine, language and intent.

A calibration file is JSON::

    {"format_version": 1, "engine": "pocketsphinx", "lang": "en",
     "garbage_penalty_log10": -25.0, "default_threshold": 0.2, "spread": 0.5,
     "thresholds": {"freeze": 0.1, ...}, "created": "...", "data": "...", "metrics": {...}}

:func:`calibrate` chooses each intent's threshold on labelled scores so that the false-accept
rate on non-command utterances stays under ``fa_target`` while as few commands as possible are
missed (a Neyman-Pearson operating point, shared between intents through one cost per false
accept). Held-out data is used only to report.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from sonoguide.errors import ConfigError

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"

DEFAULTS = {
    "pocketsphinx": {"garbage_penalty_log10": -20.0, "default_threshold": 0.0, "spread": 0.5},
    "vosk": {"garbage_penalty_log10": 0.0, "default_threshold": 0.5, "spread": 1.0},
}


@dataclass(frozen=True)
class Calibration:
    """Thresholds for one engine and language.

    Attributes:
        engine: engine name.
        lang: language.
        garbage_penalty_log10: PocketSphinx garbage-phone log10 probability (unused by Vosk).
        default_threshold: threshold for intents without their own.
        thresholds: intent -> score threshold.
        spread: score scale used to map a score to a 0..1 confidence.
        meta: provenance (date, data, metrics).
    """

    engine: str
    lang: str
    garbage_penalty_log10: float
    default_threshold: float
    thresholds: Mapping[str, float] = field(default_factory=dict)
    spread: float = 0.5
    meta: Mapping[str, object] = field(default_factory=dict)
    fusion: Mapping[str, object] = field(default_factory=dict)
    """Verifier fusion (:mod:`voice.fusion`): ``weights``, per-intent ``thresholds`` on the fused
    log-odds, ``default_threshold``, ``verifier`` (name and version it was fitted with); empty when
    the engine's own score is used alone."""

    @property
    def has_fusion(self) -> bool:
        """True when fusion weights and thresholds are present."""
        return bool(self.fusion) and "weights" in self.fusion

    def fusion_threshold(self, intent: str) -> float:
        """Fused log-odds threshold of ``intent``."""
        th = self.fusion.get("thresholds", {})
        return float(th.get(intent, self.fusion.get("default_threshold", 0.0)))  # type: ignore[union-attr]

    def threshold(self, intent: str) -> float:
        """Score threshold of ``intent``."""
        return float(self.thresholds.get(intent, self.default_threshold))

    def confidence(self, score: float, intent: str | None) -> float:
        """Map an engine score to 0..1: 0.5 at the intent's threshold, logistic around it."""
        if score is None or math.isnan(score):
            return 0.0
        thr = self.threshold(intent) if intent else self.default_threshold
        z = (score - thr) / max(self.spread, 1e-6)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def to_json(self) -> dict:
        """JSON-ready dict."""
        return {"format_version": 1, "engine": self.engine, "lang": self.lang,
                "garbage_penalty_log10": self.garbage_penalty_log10,
                "default_threshold": float(self.default_threshold), "spread": round(self.spread, 5),
                "thresholds": {k: float(v) for k, v in sorted(self.thresholds.items())}, **dict(self.meta),
                **({"fusion": dict(self.fusion)} if self.fusion else {})}


def bundled_calibration_path(engine: str, lang: str) -> Path:
    """Where the bundled calibration for ``engine``/``lang`` lives."""
    return DATA_DIR / f"calibration_{engine}_{lang}.json"


def load_calibration(path: str | Path | None, engine: str, lang: str) -> Calibration:
    """Load a calibration file, or the bundled one when ``path`` is empty.

    Missing bundled file: engine defaults with a warning (uncalibrated). Raises
    :class:`ConfigError` for an explicit file that is missing, malformed or for another engine.
    """
    explicit = bool(path)
    p = Path(path) if path else bundled_calibration_path(engine, lang)
    if not p.is_file():
        if explicit:
            raise ConfigError(f"calibration file {p} not found - set voice.calibration to a file written by "
                              f"'sonoguide voice calibrate' or leave it empty for the bundled one")
        log.warning("no calibration for %s/%s at %s: using uncalibrated defaults", engine, lang, p)
        d = DEFAULTS.get(engine, DEFAULTS["vosk"])
        return Calibration(engine=engine, lang=lang, **d)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        if data.get("engine") != engine:
            raise ConfigError(f"calibration {p} is for engine {data.get('engine')!r}, not {engine!r} - "
                              f"set voice.calibration to the right file")
        meta = {k: v for k, v in data.items() if k not in {"format_version", "engine", "lang", "garbage_penalty_log10",
                                                           "default_threshold", "spread", "thresholds", "fusion"}}
        fusion = data.get("fusion") or {}
        if fusion and not (isinstance(fusion, dict) and isinstance(fusion.get("weights"), dict)):
            raise ValueError("'fusion' needs a 'weights' table")
        return Calibration(engine=engine, lang=str(data.get("lang", lang)),
                           garbage_penalty_log10=float(data["garbage_penalty_log10"]),
                           default_threshold=float(data["default_threshold"]),
                           thresholds={str(k): float(v) for k, v in data.get("thresholds", {}).items()},
                           spread=float(data.get("spread", 0.5)), meta=meta, fusion=fusion)
    except ConfigError:
        raise
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"calibration file {p} is malformed ({exc!r}) - rewrite it with 'sonoguide voice calibrate'") \
            from None


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
              garbage_penalty_log10: float, fa_target: float = 0.005, safety_quantile: float = 75.0,
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
    from voice.fusion import decide

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
                     base: Calibration, verifier: str, fa_target: float = 0.005, safety_quantile: float = 75.0,
                     meta: Mapping[str, object] | None = None) -> Calibration:
    """Fit the fusion weights on calibration utterances, then per-intent thresholds on the fused log-odds.

    The engine-only thresholds of ``base`` are kept (the fallback when the verifier is off).
    """
    from voice.fusion import fit

    usable = [r for r in records if r.reason not in HARD_REASONS]
    weights, report = fit([r.evidence for r in usable], [r.target for r in usable], labels)
    samples = clip_samples(records, len(expects), expects, labels, weights)
    th = calibrate(samples, base.engine, base.lang, base.garbage_penalty_log10, fa_target=fa_target,
                   safety_quantile=safety_quantile)
    fusion = {"weights": weights.to_json(), "thresholds": {k: round(float(v), 5) for k, v in th.thresholds.items()},
              "default_threshold": round(float(th.default_threshold), 5), "verifier": verifier,
              "fit": report, "fa_target": fa_target, "safety_quantile": safety_quantile,
              "lambda": th.meta.get("lambda"), "n_command_clips": sum(e is not None for e in expects),
              "n_null_clips": sum(e is None for e in expects), "n_utterances": len(usable),
              "created": _dt.date.today().isoformat(), **dict(meta or {})}
    return Calibration(engine=base.engine, lang=base.lang, garbage_penalty_log10=base.garbage_penalty_log10,
                       default_threshold=base.default_threshold, thresholds=base.thresholds, spread=base.spread,
                       meta=base.meta, fusion=fusion)
