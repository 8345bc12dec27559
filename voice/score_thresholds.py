"""Score thresholds per engine, language and intent: the calibration file the live defence reads.

A calibration file is JSON::

    {"format_version": 1, "engine": "pocketsphinx", "lang": "en",
     "garbage_penalty_log10": -25.0, "default_threshold": 0.2, "spread": 0.5,
     "thresholds": {"freeze": 0.1, ...}, "created": "...", "data": "...", "metrics": {...}}

with the verifier fusion's weights and thresholds in a ``fusion`` block when it was fitted. The
bundled files are ``voice/data/calibration_<engine>_<lang>.json``; ``sonoguide voice calibrate``
(:mod:`research.voice.thresholds`) fits and writes them.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from core.errors import ConfigError

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
            raise ConfigError(f"calibration file {p} not found - set voice.defence.calibration to a file written by "
                              f"'sonoguide voice calibrate' or leave it empty for the bundled one")
        log.warning("no calibration for %s/%s at %s: using uncalibrated defaults", engine, lang, p)
        d = DEFAULTS.get(engine, DEFAULTS["vosk"])
        return Calibration(engine=engine, lang=lang, **d)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
        if data.get("engine") != engine:
            raise ConfigError(f"calibration {p} is for engine {data.get('engine')!r}, not {engine!r} - "
                              f"set voice.defence.calibration to the right file")
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
