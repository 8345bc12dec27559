"""A real OpenIGTLink server (pyigtl) streaming from a thread, as PLUS would, for the live calibration modes."""

from __future__ import annotations

import socket
import threading
import time
from typing import Callable, Iterator, Sequence

import pytest


class IgtlStream:
    """A pyigtl server on a free loopback port; :meth:`start` streams ``messages(k)`` at tick ``k``.

    Attributes:
        port: the server's port.
        address: ``"127.0.0.1:PORT"`` for ``--igtl``.
    """

    def __init__(self, pyigtl) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.server = pyigtl.OpenIGTLinkServer(port=self.port, local_server=True)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, messages: Callable[[int], Sequence], period_s: float = 0.01) -> None:
        """Send ``messages(k)`` for k = 0, 1, ... every ``period_s`` while a client is connected."""
        def run() -> None:
            k = 0
            while not self._stop.is_set():
                if self.server.is_connected():
                    for m in messages(k):
                        self.server.send_message(m, wait=True)
                    k += 1
                time.sleep(period_s)

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def start_thread(self, target: Callable[[], None]) -> None:
        """Run ``target`` (which sends on :attr:`server` itself) in the streaming thread."""
        self._thread = threading.Thread(target=target, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)
        self.server.stop()


@pytest.fixture
def igtl_stream() -> Iterator[IgtlStream]:
    """A streaming OpenIGTLink server, stopped after the test."""
    pyigtl = pytest.importorskip("pyigtl")
    s = IgtlStream(pyigtl)
    yield s
    s.close()
