"""Score thresholds calibrated on data, per engine, language and intent.

A calibration file is JSON::

    {"format_version": 1, "engine": "pocketsphinx", "lang": "en",
     "garbage_penalty_log10": -25.0, "default_threshold": 0.2, "spread": 0.5,
     "thresholds": {"freeze": 0.1, ...}, "created": "...", "data": "...", "metrics": {...}}

:func:`calibrate` chooses each intent's threshold on labelled scores: the threshold that
minimises ``misses + fa_weight * false_accepts`` over the candidate values (the scores
themselves), never below the global threshold that keeps the false-accept rate on
non-command utterances under ``fa_target``. It is a Neyman-Pearson style operating point
chosen on a calibration set (held-out data is used only to report).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from sonoguide.errors import ConfigError

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent / "data"

DEFAULTS = {
    "pocketsphinx": {"garbage_penalty_log10": -25.0, "default_threshold": 0.0, "spread": 0.5},
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
                "thresholds": {k: float(v) for k, v in sorted(self.thresholds.items())}, **dict(self.meta)}


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
                                                           "default_threshold", "spread", "thresholds"}}
        return Calibration(engine=engine, lang=str(data.get("lang", lang)),
                           garbage_penalty_log10=float(data["garbage_penalty_log10"]),
                           default_threshold=float(data["default_threshold"]),
                           thresholds={str(k): float(v) for k, v in data.get("thresholds", {}).items()},
                           spread=float(data.get("spread", 0.5)), meta=meta)
    except ConfigError:
        raise
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"calibration file {p} is malformed ({exc!r}) - rewrite it with 'sonoguide voice calibrate'") \
            from None


def _best_threshold(pos: Sequence[float], neg: Sequence[float], fa_weight: float, floor: float) -> float:
    cands = sorted({floor, *[s for s in pos if s >= floor], *[s + 1e-6 for s in neg if s >= floor]})
    best, best_cost = floor, math.inf
    for t in cands:
        cost = sum(1 for s in pos if s < t) + fa_weight * sum(1 for s in neg if s >= t)
        if cost < best_cost - 1e-9:
            best, best_cost = t, cost
    return best


def calibrate(samples: Sequence[tuple[str | None, str | None, float]], engine: str, lang: str,
              garbage_penalty_log10: float, fa_target: float = 0.005, fa_weight: float = 3.0,
              meta: Mapping[str, object] | None = None) -> Calibration:
    """Choose thresholds from labelled scores.

    Args:
        samples: ``(expected_intent_or_None, recognised_intent_or_None, score)`` per clip, where
            the recognised intent already passed every check except the score threshold.
        engine, lang, garbage_penalty_log10: recorded in the result.
        fa_target: largest allowed fraction of non-command clips accepted (global threshold).
        fa_weight: cost of one false accept in misses, for the per-intent choice.
        meta: provenance to store.
    """
    null_scores = sorted(s for exp, rec, s in samples if exp is None and rec is not None and not math.isnan(s))
    n_null = sum(1 for exp, _, _ in samples if exp is None)
    allowed = int(math.floor(fa_target * n_null))
    # global floor: at most `allowed` null clips at or above it
    if len(null_scores) > allowed:
        floor = null_scores[len(null_scores) - allowed - 1] + 1e-6
    else:
        floor = -math.inf
    pos_all = [s for exp, rec, s in samples if exp is not None and rec == exp and not math.isnan(s)]
    if math.isinf(floor):
        floor = min(pos_all) if pos_all else 0.0
    thresholds = {}
    intents = sorted({exp for exp, _, _ in samples if exp is not None})
    for it in intents:
        pos = [s for exp, rec, s in samples if exp == it and rec == it and not math.isnan(s)]
        # negatives: anything recognised as `it` that was not `it` (null clips and confusions)
        neg = [s for exp, rec, s in samples if rec == it and exp != it and not math.isnan(s)]
        thresholds[it] = _best_threshold(pos, neg, fa_weight, floor)
    spread = 0.5
    if len(pos_all) > 2:
        mu = sum(pos_all) / len(pos_all)
        spread = max(1e-3, math.sqrt(sum((s - mu) ** 2 for s in pos_all) / (len(pos_all) - 1)))
    m = {"created": _dt.date.today().isoformat(), "fa_target": fa_target, "fa_weight": fa_weight,
         "n_command": sum(1 for e, _, _ in samples if e is not None), "n_null": n_null, **dict(meta or {})}
    return Calibration(engine=engine, lang=lang, garbage_penalty_log10=garbage_penalty_log10,
                       default_threshold=floor, thresholds=thresholds, spread=spread, meta=m)


def save_calibration(cal: Calibration, path: str | Path) -> None:
    """Write a calibration as JSON."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(cal.to_json(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
