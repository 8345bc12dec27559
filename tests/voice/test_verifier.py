"""The bundled intent verifier: model card, weights, command-set check, and posteriors on real clips."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from core.errors import ModelError
from voice.audio.wavio import read_wav
from voice.commandset import command_set_from_dict
from voice.verifier.features import N_MELS, logmel
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


def _single_model_dir(d, seed=None):
    """A one-model verifier directory with the bundled card (its ``members`` dropped) and, with ``seed``,
    freshly initialised weights."""
    import torch

    from voice.verifier.nets import IntentNet, count_parameters

    d.mkdir(parents=True)
    card = read_card(bundled_verifier_dir("en"))
    card.pop("members", None)
    card["parameters"] = count_parameters(IntentNet(len(card["labels"])))
    (d / "metadata.json").write_text(json.dumps(card))
    if seed is not None:
        torch.manual_seed(seed)
        torch.save(IntentNet(len(card["labels"])).state_dict(), d / "model.pt")
    return d


def test_broken_weights_are_a_model_error(tmp_path, en_set):
    d = _single_model_dir(tmp_path / "v")
    (d / "model.pt").write_bytes(b"not a torch file")
    with pytest.raises(ModelError, match="cannot load the verifier weights"):
        IntentVerifier(d, en_set)


def _utterance_feats(voice_data, name):
    m = {r["audio"]: r for r in map(json.loads, (voice_data / "manifest_en.jsonl").read_text().splitlines())}[f"{name}.wav"]
    pcm, _ = read_wav(voice_data / f"{name}.wav")
    f = logmel(pcm)
    a, b = int(m["speech_start_s"] * 100) - 15, int(m["speech_end_s"] * 100) + 5
    return f[max(0, a):b]


@pytest.mark.parametrize("name, intent", [("en_freeze", "freeze"), ("en_unfreeze", "unfreeze"),
                                          ("en_show_vessels_pink10", "show vessel"), ("en_hide_all", "hide all"),
                                          ("en_confirm", "confirm"), ("en_chatter_nerve", "none"),
                                          ("en_chatter_record", "none")])
def test_posteriors_on_real_clips(verifier, voice_data, name, intent):
    p = verifier.posteriors(_utterance_feats(voice_data, name))
    assert verifier.labels[int(np.argmax(p))] == intent, dict(zip(verifier.labels, np.round(p, 3)))


def test_weights_of_another_shape_name_the_file(tmp_path, en_set):
    """A card and weights that do not belong together (another class count) are refused, naming model.pt."""
    import torch

    from voice.verifier.nets import IntentNet

    d = _single_model_dir(tmp_path / "v")
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
    from voice.calibration import Calibration
    from voice.config import VoiceConfig
    from voice.verifier.select import build_verifier

    plain = Calibration(engine="pocketsphinx", lang="en", garbage_penalty_log10=-20.0, default_threshold=0.0)
    assert build_verifier(VoiceConfig(verifier="off"), en_set, plain) is None
    assert build_verifier(VoiceConfig(verifier="auto"), en_set, plain) is None
    with pytest.raises(ModelError, match="no fusion weights"):
        build_verifier(VoiceConfig(verifier="bundled"), en_set, plain)
    fused = dataclasses.replace(plain, fusion={"weights": {"a_log_p": 1.0}})
    assert build_verifier(VoiceConfig(verifier="bundled"), en_set, fused, device="cpu") is not None


def test_defaults_use_the_bundled_verifier_and_warn_when_endpointing_differs_from_the_fit(en_set, caplog):
    """The bundled calibration records the front end its threshold was fitted with; the defaults match it."""
    import logging

    from voice.calibration import load_calibration
    from voice.config import VoiceConfig
    from voice.verifier.select import build_verifier

    cal = load_calibration("", "pocketsphinx", "en")
    fitted = cal.fusion["front_end"]
    default = VoiceConfig()
    assert {k: getattr(default, k) for k in fitted} == fitted
    with caplog.at_level(logging.WARNING, logger="voice.verifier.select"):
        assert build_verifier(default, en_set, cal, device="cpu") is not None
        assert "fitted with" not in caplog.text
        assert build_verifier(VoiceConfig(endpoint_silence_s=0.3), en_set, cal, device="cpu") is not None
    assert "endpoint_silence_s = 0.15" in caplog.text and "endpoint_silence_s = 0.3" in caplog.text


def test_finetune_on_recorded_clips_writes_a_loadable_verifier(en_set, tmp_path):
    """``voice train-verifier --finetune``: a tiny run on rendered clips (one epoch) as a user would start it."""
    import subprocess
    import sys
    from pathlib import Path

    from voice.audio.wavio import float_to_int16, write_wav
    from voice.datagen import ClipSpec, render

    texts = [("freeze", "freeze"), ("show nerve", "show nerve"), ("hide all", "hide all"),
             ("the nerve looks fine", None), ("pass me the gel", None), ("unfreeze", "unfreeze")]
    lines = []
    for k in range(24):
        text, expect = texts[k % len(texts)]
        x, t0, t1 = render(ClipSpec(text=text, expect=expect, voice="en-us", rate_wpm=130 + 5 * k, pitch=30 + 2 * k,
                                    noise="pink", snr_db=20.0, level_dbfs=-24.0, lead_s=0.3, tail_s=0.4, seed=k), None)
        write_wav(tmp_path / f"c{k}.wav", float_to_int16(x))
        lines.append(json.dumps({"audio": f"c{k}.wav", "expect": expect, "speech_start_s": t0, "speech_end_s": t1}))
    (tmp_path / "m.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "tuned"
    r = subprocess.run([sys.executable, "-m", "sonoguide.cli", "voice", "train-verifier", "--lang", "en",
                        "--finetune", str(tmp_path / "m.jsonl"), "--out", str(out), "--epochs", "1"],
                       capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parents[2])
    assert r.returncode == 0, r.stderr
    card = read_card(out)
    assert card["finetuned"]["clips"] == 24 and card["labels"] == read_card(bundled_verifier_dir("en"))["labels"]
    v = IntentVerifier(out, en_set, device="cpu")
    assert v.posteriors(logmel(np.zeros(8000, np.int16) + 1)).shape == (len(card["labels"]),)


def test_an_ensemble_gives_the_normalised_geometric_mean_of_its_members(tmp_path, en_set, voice_data):
    from voice.verifier.ensemble import combine_verifiers

    a, b = _single_model_dir(tmp_path / "a", seed=1), _single_model_dir(tmp_path / "b", seed=2)
    card = combine_verifiers([a, b], tmp_path / "ens", "9.9.9-ensemble", note="test")
    assert [m["file"] for m in card["members"]] == ["member_0.pt", "member_1.pt"]
    assert card["members"][1]["source"] == str(b / "model.pt") and card["version"] == "9.9.9-ensemble"
    va, vb = IntentVerifier(a, en_set, device="cpu"), IntentVerifier(b, en_set, device="cpu")
    ens = IntentVerifier(tmp_path / "ens", en_set, device="cpu")
    assert ens.n_members == 2 and sum(p.numel() for p in ens.net.parameters()) == card["parameters"]
    f = _utterance_feats(voice_data, "en_freeze")
    g = np.sqrt(va.posteriors(f).astype(np.float64) * vb.posteriors(f))
    np.testing.assert_allclose(ens.posteriors(f), g / g.sum(), rtol=1e-4, atol=1e-6)


def test_ensembles_refuse_mismatched_members_and_name_missing_weights(tmp_path, en_set):
    from core.errors import InputError
    from voice.verifier.ensemble import combine_verifiers

    a, b = _single_model_dir(tmp_path / "a", seed=1), _single_model_dir(tmp_path / "b", seed=2)
    with pytest.raises(InputError, match="at least two"):
        combine_verifiers([a], tmp_path / "one", "1")
    card = json.loads((b / "metadata.json").read_text())
    card["labels"] = card["labels"][1:]
    (b / "metadata.json").write_text(json.dumps(card))
    with pytest.raises(InputError, match="differs .* in labels"):
        combine_verifiers([a, b], tmp_path / "bad", "1")
    with pytest.raises(InputError, match="new directory"):
        combine_verifiers([a, _single_model_dir(tmp_path / "c", seed=3)], a, "1")
    c = _single_model_dir(tmp_path / "d", seed=4)
    combine_verifiers([a, c], tmp_path / "ens", "1")
    (tmp_path / "ens" / "member_1.pt").unlink()
    with pytest.raises(ModelError, match=r"member_1\.pt"):
        IntentVerifier(tmp_path / "ens", en_set)
    card = json.loads((tmp_path / "ens" / "metadata.json").read_text())
    card["members"] = [{"weights": "member_0.pt"}]
    (tmp_path / "ens" / "metadata.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="members"):
        IntentVerifier(tmp_path / "ens", en_set)


def test_combine_verifiers_cli_writes_a_loadable_ensemble_and_reports_bad_input(tmp_path, en_set):
    import subprocess
    import sys
    from pathlib import Path

    a, b = _single_model_dir(tmp_path / "a", seed=1), _single_model_dir(tmp_path / "b", seed=2)
    root = Path(__file__).resolve().parents[2]
    cmd = [sys.executable, "-m", "sonoguide.cli", "voice", "combine-verifiers", "--members", str(a), str(b)]
    r = subprocess.run([*cmd, "--out", str(tmp_path / "ens")], capture_output=True, text=True, timeout=120, cwd=root)
    assert r.returncode == 0, r.stderr
    card = read_card(tmp_path / "ens")
    assert card["training"]["command"].startswith("sonoguide voice combine-verifiers --members")
    assert IntentVerifier(tmp_path / "ens", en_set, device="cpu").n_members == 2
    r = subprocess.run([*cmd, "--out", str(tmp_path / "x"), "--validate", str(tmp_path / "nothing")],
                       capture_output=True, text=True, timeout=120, cwd=root)
    assert r.returncode != 0 and r.stderr.startswith("error:") and "shard_" in r.stderr
    assert "Traceback" not in r.stderr
