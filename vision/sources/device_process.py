"""A frame source run in a process of its own, as a frame grabber or a camera would be.

The simulated devices (the ultrasound phantom, the synthetic marker camera) render their frames
with the core's CPU; run in the core's process they also take its interpreter lock, so the
demo's figures would charge the core for work a real device does in hardware.
:class:`DeviceProcessSource` runs any picklable source factory in a child process; the child
writes each image into a ring of shared-memory slots (``multiprocessing.shared_memory``) and
sends its small metadata (sequence, capture stamp, spacing, truth) through a pipe. The parent's
:meth:`read` takes the newest frame, copies its image out of the slot and checks a sequence
number written into the slot before and after the image (a seqlock), so a slot overwritten while
being copied is dropped instead of delivered torn. Older frames still in the pipe are dropped
(latest wins, as a frame grabber's driver does).

Capture stamps are the child's: it inherits the core clock's offset (:mod:`core.clock`), so they
are on the core's time base.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing as mp
import time
from dataclasses import dataclass
from multiprocessing import shared_memory
from typing import Any, Mapping

import numpy as np

from core.clock import default_clock
from core.errors import DeviceError
from core.types import Frame

log = logging.getLogger(__name__)

_HEADER = 16
"""Bytes before and after each slot's image: the frame's sequence number (int64) written before and after."""
_STARTUP_S = 30.0


@dataclass(frozen=True)
class SourceSpec:
    """How the child builds the source: ``module.attr(**kwargs)`` (everything picklable).

    Attributes:
        factory: ``"package.module:callable"``.
        kwargs: its keyword arguments.
        name: the source's name (for logs and frames).
        max_image_bytes: the largest image the source produces (sizes the slots).
        send_truth: also send each frame's ground truth (the phantom's label images: large, and
            unused by the live loop, so off by default; the frames then carry ``truth=None``).
    """

    factory: str
    kwargs: Mapping[str, Any]
    name: str
    max_image_bytes: int
    send_truth: bool = False


def _build(spec: SourceSpec) -> Any:
    module, attr = spec.factory.split(":")
    return getattr(importlib.import_module(module), attr)(**dict(spec.kwargs))


def _child(spec: SourceSpec, shm_name: str, slots: int, slot_bytes: int, conn: Any, stop: Any) -> None:
    """The device process: read frames, write them into the ring, announce them."""
    shm = shared_memory.SharedMemory(name=shm_name)
    try:
        try:
            source = _build(spec)
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises it as a DeviceError
            conn.send(("error", f"{type(exc).__name__}: {exc}"))
            return
        conn.send(("ready", None))
        k = 0
        while not stop.is_set():
            frame = source.read()
            if frame is None:
                conn.send(("end", None))
                break
            img = np.ascontiguousarray(frame.image)
            if img.nbytes > slot_bytes - 2 * _HEADER:
                conn.send(("error", f"{spec.name} produced a {img.nbytes}-byte image; the slots hold "
                                    f"{slot_bytes - 2 * _HEADER}"))
                break
            base = (k % slots) * slot_bytes
            seq = np.int64(frame.seq)
            buf = shm.buf
            buf[base:base + 8] = seq.tobytes()
            buf[base + _HEADER:base + _HEADER + img.nbytes] = img.reshape(-1).view(np.uint8).data
            end = base + _HEADER + img.nbytes
            buf[end:end + 8] = seq.tobytes()
            conn.send(("frame", (k % slots, img.shape, img.dtype.str, frame.seq, frame.t_capture_ns, frame.source,
                                 frame.mm_per_px, frame.truth if spec.send_truth else None)))
            k += 1
        source.close()
    except (BrokenPipeError, EOFError, KeyboardInterrupt):
        pass
    finally:
        shm.close()


class DeviceProcessSource:
    """A :class:`~vision.sources.base.FrameSource` whose frames come from a child process.

    Args:
        spec: how the child builds the source.
        slots: frames the ring holds (the parent drops all but the newest anyway).

    Raises:
        DeviceError: the child could not start or build the source.
    """

    def __init__(self, spec: SourceSpec, slots: int = 4) -> None:
        default_clock()  # the child inherits the clock offset through the environment
        self.name = spec.name
        self._slots = slots
        self._slot_bytes = spec.max_image_bytes + 2 * _HEADER
        self._shm = shared_memory.SharedMemory(create=True, size=self._slot_bytes * slots)
        ctx = mp.get_context("spawn")
        self._conn, child_conn = ctx.Pipe(duplex=False)
        self._stop = ctx.Event()
        self._proc = ctx.Process(target=_child, name=f"device-{spec.name}", daemon=True,
                                 args=(spec, self._shm.name, slots, self._slot_bytes, child_conn, self._stop))
        try:
            self._proc.start()
        except Exception as exc:  # e.g. an argument that cannot be pickled: a programming error, said plainly
            self._proc = None
            self.close()
            raise DeviceError(f"could not start the {spec.name} device process: {exc}") from exc
        finally:
            child_conn.close()
        self.dropped = 0
        """Frames the child delivered that were replaced by a newer one before :meth:`read` took them."""
        self.torn = 0
        """Frames dropped because their slot was overwritten while being copied."""
        self._ended = False
        try:
            kind, detail = self._recv(_STARTUP_S)
        except DeviceError:
            self.close()
            raise
        if kind != "ready":
            self.close()
            raise DeviceError(f"the {spec.name} device process failed: {detail}")

    @property
    def pid(self) -> int | None:
        """The device process's id (for CPU accounting), ``None`` once closed."""
        return self._proc.pid if self._proc is not None else None

    def _recv(self, timeout_s: float) -> tuple[str, Any]:
        deadline = time.monotonic() + timeout_s
        while not self._conn.poll(0.05):
            if not self._proc.is_alive():
                raise DeviceError(f"the {self.name} device process ended (exit code {self._proc.exitcode}); "
                                  "see the log above for why")
            if time.monotonic() > deadline:
                raise DeviceError(f"the {self.name} device process sent nothing for {timeout_s:.0f} s")
        try:
            return self._conn.recv()
        except EOFError:
            raise DeviceError(f"the {self.name} device process closed its pipe") from None

    def read(self) -> Frame | None:
        """The newest frame (waits for one); ``None`` when the device's stream ended.

        Raises:
            DeviceError: the device process died or reported an error.
        """
        while True:
            if self._ended:
                return None
            kind, detail = self._recv(10.0)
            while kind == "frame" and self._conn.poll(0):  # latest wins
                newer = self._conn.recv()
                self.dropped += 1
                kind, detail = newer
            if kind == "end":
                self._ended = True
                return None
            if kind == "error":
                raise DeviceError(f"the {self.name} device process failed: {detail}")
            frame = self._take(*detail)
            if frame is not None:
                return frame

    def _take(self, slot: int, shape: tuple[int, ...], dtype: str, seq: int, t_capture_ns: int, source: str,
              mm_per_px: Any, truth: Any) -> Frame | None:
        base = slot * self._slot_bytes
        n = int(np.prod(shape)) * np.dtype(dtype).itemsize
        buf = self._shm.buf
        before = int(np.frombuffer(buf[base:base + 8], np.int64)[0])
        image = np.frombuffer(buf[base + _HEADER:base + _HEADER + n], dtype=np.dtype(dtype)).reshape(shape).copy()
        end = base + _HEADER + n
        after = int(np.frombuffer(buf[end:end + 8], np.int64)[0])
        if before != seq or after != seq:
            self.torn += 1
            return None
        return Frame(image=image, t_capture_ns=int(t_capture_ns), seq=int(seq), source=source, mm_per_px=mm_per_px,
                     truth=truth)

    def close(self) -> None:
        """Stop the device process and release the shared memory (idempotent)."""
        if self._proc is not None:
            self._stop.set()
            self._proc.join(3.0)
            if self._proc.is_alive():
                self._proc.terminate()
                self._proc.join(2.0)
            self._proc = None
        try:
            self._conn.close()
        except OSError:
            pass
        if self._shm is not None:
            self._shm.close()
            try:
                self._shm.unlink()
            except FileNotFoundError:
                pass
            self._shm = None
