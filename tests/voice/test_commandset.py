"""Command sets: bundled sets load; malformed sets fail naming the key."""

from __future__ import annotations

import pytest

from core.errors import ConfigError
from voice.commandset import command_set_from_dict, load_command_set, normalise
from voice.intents import INTENTS


def test_bundled_sets_cover_every_intent(en_set, ko_set):
    for cs in (en_set, ko_set):
        assert set(cs.intents) == set(INTENTS)
        assert cs.needs_confirmation("hide all")
        assert not cs.needs_confirmation("freeze")


def test_required_spoken_forms(en_set):
    p2i = en_set.phrase_to_intent()
    for phrase, intent in [("freeze", "freeze"), ("unfreeze", "unfreeze"), ("resume", "unfreeze"),
                           ("live", "unfreeze"), ("show vessels", "show vessel"), ("show artery", "show vessel"),
                           ("take snapshot", "snapshot"), ("capture", "snapshot"), ("record", "start recording"),
                           ("confirm", "confirm"), ("cancel", "cancel")]:
        assert p2i[phrase] == intent
    assert en_set.pronunciations["unfreeze"] == ("AH N F R IY Z",)
    assert "show" not in en_set.garbage_words  # command words never act as garbage


def test_korean_examples(ko_set):
    p2i = ko_set.phrase_to_intent()
    assert p2i["정지"] == "freeze" and p2i["신경 보기"] == "show nerve"


def test_missing_file_names_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_command_set(tmp_path / "nope.toml")


def test_bad_toml(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("lang = \n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_command_set(p)


@pytest.mark.parametrize("data, match", [
    ({"lang": "en", "intents": {"explode": {"phrases": ["boom"]}}}, "not a known intent"),
    ({"lang": "en", "intents": {"freeze": {"phrases": []}}}, "non-empty list"),
    ({"lang": "en", "intents": {"freeze": {"phrases": ["stop"]}, "cancel": {"phrases": ["stop"]}}}, "used by both"),
    ({"lang": "en", "intents": {"freeze": {"phrases": ["freeze"], "confirm": "yes"}}}, "true or false"),
    ({"lang": "en", "intents": {"hide all": {"phrases": ["hide all"], "confirm": True}}}, "no 'confirm' intent"),
    ({"lang": "en", "intents": {"freeze": {"phrases": ["freeze"]}}, "colour": 1}, "unknown key"),
    ({"intents": {"freeze": {"phrases": ["freeze"]}}}, "'lang'"),
])
def test_invalid_sets(data, match):
    with pytest.raises(ConfigError, match=match):
        command_set_from_dict(data, "test.toml")


def test_normalise():
    assert normalise("  Show   Nerve ") == "show nerve"
