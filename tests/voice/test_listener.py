"""The live listener end to end: WAV and headset (ZeroMQ) sources, audit, robustness."""

from __future__ import annotations

import dataclasses
import threading
import time

import numpy as np
import pytest
import zmq

from core.errors import DeviceError, InputError, ModelError, NetworkError
from voice.audio.sources import (AudioChunk, MicrophoneSource, WavSource, ZmqAudioSource, encode_audio,
                                 open_audio_source)
from voice.audio.wavio import read_wav, write_wav
from voice.audit import read_audit
from voice.config import VoiceConfig, VoiceEngineConfig, VoiceInputConfig
from voice.events import Decision
from voice.listener import VoiceListener


def _session(voice_data, tmp_path, names, gap_s=1.0):
    parts = [np.zeros(8000, np.int16)]
    for n in names:
        pcm, _ = read_wav(voice_data / f"{n}.wav")
        parts += [pcm, np.zeros(int(gap_s * 16000), np.int16)]
    p = tmp_path / "session.wav"
    write_wav(p, np.concatenate(parts))
    return p


def _collect(listener, timeout=60.0):
    deadline = time.time() + timeout
    while listener.running and time.time() < deadline:
        time.sleep(0.05)


def test_wav_session_with_confirmation_and_audit(voice_data, tmp_path):
    wav = _session(voice_data, tmp_path, ["en_freeze", "en_chatter_nerve", "en_hide_all", "en_confirm"])
    audit = tmp_path / "audit.jsonl"
    cfg = VoiceConfig(audit_log=str(audit),
                      input=VoiceInputConfig(source="wav", wav_path=str(wav), wav_realtime=False, wav_loop=False),
                      engine=VoiceEngineConfig(name="pocketsphinx"))
    events = []
    lis = VoiceListener(cfg, open_audio_source(cfg.input), events.append)
    lis.start()
    _collect(lis)
    lis.stop()
    decisions = [(e.decision, e.intent) for e in events]
    assert (Decision.ACCEPTED, "freeze") in decisions
    assert (Decision.AWAITING_CONFIRMATION, "hide all") in decisions
    assert (Decision.CONFIRMED, "hide all") in decisions
    assert not any(d is Decision.ACCEPTED and i != "freeze" for d, i in decisions)
    assert any(e.decision is Decision.REJECTED for e in events)  # the chatter
    lines = read_audit(audit)
    assert [r["decision"] for r in lines] == [e.decision.value for e in events]
    assert all({"time", "text", "confidence", "intent", "decision", "reason"} <= set(r) for r in lines)
    assert lis.noise_dbfs < -40


def test_expired_confirmation(voice_data, tmp_path, en_set):
    wav = _session(voice_data, tmp_path, ["en_hide_all"], gap_s=0.2)
    cfg = VoiceConfig(confirm_window_s=0.5,
                      audit_log="",
                      input=VoiceInputConfig(source="wav", wav_path=str(wav), wav_realtime=False, wav_loop=False),
                      engine=VoiceEngineConfig(name="pocketsphinx"))
    events = []
    lis = VoiceListener(cfg, open_audio_source(cfg.input), events.append)
    lis.start()
    _collect(lis)
    deadline = time.time() + 5
    while not any(e.decision is Decision.EXPIRED for e in events) and time.time() < deadline:
        lis._emit(lis._proc.tick(time.time_ns()))
        time.sleep(0.1)
    lis.stop()
    assert [e.decision for e in events][-2:] == [Decision.AWAITING_CONFIRMATION, Decision.EXPIRED]


class _BadThenGood:
    """A source that first delivers garbage chunks, then a real clip."""

    name = "test"

    def __init__(self, pcm):
        self.items = [AudioChunk(np.array([1.5, 2.5]), 0), AudioChunk(np.zeros((3, 2), np.int16), 0),
                      AudioChunk(np.zeros(0, np.int16), 0)]
        self.items += [AudioChunk(pcm[i:i + 320], time.time_ns()) for i in range(0, len(pcm), 320)]
        self.items += [AudioChunk(np.zeros(320, np.int16), time.time_ns()) for _ in range(50)]

    def start(self):
        pass

    def read(self, timeout=0.5):
        return self.items.pop(0) if self.items else None

    @property
    def finished(self):
        return not self.items

    def close(self):
        pass


def test_listener_survives_bad_audio_and_callback_errors(voice_data):
    pcm, _ = read_wav(voice_data / "en_freeze.wav")
    got = []

    def cb(ev):
        got.append(ev)
        raise RuntimeError("consumer bug")

    lis = VoiceListener(VoiceConfig(audit_log="",
                                    engine=VoiceEngineConfig(name="pocketsphinx")), _BadThenGood(pcm), cb)
    lis.start()
    _collect(lis)
    lis.stop()
    assert lis.errors >= 2
    assert any(e.decision is Decision.ACCEPTED and e.intent == "freeze" for e in got)


def test_silence_gives_no_command(tmp_path):
    p = tmp_path / "silence.wav"
    write_wav(p, np.zeros(32000, np.int16))
    cfg = VoiceConfig(audit_log="",
                      input=VoiceInputConfig(source="wav", wav_path=str(p), wav_realtime=False, wav_loop=False),
                      engine=VoiceEngineConfig(name="pocketsphinx"))
    events = []
    lis = VoiceListener(cfg, open_audio_source(cfg.input), events.append)
    lis.start()
    _collect(lis)
    lis.stop()
    assert events == []


def test_missing_wav_and_model(tmp_path):
    with pytest.raises(InputError, match="not found"):
        open_audio_source(VoiceInputConfig(source="wav", wav_path=str(tmp_path / "none.wav")))
    cfg = VoiceConfig(lang="en", audit_log="", engine=VoiceEngineConfig(name="vosk", model_dir=str(tmp_path)))
    lis = VoiceListener(cfg, WavSource(str(tmp_path / "x.wav")), lambda e: None)
    with pytest.raises(ModelError, match="fetch vosk-en"):
        lis.start()


def test_no_microphone_is_a_device_error():
    with pytest.raises(DeviceError, match="microphone"):
        MicrophoneSource("no such device 12345").start()


def test_auto_input_without_microphone_uses_demo_wav_in_the_demo_only():
    cfg = VoiceConfig(input=VoiceInputConfig(source="auto", microphone_device="no such device 12345"))
    src = open_audio_source(cfg.input, demo=True)
    assert isinstance(src, WavSource) and src.loop and src.realtime and src.path.endswith("demo_script.wav")
    with pytest.raises(DeviceError, match="no microphone"):
        open_audio_source(cfg.input)


def test_scripted_recording_is_refused_outside_the_demo():
    with pytest.raises(InputError, match="wav_path"):
        open_audio_source(VoiceInputConfig(source="wav"))
    assert open_audio_source(VoiceInputConfig(source="wav"), demo=True).path.endswith("demo_script.wav")


def _free_endpoint():
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.PULL)
    port = s.bind_to_random_port("tcp://127.0.0.1")
    s.close(linger=0)
    return f"tcp://127.0.0.1:{port}"


def test_headset_stream_over_zeromq(voice_data):
    """A headset PUSHes 48 kHz PCM in the wire format; the listener resamples and recognises."""
    from voice.audio.resample import resample_block

    ep = _free_endpoint()
    pcm16, _ = read_wav(voice_data / "en_freeze.wav")
    pcm48 = (resample_block(pcm16.astype(np.float32) / 32768, 16000, 48000) * 32767).astype(np.int16)
    pcm48 = np.concatenate([pcm48, np.zeros(48000, np.int16)])
    cfg = VoiceConfig(audit_log="",
                      input=VoiceInputConfig(source="zmq", zmq_endpoint=ep),
                      engine=VoiceEngineConfig(name="pocketsphinx"))
    events = []
    src = open_audio_source(cfg.input)
    lis = VoiceListener(cfg, src, events.append)
    lis.start()
    push = zmq.Context.instance().socket(zmq.PUSH)
    push.connect(ep)
    try:
        push.send_multipart([b"audio", b"{not json", b""])  # rejected, listener keeps going
        seq = 0
        for i in range(0, len(pcm48), 960):  # 20 ms blocks
            push.send_multipart(encode_audio(pcm48[i:i + 960], seq, time.time_ns(), sample_rate=48000))
            seq += 1
        deadline = time.time() + 20
        while not events and time.time() < deadline:
            time.sleep(0.05)
    finally:
        push.close(linger=0)
        lis.stop()
    assert src.rejected == 1 and src.received > 50
    assert any(e.decision is Decision.ACCEPTED and e.intent == "freeze" for e in events), events


def test_busy_endpoint_is_a_network_error():
    ep = _free_endpoint()
    a = ZmqAudioSource(ep)
    a.start()
    try:
        with pytest.raises(NetworkError, match=r"voice\.input\.zmq_endpoint"):
            ZmqAudioSource(ep).start()
    finally:
        a.close()


def test_wav_source_realtime_pace(voice_data):
    src = WavSource(str(voice_data / "en_freeze.wav"), realtime=True)
    src.start()
    t0 = time.monotonic()
    n = 0
    while not src.finished and time.monotonic() - t0 < 10:
        c = src.read(0.2)
        if c is not None:
            n += len(c.pcm)
    elapsed = time.monotonic() - t0
    src.close()
    assert n == len(src.pcm)
    assert elapsed > 0.8 * len(src.pcm) / 16000
