"""Append-only audit log of every voice decision, one JSON object per line.

Each line is written with a single ``write`` of the whole line and flushed at once, so a process
killed with SIGKILL loses at most the line being written; a truncated last line left by such a
kill is closed with a newline when the log is opened again, so every complete line stays
parseable. Thread-safe (one lock).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any, Mapping

from core.errors import ConfigError
from voice.events import VoiceEvent

log = logging.getLogger(__name__)


class AuditLog:
    """Append-only JSON-lines file.

    Args:
        path: the log file; its directory is created.
        fsync: also ``os.fsync`` after each line (survives power loss, slower).

    Raises:
        ConfigError: the file cannot be opened for appending (names ``voice.audit_log``).
    """

    def __init__(self, path: str | Path, fsync: bool = False) -> None:
        self.path = Path(path)
        self._fsync = fsync
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            needs_newline = False
            if self.path.is_file() and self.path.stat().st_size > 0:
                with open(self.path, "rb") as f:
                    f.seek(-1, os.SEEK_END)
                    needs_newline = f.read(1) != b"\n"
            self._f = open(self.path, "a", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot open the voice audit log {self.path}: {exc.strerror} - "
                              f"set voice.audit_log to a writable file") from None
        if needs_newline:
            log.warning("audit log %s ended with a partial line (killed writer?); continuing on a new line", self.path)
            self._f.write("\n")
            self._f.flush()

    def write(self, record: Mapping[str, Any]) -> None:
        """Append one record (a JSON object) as one line."""
        line = json.dumps(dict(record), ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"
        with self._lock:
            if self._f.closed:
                raise ValueError("audit log is closed")
            self._f.write(line)
            self._f.flush()
            if self._fsync:
                os.fsync(self._f.fileno())

    def write_event(self, event: VoiceEvent) -> None:
        """Append a :class:`VoiceEvent` with an ISO-8601 UTC time stamp."""
        rec = {"time": _dt.datetime.fromtimestamp(event.t_event_ns / 1e9, tz=_dt.timezone.utc)
               .isoformat(timespec="milliseconds"), **event.to_body()}
        self.write(rec)

    def close(self) -> None:
        """Close the file (further writes raise)."""
        with self._lock:
            if not self._f.closed:
                self._f.close()

    def __enter__(self) -> "AuditLog":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_audit(path: str | Path) -> list[dict[str, Any]]:
    """Read every complete line of an audit log (a partial last line is skipped)."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out
