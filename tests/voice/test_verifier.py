"""The bundled intent verifier: model card, weights, command-set check, and posteriors on real clips."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from core.errors import ModelError
from voice.commandset import command_set_from_dict
from voice.verifier.features import N_MELS
from voice.verifier.model import IntentVerifier, bundled_verifier_dir, read_card


@pytest.fixture(scope="module")
def verifier(en_set):
    return IntentVerifier(bundled_verifier_dir("en"), en_set, device="cpu")


def test_model_card_describes_the_model(verifier, en_set):
    card = read_card(bundled_verifier_dir("en"))
    assert card["labels"] == sorted(en_set.intents) + ["none"]
    assert card["input"]["features"].startswith(f"log-mel, {N_MELS} bands")
    assert "synthetic speech" in card["limitations"] and "fine-tuned" in card["limitations"]
    assert card["training"]["data"]["items"] > 10000
    assert card["version"] and card["date"] and card["metrics_validation"]["n"] > 100
    assert card["metrics_validation"]["command_accuracy"] > 0.9
    n = sum(p.numel() for p in verifier.net.parameters())
    assert n == card["parameters"] and n < 300_000


def test_output_shape_and_short_input(verifier):
    p = verifier.posteriors(np.full((120, N_MELS), -60.0, np.float32))
    assert p.shape == (len(verifier.labels),) and abs(float(p.sum()) - 1.0) < 1e-5
    tiny = verifier.posteriors(np.zeros((2, N_MELS), np.float32))
    assert tiny[verifier.none_index] == 1.0
    with pytest.raises(ValueError, match="frames"):
        verifier.posteriors(np.zeros((50, 13), np.float32))


def test_refuses_a_command_set_it_was_not_trained_for(en_set):
    data = {"lang": "en", "intents": {"freeze": {"phrases": ["freeze", "stop the image"]}}}
    other = command_set_from_dict(data, "other.toml")
    with pytest.raises(ModelError, match="does not fit other.toml"):
        IntentVerifier(bundled_verifier_dir("en"), other)



def test_broken_weights_are_a_model_error(tmp_path, en_set, single_model_dir):
    d = single_model_dir(tmp_path / "v")
    (d / "model.pt").write_bytes(b"not a torch file")
    with pytest.raises(ModelError, match="cannot load the verifier weights"):
        IntentVerifier(d, en_set)



@pytest.mark.parametrize("name, intent", [("en_freeze", "freeze"), ("en_unfreeze", "unfreeze"),
                                          ("en_show_vessels_pink10", "show vessel"), ("en_hide_all", "hide all"),
                                          ("en_confirm", "confirm"), ("en_chatter_nerve", "none"),
                                          ("en_chatter_record", "none")])
def test_posteriors_on_real_clips(verifier, voice_data, name, intent, utterance_feats):
    p = verifier.posteriors(utterance_feats(name))
    assert verifier.labels[int(np.argmax(p))] == intent, dict(zip(verifier.labels, np.round(p, 3)))


def test_weights_of_another_shape_name_the_file(tmp_path, en_set, single_model_dir):
    """A card and weights that do not belong together (another class count) are refused, naming model.pt."""
    import torch

    from voice.verifier.nets import IntentNet

    d = single_model_dir(tmp_path / "v")
    torch.save(IntentNet(5).state_dict(), d / "model.pt")
    with pytest.raises(ModelError, match=r"model\.pt"):
        IntentVerifier(d, en_set)


def test_missing_card_names_the_file(tmp_path, en_set):
    with pytest.raises(ModelError, match=r"metadata\.json"):
        IntentVerifier(tmp_path, en_set)


def test_forward_pass_uses_one_thread_and_restores_the_setting(verifier):
    """``posteriors`` runs on ``threads`` (1) and leaves torch's thread count as it found it."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        seen = []
        orig = verifier.net.forward

        def spy(*a, **k):
            seen.append(torch.get_num_threads())
            return orig(*a, **k)

        verifier.net.forward = spy
        try:
            verifier.posteriors(np.full((80, N_MELS), -50.0, np.float32))
        finally:
            del verifier.net.forward
        assert seen == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_selection_off_auto_and_bundled(en_set):
    """``off`` never loads it; ``auto`` falls back (with a warning) without fusion weights; ``bundled`` refuses."""
    from voice.config import VoiceConfig, VoiceDefenceConfig
    from voice.score_thresholds import Calibration
    from voice.verifier.select import build_verifier

    plain = Calibration(engine="pocketsphinx", lang="en", garbage_penalty_log10=-20.0, default_threshold=0.0)
    assert build_verifier(VoiceConfig(defence=VoiceDefenceConfig(verifier="off")), en_set, plain) is None
    assert build_verifier(VoiceConfig(defence=VoiceDefenceConfig(verifier="auto")), en_set, plain) is None
    with pytest.raises(ModelError, match="no fusion weights"):
        build_verifier(VoiceConfig(defence=VoiceDefenceConfig(verifier="bundled")), en_set, plain)
    fused = dataclasses.replace(plain, fusion={"weights": {"a_log_p": 1.0}})
    bundled = VoiceConfig(defence=VoiceDefenceConfig(verifier="bundled"))
    assert build_verifier(bundled, en_set, fused, device="cpu") is not None


def test_defaults_use_the_bundled_verifier_and_warn_when_endpointing_differs_from_the_fit(en_set, caplog):
    """The bundled calibration records the front end its threshold was fitted with; the defaults match it."""
    import logging

    from core.configtools import key_value
    from voice.config import VoiceConfig, VoiceVadConfig
    from voice.score_thresholds import load_calibration
    from voice.verifier.select import build_verifier

    cal = load_calibration("", "pocketsphinx", "en")
    fitted = cal.fusion["front_end"]
    default = VoiceConfig()
    assert {k: key_value(default, k)[1] for k in fitted} == fitted  # flat keys (written before the nesting)
    with caplog.at_level(logging.WARNING, logger="voice.verifier.select"):
        assert build_verifier(default, en_set, cal, device="cpu") is not None
        assert "fitted with" not in caplog.text
        longer = VoiceConfig(vad=VoiceVadConfig(endpoint_silence_s=0.3))
        assert build_verifier(longer, en_set, cal, device="cpu") is not None
    assert "endpoint_silence_s = 0.15" in caplog.text and "endpoint_silence_s = 0.3" in caplog.text
