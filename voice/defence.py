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

The naive baseline (``naive``) keeps only "a phrase was recognised".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from voice.calibration import Calibration
from voice.commandset import CommandSet
from voice.config import VoiceConfig
from voice.engines.base import CommandMatch, Recognition, match_command


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
    """Stateful wrapper (cooldown and wake window) around the pure checks."""

    def __init__(self, config: VoiceConfig, command_set: CommandSet, calibration: Calibration) -> None:
        self.config = config
        self.command_set = command_set
        self.calibration = calibration
        self._p2i = command_set.phrase_to_intent()
        self._last_accept: dict[str, int] = {}
        self._wake_until_ns = -1

    def reset(self) -> None:
        """Forget cooldowns and any open wake window."""
        self._last_accept.clear()
        self._wake_until_ns = -1

    def judge(self, rec: Recognition, speech_s: float, t_ns: int, noise_dbfs: float = -96.0) -> Verdict:
        """Decide about one utterance that ended at ``t_ns`` and had ``speech_s`` of speech."""
        cfg = self.config
        words = [w.word if not w.garbage else "\x00garbage" for w in rec.words]
        m: CommandMatch = match_command(words, self._p2i, self.command_set.wake_word if cfg.wake_word else "")
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
        last = self._last_accept.get(m.intent)
        if last is not None and t_ns - last < cfg.cooldown_s * 1e9:
            return reject("cooldown", structural=True)
        self._last_accept[m.intent] = t_ns
        self._wake_until_ns = -1
        return Verdict(m.intent, True, "", conf, text, score, structural_ok=True)
