"""False-accept defence on hand-made recognitions (pure logic)."""

from __future__ import annotations

import dataclasses
import math

import pytest

from voice.config import VoiceDefenceConfig
from voice.defence import Defence
from voice.engines.base import Recognition, WordHyp, match_command
from voice.score_thresholds import Calibration

S = 1_000_000_000
CAL = Calibration(engine="test", lang="en", garbage_penalty_log10=-25, default_threshold=0.0,
                  thresholds={"freeze": 0.5}, spread=0.5)


def rec(*words, score=1.0):
    out, t = [], 0.1
    for w in words:
        garbage = w.startswith("~")
        level = -60.0 if w.endswith("!") else -25.0  # "!" marks a garbage word that only holds noise
        out.append(WordHyp(word=w.strip("~!"), start_s=t, end_s=t + 0.3, garbage=garbage, level_dbfs=level))
        t += 0.3
    return Recognition(words=tuple(out), score=score)


@pytest.fixture()
def defence(en_set):
    return Defence(VoiceDefenceConfig(cooldown_s=1.5), en_set, CAL)


def test_plain_command_passes(defence):
    v = defence.judge(rec("show", "nerve"), 0.6, 0, noise_dbfs=-70)
    assert v.passed and v.intent == "show nerve" and v.confidence > 0.5


@pytest.mark.parametrize("words, speech_s, reason", [
    ((), 0.5, "nothing recognised"),
    (("~uh", "~ah"), 0.8, "out of grammar"),
    (("freeze",), 0.1, "too short"),
    (("freeze",), 4.0, "too long"),
    (("~the", "show", "nerve", "~looks", "~swollen"), 1.8, "embedded in longer speech"),
])
def test_rejections(defence, words, speech_s, reason):
    v = defence.judge(rec(*words), speech_s, 0, noise_dbfs=-70)
    assert not v.passed and v.reason == reason


def test_noise_absorbed_by_garbage_at_the_edges_is_not_speech(defence):
    v = defence.judge(rec("~x!", "hide", "needle", "~y!"), 1.2, 0, noise_dbfs=-65)
    assert v.passed, v.reason


def test_grammar_confidence_alone_is_not_trusted(defence):
    # a command-only grammar says 1.0; the verification score decides
    v = defence.judge(rec("freeze", score=0.2), 0.5, 0, noise_dbfs=-70)
    assert not v.passed and v.reason == "low confidence"
    v = defence.judge(rec("freeze", score=math.nan), 0.5, 0, noise_dbfs=-70)
    assert not v.passed


def test_cooldown_per_intent(defence):
    assert defence.judge(rec("freeze"), 0.5, 0).passed
    v = defence.judge(rec("freeze"), 0.5, S)
    assert not v.passed and v.reason == "cooldown"
    assert defence.judge(rec("unfreeze"), 0.5, S).passed
    assert defence.judge(rec("freeze"), 0.5, 2 * S).passed


def test_wake_word(en_set):
    d = Defence(VoiceDefenceConfig(wake_word=True), en_set, CAL)
    assert d.judge(rec("freeze"), 0.5, 0).reason == "no wake word"
    assert d.judge(rec("sono", "guide", "freeze"), 0.9, S).passed
    w = d.judge(rec("sono", "guide"), 0.5, 10 * S)
    assert w.wake_only
    assert d.judge(rec("show", "all"), 0.5, 12 * S).passed  # inside the wake window
    assert d.judge(rec("hide", "nerve"), 0.5, 30 * S).reason == "no wake word"


def test_naive_accepts_whatever_the_grammar_returns(en_set):
    d = Defence(VoiceDefenceConfig(naive=True), en_set, CAL)
    v = d.judge(rec("~the", "show", "nerve", "~looks", score=math.nan), 3.5, 0)
    assert v.passed and v.intent == "show nerve"


def test_threshold_offset(en_set):
    d = Defence(dataclasses.replace(VoiceDefenceConfig(), threshold_offset=1.0), en_set, CAL)
    assert d.judge(rec("unfreeze", score=0.9), 0.5, 0).reason == "low confidence"


def test_match_prefers_longest_phrase(en_set):
    m = match_command(["stop", "recording"], en_set.phrase_to_intent())
    assert m.intent == "stop recording" and m.extra_words == 0
    m = match_command(["freeze", "image"], en_set.phrase_to_intent())
    assert m.intent == "freeze" and m.phrase == "freeze image"
