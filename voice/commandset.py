"""Command sets: the spoken phrases of each intent, per language, read from TOML.

A command set file looks like::

    lang = "en"
    wake_word = "sonoguide"          # used only when voice.defence.wake_word = true
    [intents.freeze]
    phrases = ["freeze", "freeze image"]
    [intents."hide all"]
    phrases = ["hide all"]
    confirm = true                   # ask, and execute only on "confirm" within the window
    [pronunciations]                 # PocketSphinx: extra ARPABET pronunciations per word
    unfreeze = ["AH N F R IY Z"]
    [garbage]                        # Vosk: in-vocabulary filler words that absorb other speech
    words = ["the", "a"]

Every intent name must be one of :data:`voice.intents.INTENTS`; every intent needs phrases.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from core.errors import ConfigError
from voice.intents import INTENTS


@dataclass(frozen=True)
class IntentSpec:
    """The phrases of one intent and whether it needs confirmation."""

    name: str
    phrases: tuple[str, ...]
    confirm: bool = False


@dataclass(frozen=True)
class CommandSet:
    """A validated command set.

    Attributes:
        lang: language code.
        intents: intent name -> spec, for every intent the set defines.
        wake_word: phrase that must precede a command when wake-word mode is on ("" = none).
        pronunciations: word -> extra phone strings (PocketSphinx dictionary additions).
        garbage_words: filler vocabulary for engines without a built-in garbage model.
        source: the file it came from.
    """

    lang: str
    intents: Mapping[str, IntentSpec]
    wake_word: str = ""
    pronunciations: Mapping[str, tuple[str, ...]] = None  # type: ignore[assignment]
    garbage_words: tuple[str, ...] = ()
    source: str = ""

    def phrase_to_intent(self) -> dict[str, str]:
        """Every normalised phrase -> its intent."""
        return {normalise(p): spec.name for spec in self.intents.values() for p in spec.phrases}

    def phrases(self) -> tuple[str, ...]:
        """All normalised phrases, sorted (deterministic grammar order)."""
        return tuple(sorted(self.phrase_to_intent()))

    def words(self) -> tuple[str, ...]:
        """Every word used by a phrase or the wake word, sorted."""
        ws = {w for p in self.phrases() for w in p.split()}
        ws.update(normalise(self.wake_word).split())
        return tuple(sorted(ws))

    def needs_confirmation(self, intent: str) -> bool:
        """True when ``intent`` has ``confirm = true``."""
        spec = self.intents.get(intent)
        return bool(spec and spec.confirm)


def normalise(text: str) -> str:
    """Lower-case, collapse whitespace (phrases and recogniser output compare in this form)."""
    return " ".join(text.lower().split())


def bundled_command_set_path(lang: str) -> Path:
    """Path of the bundled command set for ``lang``."""
    return Path(__file__).resolve().parent / "data" / f"commands_{lang}.toml"


def load_command_set(path: str | Path) -> CommandSet:
    """Read and validate a command set TOML file.

    Raises:
        ConfigError: missing file, bad TOML, unknown intent, empty phrases, a phrase used by
            two intents; the message names the file and the key.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"command set {p} not found - set voice.command_set to an existing TOML file "
                          f"or voice.lang to a bundled language (en, ko)")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"command set {p} is not valid TOML: {exc}") from None
    return command_set_from_dict(data, source=str(p))


def command_set_from_dict(data: dict, source: str = "<dict>") -> CommandSet:
    """Validate a parsed command-set table (see :func:`load_command_set`)."""
    allowed = {"lang", "name", "wake_word", "intents", "pronunciations", "garbage"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"{source}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}")
    lang = data.get("lang")
    if not isinstance(lang, str) or not lang:
        raise ConfigError(f"{source}: 'lang' must be a language code such as \"en\"")
    raw = data.get("intents")
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{source}: needs an [intents.<name>] table per intent")
    intents: dict[str, IntentSpec] = {}
    seen: dict[str, str] = {}
    for name, tab in raw.items():
        if name not in INTENTS:
            raise ConfigError(f"{source}: intents.{name!r} is not a known intent; known: {', '.join(INTENTS)}")
        if not isinstance(tab, dict) or set(tab) - {"phrases", "confirm"}:
            raise ConfigError(f"{source}: intents.{name!r} allows only 'phrases' and 'confirm'")
        phrases = tab.get("phrases")
        if (not isinstance(phrases, list) or not phrases
                or not all(isinstance(x, str) and normalise(x) for x in phrases)):
            raise ConfigError(f"{source}: intents.{name!r}.phrases must be a non-empty list of strings")
        confirm = tab.get("confirm", False)
        if not isinstance(confirm, bool):
            raise ConfigError(f"{source}: intents.{name!r}.confirm must be true or false")
        for ph in phrases:
            n = normalise(ph)
            if n in seen and seen[n] != name:
                raise ConfigError(f"{source}: phrase {ph!r} is used by both {seen[n]!r} and {name!r}")
            seen[n] = name
        intents[name] = IntentSpec(name=name, phrases=tuple(normalise(x) for x in phrases), confirm=confirm)
    if "confirm" not in intents and any(s.confirm for s in intents.values()):
        raise ConfigError(f"{source}: an intent has confirm = true but the set has no 'confirm' intent to say")
    wake = data.get("wake_word", "")
    if not isinstance(wake, str):
        raise ConfigError(f"{source}: 'wake_word' must be a string")
    pron_raw = data.get("pronunciations", {})
    if not isinstance(pron_raw, dict):
        raise ConfigError(f"{source}: [pronunciations] must be a table of word = [\"PH ON ES\", ...]")
    pron: dict[str, tuple[str, ...]] = {}
    for w, v in pron_raw.items():
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(x, str) and x.split() for x in v):
            raise ConfigError(f"{source}: pronunciations.{w} must be a list of phone strings")
        pron[normalise(w)] = tuple(" ".join(x.split()) for x in v)
    garbage = data.get("garbage", {})
    if not isinstance(garbage, dict) or set(garbage) - {"words"}:
        raise ConfigError(f"{source}: [garbage] allows only 'words'")
    gw = garbage.get("words", [])
    if not isinstance(gw, list) or not all(isinstance(x, str) for x in gw):
        raise ConfigError(f"{source}: garbage.words must be a list of strings")
    command_words = {w for s in intents.values() for p in s.phrases for w in p.split()}
    gwords = tuple(sorted({normalise(x) for x in gw if normalise(x) and normalise(x) not in command_words}))
    return CommandSet(lang=lang, intents=intents, wake_word=normalise(wake), pronunciations=pron,
                      garbage_words=gwords, source=source)
