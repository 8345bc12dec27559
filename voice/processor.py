"""From PCM blocks to voice decisions: endpointing, streaming decoding, defence, confirmation.

:class:`UtteranceProcessor` is the single-threaded core shared by the live listener and the
evaluation, so what is measured is what runs. Feed it int16 blocks stamped with the host time
of their first sample; it returns the :class:`~voice.events.VoiceEvent` s they complete.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from voice.audio.vad import FLOOR_DBFS, FRAME, Endpointer, VadKind, frame_dbfs
from voice.calibration import Calibration
from voice.commandset import CommandSet
from voice.config import ENGINE_RATE, VoiceConfig
from voice.confirm import ConfirmationGate, GateAction
from voice.defence import Defence, Verdict
from voice.engines.base import Recognition
from voice.events import Decision, VoiceEvent

log = logging.getLogger(__name__)

NS_PER_SAMPLE = 1e9 / ENGINE_RATE
TAIL_FRAMES = 12
"""Quiet 10 ms frames after the last speech frame that still go to the engine (word endings)."""


@dataclass(frozen=True)
class UtteranceResult:
    """One finished utterance, for evaluation and calibration."""

    verdict: Verdict
    t_start_ns: int
    t_end_ns: int
    speech_s: float
    cpu_s: float
    forced: bool


class UtteranceProcessor:
    """Endpointer + engine + defence + confirmation gate.

    Args:
        config: the ``[voice]`` section.
        command_set: phrases and confirm flags.
        engine: a streaming :class:`~voice.engines.base.Engine`.
        calibration: thresholds for the engine.
        gate: a shared :class:`ConfirmationGate` (the command processor's); a private one
            when ``None``.
        clock: host time source (``time.time_ns``); the evaluation injects a simulated clock.
        on_utterance: called with each :class:`UtteranceResult` (evaluation hook).
    """

    def __init__(self, config: VoiceConfig, command_set: CommandSet, engine, calibration: Calibration,
                 gate: ConfirmationGate | None = None, clock: Callable[[], int] = time.time_ns,
                 on_utterance: Callable[[UtteranceResult], None] | None = None) -> None:
        self.config = config
        self.engine = engine
        self.defence = Defence(config, command_set, calibration)
        self.gate = gate or ConfirmationGate(command_set, config.confirm_window_s)
        self.clock = clock
        self.on_utterance = on_utterance
        self.vad = Endpointer(config.vad_start_db, config.vad_stop_db, config.endpoint_silence_s,
                              config.preroll_s, config.max_utterance_s + 0.5, peak_drop_db=config.vad_peak_drop_db)
        amp = 10.0 ** (config.comfort_noise_dbfs / 20.0) * 32768.0
        self._comfort = (np.random.default_rng(12345).standard_normal(ENGINE_RATE) * amp).astype(np.float32)
        self._comfort_pos = 0
        self._pending = np.zeros(0, dtype=np.int16)
        self._t_pending_ns = 0
        self._utt_start_ns = 0
        self._held: list[np.ndarray] = []
        self._utt_audio: list[np.ndarray] = []
        self.cpu_s = 0.0
        """Decoding CPU time so far (engine thread time)."""
        self.audio_s = 0.0
        """Audio processed so far."""

    @property
    def noise_dbfs(self) -> float:
        """Running noise-floor estimate (dBFS); -96 before any audio."""
        return -96.0 if self.vad.noise_dbfs is None else float(self.vad.noise_dbfs)

    def reset(self) -> None:
        """Start afresh: no utterance in progress, cooldowns and pending confirmations dropped."""
        self.vad.reset()
        self.defence.reset()
        self.gate.reset()
        self._pending = np.zeros(0, dtype=np.int16)
        if self.engine is not None:
            self.engine.start_utterance()

    def _to_engine(self, frames) -> None:
        self._utt_audio.extend(frames)
        block = np.concatenate(frames).astype(np.float32)
        n = len(block)
        idx = (self._comfort_pos + np.arange(n)) % len(self._comfort)
        self._comfort_pos = (self._comfort_pos + n) % len(self._comfort)
        block = np.clip(block + self._comfort[idx], -32768, 32767).astype(np.int16)
        self.engine.feed(block)

    def feed(self, pcm: np.ndarray, t_first_ns: int) -> list[VoiceEvent]:
        """Process int16 samples whose first sample was captured at ``t_first_ns``."""
        pcm = np.asarray(pcm, dtype=np.int16).ravel()
        if len(self._pending) == 0:
            self._t_pending_ns = t_first_ns
        buf = np.concatenate([self._pending, pcm]) if len(self._pending) else pcm
        n_frames = len(buf) // FRAME
        events: list[VoiceEvent] = []
        speech_block: list[np.ndarray] = []
        for i in range(n_frames):
            frame = buf[i * FRAME:(i + 1) * FRAME]
            t_frame_end = int(self._t_pending_ns + (i + 1) * FRAME * NS_PER_SAMPLE)
            ev = self.vad.push(frame)
            if ev.kind is VadKind.START:
                self._utt_start_ns = int(t_frame_end - len(ev.frames) * FRAME * NS_PER_SAMPLE)
                self.engine.start_utterance()
                self._utt_audio = []
                speech_block = list(ev.frames)
                self._held = []
            elif ev.kind is VadKind.SPEECH:
                # quiet frames are held back until speech resumes, so the engine never decodes
                # the endpointing silence (it would read noise there as garbage phones)
                if ev.loud:
                    speech_block += self._held
                    self._held = []
                    speech_block.append(frame)
                else:
                    self._held.append(frame)
                if len(speech_block) >= 10:  # stream 100 ms at a time
                    self._to_engine(speech_block)
                    speech_block = []
            elif ev.kind is VadKind.END:
                speech_block += self._held[:TAIL_FRAMES]
                self._held = []
                if speech_block:
                    self._to_engine(speech_block)
                speech_block = []
                t_speech_end = int(t_frame_end - (ev.trailing_frames) * FRAME * NS_PER_SAMPLE)
                events += self._finish(ev.speech_frames / 100.0, t_speech_end, ev.forced)
        if speech_block:
            self._to_engine(speech_block)
        self._pending = buf[n_frames * FRAME:].copy()
        self._t_pending_ns = int(self._t_pending_ns + n_frames * FRAME * NS_PER_SAMPLE)
        self.audio_s += len(pcm) / ENGINE_RATE
        events += self.tick(self.clock())
        return events

    def flush(self) -> list[VoiceEvent]:
        """End of stream: finish an utterance still open."""
        if not self.vad.in_speech:
            return []
        self.vad.reset()
        t = self.clock()
        return self._finish(0.0, t, True)

    def tick(self, t_ns: int) -> list[VoiceEvent]:
        """Report a confirmation window that closed by ``t_ns``."""
        r = self.gate.poll(t_ns)
        if r is None:
            return []
        return [self._event(t_ns, "", 0.0, r.intent, Decision.EXPIRED, "not confirmed in time")]

    def _event(self, t_end_ns: int, text: str, conf: float, intent: str | None, decision: Decision,
               reason: str) -> VoiceEvent:
        return VoiceEvent(t_end_ns=int(t_end_ns), t_event_ns=int(self.clock()), text=text, confidence=conf,
                          intent=intent, decision=decision, reason=reason, engine=self.engine.name,
                          noise_dbfs=self.noise_dbfs)

    def _levels(self, rec: Recognition) -> Recognition:
        """Attach each word's mean level (dBFS) from the audio the engine decoded."""
        if not rec.words or not self._utt_audio:
            return rec
        audio = np.concatenate(self._utt_audio)
        words = []
        for w in rec.words:
            a, b = int(w.start_s * ENGINE_RATE), int(w.end_s * ENGINE_RATE)
            seg = audio[a:max(b, a + 1)]
            words.append(dataclasses.replace(w, level_dbfs=frame_dbfs(seg) if len(seg) else FLOOR_DBFS))
        return dataclasses.replace(rec, words=tuple(words))

    def _finish(self, speech_s: float, t_speech_end_ns: int, forced: bool) -> list[VoiceEvent]:
        rec = self._levels(self.engine.end_utterance())
        self._utt_audio = []
        self.cpu_s += rec.cpu_s
        if forced and speech_s == 0.0:
            speech_s = (t_speech_end_ns - self._utt_start_ns) / 1e9
        v = self.defence.judge(rec, speech_s, t_speech_end_ns, self.noise_dbfs)
        if self.on_utterance is not None:
            self.on_utterance(UtteranceResult(v, self._utt_start_ns, t_speech_end_ns, speech_s, rec.cpu_s, forced))
        log.debug("utterance %.2fs %s score=%.3f -> %s %s", speech_s, [(w.word, w.start_s, w.end_s) for w in rec.words], v.score, v.intent,
                  v.reason or "passed")
        if v.wake_only:
            return [self._event(t_speech_end_ns, v.text, 0.0, None, Decision.REJECTED, "wake word heard")]
        if not v.passed:
            return [self._event(t_speech_end_ns, v.text, v.confidence, v.intent, Decision.REJECTED, v.reason)]
        g = self.gate.submit(v.intent, t_speech_end_ns)
        if g.action is GateAction.EXECUTE:
            return [self._event(t_speech_end_ns, v.text, v.confidence, v.intent, Decision.ACCEPTED, "")]
        if g.action is GateAction.AWAIT:
            return [self._event(t_speech_end_ns, v.text, v.confidence, v.intent, Decision.AWAITING_CONFIRMATION,
                                "say confirm")]
        if g.action is GateAction.CONFIRMED:
            return [self._event(t_speech_end_ns, v.text, v.confidence, g.intent, Decision.CONFIRMED, "")]
        if g.action is GateAction.CANCELLED:
            return [self._event(t_speech_end_ns, v.text, v.confidence, g.intent, Decision.CANCELLED, "")]
        return [self._event(t_speech_end_ns, v.text, v.confidence, v.intent, Decision.REJECTED,
                            "nothing to " + (v.intent or "confirm"))]
