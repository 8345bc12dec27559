"""Configuration of the voice front end: the ``[voice]`` section.

``[voice]`` holds what every stage shares (on/off, language, command set, confirmation window,
audit log); one table per stage holds the rest: ``[voice.input]`` (the audio source,
:mod:`voice.audio.sources`), ``[voice.engine]`` (the recogniser, :mod:`voice.engines.select`),
``[voice.vad]`` (the endpointer, :class:`~voice.processor.UtteranceProcessor`) and
``[voice.defence]`` (what a recognised command must pass, :class:`~voice.defence.Defence`).

Every default lives here (DESIGN.md, "Configuration"); each field declares its allowed values
(:class:`~core.configtools.Section`). Thresholds that are *calibrated on data* (per-intent score
thresholds, the garbage-model penalty) live in the calibration file named by
:attr:`VoiceDefenceConfig.calibration`, written by ``sonoguide voice calibrate``. The flat keys
of the previous release (``vad_start_db`` directly in ``[voice]``) are still read, with a
deprecation line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from core.configtools import Section, bounds, check, formerly, require

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
class VoiceInputConfig(Section, key="voice.input"):
    """Where the audio comes from (``[voice.input]``).

    Attributes:
        source: ``auto`` (a microphone if one exists; without one, ``sonoguide demo`` alone plays
            the bundled scripted WAV in a loop, any other command runs without voice),
            ``microphone``, ``wav`` or ``zmq`` (16 kHz PCM from the headset); ``voice.input``
            before the nesting.
        wav_path: WAV file for ``source = "wav"``; empty: the bundled demo script (demo only).
        wav_realtime: play the WAV at real-time pace (as a microphone would deliver it).
        wav_loop: start the WAV again at its end.
        zmq_endpoint: where the PULL socket for headset audio binds.
        microphone_device: sounddevice device name or index; empty: the default input.
        comfort_noise_dbfs: level of a fixed, seeded white noise added before recognition so
            that digital silence (all-zero samples) never reaches the acoustic model, the
            learned VAD or the verifier (the energy endpointer and the published noise level
            see the input as it is); :mod:`voice.audio.comfort`, also used when training.
    """

    source: Literal["auto", "microphone", "wav", "zmq"] = field(default="auto", metadata=formerly("input"))
    wav_path: str = ""
    wav_realtime: bool = True
    wav_loop: bool = True
    zmq_endpoint: str = field(default="tcp://127.0.0.1:5558", metadata=check(
        lambda v: "://" in v, "a ZeroMQ endpoint like tcp://127.0.0.1:5558"))
    microphone_device: str = ""
    comfort_noise_dbfs: float = field(default=-50.0, metadata=bounds(-120.0, -20.0))

    def demo_wav_path(self) -> Path:
        """The WAV used for ``source = "wav"`` (the bundled demo script when empty, for the demo only)."""
        return Path(self.wav_path) if self.wav_path else DATA_DIR / "demo_script.wav"


@dataclass(frozen=True)
class VoiceEngineConfig(Section, key="voice.engine"):
    """The speech recogniser (``[voice.engine]``).

    Attributes:
        name: ``auto`` (an English Vosk model installed -> Vosk, else PocketSphinx; other
            languages -> Vosk), ``vosk`` or ``pocketsphinx`` (``voice.engine`` before the nesting).
        vosk_model: explicit Vosk model directory; empty: look in ``model_dir`` (or the bundled
            Korean package for ``ko``).
        model_dir: where fetched models live; empty: :func:`default_model_dir`.
    """

    name: Literal["auto", "vosk", "pocketsphinx"] = field(default="auto", metadata=formerly("engine"))
    vosk_model: str = ""
    model_dir: str = ""

    def models_path(self) -> Path:
        """The directory fetched models live in."""
        return Path(self.model_dir).expanduser() if self.model_dir else default_model_dir()


@dataclass(frozen=True)
class VoiceVadConfig(Section, key="voice.vad"):
    """The endpointer that cuts the audio into utterances (``[voice.vad]``; each key but the
    last two was ``vad_<key>`` before the nesting, and ``kind`` was ``vad``).

    Attributes:
        kind: ``learned`` (default: the trained GRU frame VAD, robust to monitor beeps and
            background talk) or ``energy`` (the round-1 energy endpointer, with the engine's own
            score: set ``voice.defence.verifier = "off"`` with it). BENCHMARKS.md (voice)
            compares the two.
        model: the learned VAD file; empty: the bundled ``voice/data/vad.npz``.
        start_db: energy VAD - a frame this far above the noise floor may start speech.
        stop_db: energy VAD - speech continues while frames stay this far above the noise floor.
        peak_drop_db: ... and no further than this below the utterance's loudest frame.
        start_prob: learned VAD - speech probability that may start an utterance.
        stop_prob: learned VAD - an utterance continues while the probability stays at or above this.
        endpoint_silence_s: trailing non-speech that ends an utterance.
        preroll_s: audio kept before the detected start and given to the engine.
    """

    kind: Literal["learned", "energy"] = field(default="learned", metadata=formerly("vad"))
    model: str = field(default="", metadata=formerly("vad_model"))
    start_db: float = field(default=8.0, metadata=bounds(1.0, 40.0) | formerly("vad_start_db"))
    stop_db: float = field(default=4.0, metadata=bounds(0.5, 40.0) | formerly("vad_stop_db"))
    peak_drop_db: float = field(default=16.0, metadata=bounds(3.0, 60.0) | formerly("vad_peak_drop_db"))
    start_prob: float = field(default=0.6, metadata=bounds(0.01, 0.99) | formerly("vad_start_prob"))
    stop_prob: float = field(default=0.6, metadata=bounds(0.01, 0.99) | formerly("vad_stop_prob"))
    endpoint_silence_s: float = field(default=0.15, metadata=bounds(0.05, 3.0))
    preroll_s: float = field(default=0.15, metadata=bounds(0.0, 2.0))

    def cross_check(self) -> None:
        key = self.section_key
        require(self.stop_db <= self.start_db, f"{key}.stop_db", f"at most {key}.start_db ({self.start_db})",
                self.stop_db)
        require(self.stop_prob <= self.start_prob, f"{key}.stop_prob",
                f"at most {key}.start_prob ({self.start_prob})", self.stop_prob)

    def model_path(self) -> Path:
        """The learned VAD file in use."""
        return Path(self.model) if self.model else DATA_DIR / "vad.npz"


@dataclass(frozen=True)
class VoiceDefenceConfig(Section, key="voice.defence"):
    """What a recognised command must pass before it counts (``[voice.defence]``).

    Attributes:
        calibration: JSON calibration file; empty: the bundled one for the engine and language.
        verifier: the learned intent verifier fused with the engine (its fusion weights and
            threshold were fitted with ``vad.kind = "learned"`` and the endpointing settings
            recorded in the calibration's ``fusion.front_end``): ``auto`` (default) or empty - the
            bundled ``voice/data/verifier_<lang>`` when it exists, fits the command set and the
            calibration has fusion weights (else the engine's own verification score, with a
            warning); ``bundled`` - the bundled one, and an error when it cannot be used; ``off``
            - the engine's own verification score decides (round 1);
            or a directory written by ``sonoguide voice train-verifier`` (an error when unusable).
        threshold_offset: added to every calibrated score threshold (positive: stricter).
        min_utterance_s: shorter speech segments are rejected (clicks, beeps).
        max_utterance_s: longer speech segments are rejected (conversation).
        max_extra_speech_s: speech in the segment not covered by the command words beyond this
            means the command was embedded in longer speech.
        max_extra_speech_fused_s: the same bound when the learned verifier decides (it is itself
            trained to call commands inside sentences ``none``, so only gross cases are cut here).
        cooldown_s: the same intent is not accepted again within this time.
        wake_word: require the command set's wake word before a command (off by default).
        wake_window_s: a wake word alone opens a window of this length for the next command.
        naive: baseline mode for comparisons - accept whatever the grammar-only recogniser
            returns (no garbage model, no thresholds, no duration or embedding checks).
    """

    calibration: str = ""
    verifier: str = "auto"
    threshold_offset: float = field(default=0.0, metadata=bounds(-100.0, 100.0))
    min_utterance_s: float = field(default=0.2, metadata=bounds(0.0, 5.0))
    max_utterance_s: float = field(default=3.0, metadata=bounds(0.5, 30.0))
    max_extra_speech_s: float = field(default=0.3, metadata=bounds(0.0, 10.0))
    max_extra_speech_fused_s: float = field(default=0.8, metadata=bounds(0.0, 10.0))
    cooldown_s: float = field(default=1.5, metadata=bounds(0.0, 60.0))
    wake_word: bool = False
    wake_window_s: float = field(default=5.0, metadata=bounds(0.5, 60.0))
    naive: bool = False

    def cross_check(self) -> None:
        require(self.min_utterance_s < self.max_utterance_s, f"{self.section_key}.min_utterance_s",
                f"less than {self.section_key}.max_utterance_s ({self.max_utterance_s})", self.min_utterance_s)


@dataclass(frozen=True)
class VoiceConfig(Section, key="voice"):
    """The ``[voice]`` section: what the stages share, and one sub-section per stage.

    Attributes:
        enabled: run the voice listener in the guidance loop.
        lang: command-set language (``en``, ``ko``).
        command_set: TOML command set; empty: the bundled ``voice/data/commands_<lang>.toml``.
        confirm_window_s: how long a ``confirm = true`` intent waits for "confirm".
        audit_log: append-only JSON-lines audit file; empty disables it.
        input: the audio source (:class:`VoiceInputConfig`).
        engine: the recogniser (:class:`VoiceEngineConfig`).
        vad: the endpointer (:class:`VoiceVadConfig`).
        defence: the checks a command must pass (:class:`VoiceDefenceConfig`).
    """

    enabled: bool = True
    lang: str = field(default="en", metadata=check(lambda v: bool(v) and v.isascii() and v.isalpha(),
                                                   "a language code such as 'en' or 'ko'"))
    command_set: str = ""
    confirm_window_s: float = field(default=5.0, metadata=bounds(0.5, 60.0))
    audit_log: str = "runs/voice_audit.jsonl"
    input: VoiceInputConfig = field(default_factory=VoiceInputConfig)
    engine: VoiceEngineConfig = field(default_factory=VoiceEngineConfig)
    vad: VoiceVadConfig = field(default_factory=VoiceVadConfig)
    defence: VoiceDefenceConfig = field(default_factory=VoiceDefenceConfig)

    def command_set_path(self) -> Path:
        """The command-set file in use (bundled default for :attr:`lang` when empty)."""
        return Path(self.command_set) if self.command_set else DATA_DIR / f"commands_{self.lang}.toml"
