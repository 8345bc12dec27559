"""Configuration of the voice front end: the ``[voice]`` section.

Every default lives here (DESIGN.md, "Configuration"). Thresholds that are *calibrated on data*
(per-intent score thresholds, the garbage-model penalty) live in the calibration file named by
:attr:`VoiceConfig.calibration`, written by ``sonoguide voice calibrate``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from core.configtools import is_number, require

DATA_DIR = Path(__file__).resolve().parent / "data"
"""Bundled command sets, calibration files and the demo WAV."""

ENGINE_RATE = 16000
"""Sample rate (Hz) every engine and the VAD work at; sources resample to it."""


def default_model_dir() -> Path:
    """Where ``sonoguide models fetch`` installs speech models and auto selection looks.

    ``$SONOGUIDE_DATA/models`` when set, else ``$XDG_DATA_HOME/sonoguide/models``, else
    ``~/.local/share/sonoguide/models``.
    """
    if os.environ.get("SONOGUIDE_DATA"):
        return Path(os.environ["SONOGUIDE_DATA"]) / "models"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sonoguide" / "models"


@dataclass(frozen=True)
class VoiceConfig:
    """The ``[voice]`` section.

    Attributes:
        enabled: run the voice listener in the guidance loop.
        engine: ``auto`` (an English Vosk model installed -> Vosk, else PocketSphinx; other
            languages -> Vosk), ``vosk`` or ``pocketsphinx``.
        lang: command-set language (``en``, ``ko``).
        command_set: TOML command set; empty: the bundled ``voice/data/commands_<lang>.toml``.
        calibration: JSON calibration file; empty: the bundled one for the engine and language.
        input: ``auto`` (a microphone if one exists; without one, ``sonoguide demo`` alone plays
            the bundled scripted WAV in a loop, any other command runs without voice),
            ``microphone``, ``wav`` or ``zmq`` (16 kHz PCM from the headset).
        wav_path: WAV file for ``input = "wav"``; empty: the bundled demo script (demo only).
        wav_realtime: play the WAV at real-time pace (as a microphone would deliver it).
        wav_loop: start the WAV again at its end.
        zmq_endpoint: where the PULL socket for headset audio binds.
        microphone_device: sounddevice device name or index; empty: the default input.
        vosk_model: explicit Vosk model directory; empty: look in ``model_dir`` (or the bundled
            Korean package for ``ko``).
        model_dir: where fetched models live; empty: :func:`default_model_dir`.
        wake_word: require the command set's wake word before a command (off by default).
        wake_window_s: a wake word alone opens a window of this length for the next command.
        confirm_window_s: how long a ``confirm = true`` intent waits for "confirm".
        cooldown_s: the same intent is not accepted again within this time.
        min_utterance_s: shorter speech segments are rejected (clicks, beeps).
        max_utterance_s: longer speech segments are rejected (conversation).
        max_extra_speech_s: speech in the segment not covered by the command words beyond this
            means the command was embedded in longer speech.
        max_extra_speech_fused_s: the same bound when the learned verifier decides (it is itself
            trained to call commands inside sentences ``none``, so only gross cases are cut here).
        threshold_offset: added to every calibrated score threshold (positive: stricter).
        vad_start_db: a frame this far above the noise floor may start speech.
        vad_stop_db: speech continues while frames stay this far above the noise floor.
        vad_peak_drop_db: ... and no further than this below the utterance's loudest frame.
        vad: ``learned`` (default: the trained GRU frame VAD, robust to monitor beeps and
            background talk) or ``energy`` (the round-1 energy endpointer, with the engine's own
            score: set ``verifier = "off"`` with it). BENCHMARKS.md (voice) compares the two.
        vad_model: the learned VAD file; empty: the bundled ``voice/data/vad.npz``.
        vad_start_prob: learned VAD - speech probability that may start an utterance.
        vad_stop_prob: learned VAD - an utterance continues while the probability stays at or above this.
        verifier: the learned intent verifier fused with the engine (its fusion weights and
            threshold were fitted with ``vad = "learned"`` and the endpointing settings recorded
            in the calibration's ``fusion.front_end``): ``auto`` (default) or empty - the
            bundled ``voice/data/verifier_<lang>`` when it exists, fits the command set and the
            calibration has fusion weights (else the engine's own verification score, with a
            warning); ``bundled`` - the bundled one, and an error when it cannot be used; ``off``
            - the engine's own verification score decides (round 1);
            or a directory written by ``sonoguide voice train-verifier`` (an error when unusable).
        endpoint_silence_s: trailing non-speech that ends an utterance.
        preroll_s: audio kept before the detected start and given to the engine.
        comfort_noise_dbfs: level of a fixed, seeded white noise added before recognition so
            that digital silence (all-zero samples) never reaches the acoustic model, the
            learned VAD or the verifier (the energy endpointer and the published noise level
            see the input as it is); :mod:`voice.audio.comfort`, also used when training.
        audit_log: append-only JSON-lines audit file; empty disables it.
        naive: baseline mode for comparisons - accept whatever the grammar-only recogniser
            returns (no garbage model, no thresholds, no duration or embedding checks).
    """

    enabled: bool = True
    engine: Literal["auto", "vosk", "pocketsphinx"] = "auto"
    lang: str = "en"
    command_set: str = ""
    calibration: str = ""
    input: Literal["auto", "microphone", "wav", "zmq"] = "auto"
    wav_path: str = ""
    wav_realtime: bool = True
    wav_loop: bool = True
    zmq_endpoint: str = "tcp://127.0.0.1:5558"
    microphone_device: str = ""
    vosk_model: str = ""
    model_dir: str = ""
    wake_word: bool = False
    wake_window_s: float = 5.0
    confirm_window_s: float = 5.0
    cooldown_s: float = 1.5
    min_utterance_s: float = 0.2
    max_utterance_s: float = 3.0
    max_extra_speech_s: float = 0.3
    max_extra_speech_fused_s: float = 0.8
    threshold_offset: float = 0.0
    vad_start_db: float = 8.0
    vad_stop_db: float = 4.0
    vad_peak_drop_db: float = 16.0
    vad: Literal["learned", "energy"] = "learned"
    vad_model: str = ""
    vad_start_prob: float = 0.6
    vad_stop_prob: float = 0.6
    verifier: str = "auto"
    endpoint_silence_s: float = 0.15
    preroll_s: float = 0.15
    comfort_noise_dbfs: float = -50.0
    audit_log: str = "runs/voice_audit.jsonl"
    naive: bool = False

    def __post_init__(self) -> None:
        require(bool(self.lang) and self.lang.isascii() and self.lang.isalpha(), "voice.lang",
                "a language code such as 'en' or 'ko'", self.lang)
        require("://" in self.zmq_endpoint, "voice.zmq_endpoint", "a ZeroMQ endpoint like tcp://127.0.0.1:5558",
                self.zmq_endpoint)
        for key, lo, hi in (("wake_window_s", 0.5, 60.0), ("confirm_window_s", 0.5, 60.0), ("cooldown_s", 0.0, 60.0),
                            ("min_utterance_s", 0.0, 5.0), ("max_utterance_s", 0.5, 30.0),
                            ("max_extra_speech_s", 0.0, 10.0), ("max_extra_speech_fused_s", 0.0, 10.0),
                            ("threshold_offset", -100.0, 100.0),
                            ("vad_start_db", 1.0, 40.0), ("vad_stop_db", 0.5, 40.0), ("vad_peak_drop_db", 3.0, 60.0),
                            ("endpoint_silence_s", 0.05, 3.0), ("preroll_s", 0.0, 2.0),
                            ("comfort_noise_dbfs", -120.0, -20.0), ("vad_start_prob", 0.01, 0.99),
                            ("vad_stop_prob", 0.01, 0.99)):
            v = getattr(self, key)
            require(is_number(v) and lo <= v <= hi, f"voice.{key}", f"a number in [{lo}, {hi}]", v)
        require(self.vad in ("learned", "energy"), "voice.vad", "\"learned\" or \"energy\"", self.vad)
        require(isinstance(self.verifier, str), "voice.verifier",
                "\"off\", \"auto\", \"bundled\" or a verifier directory", self.verifier)
        require(self.min_utterance_s < self.max_utterance_s, "voice.min_utterance_s",
                f"less than voice.max_utterance_s ({self.max_utterance_s})", self.min_utterance_s)
        require(self.vad_stop_db <= self.vad_start_db, "voice.vad_stop_db",
                f"at most voice.vad_start_db ({self.vad_start_db})", self.vad_stop_db)
        require(self.vad_stop_prob <= self.vad_start_prob, "voice.vad_stop_prob",
                f"at most voice.vad_start_prob ({self.vad_start_prob})", self.vad_stop_prob)

    # ------------------------------------------------------------------ resolved paths
    def command_set_path(self) -> Path:
        """The command-set file in use (bundled default for :attr:`lang` when empty)."""
        return Path(self.command_set) if self.command_set else DATA_DIR / f"commands_{self.lang}.toml"

    def models_path(self) -> Path:
        """The directory fetched models live in."""
        return Path(self.model_dir).expanduser() if self.model_dir else default_model_dir()

    def vad_model_path(self) -> Path:
        """The learned VAD file in use."""
        return Path(self.vad_model) if self.vad_model else DATA_DIR / "vad.npz"

    def demo_wav_path(self) -> Path:
        """The WAV used for ``input = "wav"`` (the bundled demo script when empty, for the demo only)."""
        return Path(self.wav_path) if self.wav_path else DATA_DIR / "demo_script.wav"
