"""The utterance processor with the learned VAD, the verifier and speculative batch decoding."""

from __future__ import annotations

import numpy as np
import pytest

from voice.audio.wavio import read_wav
from voice.config import VoiceConfig, VoiceDefenceConfig, VoiceEngineConfig, VoiceVadConfig
from voice.engines.select import build_engine
from voice.events import Decision
from voice.processor import UtteranceProcessor
from voice.verifier.select import build_verifier, load_vad_for


class CountingEngine:
    """The real PocketSphinx engine, counting how often an utterance is decoded."""

    def __init__(self, engine):
        self.engine = engine
        self.name = engine.name
        self.batch = engine.batch
        self.decodes = 0

    def start_utterance(self):
        self.engine.start_utterance()

    def feed(self, pcm):
        self.engine.feed(pcm)

    def end_utterance(self):
        self.decodes += 1
        return self.engine.end_utterance()


@pytest.fixture(scope="module")
def parts(en_set):
    cfg = VoiceConfig(audit_log="",
                      engine=VoiceEngineConfig(name="pocketsphinx"),
                      vad=VoiceVadConfig(kind="learned"),
                      defence=VoiceDefenceConfig(verifier="bundled"))
    engine, cal = build_engine(cfg, en_set)
    return cfg, engine, cal, build_verifier(cfg, en_set, cal), load_vad_for(cfg.vad)


def _run(parts, en_set, pcm):
    cfg, engine, cal, verifier, vad = parts
    eng = CountingEngine(engine)
    results = []
    proc = UtteranceProcessor(cfg, en_set, eng, cal, verifier=verifier, vad_weights=vad, on_utterance=results.append)
    events = []
    for i in range(0, len(pcm), 320):
        events += proc.feed(pcm[i:i + 320], int(i / 16000 * 1e9))
    events += proc.feed(np.zeros(16000, np.int16), int(len(pcm) / 16000 * 1e9))
    return events, results, eng, proc


def _clip(voice_data, name):
    return read_wav(voice_data / f"{name}.wav")[0]


def test_bundled_parts_are_in_use(parts):
    cfg, engine, cal, verifier, vad = parts
    assert verifier is not None and vad is not None and cal.has_fusion


def test_command_is_accepted_with_one_speculative_decode(parts, en_set, voice_data):
    events, results, eng, proc = _run(parts, en_set, _clip(voice_data, "en_freeze"))
    assert [(e.decision, e.intent) for e in events] == [(Decision.ACCEPTED, "freeze")]
    assert eng.decodes == 1  # decoded once, during the endpointing silence, and that result was used
    assert results[0].verdict.evidence is not None and 0.5 < events[0].confidence <= 1.0
    assert proc.cpu_s > 0


def test_command_followed_by_more_speech_is_not_accepted(parts, en_set, voice_data):
    """A pause shorter than the endpointing silence: the speculative result on "freeze" is dropped."""
    cfg = parts[0]
    # speech of en_freeze ends at 0.984 s and en_chatter_nerve's starts at 0.5 s (manifest_en.jsonl)
    gap = np.zeros(int(0.6 * cfg.vad.endpoint_silence_s * 16000), np.int16)
    pcm = np.concatenate([_clip(voice_data, "en_freeze")[:int(0.984 * 16000)], gap,
                          _clip(voice_data, "en_chatter_nerve")[int(0.5 * 16000):]])
    events, results, eng, _ = _run(parts, en_set, pcm)
    assert not any(e.decision is Decision.ACCEPTED for e in events), [(e.decision, e.intent, e.reason) for e in events]
    assert len(results) == 1 and eng.decodes >= 2


@pytest.mark.parametrize("name", ["en_chatter_nerve", "en_chatter_record"])
def test_chatter_with_command_words_is_rejected(parts, en_set, voice_data, name):
    events, results, _, _ = _run(parts, en_set, _clip(voice_data, name))
    assert results and not any(e.decision is Decision.ACCEPTED for e in events)


@pytest.mark.parametrize("text, intent, voice, rate, pitch", [("live", "unfreeze", "en-us+f3", 138, 64),
                                                             ("freeze", "freeze", "en-gb-x-rp+f2", 188, 33)])
def test_clean_command_after_digital_silence_is_heard_whole(parts, en_set, text, intent, voice, rate, pitch):
    """Regression: with an all-zero lead-in the learned VAD hovered between its thresholds and cut these
    commands to fragments ("too short", "low confidence"); the log-mel front end now hears the comfort noise."""
    from voice.audio.wavio import float_to_int16
    from research.voice.datagen import ClipSpec, render

    x, t0, t1 = render(ClipSpec(text=text, expect=intent, voice=voice, rate_wpm=rate, pitch=pitch, noise="clean",
                                snr_db=None, level_dbfs=-24.0, lead_s=0.5, tail_s=0.6, seed=7), None)
    assert not x[:int(0.5 * 16000)].any()  # the lead-in is digital silence
    events, results, _, _ = _run(parts, en_set, float_to_int16(x))
    assert [(e.decision, e.intent) for e in events] == [(Decision.ACCEPTED, intent)], \
        [(e.decision, e.intent, e.reason) for e in events]
    assert len(results) == 1 and results[0].speech_s >= 0.85 * (t1 - t0)
