"""From PCM blocks to voice decisions: endpointing, decoding, verification, defence, confirmation.

:class:`UtteranceProcessor` is the single-threaded core shared by the live listener and the
evaluation, so what is measured is what runs. Feed it int16 blocks stamped with the host time
of their first sample; it returns the :class:`~voice.events.VoiceEvent` s they complete.

Every 10 ms frame goes through the log-mel front end (:mod:`voice.verifier.features`; only
when the learned VAD or the verifier uses it) and the endpointer (the learned VAD, :mod:`voice.audio.learned_vad`, or the energy one). For a *batch*
engine (PocketSphinx decodes a whole utterance with per-utterance CMN) the analysis - decoding
plus the verifier's posteriors - is started speculatively after :data:`SPEC_TAIL` quiet frames,
while the endpointer still waits for ``endpoint_silence_s`` to pass; if speech resumes the
speculative result is dropped, otherwise it is used at the endpoint, so decoding time hides
inside the endpointing silence instead of adding to the latency. Streaming engines (Vosk) decode
as audio arrives and only finalise at the endpoint.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from core.clock import now_ns
from voice.audio.comfort import ComfortNoise
from voice.audio.vad import FLOOR_DBFS, FRAME, Endpointer, VadKind, frame_dbfs
from voice.commandset import CommandSet
from voice.config import ENGINE_RATE, VoiceConfig
from voice.confirm import ConfirmationGate, apply_gate
from voice.defence import Defence, Verdict
from voice.engines.base import Recognition
from voice.events import Decision, VoiceEvent
from voice.score_thresholds import Calibration
from voice.verifier.features import StreamingLogMel

log = logging.getLogger(__name__)

NS_PER_SAMPLE = 1e9 / ENGINE_RATE
TAIL_FRAMES = 12
"""Streaming engines: quiet 10 ms frames after the last speech frame that still go to the engine."""
SPEC_TAIL = 8
"""Batch engines: quiet frames after the last speech frame that are analysed (and after which the
speculative analysis starts)."""


@dataclass(frozen=True)
class UtteranceResult:
    """One finished utterance, for evaluation and calibration."""

    verdict: Verdict
    t_start_ns: int
    t_end_ns: int
    speech_s: float
    cpu_s: float
    forced: bool


@dataclass(frozen=True)
class _Analysis:
    rec: Recognition
    post: np.ndarray | None
    cpu_s: float


class UtteranceProcessor:
    """Front end + endpointer + engine + verifier + defence + confirmation gate.

    Args:
        config: the ``[voice]`` section.
        command_set: phrases and confirm flags.
        engine: a :class:`~voice.engines.base.Engine` (``batch = True``: decodes at the end).
        calibration: thresholds (and fusion weights) for the engine.
        gate: a shared :class:`ConfirmationGate` (the command processor's); a private one
            when ``None``.
        clock: host time source (:func:`core.clock.now_ns`); the evaluation injects a simulated clock.
        on_utterance: called with each :class:`UtteranceResult` (evaluation hook).
        verifier: an :class:`~voice.verifier.model.IntentVerifier` (``None``: engine evidence only).
        vad_weights: the learned VAD (``None``: the energy endpointer).
    """

    def __init__(self, config: VoiceConfig, command_set: CommandSet, engine, calibration: Calibration,
                 gate: ConfirmationGate | None = None, clock: Callable[[], int] = now_ns,
                 on_utterance: Callable[[UtteranceResult], None] | None = None, verifier=None,
                 vad_weights=None) -> None:
        self.config = config
        self.engine = engine
        self.verifier = verifier
        labels = verifier.labels if verifier is not None else None
        self.defence = Defence(config.defence, command_set, calibration, labels=labels)
        self.gate = gate or ConfirmationGate(command_set, config.confirm_window_s)
        self.clock = clock
        self.on_utterance = on_utterance
        vad, cap_s = config.vad, config.defence.max_utterance_s + 0.5  # a longer segment is refused anyway
        if vad_weights is not None:
            from voice.audio.learned_vad import LearnedEndpointer

            self.vad = LearnedEndpointer(vad_weights, vad.start_prob, vad.stop_prob, vad.endpoint_silence_s,
                                         vad.preroll_s, cap_s)
        else:
            self.vad = Endpointer(vad.start_db, vad.stop_db, vad.endpoint_silence_s, vad.preroll_s, cap_s,
                                  peak_drop_db=vad.peak_drop_db)
        self.mel = StreamingLogMel() if (verifier is not None or vad_weights is not None) else None
        """The log-mel front end; ``None`` when nothing uses it (energy endpointer, no verifier)."""
        self._batch = bool(getattr(engine, "batch", False))
        self._engine_comfort = ComfortNoise(config.input.comfort_noise_dbfs)
        self._mel_comfort = ComfortNoise(config.input.comfort_noise_dbfs)
        self._pending = np.zeros(0, dtype=np.int16)
        self._t_pending_ns = 0
        self._utt_start_ns = 0
        self._recent_feats: collections.deque = collections.deque(maxlen=256)
        self._utt_pcm: list[np.ndarray] = []
        self._utt_feats: list[np.ndarray] = []
        self._last_loud = 0
        self._spec: tuple[int, _Analysis] | None = None
        self._held: list[np.ndarray] = []
        self._streamed = 0
        self.cpu_s = 0.0
        """Analysis CPU time so far (engine decoding and verifier, thread time)."""
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
        self._spec = None
        if self.engine is not None:
            self.engine.start_utterance()

    def _with_comfort(self, block: np.ndarray) -> np.ndarray:
        """What the engine decodes: the block with comfort noise."""
        return self._engine_comfort.add(block)

    def _mel_frame(self, frame: np.ndarray) -> np.ndarray:
        """Log-mel of one frame as the learned VAD and the verifier see it: with comfort noise too.

        Digital silence (all-zero samples, as in a WAV file, a muted headset or a clean
        recording's lead-in) puts the per-band noise floor at the front end's -100 dB floor and
        every sound 60-80 dB above it, a range the learned VAD never met in training: on clean
        clips it hovered between its stop and start probabilities and cut or missed commands.
        """
        return self.mel.push(self._mel_comfort.add(frame))

    def _verify(self, upto: int) -> tuple[np.ndarray | None, float]:
        if self.verifier is None:
            return None, 0.0
        t = time.thread_time()
        post = self.verifier.posteriors(np.stack(self._utt_feats[:upto]))
        return post, time.thread_time() - t

    def _analyse(self, upto: int) -> _Analysis:
        """Batch engines: decode frames ``[0, upto)`` of the utterance and run the verifier on them."""
        frames = self._utt_pcm[:upto]
        self.engine.start_utterance()
        self.engine.feed(self._with_comfort(np.concatenate(frames)))
        rec = self._levels(self.engine.end_utterance(), frames)
        post, cpu = self._verify(upto)
        self.cpu_s += rec.cpu_s + cpu  # speculative analyses that are dropped count too
        return _Analysis(rec, post, rec.cpu_s + cpu)

    def _stream(self, frames: list[np.ndarray]) -> None:
        """Streaming engines: decode these frames now."""
        if frames:
            self.engine.feed(self._with_comfort(np.concatenate(frames)))
            self._streamed += len(frames)

    def feed(self, pcm: np.ndarray, t_first_ns: int) -> list[VoiceEvent]:
        """Process int16 samples whose first sample was captured at ``t_first_ns``."""
        pcm = np.asarray(pcm, dtype=np.int16).ravel()
        if len(self._pending) == 0:
            self._t_pending_ns = t_first_ns
        buf = np.concatenate([self._pending, pcm]) if len(self._pending) else pcm
        n_frames = len(buf) // FRAME
        events: list[VoiceEvent] = []
        block: list[np.ndarray] = []
        for i in range(n_frames):
            frame = buf[i * FRAME:(i + 1) * FRAME]
            t_frame_end = int(self._t_pending_ns + (i + 1) * FRAME * NS_PER_SAMPLE)
            feat = None
            if self.mel is not None:
                feat = self._mel_frame(frame)
                self._recent_feats.append(feat)
            ev = self.vad.push(frame, feat)
            if ev.kind is VadKind.START:
                n = len(ev.frames)
                self._utt_start_ns = int(t_frame_end - n * FRAME * NS_PER_SAMPLE)
                self._utt_pcm = list(ev.frames)
                self._utt_feats = list(self._recent_feats)[-n:]
                self._last_loud = n
                self._spec = None
                if not self._batch:
                    self.engine.start_utterance()
                    self._streamed = 0
                    self._held = []
                    block = list(ev.frames)
            elif ev.kind is VadKind.SPEECH:
                self._utt_pcm.append(frame)
                if feat is not None:
                    self._utt_feats.append(feat)
                if ev.loud:
                    self._last_loud = len(self._utt_pcm)
                    self._spec = None
                if self._batch:
                    if not ev.loud and self._spec is None and self.vad.quiet_frames == SPEC_TAIL:
                        self._spec = (self._last_loud, self._analyse(self._last_loud + SPEC_TAIL))
                else:
                    # quiet frames are held back until speech resumes, so the engine never decodes
                    # the endpointing silence (it would read noise there as garbage phones)
                    if ev.loud:
                        block += self._held
                        self._held = []
                        block.append(frame)
                    else:
                        self._held.append(frame)
                    if len(block) >= 10:  # stream 100 ms at a time
                        self._stream(block)
                        block = []
            elif ev.kind is VadKind.END:
                self._utt_pcm.append(frame)
                if feat is not None:
                    self._utt_feats.append(feat)
                if self._batch:
                    upto = min(len(self._utt_pcm), self._last_loud + SPEC_TAIL)
                    if self._spec is not None and self._spec[0] == self._last_loud:
                        analysis = self._spec[1]
                    else:
                        analysis = self._analyse(upto)
                else:
                    block += self._held[:TAIL_FRAMES]
                    self._held = []
                    self._stream(block)
                    block = []
                    rec = self._levels(self.engine.end_utterance(), self._utt_pcm[:self._streamed])
                    post, cpu = self._verify(min(len(self._utt_feats), self._last_loud + TAIL_FRAMES))
                    analysis = _Analysis(rec, post, rec.cpu_s + cpu)
                    self.cpu_s += analysis.cpu_s
                self._spec = None
                t_speech_end = int(t_frame_end - ev.trailing_frames * FRAME * NS_PER_SAMPLE)
                events += self._finish(analysis, ev.speech_frames / 100.0, t_speech_end, ev.forced)
        if block and not self._batch and self.vad.in_speech:
            self._stream(block)
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
        if self._batch:
            analysis = self._analyse(len(self._utt_pcm))
        else:
            rec = self._levels(self.engine.end_utterance(), self._utt_pcm[:self._streamed])
            post, cpu = self._verify(len(self._utt_feats))
            analysis = _Analysis(rec, post, rec.cpu_s + cpu)
            self.cpu_s += analysis.cpu_s
        return self._finish(analysis, 0.0, t, True)

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

    @staticmethod
    def _levels(rec: Recognition, frames: list[np.ndarray]) -> Recognition:
        """Attach each word's mean level (dBFS) from the audio the engine decoded."""
        if not rec.words or not frames:
            return rec
        audio = np.concatenate(frames)
        words = []
        for w in rec.words:
            a, b = int(w.start_s * ENGINE_RATE), int(w.end_s * ENGINE_RATE)
            seg = audio[a:max(b, a + 1)]
            words.append(dataclasses.replace(w, level_dbfs=frame_dbfs(seg) if len(seg) else FLOOR_DBFS))
        return dataclasses.replace(rec, words=tuple(words))

    def _finish(self, analysis: _Analysis, speech_s: float, t_speech_end_ns: int, forced: bool) -> list[VoiceEvent]:
        rec = analysis.rec
        self._utt_pcm, self._utt_feats = [], []
        if forced and speech_s == 0.0:
            speech_s = (t_speech_end_ns - self._utt_start_ns) / 1e9
        v = self.defence.judge(rec, speech_s, t_speech_end_ns, self.noise_dbfs, post=analysis.post)
        if self.on_utterance is not None:
            self.on_utterance(UtteranceResult(v, self._utt_start_ns, t_speech_end_ns, speech_s, analysis.cpu_s,
                                              forced))
        log.debug("utterance %.2fs %s score=%.3f -> %s %s", speech_s, [(w.word, w.start_s, w.end_s) for w in rec.words], v.score, v.intent,
                  v.reason or "passed")
        if v.wake_only:
            return [self._event(t_speech_end_ns, v.text, 0.0, None, Decision.REJECTED, "wake word heard")]
        if not v.passed:
            return [self._event(t_speech_end_ns, v.text, v.confidence, v.intent, Decision.REJECTED, v.reason)]
        heard = self._event(t_speech_end_ns, v.text, v.confidence, v.intent, Decision.ACCEPTED, "")
        return [apply_gate(self.gate, heard)]
