"""Fixtures for the wire tests: free TCP endpoints on loopback."""

from __future__ import annotations

import socket

import pytest


def free_endpoint() -> str:
    """A tcp://127.0.0.1:PORT endpoint on a port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
def endpoints() -> tuple[str, str]:
    """Two distinct free endpoints (PUB, control)."""
    a = free_endpoint()
    b = free_endpoint()
    while b == a:
        b = free_endpoint()
    return a, b
