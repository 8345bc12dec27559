"""Control requests to the guidance state: the one mapping from a request to its reply.

The control channel (:class:`~ar_bridge.control.ControlServer`) validates a request; this module
executes it. ``ping`` and ``get_state`` are answered here, every other command goes through the
:class:`~sonoguide.state.CommandProcessor` (and so through the confirmation gate shared with the
voice channel). The runtime adds its own queries (``get_stats``) and records each command;
tests, benchmarks and tools that stand in for the core use the same function, so what they
answer is what the core answers.
"""

from __future__ import annotations

from typing import Any

from ar_bridge.control import ControlRequest
from sonoguide.compose import state_message
from sonoguide.state import CommandProcessor, CommandResult


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
