"""Requests to the guidance state: control requests and voice decisions, routed to the state,
the wire and the recording.

The control channel (:class:`~ar_bridge.control.ControlServer`) validates a request; this module
executes it. ``ping`` and ``get_state`` are answered here, every other command goes through the
:class:`~sonoguide.state.CommandProcessor` (and so through the confirmation gate shared with the
voice channel). The runtime adds its own queries (``get_stats``) and records each command;
tests, benchmarks and tools that stand in for the core use the same function, so what they
answer is what the core answers.

A voice decision (:class:`VoiceRouter`) is published on the ``voice`` topic, recorded, applied
to the state through the same confirmation gate, and, when the state refuses it or a
confirmation times out, answered with a second decision on the wire so the headset can say why
nothing happened.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any, Callable, Protocol

from core.clock import now_ns
from ar_bridge.control import ControlRequest
from core.recording import command_record, voice_record
from sonoguide.compose import state_message, voice_message
from sonoguide.state import CommandProcessor, CommandResult
from voice.events import Decision, VoiceEvent

log = logging.getLogger(__name__)


def command_reply(result: CommandResult) -> dict[str, Any]:
    """The reply fields (besides ``id``) for an executed, held or refused command."""
    out: dict[str, Any] = {"ok": result.ok, "status": result.status, "intent": result.intent}
    if result.error:
        out["error"] = result.error
    return out


def handle_control(commands: CommandProcessor, req: ControlRequest) -> tuple[dict[str, Any], CommandResult | None]:
    """Execute one validated request.

    Returns:
        The reply fields, and the command's result when the request was a command (``None`` for
        ``ping`` and ``get_state``), for the caller to record.
    """
    if req.command == "ping":
        return {"ok": True}, None
    if req.command == "get_state":
        return {"ok": True, "state": state_message(commands.state).to_body()}, None
    result = commands.submit(req.command, origin="control")
    return command_reply(result), result


class _Listener(Protocol):
    """What the router needs of the voice listener (:class:`~sonoguide.voice_process.VoiceProcess`)."""

    audit: Any
    engine_name: str
    noise_dbfs: float


class VoiceRouter:
    """Voice decisions to the wire, the recording and the guidance state.

    Args:
        commands: the guidance state's command processor (its ``on_expired`` is set here).
        publish: ``publish(topic, t_capture_ns, body)`` of the data socket.
        record: ``record(rtype, header)`` of the running recording (a no-op when none runs).
        listener: returns the running voice listener, or ``None`` (for its audit log, engine
            name and noise level).
    """

    def __init__(self, commands: CommandProcessor, publish: Callable[[str, int, dict[str, Any]], None],
                 record: Callable[[str, dict[str, Any]], None],
                 listener: Callable[[], _Listener | None]) -> None:
        self._commands = commands
        self._publish = publish
        self._record = record
        self._listener = listener
        self.accepted = 0
        """Voice commands that changed or confirmed the state."""
        commands.on_expired = self.on_confirmation_expired

    def _send(self, event: VoiceEvent, audit: bool) -> None:
        """Publish and record a decision; ``audit`` for decisions the listener did not log itself."""
        body = voice_message(event).to_body()
        self._publish("voice", event.t_end_ns, body)
        self._record(*voice_record(body))
        listener = self._listener()
        if audit and listener is not None and listener.audit is not None:
            try:
                listener.audit.write_event(event)
            except (OSError, ValueError) as exc:
                log.error("audit log write failed: %s", exc)

    def on_voice(self, event: VoiceEvent) -> None:
        """A decision of the voice listener: publish it, record it, apply it to the state."""
        self._send(event, audit=False)
        res = self._commands.apply_voice(event)
        if res is None:
            return
        self.accepted += int(res.ok)
        self._record(*command_record("voice", event.intent, dataclasses.asdict(res)))
        if not res.ok:  # e.g. a snapshot before the first frame: tell the headset why nothing happened
            self._send(dataclasses.replace(event, t_event_ns=now_ns(), decision=Decision.REJECTED,
                                           reason=res.error or "failed"), audit=True)

    def on_confirmation_expired(self, intent: str, t_ns: int) -> None:
        """A held command was not confirmed in time: an ``expired`` decision on the wire."""
        listener = self._listener()
        self._send(VoiceEvent(
            t_end_ns=t_ns, t_event_ns=t_ns, text="", confidence=0.0, intent=intent, decision=Decision.EXPIRED,
            reason="not confirmed in time", engine=listener.engine_name if listener is not None else "control",
            noise_dbfs=listener.noise_dbfs if listener is not None else -96.0), audit=True)
