"""Real engines on real (synthesised) speech: PocketSphinx (English) and Vosk (Korean model)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from core.errors import ConfigError, ModelError
from research.voice.evaluate import run_clip
from voice.audio.wavio import read_wav
from voice.commandset import command_set_from_dict
from voice.config import VoiceConfig, VoiceDefenceConfig, VoiceEngineConfig
from voice.engines.select import build_engine, choose_engine


def _decode(engine, pcm: np.ndarray):
    engine.start_utterance()
    for i in range(0, len(pcm), 1600):
        engine.feed(pcm[i:i + 1600])
    return engine.end_utterance()


def _first_passed(cfg, cs, engine, cal, path):
    pcm, _ = read_wav(path)
    utts, latency, cpu = run_clip(cfg, cs, engine, cal, pcm, None)
    passed = [u for u in utts if u.verdict.passed]
    return (passed[0].verdict if passed else None), utts, cpu


@pytest.mark.parametrize("name, intent", [("en_freeze", "freeze"), ("en_unfreeze", "unfreeze"),
                                          ("en_show_vessels_pink10", "show vessel"), ("en_hide_all", "hide all"),
                                          ("en_confirm", "confirm")])
def test_sphinx_recognises_commands(sphinx, en_set, voice_data, name, intent):
    engine, cal = sphinx
    v, utts, cpu = _first_passed(VoiceConfig(audit_log=""), en_set, engine, cal, voice_data / f"{name}.wav")
    assert v is not None, [u.verdict for u in utts]
    assert v.intent == intent
    assert 0.5 <= v.confidence <= 1.0
    assert cpu > 0


@pytest.mark.parametrize("name", ["en_chatter_nerve", "en_chatter_record"])
def test_sphinx_rejects_chatter_with_command_words(sphinx, en_set, voice_data, name):
    engine, cal = sphinx
    v, utts, _ = _first_passed(VoiceConfig(audit_log=""), en_set, engine, cal, voice_data / f"{name}.wav")
    assert v is None
    assert utts and all(u.verdict.reason for u in utts)


def test_naive_grammar_fires_on_chatter(en_set, voice_data):
    """The known failure the defence exists for: a command-only grammar returns a command."""
    engine, cal = build_engine(VoiceConfig(audit_log="",
                                           engine=VoiceEngineConfig(name="pocketsphinx"),
                                           defence=VoiceDefenceConfig(naive=True)), en_set)
    pcm, _ = read_wav(voice_data / "en_chatter_nerve.wav")
    r = _decode(engine, pcm)
    assert r.words and not any(w.garbage for w in r.words)  # it forced some command onto the sentence


def test_sphinx_garbage_absorbs_chatter(sphinx, voice_data):
    engine, _ = sphinx
    pcm, _ = read_wav(voice_data / "en_chatter_nerve.wav")
    r = _decode(engine, pcm)
    assert any(w.garbage for w in r.words)
    assert math.isnan(r.score) or r.score < 0


def test_sphinx_pronunciations_added(sphinx):
    engine, _ = sphinx
    assert engine._cmd.lookup_word("unfreeze") == "AH N F R IY Z"


def test_sphinx_word_without_pronunciation_fails(tmp_path):
    from voice.engines.sphinx import SphinxEngine

    cs = command_set_from_dict({"lang": "en", "intents": {"freeze": {"phrases": ["zorbleflux"]}}}, "x.toml")
    with pytest.raises(ConfigError, match="zorbleflux.*pronunciations"):
        SphinxEngine(cs)


def test_sphinx_only_english():
    with pytest.raises(ConfigError, match="only English"):
        choose_engine(VoiceConfig(lang="ko", engine=VoiceEngineConfig(name="pocketsphinx")))


def test_auto_choice(tmp_path):
    c = choose_engine(VoiceConfig(lang="en", engine=VoiceEngineConfig(model_dir=str(tmp_path))))
    assert c.engine == "pocketsphinx" and "no English Vosk model" in c.why
    (tmp_path / "vosk-model-small-en-us-0.15" / "am").mkdir(parents=True)
    (tmp_path / "vosk-model-small-en-us-0.15" / "am" / "final.mdl").write_bytes(b"x")
    assert choose_engine(VoiceConfig(lang="en",
                                     engine=VoiceEngineConfig(model_dir=str(tmp_path)))).engine == "vosk"


def test_missing_vosk_model_is_a_model_error(tmp_path, en_set):
    with pytest.raises(ModelError, match="models fetch vosk-en"):
        choose_engine(VoiceConfig(lang="en", engine=VoiceEngineConfig(name="vosk", model_dir=str(tmp_path))))
    with pytest.raises(ModelError, match="not found"):
        build_engine(VoiceConfig(lang="en",
                                 audit_log="",
                                 engine=VoiceEngineConfig(name="vosk", vosk_model=str(tmp_path / "gone"))), en_set)


def test_vosk_korean_grammar_and_garbage(vosk_ko_model, ko_set, voice_data):
    from voice.engines.vosk_engine import VoskEngine, read_vocabulary

    path, model = vosk_ko_model
    vocab = read_vocabulary(path)
    assert vocab is not None and "신경" in vocab and len(vocab) > 100000
    eng = VoskEngine(ko_set, path, model=model)
    pcm, _ = read_wav(voice_data / "ko_start_recording.wav")
    r = _decode(eng, pcm)
    assert [w.word for w in r.words if not w.garbage] == ["녹화", "시작"]
    assert r.score > 0 and r.cpu_s > 0  # n-best margin
    # the naive grammar puts command words on unrelated speech; with garbage they are absorbed
    pcm, _ = read_wav(voice_data / "ko_chatter.wav")
    naive = VoskEngine(ko_set, path, naive=True, model=model)
    rn = _decode(naive, pcm)
    assert rn.words and not any(w.garbage for w in rn.words)
    rg = _decode(eng, pcm)
    assert any(w.garbage for w in rg.words)


def test_vosk_out_of_vocabulary_command_fails(vosk_ko_model):
    from voice.engines.vosk_engine import VoskEngine

    path, model = vosk_ko_model
    cs = command_set_from_dict({"lang": "ko", "intents": {"freeze": {"phrases": ["qqqzzzx"]}}}, "k.toml")
    with pytest.raises(ConfigError, match="qqqzzzx.*vocabulary"):
        VoskEngine(cs, path, model=model)


def test_vosk_korean_end_to_end(vosk_ko_model, ko_set, voice_data):
    path, model = vosk_ko_model
    cfg = VoiceConfig(lang="ko", audit_log="", engine=VoiceEngineConfig(name="vosk"))
    engine, cal = build_engine(cfg, ko_set, vosk_model=model)
    v, utts, _ = _first_passed(cfg, ko_set, engine, cal, voice_data / "ko_start_recording.wav")
    assert v is not None and v.intent == "start recording", [u.verdict for u in utts]
    v, utts, _ = _first_passed(cfg, ko_set, engine, cal, voice_data / "ko_chatter.wav")
    assert v is None, json.dumps([u.verdict.text for u in utts], ensure_ascii=False)
