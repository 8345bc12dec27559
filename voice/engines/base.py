"""The interface every speech engine implements, and what it returns.

An engine decodes one utterance at a time, streaming: :meth:`Engine.start_utterance`, then
:meth:`Engine.feed` for each block while the speaker talks (decoding happens as audio arrives),
then :meth:`Engine.end_utterance`, which only finalises. It returns a :class:`Recognition`: the
words it heard, which of them belong to the garbage (out-of-grammar) model, and an utterance
verification score whose scale is the engine's own and whose thresholds are calibrated on data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class WordHyp:
    """One recognised word.

    Attributes:
        word: the word (garbage tokens keep their engine-specific form).
        start_s: start time in seconds from the beginning of the utterance audio.
        end_s: end time in seconds.
        conf: engine word confidence in 0..1 (1 when the engine gives none).
        garbage: True when the word came from the garbage / filler model.
    """

    word: str
    start_s: float
    end_s: float
    conf: float = 1.0
    garbage: bool = False
    level_dbfs: float = math.nan
    """Mean level of the word's audio (set by the processor; used to tell noise from speech)."""


@dataclass(frozen=True)
class Recognition:
    """What an engine heard in one utterance.

    Attributes:
        words: recognised words in order (silences dropped).
        score: utterance-verification score of the command hypothesis (higher is more
            command-like; engine-specific scale), ``nan`` when there is no command hypothesis.
        cpu_s: decoding CPU time spent on this utterance (thread time).
        detail: engine-specific extras for logs and calibration.
    """

    words: tuple[WordHyp, ...]
    score: float = math.nan
    cpu_s: float = 0.0
    detail: dict = field(default_factory=dict, compare=False)

    @property
    def text(self) -> str:
        """All words, garbage tokens shown as ``<garbage>`` (collapsed)."""
        out: list[str] = []
        for w in self.words:
            tok = "<garbage>" if w.garbage else w.word
            if not (tok == "<garbage>" and out and out[-1] == tok):
                out.append(tok)
        return " ".join(out)


class Engine(Protocol):
    """A streaming speech recogniser restricted to a command set."""

    name: str
    """``"pocketsphinx"`` or ``"vosk"``."""

    def start_utterance(self) -> None:
        """Begin a new utterance (drops any unfinished one)."""

    def feed(self, pcm: np.ndarray) -> None:
        """Decode a block of 16 kHz mono int16 samples."""

    def end_utterance(self) -> Recognition:
        """Finish the utterance and return the result."""

    def close(self) -> None:
        """Release the decoder."""


@dataclass(frozen=True)
class CommandMatch:
    """A command found in a word sequence.

    Attributes:
        intent: the intent of the matched phrase (``None``: no phrase found).
        phrase: the matched phrase.
        start: index of the phrase's first word in the word list.
        end: index one past its last word.
        wake: the wake word immediately precedes the phrase.
        extra_words: words outside the phrase (and outside a preceding wake word).
        wake_only: the words are exactly the wake word.
    """

    intent: str | None
    phrase: str = ""
    start: int = 0
    end: int = 0
    wake: bool = False
    extra_words: int = 0
    wake_only: bool = False


def base_word(word: str) -> str:
    """Drop a pronunciation-variant suffix (``start(2)`` -> ``start``)."""
    i = word.find("(")
    return word[:i] if i > 0 and word.endswith(")") else word


def match_command(words: list[str], phrase_to_intent: dict[str, str], wake_word: str = "") -> CommandMatch:
    """Find the longest command phrase in ``words`` (garbage tokens never match).

    The phrase that covers the most words wins; ties go to the earliest.
    """
    wake = wake_word.split() if wake_word else []
    if wake and words == wake:
        return CommandMatch(intent=None, wake_only=True)
    best: CommandMatch | None = None
    max_len = max((len(p.split()) for p in phrase_to_intent), default=0)
    for i in range(len(words)):
        for n in range(min(max_len, len(words) - i), 0, -1):
            cand = " ".join(words[i:i + n])
            if cand in phrase_to_intent:
                if best is None or n > best.end - best.start:
                    has_wake = bool(wake) and i >= len(wake) and words[i - len(wake):i] == wake
                    covered = n + (len(wake) if has_wake else 0)
                    best = CommandMatch(intent=phrase_to_intent[cand], phrase=cand, start=i, end=i + n,
                                        wake=has_wake, extra_words=len(words) - covered)
                break
    return best or CommandMatch(intent=None, extra_words=len(words))
