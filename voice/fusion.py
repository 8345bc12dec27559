"""Fusion of the engine's evidence with the learned verifier's posteriors.

The engine (PocketSphinx, or Vosk) proposes: its grammar hypothesis, whether it heard only
garbage, how much speech lay outside the command, and its utterance-verification score. The
verifier (:mod:`voice.verifier.model`) gives a posterior over every intent and ``none``. They are
combined in a *conditional logit* model (D. McFadden, "Conditional logit analysis of qualitative
choice behavior", 1973; the multi-class form of logistic score fusion used in speaker and
language recognition, e.g. N. Brümmer and J. du Preez, "Application-independent evaluation of
speaker detection", Computer Speech & Language 20, 2006): each class ``c`` gets a linear score

- intent ``c``: ``a * log p_c + b * [hyp = c] + s * [hyp = c] * clip(score)``
- ``none``:     ``a * log p_none + g * [engine heard garbage only] + e * extra_speech_s + h``

and the fused posterior is their softmax. The six weights are fitted by maximum likelihood (with
a small L2 penalty) on the *calibration* split only (:func:`research.voice.fusion_fit.fit`). The
decision rule then is: the best intent by fused posterior, only when the verifier also ranks it
first among the intents ("a second pass that must agree"), and only when its fused log-odds reach
the intent's calibrated threshold (:mod:`voice.score_thresholds`, fitted by
:mod:`research.voice.thresholds`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Mapping, Sequence

import numpy as np

SCORE_CLIP = 3.0
"""Engine scores are clipped to +-this before fusion (one outlier must not dominate)."""
WEIGHT_NAMES = ("a_log_p", "b_agree", "s_agree_score", "g_garbage_only", "e_extra_speech", "h_none_bias")


@dataclass(frozen=True)
class Evidence:
    """What fusion knows about one utterance.

    Attributes:
        post: verifier posteriors over ``labels`` (intents then ``none``).
        hyp: the engine's intent hypothesis (``None``: no command phrase).
        score: the engine's verification score (``nan`` when it has none).
        garbage_only: the engine decoded only garbage / filler.
        extra_s: seconds of speech-level words outside the command phrase.
    """

    post: np.ndarray
    hyp: str | None
    score: float
    garbage_only: bool
    extra_s: float


@dataclass(frozen=True)
class FusionWeights:
    """The six fusion weights (see the module docstring)."""

    a_log_p: float = 1.0
    b_agree: float = 0.0
    s_agree_score: float = 0.0
    g_garbage_only: float = 0.0
    e_extra_speech: float = 0.0
    h_none_bias: float = 0.0

    def to_json(self) -> dict:
        """JSON-ready dict."""
        return {k: round(float(v), 6) for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, d: Mapping[str, float]) -> "FusionWeights":
        """Inverse of :meth:`to_json` (unknown keys ignored)."""
        return cls(**{k: float(d[k]) for k in WEIGHT_NAMES if k in d})


def design(ev: Evidence, labels: Sequence[str]) -> np.ndarray:
    """Per-class feature rows ``(C, 6)`` so that class scores are ``rows @ w`` (the model that
    :func:`research.voice.fusion_fit.fit` fits)."""
    c = len(labels)
    x = np.zeros((c, len(WEIGHT_NAMES)))
    lp = np.log(np.clip(np.asarray(ev.post, dtype=np.float64), 1e-6, 1.0))
    x[:, 0] = lp
    sc = 0.0 if ev.score is None or math.isnan(ev.score) else max(-SCORE_CLIP, min(SCORE_CLIP, float(ev.score)))
    if ev.hyp is not None and ev.hyp in labels[:-1]:
        k = list(labels).index(ev.hyp)
        x[k, 1] = 1.0
        x[k, 2] = sc
    x[c - 1, 3] = 1.0 if ev.garbage_only else 0.0
    x[c - 1, 4] = min(5.0, max(0.0, float(ev.extra_s)))
    x[c - 1, 5] = 1.0
    return x


def fused_posteriors(ev: Evidence, labels: Sequence[str], w: FusionWeights) -> np.ndarray:
    """Softmax of the class scores."""
    z = design(ev, labels) @ np.array([getattr(w, k) for k in WEIGHT_NAMES])
    z -= z.max()
    e = np.exp(z)
    return e / e.sum()


@dataclass(frozen=True)
class FusedDecision:
    """Outcome of :func:`decide`.

    Attributes:
        intent: the best intent by fused posterior (``None`` when ``none`` is certain).
        prob: its fused posterior.
        log_odds: ``log(prob / (1 - prob))`` - the score compared with the calibrated threshold.
        verifier_agrees: the verifier alone ranks ``intent`` first among the intents.
        post: all fused posteriors.
    """

    intent: str | None
    prob: float
    log_odds: float
    verifier_agrees: bool
    post: np.ndarray


def decide(ev: Evidence, labels: Sequence[str], w: FusionWeights) -> FusedDecision:
    """Best intent, its fused posterior and whether the verifier agrees."""
    p = fused_posteriors(ev, labels, w)
    k = int(np.argmax(p[:-1]))
    prob = float(p[k])
    lo = math.log(max(prob, 1e-12) / max(1.0 - prob, 1e-12))
    agrees = int(np.argmax(np.asarray(ev.post)[:-1])) == k
    return FusedDecision(labels[k], prob, lo, agrees, p)
