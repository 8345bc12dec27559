"""Guidance state and the one place that changes it: the command processor.

The state (frozen, visible layers, recording, tracking status, pending confirmation...) is an
immutable snapshot; every change makes a new snapshot with ``version + 1`` and notifies the
listeners (the publisher's ``state`` topic, the recorder). Commands arrive from the voice
listener and the control channel with the same intent names (:data:`voice.intents.INTENTS`);
intents that need confirmation go through the same confirmation gate whatever their origin.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

from core.clock import now_ns
from voice.confirm import ConfirmationGate, GateAction
from voice.events import Decision, VoiceEvent
from voice.intents import INTENTS, LAYERS

log = logging.getLogger(__name__)

TRACKING_STATES = ("ok", "occluded", "lost", "stale", "off")


@dataclass(frozen=True)
class GuidanceState:
    """What the system shows and does now; published on the ``state`` topic
    (:func:`sonoguide.compose.state_message`).

    Attributes:
        version: +1 on every change.
        frozen: the overlay content is held (the ultrasound image is frozen).
        layers: visibility per overlay layer (``nerve``, ``vessel``, ``needle``).
        recording: a recording is being written.
        tracking: probe tracking status: ok, occluded, lost, stale or off (no tracker).
        pending_confirmation: intent waiting for "confirm", or ``None``.
        pending_deadline_ns: when the pending intent expires (host ns), or 0.
        last_command: the last executed command: intent, origin and time.
        snapshots: number of snapshots taken.
        noise_dbfs: the voice front end's running noise estimate, or ``None``.
        voice_engine: the speech engine in use, or ``None`` when voice is off.
        overloaded: the guidance loop cannot keep up with its source (frames dropped or latency
            over budget, :mod:`sonoguide.overload`); the heartbeat's ``overlay_hz`` says at what rate
            it runs.
    """

    version: int = 0
    frozen: bool = False
    layers: Mapping[str, bool] = field(default_factory=lambda: {k: True for k in LAYERS})
    recording: bool = False
    tracking: str = "off"
    pending_confirmation: str | None = None
    pending_deadline_ns: int = 0
    last_command: Mapping[str, Any] | None = None
    snapshots: int = 0
    noise_dbfs: float | None = None
    voice_engine: str | None = None
    overloaded: bool = False



@dataclass(frozen=True)
class CommandResult:
    """Outcome of one command.

    Attributes:
        ok: the command was accepted (executed, or now awaiting confirmation).
        status: ``executed``, ``awaiting_confirmation``, ``cancelled`` or ``rejected``.
        intent: the intent that was executed or is pending (after confirmation: the confirmed one).
        error: why it was rejected.
    """

    ok: bool
    status: str
    intent: str | None = None
    error: str | None = None


Action = Callable[[], str | None]
"""A side effect of a command (snapshot, start/stop recording); returns an error text or None."""


class CommandProcessor:
    """Applies intents to the guidance state, thread-safely.

    Confirmation follows :class:`voice.confirm.ConfirmationGate`, shared by both channels: a
    gated intent waits for "confirm" from either the voice or the control channel.

    Args:
        gate: the confirmation gate (``None``: no intent needs confirmation).
        actions: side effects by intent (``snapshot``, ``start recording``, ``stop recording``).
        clock_ns: time source (the core clock, :func:`core.clock.now_ns`, by default; injected in tests).
    """

    def __init__(self, gate: ConfirmationGate | None = None, actions: Mapping[str, Action] | None = None,
                 clock_ns: Callable[[], int] = now_ns) -> None:
        self._gate = gate
        self._actions = dict(actions or {})
        self._clock = clock_ns
        self._lock = threading.RLock()
        self._state = GuidanceState()
        self._listeners: list[Callable[[GuidanceState], None]] = []
        self.on_expired: Callable[[str, int], None] | None = None
        """Called with ``(intent, t_ns)`` when a pending confirmation runs out."""

    # ------------------------------------------------------------------ state access
    @property
    def state(self) -> GuidanceState:
        """The current snapshot (first expiring a pending confirmation that ran out)."""
        with self._lock:
            self._poll_expiry(self._clock())
            return self._state

    def add_listener(self, fn: Callable[[GuidanceState], None]) -> None:
        """Call ``fn(state)`` after every change (from the thread that made it)."""
        self._listeners.append(fn)

    def set_action(self, intent: str, action: Action) -> None:
        """Register the side effect of ``intent``."""
        self._actions[intent] = action

    def update(self, **changes: Any) -> GuidanceState:
        """Change status fields that are not commands (tracking, noise level, engine, overload)."""
        allowed = {"tracking", "noise_dbfs", "voice_engine", "recording", "overloaded"}
        bad = set(changes) - allowed
        if bad:
            raise ValueError(f"not settable by update(): {sorted(bad)}")
        with self._lock:
            if all(getattr(self._state, k) == v for k, v in changes.items()):
                return self._state
            return self._commit(**changes)

    def restore_view(self, frozen: bool, layers: Mapping[str, bool]) -> GuidanceState:
        """Set the view (freeze, visible layers) to what a recording says it was (replay)."""
        with self._lock:
            if self._state.frozen == frozen and dict(self._state.layers) == dict(layers):
                return self._state
            return self._commit(frozen=bool(frozen), layers=dict(layers))

    # ------------------------------------------------------------------ commands
    def submit(self, intent: str, origin: str = "control") -> CommandResult:
        """Apply one command.

        Args:
            intent: one of :data:`voice.intents.INTENTS`.
            origin: ``"voice"``, ``"control"`` or ``"replay"``, recorded in ``last_command``.

        Returns:
            What happened; unknown intents and failed actions give ``ok=False`` with the reason.
        """
        if intent not in INTENTS:
            return CommandResult(False, "rejected", intent, f"unknown command {intent!r}; known: {', '.join(INTENTS)}")
        with self._lock:
            now = self._clock()
            self._poll_expiry(now)
            if self._gate is None:
                if intent in ("confirm", "cancel"):
                    return CommandResult(False, "rejected", None, "nothing is awaiting confirmation")
                return self._execute(intent, origin, now)
            r = self._gate.submit(intent, now)
            if r.action is GateAction.EXECUTE:
                return self._execute(intent, origin, now)
            if r.action is GateAction.AWAIT:
                self._commit(pending_confirmation=r.intent, pending_deadline_ns=int(r.deadline_ns or 0))
                return CommandResult(True, "awaiting_confirmation", r.intent)
            if r.action is GateAction.CONFIRMED:
                self._commit(pending_confirmation=None, pending_deadline_ns=0)
                return self._execute(r.intent, origin, now)
            if r.action is GateAction.CANCELLED:
                self._commit(pending_confirmation=None, pending_deadline_ns=0,
                             last_command={"intent": "cancel", "origin": origin, "t_ns": now, "cancelled": r.intent})
                return CommandResult(True, "cancelled", r.intent)
            what = "nothing is awaiting confirmation" if intent == "confirm" else "nothing to cancel"
            return CommandResult(False, "rejected", None, what)

    def apply_voice(self, event: VoiceEvent) -> CommandResult | None:
        """Apply a decision of the voice listener, which already passed the shared gate.

        ``accepted`` and ``confirmed`` execute the intent; ``awaiting_confirmation`` shows the
        pending intent; ``cancelled`` and ``expired`` clear it; ``rejected`` changes nothing.

        Returns:
            The execution result for ``accepted``/``confirmed`` (``None`` otherwise).
        """
        with self._lock:
            now = self._clock()
            d = event.decision
            if d is Decision.AWAITING_CONFIRMATION:
                deadline = self._gate.pending_deadline_ns if self._gate is not None else None
                self._commit(pending_confirmation=event.intent, pending_deadline_ns=int(deadline or 0))
                return None
            if d in (Decision.CANCELLED, Decision.EXPIRED, Decision.CONFIRMED):
                if self._state.pending_confirmation is not None:
                    self._commit(pending_confirmation=None, pending_deadline_ns=0)
            if d in (Decision.ACCEPTED, Decision.CONFIRMED) and event.intent:
                if event.intent in ("confirm", "cancel"):
                    return None
                return self._execute(event.intent, "voice", now)
            return None

    def _execute(self, intent: str, origin: str, now: int) -> CommandResult:
        s = self._state
        changes: dict[str, Any] = {"last_command": {"intent": intent, "origin": origin, "t_ns": now}}
        if intent == "freeze":
            changes["frozen"] = True
        elif intent == "unfreeze":
            changes["frozen"] = False
        elif intent in ("show all", "hide all"):
            changes["layers"] = {k: intent == "show all" for k in LAYERS}
        elif intent.startswith(("show ", "hide ")):
            verb, layer = intent.split(" ", 1)
            changes["layers"] = {**s.layers, layer: verb == "show"}
        elif intent in self._actions:
            error = self._actions[intent]()
            if error:
                return CommandResult(False, "rejected", intent, error)
            if intent == "snapshot":
                changes["snapshots"] = s.snapshots + 1
            elif intent in ("start recording", "stop recording"):
                changes["recording"] = intent == "start recording"
        else:
            return CommandResult(False, "rejected", intent, f"{intent!r} is not available in this configuration")
        self._commit(**changes)
        log.info("command %r from %s executed", intent, origin)
        return CommandResult(True, "executed", intent)

    def _poll_expiry(self, now: int) -> None:
        if self._gate is None:
            return
        r = self._gate.poll(now)
        if r is not None and r.action is GateAction.EXPIRED:
            log.info("confirmation of %r expired", r.intent)
            self._commit(pending_confirmation=None, pending_deadline_ns=0)
            if self.on_expired is not None:
                self.on_expired(r.intent, now)

    def _commit(self, **changes: Any) -> GuidanceState:
        self._state = replace(self._state, version=self._state.version + 1, **changes)
        state = self._state
        for fn in self._listeners:
            try:
                fn(state)
            except Exception:  # a broken listener must not block commands
                log.exception("state listener failed")
        return state
