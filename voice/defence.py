"""False-accept defence: decide whether a recognised utterance is a command to execute.

Pure (time injected). A conversation must not drive the system ("the nerve looks swollen"), so
an utterance becomes a command only when *every* check passes, in this order:

1. something was heard and it contains a command phrase (not only garbage) - ``out of grammar``;
2. the speech lasted between ``min_utterance_s`` and ``max_utterance_s`` - ``too short``/``too long``;
3. nothing but the command (and the wake word) was said: no more than ``max_extra_speech_s``
   of speech-level words or garbage around it (see :func:`extra_speech_s`) - ``embedded in
   longer speech``;
4. the wake word, when required - ``no wake word``;
5. the engine's verification score reaches the intent's calibrated threshold - ``low
   confidence`` (never the grammar recogniser's own word confidence alone: with a command-only
   grammar it is 1.0 on unrelated speech);
6. the same intent was not accepted within ``cooldown_s`` - ``cooldown``.

With the learned verifier (its posteriors passed to :meth:`Defence.judge`) and fusion weights in
the calibration, steps 1 and 5 become the fused decision of :mod:`voice.fusion`: the engine's
hypothesis, garbage flag, extra speech and score are evidence next to the verifier's
posteriors, so an engine misrecognition can be corrected and an engine "command" that the
verifier calls chatter is rejected. The decision needs the verifier to rank the intent first
among the intents (``verifier disagrees``) and the fused log-odds to reach the intent's
calibrated threshold (``low confidence``). Duration, embedded speech (when the engine found a
command phrase), wake word and cooldown stay hard checks.

The naive baseline (``naive``) keeps only "a phrase was recognised".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from voice.commandset import CommandSet
from voice.config import VoiceDefenceConfig
from voice.engines.base import CommandMatch, Recognition, match_command
from voice.fusion import Evidence, FusionWeights, decide
from voice.score_thresholds import Calibration


@dataclass(frozen=True)
class Verdict:
    """Outcome of :meth:`Defence.judge`.

    Attributes:
        intent: the recognised intent (also for rejections, when one was recognised).
        passed: True when the command may go on to the confirmation gate.
        reason: why it was rejected ("" when passed).
        confidence: 0..1 (see :meth:`Calibration.confidence`).
        text: the recognised words (garbage shown as ``<garbage>``).
        score: the engine's raw verification score.
        structural_ok: every check except the score threshold and cooldown passed (calibration
            uses this).
        wake_only: the utterance was the wake word alone.
    """

    intent: str | None
    passed: bool
    reason: str
    confidence: float
    text: str
    score: float
    structural_ok: bool = False
    wake_only: bool = False
    evidence: Evidence | None = None
    """What fusion saw (fused path only; calibration refits on it)."""


def extra_speech_s(rec: Recognition, m: CommandMatch, noise_dbfs: float) -> float:
    """Seconds of *speech* outside the command (and wake word).

    Words outside the matched phrase count when they are as loud as speech: louder than the
    command's level minus ``gap``, with ``gap`` half the command's level above the noise floor
    (3..10 dB). Garbage that only absorbed background noise at the utterance's edges (the
    endpointer cannot cut noise exactly) is quieter than that and does not count; a sentence
    around the command is spoken at the command's level and does.
    """
    inside = set(range(m.start, m.end))
    if m.wake:
        inside.update(range(max(0, m.start - len(m.phrase.split()) - 8), m.start))
    cmd = [w for i, w in enumerate(rec.words) if i in inside and not w.garbage]
    if not cmd:
        return sum(w.end_s - w.start_s for w in rec.words)
    lv = [w.level_dbfs for w in cmd if not math.isnan(w.level_dbfs)]
    if not lv:
        return sum(w.end_s - w.start_s for i, w in enumerate(rec.words) if i not in inside)
    cmd_level = 10 * math.log10(sum(10 ** (x / 10) for x in lv) / len(lv))
    gap = min(10.0, max(3.0, 0.5 * (cmd_level - noise_dbfs)))
    return sum(w.end_s - w.start_s for i, w in enumerate(rec.words)
               if i not in inside and (math.isnan(w.level_dbfs) or w.level_dbfs >= cmd_level - gap))


class Defence:
    """Stateful wrapper (cooldown and wake window) around the pure checks.

    Args:
        config: the ``[voice.defence]`` section.
        command_set: phrases.
        calibration: thresholds (and fusion weights).
        labels: the verifier's class labels (intents then ``none``); fusion is used when these
            are given, the calibration has fusion weights and :meth:`judge` gets posteriors.
    """

    def __init__(self, config: VoiceDefenceConfig, command_set: CommandSet, calibration: Calibration,
                 labels: list[str] | None = None) -> None:
        self.config = config
        self.command_set = command_set
        self.calibration = calibration
        self.labels = labels
        self.weights = FusionWeights.from_json(calibration.fusion["weights"]) if calibration.has_fusion \
            else FusionWeights()
        self._p2i = command_set.phrase_to_intent()
        self._last_accept: dict[str, int] = {}
        self._wake_until_ns = -1

    @property
    def fused(self) -> bool:
        """True when decisions use the verifier fusion."""
        return self.labels is not None and self.calibration.has_fusion and not self.config.naive

    def reset(self) -> None:
        """Forget cooldowns and any open wake window."""
        self._last_accept.clear()
        self._wake_until_ns = -1

    def judge(self, rec: Recognition, speech_s: float, t_ns: int, noise_dbfs: float = -96.0,
              post=None) -> Verdict:
        """Decide about one utterance that ended at ``t_ns`` and had ``speech_s`` of speech.

        ``post``: the verifier's posteriors over :attr:`labels` (fused decision when available).
        """
        cfg = self.config
        words = [w.word if not w.garbage else "\x00garbage" for w in rec.words]
        m: CommandMatch = match_command(words, self._p2i, self.command_set.wake_word if cfg.wake_word else "")
        if post is not None and self.fused:
            return self._judge_fused(rec, m, speech_s, t_ns, noise_dbfs, post)
        text = rec.text
        score = rec.score
        conf = self.calibration.confidence(score, m.intent) if not cfg.naive else (1.0 if m.intent else 0.0)

        def reject(reason: str, structural: bool = False) -> Verdict:
            return Verdict(m.intent, False, reason, conf, text, score, structural_ok=structural)

        if m.wake_only and not cfg.naive:
            self._wake_until_ns = t_ns + int(cfg.wake_window_s * 1e9)
            return Verdict(None, False, "wake word", 0.0, text, score, wake_only=True)
        if not rec.words:
            return reject("nothing recognised")
        if m.intent is None:
            return reject("out of grammar")
        if cfg.naive:
            return Verdict(m.intent, True, "", conf, text, score, structural_ok=True)
        if speech_s < cfg.min_utterance_s:
            return reject("too short")
        if speech_s > cfg.max_utterance_s:
            return reject("too long")
        if extra_speech_s(rec, m, noise_dbfs) > cfg.max_extra_speech_s:
            return reject("embedded in longer speech")
        if cfg.wake_word and self.command_set.wake_word and not m.wake:
            if t_ns > self._wake_until_ns:
                return reject("no wake word")
        if math.isnan(score) or score < self.calibration.threshold(m.intent) + cfg.threshold_offset:
            return reject("low confidence", structural=True)
        if not self._accept(m.intent, t_ns):
            return reject("cooldown", structural=True)
        return Verdict(m.intent, True, "", conf, text, score, structural_ok=True)

    def _judge_fused(self, rec: Recognition, m: CommandMatch, speech_s: float, t_ns: int, noise_dbfs: float,
                     post) -> Verdict:
        cfg = self.config
        text = rec.text
        if m.wake_only:
            self._wake_until_ns = t_ns + int(cfg.wake_window_s * 1e9)
            return Verdict(None, False, "wake word", 0.0, text, rec.score, wake_only=True)
        extra = extra_speech_s(rec, m, noise_dbfs) if m.intent else sum(w.end_s - w.start_s for w in rec.words)
        ev = Evidence(post=post, hyp=m.intent, score=rec.score, garbage_only=m.intent is None, extra_s=extra)
        assert self.labels is not None
        d = decide(ev, self.labels, self.weights)

        def reject(reason: str, structural: bool = False) -> Verdict:
            return Verdict(d.intent, False, reason, d.prob, text, d.log_odds, structural_ok=structural, evidence=ev)

        if speech_s < cfg.min_utterance_s:
            return reject("too short")
        if speech_s > cfg.max_utterance_s:
            return reject("too long")
        if m.intent is not None and extra > cfg.max_extra_speech_fused_s:
            return reject("embedded in longer speech")
        if not d.verifier_agrees:
            return reject("verifier disagrees")
        if cfg.wake_word and self.command_set.wake_word and not m.wake:
            if t_ns > self._wake_until_ns:
                return reject("no wake word")
        if d.log_odds < self.calibration.fusion_threshold(d.intent) + cfg.threshold_offset:
            return reject("low confidence", structural=True)
        if not self._accept(d.intent, t_ns):
            return reject("cooldown", structural=True)
        return Verdict(d.intent, True, "", d.prob, text, d.log_odds, structural_ok=True, evidence=ev)

    def _accept(self, intent: str, t_ns: int) -> bool:
        """Accept ``intent`` heard at ``t_ns`` unless it is in its cooldown; an acceptance starts
        the cooldown and closes the wake-word window."""
        last = self._last_accept.get(intent)
        if last is not None and t_ns - last < self.config.cooldown_s * 1e9:
            return False
        self._last_accept[intent] = t_ns
        self._wake_until_ns = -1
        return True
