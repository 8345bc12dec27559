"""Building verifiers: fine-tuning on recorded clips (``voice train-verifier --finetune``) and ensembles
of trained verifiers (``voice combine-verifiers``), each loadable by the live :class:`IntentVerifier`."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.errors import ModelError
from voice.verifier.features import logmel
from voice.verifier.model import IntentVerifier, bundled_verifier_dir, read_card




def test_finetune_on_recorded_clips_writes_a_loadable_verifier(en_set, tmp_path):
    """``voice train-verifier --finetune``: a tiny run on rendered clips (one epoch) as a user would start it."""
    import subprocess
    import sys
    from pathlib import Path

    from research.voice.datagen import ClipSpec, render
    from voice.audio.wavio import float_to_int16, write_wav

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
                       capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parents[3])
    assert r.returncode == 0, r.stderr
    card = read_card(out)
    assert card["finetuned"]["clips"] == 24 and card["labels"] == read_card(bundled_verifier_dir("en"))["labels"]
    v = IntentVerifier(out, en_set, device="cpu")
    assert v.posteriors(logmel(np.zeros(8000, np.int16) + 1)).shape == (len(card["labels"]),)


def test_an_ensemble_gives_the_normalised_geometric_mean_of_its_members(tmp_path, en_set, voice_data, single_model_dir, utterance_feats):
    from research.voice.verifier.ensemble import combine_verifiers

    a, b = single_model_dir(tmp_path / "a", seed=1), single_model_dir(tmp_path / "b", seed=2)
    card = combine_verifiers([a, b], tmp_path / "ens", "9.9.9-ensemble", note="test")
    assert [m["file"] for m in card["members"]] == ["member_0.pt", "member_1.pt"]
    assert card["members"][1]["source"] == str(b / "model.pt") and card["version"] == "9.9.9-ensemble"
    va, vb = IntentVerifier(a, en_set, device="cpu"), IntentVerifier(b, en_set, device="cpu")
    ens = IntentVerifier(tmp_path / "ens", en_set, device="cpu")
    assert ens.n_members == 2 and sum(p.numel() for p in ens.net.parameters()) == card["parameters"]
    f = utterance_feats("en_freeze")
    g = np.sqrt(va.posteriors(f).astype(np.float64) * vb.posteriors(f))
    np.testing.assert_allclose(ens.posteriors(f), g / g.sum(), rtol=1e-4, atol=1e-6)


def test_ensembles_refuse_mismatched_members_and_name_missing_weights(tmp_path, en_set, single_model_dir):
    from core.errors import InputError
    from research.voice.verifier.ensemble import combine_verifiers

    a, b = single_model_dir(tmp_path / "a", seed=1), single_model_dir(tmp_path / "b", seed=2)
    with pytest.raises(InputError, match="at least two"):
        combine_verifiers([a], tmp_path / "one", "1")
    card = json.loads((b / "metadata.json").read_text())
    card["labels"] = card["labels"][1:]
    (b / "metadata.json").write_text(json.dumps(card))
    with pytest.raises(InputError, match="differs .* in labels"):
        combine_verifiers([a, b], tmp_path / "bad", "1")
    with pytest.raises(InputError, match="new directory"):
        combine_verifiers([a, single_model_dir(tmp_path / "c", seed=3)], a, "1")
    c = single_model_dir(tmp_path / "d", seed=4)
    combine_verifiers([a, c], tmp_path / "ens", "1")
    (tmp_path / "ens" / "member_1.pt").unlink()
    with pytest.raises(ModelError, match=r"member_1\.pt"):
        IntentVerifier(tmp_path / "ens", en_set)
    card = json.loads((tmp_path / "ens" / "metadata.json").read_text())
    card["members"] = [{"weights": "member_0.pt"}]
    (tmp_path / "ens" / "metadata.json").write_text(json.dumps(card))
    with pytest.raises(ModelError, match="members"):
        IntentVerifier(tmp_path / "ens", en_set)


def test_combine_verifiers_cli_writes_a_loadable_ensemble_and_reports_bad_input(tmp_path, en_set, single_model_dir):
    import subprocess
    import sys
    from pathlib import Path

    a, b = single_model_dir(tmp_path / "a", seed=1), single_model_dir(tmp_path / "b", seed=2)
    root = Path(__file__).resolve().parents[3]
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
