"""The recording format: an append-only log safe against ``kill -9``, and every record type in it.

A recording is a folder with ``meta.json`` (configuration, versions, start time) and
``session.sgrec``, a log of self-delimiting records. Each record is written with one
``write`` system call on an unbuffered file, so once :meth:`Recorder.write` returns the record is
in the operating system's page cache and survives the process being killed; a kill during the
write leaves at most the last record truncated, which :func:`read_records` detects (length and
CRC-32) and skips with a warning. Record layout (little-endian)::

    b"SGR1" (file magic, once)
    u32 header_len | u32 payload_len | u32 crc32(header + payload) | header (UTF-8 JSON) | payload

The header holds ``type`` (``frame``, ``pose``, ``overlay``, ``state``, ``voice``, ``command``,
``end``), ``t_ns`` and the record's fields; the payload holds binary data (the frame's pixels,
the overlay's arrays), described by the header. The record types that carry frames and poses
are built and read back here (:func:`frame_record` / :func:`frame_from_record`,
:func:`overlay_record`, :func:`pose_record` / :func:`pose_from_record`), so the live loop that
writes them and the replay source that reads them share one definition.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import numpy as np

from core.clock import now_ns
from core.errors import RecordingError
from core.pose import PoseMeasurement
from core.types import Frame, Validity
from core.version import __version__
from core.jsonfile import load_json

log = logging.getLogger(__name__)

MAGIC = b"SGR1"
LOG_NAME = "session.sgrec"
META_NAME = "meta.json"
_HEAD = struct.Struct("<III")
MAX_HEADER = 16 << 20
MAX_PAYLOAD = 1 << 30


@dataclass(frozen=True)
class Record:
    """One record read back: its header fields and binary payload."""

    type: str
    header: Mapping[str, Any]
    payload: bytes = field(repr=False, default=b"")
    offset: int = 0

    def arrays(self) -> dict[str, np.ndarray]:
        """Arrays packed in the payload as described by ``header["arrays"]``."""
        out: dict[str, np.ndarray] = {}
        pos = 0
        for spec in self.header.get("arrays", []):
            dt = np.dtype(spec["dtype"])
            n = int(np.prod(spec["shape"])) * dt.itemsize
            out[spec["name"]] = np.frombuffer(self.payload, dtype=dt, count=n // dt.itemsize,
                                              offset=pos).reshape(spec["shape"])
            pos += n
        return out


def pack_arrays(arrays: Mapping[str, np.ndarray]) -> tuple[list[dict[str, Any]], bytes]:
    """Array specs (name, little-endian dtype, shape) and their concatenated bytes."""
    specs, chunks = [], []
    for name, arr in arrays.items():
        a = np.ascontiguousarray(arr)
        a = a.astype(a.dtype.newbyteorder("<")) if a.dtype.byteorder == ">" else a
        specs.append({"name": name, "dtype": a.dtype.str, "shape": list(a.shape)})
        chunks.append(a.tobytes())
    return specs, b"".join(chunks)


class Recorder:
    """Writes a recording folder; thread-safe; every record flushed to the OS when written.

    Args:
        directory: the recording folder (created; must be empty or absent).
        meta: extra fields for ``meta.json`` (configuration text, model id...).

    Raises:
        RecordingError: the folder cannot be created or already holds a recording.
    """

    def __init__(self, directory: str | Path, meta: Mapping[str, Any] | None = None) -> None:
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if (self.directory / LOG_NAME).exists():
                raise RecordingError(f"{self.directory} already holds a recording; choose a new folder")
            info = {"software_version": f"sonoguide {__version__}", "started_ns": now_ns(),
                    "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **(meta or {})}
            (self.directory / META_NAME).write_text(json.dumps(info, indent=2, default=str) + "\n",
                                                    encoding="utf-8")
            self._fd = os.open(self.directory / LOG_NAME, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as exc:
            raise RecordingError(f"cannot write the recording folder {self.directory}: {exc.strerror}; "
                                 "choose a writable folder") from None
        self._lock = threading.Lock()
        self.records = 0
        self.bytes = 0
        self._closed = False
        self._write_raw(MAGIC)

    def _write_raw(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]

    def write(self, rtype: str, header: Mapping[str, Any] | None = None, payload: bytes = b"",
              arrays: Mapping[str, np.ndarray] | None = None) -> None:
        """Append one record.

        Args:
            rtype: record type.
            header: JSON-serialisable fields (``t_ns`` defaults to now).
            payload: raw bytes (mutually exclusive with ``arrays``).
            arrays: named arrays packed into the payload and described in the header.
        """
        h = {"type": rtype, "t_ns": now_ns(), **(header or {})}
        if arrays:
            h["arrays"], payload = pack_arrays(arrays)
        hb = json.dumps(h, separators=(",", ":"), default=_json_default).encode("utf-8")
        crc = zlib.crc32(payload, zlib.crc32(hb))
        record = _HEAD.pack(len(hb), len(payload), crc) + hb + payload
        with self._lock:
            if self._closed:
                return
            try:
                self._write_raw(record)
            except OSError as exc:
                raise RecordingError(f"writing the recording {self.directory} failed: {exc.strerror} "
                                     "(disk full?)") from None
            self.records += 1
            self.bytes += len(record)

    def close(self, **fields: Any) -> None:
        """Write the end marker (with ``fields``, e.g. the run's summary) and close the file (idempotent)."""
        with self._lock:
            if self._closed:
                return
        self.write("end", {"records": self.records, **fields})
        with self._lock:
            self._closed = True
            os.close(self._fd)


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if hasattr(o, "value"):  # enums
        return o.value
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def read_meta(directory: str | Path) -> dict[str, Any]:
    """The recording's ``meta.json``.

    Raises:
        RecordingError: the folder is not a readable recording.
    """
    d = Path(directory)
    if not (d / LOG_NAME).is_file():
        raise RecordingError(f"{d} is not a recording (no {LOG_NAME}); pass the folder given to --record")
    if not (d / META_NAME).exists():
        return {}
    return load_json(d / META_NAME, what="recording metadata", error=RecordingError, missing_fix="",
                     corrupt_fix="the recording's metadata is damaged")


def read_records(directory: str | Path) -> Iterator[Record]:
    """Yield the records of a recording in order.

    A truncated or damaged *last* record (the process was killed while writing it) is skipped
    with a warning. Damage followed by more data is corruption.

    Raises:
        RecordingError: missing folder or file, wrong magic, or a damaged record in the middle.
    """
    path = Path(directory) / LOG_NAME
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise RecordingError(f"{Path(directory)} is not a recording (no {LOG_NAME}); pass the folder given "
                             "to --record") from None
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {exc.strerror}") from None
    with f:
        n = os.fstat(f.fileno()).st_size
        if f.read(4) != MAGIC:
            raise RecordingError(f"{path} is not a sonoguide recording (bad magic); it may be damaged")
        pos = 4
        while pos < n:
            start = pos
            head = f.read(_HEAD.size)
            if len(head) < _HEAD.size:
                _truncated(path, start, n)
                return
            hlen, plen, crc = _HEAD.unpack(head)
            if hlen > MAX_HEADER or plen > MAX_PAYLOAD:
                raise RecordingError(f"{path}: damaged record at byte {start}; the recording is corrupt")
            body = f.read(hlen + plen)
            pos = start + _HEAD.size + len(body)
            if len(body) < hlen + plen:
                _truncated(path, start, n)
                return
            hb, payload = body[:hlen], body[hlen:]
            if zlib.crc32(payload, zlib.crc32(hb)) != crc:
                if pos >= n:
                    _truncated(path, start, n)
                    return
                raise RecordingError(f"{path}: checksum error in the record at byte {start}; the recording "
                                     "is corrupt")
            try:
                header = json.loads(hb.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise RecordingError(f"{path}: unreadable record header at byte {start}") from None
            yield Record(type=str(header.get("type", "")), header=header, payload=payload, offset=start)


def _truncated(path: Path, start: int, n: int) -> None:
    log.warning("%s: the last record (byte %d of %d) is incomplete - the recording was interrupted; skipped",
                path, start, n)


# ------------------------------------------------------------------------------------ record types
RECORD_TYPES = ("frame", "overlay", "pose", "state", "voice", "command", "end")
"""Every record type a recording holds (``end``: written by :meth:`Recorder.close`)."""


def state_record(body: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """A ``state`` record: the state message's body after a change."""
    return "state", {"state": dict(body)}


def voice_record(body: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """A ``voice`` record: the voice message's body of one decision."""
    return "voice", {"event": dict(body)}


def command_record(origin: str, command: str | None, result: Mapping[str, Any],
                   request_id: str | int | None = None) -> tuple[str, dict[str, Any]]:
    """A ``command`` record: who asked (``control``, ``voice``), what, the control id, and the result."""
    header: dict[str, Any] = {"origin": origin, "command": command, "result": dict(result)}
    if request_id is not None:
        header["id"] = request_id
    return "command", header


def pose_record(pose: PoseMeasurement | None) -> dict[str, Any] | None:
    """A pose as the JSON fields of a ``pose`` record (and of a frame record's ``pose``)."""
    if pose is None:
        return None
    return {"T": None if pose.T_camera_from_board is None else pose.T_camera_from_board.tolist(),
            "validity": pose.validity.value, "t_capture_ns": pose.t_capture_ns,
            "reproj_err_px": None if not np.isfinite(pose.reproj_err_px) else pose.reproj_err_px,
            "n_points": pose.n_points, "n_markers": pose.n_markers, "reason": pose.reason, "source": pose.source}


def pose_from_record(d: Mapping[str, Any] | None) -> PoseMeasurement | None:
    """Inverse of :func:`pose_record`."""
    if d is None:
        return None
    T = None if d["T"] is None else np.asarray(d["T"], dtype=np.float64)
    err = d.get("reproj_err_px")
    return PoseMeasurement(T, Validity(d["validity"]), int(d["t_capture_ns"]),
                           reproj_err_px=float("nan") if err is None else float(err),
                           n_points=int(d.get("n_points", 0)), n_markers=int(d.get("n_markers", 0)),
                           reason=str(d.get("reason", "")), source=str(d.get("source", "")))


def frame_record(frame: Frame, pose: PoseMeasurement | None,
                 state: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Header fields and arrays of a ``frame`` record: the frame, the pose used for it and the
    state it was processed under (``frozen``, ``layers``, ``version``)."""
    return ({"seq": frame.seq, "t_capture_ns": frame.t_capture_ns, "source": frame.source,
             "mm_per_px": list(frame.mm_per_px) if frame.mm_per_px else None, "pose": pose_record(pose),
             "state": dict(state)},
            {"image": frame.image})


@dataclass(frozen=True)
class RecordedFrame:
    """A ``frame`` record read back: the frame, the pose it was processed with and the state."""

    frame: Frame
    pose: PoseMeasurement | None
    state: Mapping[str, Any]


def frame_from_record(rec: Record) -> RecordedFrame:
    """Inverse of :func:`frame_record`."""
    h = rec.header
    frame = Frame(image=rec.arrays()["image"], t_capture_ns=int(h["t_capture_ns"]), seq=int(h["seq"]),
                  source=str(h.get("source", "")), mm_per_px=tuple(h["mm_per_px"]) if h.get("mm_per_px") else None)
    return RecordedFrame(frame, pose_from_record(h.get("pose")), h.get("state") or {})


def overlay_record(frame: Frame, body: Mapping[str, Any],
                   arrays: Mapping[str, np.ndarray]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Header fields and arrays of an ``overlay`` record (the image is in the frame record)."""
    return ({"frame_seq": frame.seq, "t_capture_ns": frame.t_capture_ns, "body": dict(body)},
            {k: v for k, v in arrays.items() if k != "image"})
