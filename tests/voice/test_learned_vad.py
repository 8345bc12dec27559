"""The learned frame VAD: NumPy inference equals the torch network, streaming equals batch, and the
bundled model endpoints real (synthesised) speech while ignoring monitor beeps."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import ModelError
from voice.audio.learned_vad import LearnedEndpointer
from voice.audio.vad import FRAME, VadKind
from voice.audio.wavio import read_wav
from voice.config import VoiceConfig
from voice.verifier.features import logmel
from voice.verifier.vad_model import VadStream, load_vad, save_vad, vad_probs


@pytest.fixture(scope="module")
def vad():
    return load_vad(VoiceConfig().vad.model_path())


def test_bundled_vad_has_a_card(vad):
    """The bundled VAD file carries its card: format, version, date, training data, validation metrics."""
    m = vad.meta
    assert m["format"] == "sonoguide.voice-vad/2" and m["version"] and m["date"]
    assert "synthetic" in m["training_data"] and m["metrics_validation"]["frame_accuracy"] > 0.9


def test_numpy_gru_equals_torch(tmp_path):
    import torch

    from voice.verifier.nets import VadNet

    torch.manual_seed(0)
    net = VadNet().eval()
    save_vad(tmp_path / "v.npz", net.state_dict(), {"test": True})
    w = load_vad(tmp_path / "v.npz")
    x = np.random.default_rng(0).standard_normal((40, 40)).astype(np.float32)
    with torch.inference_mode():
        want = torch.sigmoid(net(torch.from_numpy(x)[None]))[0].numpy()
    np.testing.assert_allclose(w.probs(x), want, atol=1e-5)


def test_streaming_equals_batch(vad, voice_data):
    pcm, _ = read_wav(voice_data / "en_show_vessels_pink10.wav")
    f = logmel(pcm)
    s = VadStream(vad)
    np.testing.assert_allclose([s.push(r) for r in f], vad_probs(vad, f), atol=1e-4)


def test_missing_or_foreign_vad_file_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="voice.vad"):
        load_vad(tmp_path / "none.npz")
    np.savez(tmp_path / "bad.npz", meta=np.array('{"format": "other"}'))
    with pytest.raises(ModelError, match="unreadable"):
        load_vad(tmp_path / "bad.npz")


def _segments(vad, pcm):
    ep = LearnedEndpointer(vad)
    out, start = [], None
    for i in range(len(pcm) // FRAME):
        ev = ep.push(pcm[i * FRAME:(i + 1) * FRAME])
        if ev.kind is VadKind.START:
            start = i + 1 - len(ev.frames)
        elif ev.kind is VadKind.END:
            out.append((start, i + 1 - ev.trailing_frames))
    return out, ep


@pytest.mark.parametrize("name", ["en_freeze", "en_show_vessels_pink10", "en_chatter_record"])
def test_bundled_vad_finds_the_utterance(vad, voice_data, name):
    import json

    pcm, _ = read_wav(voice_data / f"{name}.wav")
    pcm = np.concatenate([pcm, np.zeros(8000, np.int16)])
    segs, ep = _segments(vad, pcm)
    truth = {m["audio"]: m for m in map(json.loads, (voice_data / "manifest_en.jsonl").read_text().splitlines())}
    t0, t1 = truth[f"{name}.wav"]["speech_start_s"], truth[f"{name}.wav"]["speech_end_s"]
    assert len(segs) == 1, segs
    a, b = segs[0][0] / 100, segs[0][1] / 100
    assert a <= t0 + 0.05 and abs(b - t1) < 0.15, (a, b, t0, t1)
    assert ep.noise_dbfs < -40


def test_bundled_vad_ignores_monitor_beeps(vad):
    from research.voice.datagen import beeps

    x = beeps(16000 * 5, np.random.default_rng(3)) * 10 ** (-30 / 20)
    segs, _ = _segments(vad, (x * 32767).astype(np.int16))
    assert segs == []
