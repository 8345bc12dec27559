"""The live voice listener: a consumer thread that decodes what the audio source enqueues.

``VoiceListener(config, source, on_event).start()`` opens the source, builds the engine (both
raise :class:`~core.errors.DeviceError` / :class:`~core.errors.ModelError` with the
fix), then runs :class:`~voice.processor.UtteranceProcessor` on a thread. Every decision goes to
``on_event`` and to the audit log. After start, bad audio or a failing callback is logged and
the listener keeps running.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

import numpy as np

from core.clock import now_ns
from voice.audit import AuditLog
from voice.commandset import load_command_set
from voice.config import VoiceConfig
from voice.confirm import ConfirmationGate
from voice.events import VoiceEvent
from voice.processor import UtteranceProcessor

log = logging.getLogger(__name__)


def deliver(event: VoiceEvent, audit: AuditLog | None, on_event: Callable[[VoiceEvent], None]) -> bool:
    """Write ``event`` to the audit log (if any), then hand it to ``on_event``.

    Neither a failing audit write nor a failing consumer stops listening: both are logged.

    Returns:
        False when ``on_event`` raised.
    """
    if audit is not None:
        try:
            audit.write_event(event)
        except (OSError, ValueError) as exc:
            log.error("audit log write failed: %s", exc)
    try:
        on_event(event)
    except Exception:  # noqa: BLE001 - a failing consumer must not stop listening
        log.exception("voice event callback failed")
        return False
    return True


class VoiceListener:
    """Runs recognition on a consumer thread.

    Args:
        config: the ``[voice]`` section.
        source: an unstarted :class:`~voice.audio.sources.AudioSource`.
        on_event: called on the listener thread for every decision.
        gate: the command processor's shared :class:`ConfirmationGate` (a private one if None).
    """

    def __init__(self, config: VoiceConfig, source, on_event: Callable[[VoiceEvent], None],
                 gate: ConfirmationGate | None = None) -> None:
        self.config = config
        self.source = source
        self.on_event = on_event
        self.command_set = load_command_set(config.command_set_path())
        self.gate = gate or ConfirmationGate(self.command_set, config.confirm_window_s)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._proc: UtteranceProcessor | None = None
        self.audit: AuditLog | None = None
        self.errors = 0
        self.events = 0

    @property
    def noise_dbfs(self) -> float:
        """Running noise-floor estimate in dBFS (-96 before audio arrives)."""
        return self._proc.noise_dbfs if self._proc is not None else -96.0

    @property
    def running(self) -> bool:
        """True while the consumer thread runs."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def engine_name(self) -> str:
        """The engine in use ("" before start)."""
        return self._proc.engine.name if self._proc is not None else ""

    def start(self) -> None:
        """Build the engine, open the source and the audit log, start the thread."""
        from voice.engines.select import build_engine

        from voice.verifier.select import build_verifier, load_vad_for

        engine, cal = build_engine(self.config, self.command_set)
        vad = load_vad_for(self.config.vad)
        verifier = build_verifier(self.config, self.command_set, cal)
        if self.config.audit_log:
            self.audit = AuditLog(self.config.audit_log)
        self._proc = UtteranceProcessor(self.config, self.command_set, engine, cal, gate=self.gate, verifier=verifier,
                                        vad_weights=vad)
        self.source.start()
        self._thread = threading.Thread(target=self._run, name="voice-listener", daemon=True)
        self._thread.start()
        log.info("voice listener running: engine %s, verifier %s, %s VAD, source %s", engine.name,
                 "on" if verifier is not None else "off", "learned" if vad is not None else "energy", self.source.name)

    def stop(self) -> None:
        """Stop the thread, close the source and the audit log."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        try:
            self.source.close()
        finally:
            if self.audit is not None:
                self.audit.close()

    def _emit(self, events: list[VoiceEvent]) -> None:
        for ev in events:
            self.events += 1
            if not deliver(ev, self.audit, self.on_event):
                self.errors += 1

    def _run(self) -> None:
        assert self._proc is not None
        while not self._stop.is_set():
            try:
                chunk = self.source.read(timeout=0.1)
                if chunk is None:
                    self._emit(self._proc.tick(now_ns()))
                    if self.source.finished:
                        self._emit(self._proc.feed(np.zeros(int(0.5 * 16000), np.int16), now_ns()))
                        self._emit(self._proc.flush())
                        break
                    continue
                pcm = np.asarray(chunk.pcm)
                if pcm.dtype != np.int16 or pcm.ndim != 1:
                    raise ValueError(f"audio chunk must be 1-D int16, got {pcm.dtype} {pcm.shape}")
                self._emit(self._proc.feed(pcm, chunk.t_capture_ns))
            except Exception:  # noqa: BLE001 - bad audio must not stop the listener
                self.errors += 1
                log.exception("voice listener: skipping a bad audio chunk")
