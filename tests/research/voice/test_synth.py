"""Training-set shards of the verifier and the VAD: what recognition hears, and stale shards."""

from __future__ import annotations

import json

import numpy as np

from research.voice.verifier.synth import GENERATOR_VERSION, TrainSetConfig, chatter_fragment, synthesize_shard


def test_clean_items_carry_the_comfort_noise_and_the_shard_names_its_generator(en_set, tmp_path):
    p = synthesize_shard(en_set, TrainSetConfig(items=4, shard_size=4, p_clean=1.0, p_noise_only=0.0), 0, tmp_path)
    with np.load(p) as z:
        assert str(z["generator"]) == GENERATOR_VERSION
        feats = z["feats"].astype(np.float32)
        meta = json.loads(str(z["meta"]))
    assert [m["noise"] for m in meta] == ["clean"] * 4
    # without the comfort noise the lead-in of a clean item sits at the front end's -100 dB floor
    assert feats.min() > -80.0


def test_a_shard_of_another_generator_version_is_synthesised_again(en_set, tmp_path):
    cfg = TrainSetConfig(items=2, shard_size=2)
    old = tmp_path / "shard_000.npz"
    np.savez(old, feats=np.zeros((1, 40), np.float16), vad=np.zeros(1, np.uint8), lengths=np.array([1]),
             meta=np.array(json.dumps([{"label": "none"}])))  # voice-train/1 shards had no generator key
    p = synthesize_shard(en_set, cfg, 0, tmp_path)
    with np.load(p) as z:
        assert str(z["generator"]) == GENERATOR_VERSION and len(z["lengths"]) == 2
    mtime = p.stat().st_mtime_ns
    assert synthesize_shard(en_set, cfg, 0, tmp_path).stat().st_mtime_ns == mtime  # current shards are reused


def test_a_shard_made_with_another_mixture_is_synthesised_again(en_set, tmp_path):
    p = synthesize_shard(en_set, TrainSetConfig(items=2, shard_size=2, snr_db=(0.0, 30.0)), 0, tmp_path)
    mtime = p.stat().st_mtime_ns
    assert synthesize_shard(en_set, TrainSetConfig(items=4, shard_size=2, snr_db=(0.0, 30.0)), 0,
                            tmp_path).stat().st_mtime_ns == mtime  # the total does not change shard 0
    p = synthesize_shard(en_set, TrainSetConfig(items=2, shard_size=2, snr_db=(0.0, 10.0)), 0, tmp_path)
    with np.load(p) as z:
        snrs = [m["snr_db"] for m in json.loads(str(z["meta"]))]
    assert p.stat().st_mtime_ns != mtime
    assert all(s is None or s <= 10.0 for s in snrs)
    # a last shard cut short by the total is made again, whole, when the total grows
    p = synthesize_shard(en_set, TrainSetConfig(items=3, shard_size=2), 1, tmp_path)
    p = synthesize_shard(en_set, TrainSetConfig(items=4, shard_size=2), 1, tmp_path)
    with np.load(p) as z:
        assert [m["i"] for m in json.loads(str(z["meta"]))] == [2, 3]


def test_chatter_fragments_are_short_pieces_without_command_words():
    rng = np.random.default_rng(3)
    words = frozenset({"freeze", "show", "nerve"})
    sentence = "please show the nerve to the new trainee"
    pieces = [chatter_fragment(sentence, words, rng) for _ in range(200)]
    made = [p for p in pieces if p is not None]
    assert len(made) > 100
    for p in made:
        assert 1 <= len(p.split()) <= 3 and p in sentence and not words.intersection(p.split())
    assert chatter_fragment("freeze", words, rng) is None  # one word: nothing to cut
    assert chatter_fragment("show nerve", words, rng) is None  # every word is a command word


def test_noise_kinds_follow_their_weights_and_bad_mixtures_are_refused(en_set, tmp_path):
    import pytest

    from research.voice.verifier.synth import NOISE_KINDS_TRAIN

    only_babble = tuple(1.0 if k == "babble" else 0.0 for k in NOISE_KINDS_TRAIN)
    cfg = TrainSetConfig(items=6, shard_size=6, p_clean=0.0, noise_weights=only_babble, babble_talkers=(2, 2))
    with np.load(synthesize_shard(en_set, cfg, 0, tmp_path)) as z:
        meta = json.loads(str(z["meta"]))
    assert {m["noise"] for m in meta} == {"babble"}
    with pytest.raises(ValueError, match="noise_weights"):
        TrainSetConfig(noise_weights=(1.0, 1.0))
    with pytest.raises(ValueError, match="noise_weights"):
        TrainSetConfig(noise_weights=(0.0,) * len(NOISE_KINDS_TRAIN))
    with pytest.raises(ValueError, match="babble_talkers"):
        TrainSetConfig(babble_talkers=(4, 2))
