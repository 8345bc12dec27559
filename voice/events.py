"""The voice decision message: one per heard utterance or confirmation outcome."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class Decision(str, enum.Enum):
    """What the voice front end decided; the values travel on the wire and in the audit log."""

    ACCEPTED = "accepted"
    """Execute ``intent`` now."""
    REJECTED = "rejected"
    """Not executed; ``reason`` says why."""
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    """``intent`` needs "confirm" within the window before it executes."""
    CONFIRMED = "confirmed"
    """The pending ``intent`` was confirmed: execute it now."""
    CANCELLED = "cancelled"
    """The pending ``intent`` was cancelled."""
    EXPIRED = "expired"
    """The pending ``intent`` was not confirmed in time and is dropped."""


EXECUTE_DECISIONS = (Decision.ACCEPTED, Decision.CONFIRMED)
"""Decisions whose ``intent`` the command processor executes."""


@dataclass(frozen=True)
class VoiceEvent:
    """One voice decision.

    Attributes:
        t_end_ns: host time of the end of the speech the decision is about (for ``expired``:
            the time the window closed).
        t_event_ns: host time the decision was made.
        text: what the recogniser heard (normalised), "" when nothing.
        confidence: 0..1 score of the recognised command (0 when none).
        intent: the intent concerned (for ``confirmed``/``cancelled``/``expired``: the pending
            intent), or ``None``.
        decision: see :class:`Decision`.
        reason: short machine-readable reason (``"low confidence"``, ``"embedded in longer
            speech"``, ...), "" for plain acceptance.
        engine: recogniser name (``"pocketsphinx"``, ``"vosk"``).
        noise_dbfs: running noise-floor estimate when the decision was made.
    """

    t_end_ns: int
    t_event_ns: int
    text: str
    confidence: float
    intent: str | None
    decision: Decision
    reason: str
    engine: str
    noise_dbfs: float

    @property
    def executes(self) -> bool:
        """True when the command processor must execute :attr:`intent` now."""
        return self.decision in EXECUTE_DECISIONS

    def to_body(self) -> dict[str, Any]:
        """The JSON body of the ``voice`` wire message (and of an audit line)."""
        return {
            "t_end_ns": int(self.t_end_ns),
            "t_event_ns": int(self.t_event_ns),
            "text": self.text,
            "confidence": round(float(self.confidence), 4),
            "intent": self.intent,
            "decision": self.decision.value,
            "reason": self.reason,
            "engine": self.engine,
            "noise_dbfs": round(float(self.noise_dbfs), 2),
        }

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> "VoiceEvent":
        """Rebuild from :meth:`to_body` output (raises ``KeyError``/``ValueError`` if incomplete)."""
        return cls(t_end_ns=int(body["t_end_ns"]), t_event_ns=int(body["t_event_ns"]), text=str(body["text"]),
                   confidence=float(body["confidence"]), intent=body["intent"],
                   decision=Decision(body["decision"]), reason=str(body["reason"]), engine=str(body["engine"]),
                   noise_dbfs=float(body["noise_dbfs"]))
