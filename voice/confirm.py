"""Two-step confirmation for destructive intents (``confirm = true`` in the command set).

Pure: no clock and no I/O - every call takes the time. Voice and control-channel commands go
through the same gate, so it is thread-safe (one lock). The rule: a confirm-gated intent is
held; "confirm" within the window executes it, "cancel" drops it; a new gated intent replaces a
pending one; any other intent executes at once and leaves the pending one waiting.
"""

from __future__ import annotations

import enum
import dataclasses
import threading
from dataclasses import dataclass

from voice.commandset import CommandSet
from voice.events import Decision, VoiceEvent


class GateAction(str, enum.Enum):
    """What the caller must do with a submitted intent."""

    EXECUTE = "execute"
    """Execute ``intent`` now."""
    AWAIT = "await"
    """``intent`` is held until "confirm"."""
    CONFIRMED = "confirmed"
    """Execute the pending ``intent`` now."""
    CANCELLED = "cancelled"
    """The pending ``intent`` was dropped."""
    NOTHING_PENDING = "nothing_pending"
    """"confirm" or "cancel" with nothing waiting: do nothing."""
    EXPIRED = "expired"
    """The pending ``intent`` timed out (from :meth:`ConfirmationGate.poll`)."""


@dataclass(frozen=True)
class GateResult:
    """Outcome of :meth:`ConfirmationGate.submit` / :meth:`ConfirmationGate.poll`.

    Attributes:
        action: what to do.
        intent: the intent to execute / held / confirmed / cancelled / expired (``None`` for
            ``nothing_pending``).
        deadline_ns: for ``await``, when the window closes.
    """

    action: GateAction
    intent: str | None
    deadline_ns: int | None = None


class ConfirmationGate:
    """Holds at most one intent awaiting confirmation.

    Args:
        command_set: which intents need confirmation (``confirm = true``).
        window_s: how long a held intent waits for "confirm".
    """

    def __init__(self, command_set: CommandSet, window_s: float = 5.0) -> None:
        self._gated = frozenset(n for n, s in command_set.intents.items() if s.confirm)
        self._window_ns = int(window_s * 1e9)
        self._pending: tuple[str, int] | None = None
        self._expired: str | None = None
        self._lock = threading.Lock()

    @property
    def pending(self) -> str | None:
        """The held intent, or ``None``."""
        with self._lock:
            return self._pending[0] if self._pending else None

    @property
    def pending_deadline_ns(self) -> int | None:
        """When the held intent's window closes, or ``None``."""
        with self._lock:
            return self._pending[1] if self._pending else None

    def needs_confirmation(self, intent: str) -> bool:
        """True when ``intent`` is held for confirmation."""
        return intent in self._gated

    def submit(self, intent: str, t_ns: int) -> GateResult:
        """Route one intent heard (or received) at ``t_ns``."""
        with self._lock:
            self._expire(t_ns)
            if intent in ("confirm", "cancel"):
                if self._pending is None:
                    return GateResult(GateAction.NOTHING_PENDING, None)
                held, _ = self._pending
                self._pending = None
                return GateResult(GateAction.CONFIRMED if intent == "confirm" else GateAction.CANCELLED, held)
            if intent in self._gated:
                deadline = t_ns + self._window_ns
                self._pending = (intent, deadline)
                return GateResult(GateAction.AWAIT, intent, deadline)
            return GateResult(GateAction.EXECUTE, intent)

    def poll(self, t_ns: int) -> GateResult | None:
        """Report an expiry (once) when the held intent's window has closed by ``t_ns``."""
        with self._lock:
            self._expire(t_ns)
            expired, self._expired = self._expired, None
            return None if expired is None else GateResult(GateAction.EXPIRED, expired)

    def reset(self) -> None:
        """Drop any held intent."""
        with self._lock:
            self._pending = None
            self._expired = None

    def _expire(self, t_ns: int) -> None:
        if self._pending is not None and t_ns > self._pending[1]:
            self._expired = self._pending[0]
            self._pending = None


def apply_gate(gate: ConfirmationGate, event: VoiceEvent) -> VoiceEvent:
    """Route an ``accepted`` voice decision through ``gate`` and return the gated decision.

    Other decisions pass unchanged. A confirm-gated intent becomes ``awaiting_confirmation``;
    "confirm" / "cancel" become ``confirmed`` / ``cancelled`` of the held intent, or ``rejected``
    ("nothing to confirm") when nothing is held; any other intent stays ``accepted``. Used by the
    listener's processor and, for a listener in a child process, by the parent that owns the gate.
    """
    if event.decision is not Decision.ACCEPTED or not event.intent:
        return event
    g = gate.submit(event.intent, event.t_end_ns)
    if g.action is GateAction.EXECUTE:
        return event
    if g.action is GateAction.AWAIT:
        return dataclasses.replace(event, decision=Decision.AWAITING_CONFIRMATION, reason="say confirm")
    if g.action in (GateAction.CONFIRMED, GateAction.CANCELLED):
        decision = Decision.CONFIRMED if g.action is GateAction.CONFIRMED else Decision.CANCELLED
        return dataclasses.replace(event, intent=g.intent, decision=decision, reason="")
    return dataclasses.replace(event, decision=Decision.REJECTED, reason="nothing to " + event.intent)
