"""``voice eval``'s summary: false accepts by command and by speaker, executions, the rate per hour."""

from __future__ import annotations

import math

from research.voice.evaluate import ClipResult, speaker_of, summarise


def _clip(audio: str, expect: str | None, recognised: str | None, speaker: str, audio_s: float = 1.0) -> ClipResult:
    return ClipResult(audio=audio, expect=expect, recognised=recognised, latency_ms=120.0 if expect else None,
                      score=math.nan, structural_intent=recognised, reason="", condition="clean", audio_s=audio_s,
                      cpu_s=0.05, speaker=speaker)


def test_false_accepts_by_command_speaker_execution_and_per_hour():
    clips = [_clip("a/1.wav", None, "unfreeze", "s1"), _clip("a/2.wav", None, "unfreeze", "s2"),
             _clip("a/3.wav", None, "hide needle", "s2"), _clip("a/4.wav", None, None, "s3"),
             _clip("b/5.wav", "freeze", "freeze", "s4")]
    s = summarise(clips, gated=frozenset({"hide needle", "hide all"}))
    assert s["false_accepts"] == 3 and s["n_null"] == 4  # the keys an independent check reads
    assert s["false_accepts_by_intent"] == {"hide needle": 1, "unfreeze": 2}
    assert s["false_executions"] == 2  # the gated "hide needle" only asked for confirmation
    assert s["false_accepts_by_speaker"] == {"s1": 1, "s2": 2} and s["speakers"] == 4
    assert s["false_accepts_per_hour"] == round(3 / (4 / 3600), 2)


def test_speaker_from_the_manifest_or_the_speech_commands_file_name():
    assert speaker_of({"audio": "x/0a7c2a8d_nohash_1.wav"}) == "0a7c2a8d"
    assert speaker_of({"audio": "_unknown_/follow_b7e9f841_nohash_0.wav"}) == "b7e9f841"
    assert speaker_of({"audio": "x/0a7c2a8d_nohash_1.wav", "speaker": "p7"}) == "p7"
    assert speaker_of({"audio": "clips/0001.wav"}) == ""
