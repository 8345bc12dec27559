"""The voice listener in a child process, so that speech decoding never stalls the video loop.

PocketSphinx and Vosk decode inside C calls that hold Python's global interpreter lock: a
grammar decode of one utterance holds it for tens of milliseconds (a free-form second pass for
more), and every video stage of the same process waits that long (measured in BENCHMARKS.md,
guidance loop). The listener therefore runs in its own interpreter (``multiprocessing`` with the
``spawn`` start method: no forked copy of the parent's threads, sockets or torch state):

* the child opens the audio source, runs :class:`~voice.listener.VoiceListener` and sends every
  decision through a pipe; its noise-floor estimate goes through a shared value;
* the confirmation gate stays in the parent, shared with the control channel (a spoken "hide
  all" can be confirmed from the control channel and vice versa): the child runs with a
  pass-through gate, and the parent routes each accepted intent through the real one;
* the audit log is written by the parent, so it sees the gated decisions;
* the child ends when asked, and on its own when the parent dies (even by ``kill -9``).

Start-up is asynchronous (the engine's model loads while video already flows): ``on_ready``
receives the engine's name, ``on_error`` the one-line reason when voice could not start.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import os
import signal
import threading
import time
from typing import Any, Callable

from voice.confirm import ConfirmationGate, GateAction, GateResult, apply_gate
from voice.events import VoiceEvent
from voice.listener import deliver

log = logging.getLogger(__name__)

_READY, _EVENT, _ERROR, _EXIT = "ready", "event", "error", "exit"
VOICE_NICE = 5
"""Nice increment of the voice process: under contention the video path runs first."""


class PassThroughGate:
    """A gate that holds nothing: every intent executes (the parent applies the real gate)."""

    pending = None
    pending_deadline_ns = None

    def needs_confirmation(self, intent: str) -> bool:  # noqa: D102 - the gate's interface
        return False

    def submit(self, intent: str, t_ns: int) -> GateResult:  # noqa: D102
        return GateResult(GateAction.EXECUTE, intent)

    def poll(self, t_ns: int) -> GateResult | None:  # noqa: D102
        return None

    def reset(self) -> None:  # noqa: D102
        pass


class VoiceProcess:
    """Runs the voice listener in a child process; same role as :class:`~voice.listener.VoiceListener`.

    Args:
        config: the ``[voice]`` section.
        curve_dir: ``network.curve_dir`` when CurveZMQ is on (the headset audio socket is secured
            in the child as in the parent), else ``None``.
        on_event: called on a reader thread of the parent for every (gated) decision.
        gate: the shared confirmation gate.
        on_ready: called once with the engine's name when the child listens.
        on_error: called once with a one-line reason when voice could not start or the child
            ended unexpectedly.
        demo: the demo may fall back to the bundled scripted recording (see
            :func:`voice.audio.sources.open_audio_source`); a real session never does.
    """

    def __init__(self, config: Any, curve_dir: str | None, on_event: Callable[[VoiceEvent], None],
                 gate: ConfirmationGate, on_ready: Callable[[str], None] | None = None,
                 on_error: Callable[[str], None] | None = None, demo: bool = False) -> None:
        self.config = config
        self.demo = demo
        self.curve_dir = curve_dir
        self.on_event = on_event
        self.gate = gate
        self.on_ready = on_ready
        self.on_error = on_error
        self.audit = None
        self.engine_name = ""
        self.events = 0
        self.errors = 0
        self._ctx = multiprocessing.get_context("spawn")
        self._noise = self._ctx.Value("d", -96.0, lock=False)
        # a lock-free flag, not multiprocessing.Event: Event.set() waits for every waiter to wake,
        # so it would hang the parent's shutdown on a child that gets no CPU (stopped, starved)
        self._stop = self._ctx.Value("b", 0, lock=False)
        self._proc: Any = None
        self._conn: Any = None
        self._reader: threading.Thread | None = None
        self._stopping = False

    @property
    def noise_dbfs(self) -> float:
        """Running noise-floor estimate in dBFS (-96 before audio arrives)."""
        return float(self._noise.value)

    @property
    def running(self) -> bool:
        """True while the child process listens."""
        return self._proc is not None and self._proc.is_alive() and bool(self.engine_name)

    @property
    def pid(self) -> int | None:
        """The child process's id while it runs (for CPU accounting), else ``None``."""
        proc = self._proc
        return proc.pid if proc is not None and proc.is_alive() else None

    def start(self) -> None:
        """Open the audit log and start the child (returns at once; see ``on_ready``)."""
        from voice.audit import AuditLog

        if self.config.audit_log:
            self.audit = AuditLog(self.config.audit_log)
        parent_conn, child_conn = self._ctx.Pipe(duplex=False)
        child_cfg = dataclasses.replace(self.config, audit_log="")  # the parent audits
        self._proc = self._ctx.Process(
            target=_child_main, name="sonoguide-voice", daemon=True,
            args=(child_cfg, self.curve_dir, child_conn, self._stop, self._noise, logging.getLogger().level,
                  self.demo))
        self._proc.start()
        child_conn.close()  # the parent only reads: EOF when the child ends
        self._conn = parent_conn
        self._reader = threading.Thread(target=self._read, name="voice-process-reader", daemon=True)
        self._reader.start()

    def request_stop(self) -> None:
        """Ask the child to end without waiting (decisions that arrive meanwhile are still delivered)."""
        self._stopping = True
        self._stop.value = 1

    def stop(self, timeout: float = 2.0) -> None:
        """Ask the child to end and wait for it, close the audit log.

        A child still loading its engine, or stuck in a decode, does not look at the stop request;
        after ``timeout`` it is terminated (SIGTERM), and killed one second later if need be, so
        shutdown is bounded whatever the child does.
        """
        self.request_stop()
        if self._proc is not None:
            self._proc.join(timeout)
            if self._proc.is_alive():
                log.info("voice process did not end in %.1f s: terminating it", timeout)
                self._proc.terminate()
                self._proc.join(1.0)
            if self._proc.is_alive():
                log.warning("voice process ignored SIGTERM: killing it")
                self._proc.kill()
                self._proc.join(1.0)
        if self._reader is not None:
            self._reader.join(2.0)
        if self._conn is not None:
            self._conn.close()
        if self.audit is not None:
            self.audit.close()

    # .................................................................. parent side
    def _read(self) -> None:
        while True:
            try:
                kind, payload = self._conn.recv()
            except (EOFError, OSError):
                if not self._stopping:
                    self._fail("the voice process ended unexpectedly")
                return
            except Exception:  # noqa: BLE001 - an unreadable message must not stop the reader
                self.errors += 1
                log.exception("voice process: unreadable message skipped")
                continue
            if kind == _EVENT:
                self._deliver(payload)
            elif kind == _READY:
                self.engine_name = str(payload)
                if self.on_ready is not None:
                    self.on_ready(self.engine_name)
            elif kind == _ERROR:  # the child ends after this message
                self._fail(str(payload))
                return
            elif kind == _EXIT:
                if payload and not self._stopping:
                    log.warning("voice listener stopped: %s", payload)
                    self.engine_name = ""
                return

    def _fail(self, reason: str) -> None:
        self.engine_name = ""
        if self.on_error is not None:
            self.on_error(reason)
        else:
            log.error("voice commands are off: %s", reason)

    def _deliver(self, event: VoiceEvent) -> None:
        self.events += 1
        if not deliver(apply_gate(self.gate, event), self.audit, self.on_event):
            self.errors += 1


# ...................................................................... child side
def _child_main(config: Any, curve_dir: str | None, conn: Any, stop: Any, noise: Any, log_level: int,
                demo: bool = False) -> None:
    """Entry point of the child: listen until ``stop`` is set or the parent dies.

    Ctrl-C reaches every process of the terminal's foreground group; the child ignores it (and
    SIGTERM's default is kept for :meth:`VoiceProcess.stop`'s last resort), because the parent
    owns the shutdown and ends the child in order.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core's worth: the video loop needs the rest
    try:
        os.nice(VOICE_NICE)  # decoding needs about a tenth of a core
    except OSError:
        pass
    logging.basicConfig(level=log_level or logging.WARNING,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")
    from core.errors import SonoguideError
    from voice.audio.sources import open_audio_source
    from voice.listener import VoiceListener

    parent = multiprocessing.parent_process()
    security = None
    listener = None

    def send(kind: str, payload: Any) -> None:
        try:
            conn.send((kind, payload))
        except (OSError, ValueError):  # the parent is gone
            stop.value = 1

    try:
        setup = None
        if curve_dir:
            from ar_bridge.security import CurveSecurity
            security = CurveSecurity(curve_dir)
            setup = security.setup
        source = open_audio_source(config.input, setup, demo=demo)
        if security is not None and hasattr(source, "rebind"):  # a revoked headset's audio ends too
            security.on_revoked = lambda names: source.rebind()
        listener = VoiceListener(config, source, lambda ev: send(_EVENT, ev), gate=PassThroughGate())
        listener.start()
    except SonoguideError as exc:
        send(_ERROR, str(exc))
        return
    except Exception as exc:  # noqa: BLE001 - report anything else in one line too
        log.exception("voice process failed to start")
        send(_ERROR, f"{type(exc).__name__}: {exc}")
        return
    send(_READY, listener.engine_name)
    reason = None
    try:
        while not stop.value:
            time.sleep(0.2)
            noise.value = float(listener.noise_dbfs)
            if parent is not None and not parent.is_alive():
                break
            if not listener.running:
                reason = "its audio source ended"
                break
    finally:
        listener.stop()
        if security is not None:
            security.stop()
        send(_EXIT, reason)
        time.sleep(0.05)
        conn.close()
