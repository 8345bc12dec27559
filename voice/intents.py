"""Canonical command intents, shared by the voice front end and the control channel."""

from __future__ import annotations

INTENTS: tuple[str, ...] = (
    "freeze",
    "unfreeze",
    "show nerve",
    "hide nerve",
    "show vessel",
    "hide vessel",
    "show needle",
    "hide needle",
    "show all",
    "hide all",
    "snapshot",
    "start recording",
    "stop recording",
    "confirm",
    "cancel",
)
"""Every intent name; the control channel accepts exactly these as ``command``."""

LAYERS: tuple[str, ...] = ("nerve", "vessel", "needle")
"""Overlay layers that ``show``/``hide`` intents switch."""
