"""Wire figures: overlay latency and lossless throughput over ZeroMQ, with OpenIGTLink (pyigtl) beside it.

Figures (issue: wire performance), all on loopback, every peer in a process of its own:

1. **ZeroMQ latency**, 60 Hz overlays to 4 subscribers. Each overlay is what the core sends for a
   256x256 view: a JPEG of a synthetic ultrasound frame (``vision.phantom``, ~20 KB) as a 1-D ``|u1``
   array ``image_jpeg``, two 100-point ``<f4`` contours, a needle with its trajectory, and the placement
   matrices (``<f8`` 4x4). The producer calls :meth:`ar_bridge.publisher.Publisher.publish` (its own
   thread stamps ``seq`` and ``t_publish_ns`` and sends on the XPUB socket); each subscriber stamps
   ``now_ns()`` right after ``recv_multipart`` returns. *Wire* = receipt - ``t_publish_ns``;
   *end to end* = receipt - the time the producer called ``publish()`` (carried in the body, so it
   includes the Publisher's hand-off to its thread and the encoding). p50/p99/max over all subscribers,
   losses (``seq`` gaps). Target: p99 <= 1 ms. The same with one subscriber is shown for comparison.
2. **ZeroMQ throughput** to one subscriber: the same overlays paced at increasing rates, a few seconds
   each; per rate the offered and delivered rate and the loss. With the latest-only high-water mark
   (``network.sndhwm`` = 32) a burst faster than the link drops by design; the figure is the highest
   paced rate delivered with zero loss and at >= 95 % of the pace. Target: >= 2,000 overlays/s.
   The subscriber decodes every message (``ar_bridge.schema.decode``) after stamping it, like a client,
   with ``RCVHWM`` 100 like the Unity client.
3. **OpenIGTLink** side by side, with pyigtl 0.3.4 (3D Slicer's ecosystem): ``pyigtl.OpenIGTLinkServer``
   sends per frame an IMAGE (the same 256x256 frame, raw uint8 - IGTL IMAGE has no JPEG) and a
   TRANSFORM (the placement) to one ``pyigtl.OpenIGTLinkClient``: end-to-end latency (receipt of the
   frame's last message - the send time carried in the message timestamp), wire latency (from the
   server's handler thread packing the frame to its receipt), and the highest rate without loss.

Fairness notes (printed with the table): ZeroMQ carries a JPEG (~20 KB) plus contours and needle, IGTL
a raw 64 KiB image plus a transform (pyigtl cannot decode POLYDATA, so no contours). Both producers
hand off to a library thread: ``Publisher.publish`` wakes its thread at once through an inproc socket;
``send_message(wait=False)`` appends to pyigtl's queue, which its handler thread drains only between
10 ms receive time-outs. The pyigtl client is timestamped in its own receive thread after the message
is unpacked (a subclass hooks ``_receive_message_from_socket``), the ZeroMQ subscriber before decoding.
pyigtl leaves Nagle on (ZeroMQ sets TCP_NODELAY). The pyigtl server is built on the main thread of its
own process (its constructor installs SIGINT/SIGTERM handlers; see ``ar_bridge/igtl_server.py``), and
the client is stopped before the server so that neither handler loop spins on a closed socket.

Diagnostics (off by default): ``--raw-baseline`` adds the same 60 Hz figure with a plain PUB socket sent
from the producer thread (the wire without the Publisher's hand-off); ``--producer-busy-ms N`` makes the
producer thread run N ms of pure Python after each 60 Hz publish, as a pipeline thread does when it
goes on to the next frame (it shows what the GIL does to the hand-off); ``--sndhwm``/``--rcvhwm`` change
the high-water marks. The machine line records CPU pressure (Linux PSI) and how late ``sleep(1 ms)``
wakes up, because on a shared machine those, not the code, set the tail.

Usage::

    .venv/bin/python benchmarks/bench_wire.py [--duration 20] [--quick] [--json]

Prints the machine, then a markdown table (figure, value, target, pass); with ``--json`` the last line
is one JSON object. Every phase is bounded: child processes are joined, then terminated, then killed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import zmq

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from core.clock import default_clock, now_ns  # noqa: E402
from ar_bridge.config import NetworkConfig  # noqa: E402
from ar_bridge.publisher import Publisher  # noqa: E402
from ar_bridge.schema import WireMessage, decode, encode, schema_name  # noqa: E402

TARGET_P99_MS = 1.0
TARGET_RATE_HZ = 2000.0
IMAGE_PX = 256
IGTL_IMAGE_DEVICE = "Image"
IGTL_TRANSFORM_DEVICE = "ImageToReference"
PHASE_PROBE, PHASE_WARMUP, PHASE_MEASURE, PHASE_STEP0 = 0, 1, 2, 100
"""Phase tags carried with every message: probe (until every subscriber receives), warm-up (discarded),
the 60 Hz measurement, and ``PHASE_STEP0 + i`` for step ``i`` of the throughput ladder."""
_SPAWN = mp.get_context("spawn")
_START_S = 60.0  # a spawned child imports numpy and pyzmq: slow on a loaded machine, but bounded
_JOIN_S = 5.0


# =========================================================================== payloads

@dataclass(frozen=True)
class Payloads:
    """What every frame carries; a bank of frames is cycled so sizes vary like a live stream.

    Attributes:
        body: the overlay body template (``OverlayMessage.to_body``) plus ``image_jpeg``.
        arrays: the fixed arrays (contours, needle trajectory, placement matrices).
        jpegs: 1-D uint8 JPEG per frame of the bank.
        images: the same frames raw, ``(h, w)`` uint8 (for OpenIGTLink).
        T_headset_from_image: the placement (4x4 float64).
        mm_per_px: pixel spacing ``(row, col)``.
        source: ``"phantom"`` or ``"speckle"`` (fallback).
    """

    body: dict
    arrays: dict
    jpegs: tuple
    images: tuple
    T_headset_from_image: np.ndarray
    mm_per_px: tuple
    source: str

    @property
    def jpeg_kb(self) -> float:
        return float(np.mean([j.size for j in self.jpegs])) / 1000.0


def _ultrasound_frames(size: int, n: int, seed: int) -> tuple[list[np.ndarray], tuple, list, str]:
    """``n`` grey B-mode-like frames: the project's phantom, else log-compressed speckle."""
    try:
        from vision.phantom import Phantom, PhantomConfig, PhantomImagingConfig
        ph = Phantom(PhantomConfig(seed=seed, imaging=PhantomImagingConfig(width_px=size, height_px=size)))
        frames = [ph.render(0.6 + i / 25.0) for i in range(n)]
        return [f.image for f in frames], tuple(frames[0].mm_per_px), list(frames[0].structures), "phantom"
    except Exception:  # the phantom is a convenience; speckle is as good for the wire
        import cv2
        rng = np.random.default_rng(seed)
        out = []
        for _ in range(n):
            amp = rng.rayleigh(1.0, (size, size)).astype(np.float32)
            amp = cv2.GaussianBlur(amp, (0, 0), 0.6)  # speckle grain: ~18 KB as JPEG q85
            db = 20.0 * np.log10(amp + 1e-3)
            out.append(np.clip((db + 20.0) * 5.0, 0, 255).astype(np.uint8))
        return out, (40.0 / size, 40.0 / size), [], "speckle"


def _ellipse(cx: float, cy: float, ax: float, ay: float, n: int = 100) -> np.ndarray:
    a = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
    return np.stack([cx + ax * np.cos(a), cy + ay * np.sin(a)], axis=1).astype(np.float32)


def make_payloads(size: int = IMAGE_PX, frames: int = 16, quality: int = 85, seed: int = 0) -> Payloads:
    """Build the frame bank and one realistic overlay body (two 100-point contours, needle, pose)."""
    import cv2

    from ar_bridge.messages import NeedleOverlay, OverlayMessage, StructureOverlay
    images, mm_per_px, structs, source = _ultrasound_frames(size, frames, seed)
    jpegs = tuple(np.ascontiguousarray(cv2.imencode(".jpg", im, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].reshape(-1),
                                       dtype=np.uint8) for im in images)
    nerve = next((s for s in structs if s[0] == 1), (1, "nerve", (0.3 * size, 0.4 * size), (0.1 * size, 0.05 * size)))
    vessel = next((s for s in structs if s[0] == 2), (2, "artery", (0.6 * size, 0.35 * size), (0.09 * size,) * 2))
    T = np.eye(4)
    T[:3, :3] = np.diag([mm_per_px[1], -mm_per_px[0], 1.0])
    T[:3, 3] = [-20.0, 15.0, -400.0]
    ov = OverlayMessage(
        frame_seq=0, t_capture_ns=0, valid_until_ns=0, image_size=(size, size), mm_per_px=mm_per_px, frozen=False,
        layers={"nerve": True, "vessel": True, "needle": True}, quality=0.87, quality_flags=(), pose_validity="ok",
        pose_age_ms=4.2, T_headset_from_image=T,
        structures=(StructureOverlay(1, "nerve", "ok", 0.91, 14.2, _ellipse(*nerve[2], *nerve[3])),
                    StructureOverlay(2, "vessel", "ok", 0.95, 28.0, _ellipse(*vessel[2], *vessel[3]))),
        needle=NeedleOverlay("ok", (0.45 * size, 0.35 * size), (0.0, 0.1 * size), 30.0, "caution",
                             {"nerve": 4.1, "vessel": 7.9}, {"nerve": 1.3, "vessel": None},
                             np.array([[0.45 * size, 0.35 * size], [0.75 * size, 0.52 * size]], np.float32)),
        source="bench_wire")
    body, arrays = ov.to_body()
    body["image_jpeg"] = "image_jpeg"
    body["image_codec"] = "jpeg"
    return Payloads(body=body, arrays=arrays, jpegs=jpegs, images=tuple(images), T_headset_from_image=T,
                    mm_per_px=tuple(mm_per_px), source=source)


def overlay_for(p: Payloads, k: int, phase: int) -> tuple[int, dict, dict]:
    """``(t_capture_ns, body, arrays)`` of frame ``k``; the caller sets ``body["bench"]["t_call_ns"]``."""
    t_cap = now_ns()
    body = dict(p.body)
    body["frame_seq"] = k
    body["valid_until_ns"] = t_cap + 200_000_000
    body["bench"] = {"k": k, "phase": phase, "t_call_ns": 0}
    arrays = dict(p.arrays)
    arrays["image_jpeg"] = p.jpegs[k % len(p.jpegs)]
    return t_cap, body, arrays


# =========================================================================== helpers

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def paced(rate_hz: float, seconds: float, send: Callable[[int], None]) -> tuple[int, float]:
    """Call ``send(k)`` at ``rate_hz`` on an absolute schedule for ``seconds`` (bounded: gives up 1 s late).

    Returns:
        ``(calls made, their span in seconds)``.
    """
    n = max(1, int(round(rate_hz * seconds)))
    period = 1.0 / rate_hz
    t0 = time.perf_counter()
    give_up = t0 + seconds + 1.0
    k = 0
    while k < n:
        now = time.perf_counter()
        if now > give_up:
            break
        d = t0 + k * period - now
        if d > 0:
            time.sleep(d)
        send(k)
        k += 1
    return k, time.perf_counter() - t0


def _stats_ms(ns: np.ndarray) -> dict:
    if ns.size == 0:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    ms = ns.astype(np.float64) / 1e6
    return {"n": int(ms.size), "p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "max_ms": float(ms.max())}


def _wait_until(cond: Callable[[], bool], timeout: float, step: float = 0.01) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return cond()


def _recv(conn, timeout: float, what: str):
    if not conn.poll(timeout):
        raise RuntimeError(f"no answer from the {what} within {timeout:.0f} s")
    return conn.recv()


def _reap(procs: list) -> None:
    """Join, then terminate, then kill: nothing outlives a phase."""
    for p in procs:
        p.join(_JOIN_S)
    for p in procs:
        if p.is_alive():
            p.terminate()
            p.join(2.0)
        if p.is_alive():
            p.kill()
            p.join(2.0)


def cpu_pressure() -> dict | None:
    """Linux PSI ``some`` line: the share of time at least one runnable task waited for a CPU (%)."""
    try:
        with open("/proc/pressure/cpu") as f:
            line = f.readline().split()
        return {k: float(v) for k, v in (x.split("=") for x in line[1:4])}
    except (OSError, ValueError, IndexError):
        return None


def sleep_overshoot_ms(n: int = 300) -> dict:
    """How late ``time.sleep(1 ms)`` wakes up: the scheduler's wake-up delay on this machine right now."""
    late = np.empty(n, np.int64)
    for i in range(n):
        t = time.perf_counter_ns()
        time.sleep(0.001)
        late[i] = time.perf_counter_ns() - t - 1_000_000
    return _stats_ms(late)


def machine() -> dict:
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    import importlib.metadata as md
    try:
        pyigtl_v = md.version("pyigtl")
    except md.PackageNotFoundError:
        pyigtl_v = None
    return {"cpu_count": os.cpu_count(), "cpus_usable": affinity, "platform": platform.platform(),
            "processor": platform.machine(), "python": platform.python_version(), "pyzmq": zmq.__version__,
            "libzmq": zmq.zmq_version(), "pyigtl": pyigtl_v, "loadavg_start": [round(x, 2) for x in os.getloadavg()],
            "cpu_pressure_start": cpu_pressure(), "sleep_1ms_overshoot_start": sleep_overshoot_ms(),
            "gil_switch_interval_ms": sys.getswitchinterval() * 1000.0}


# =========================================================================== ZeroMQ

def _zmq_subscriber(endpoint: str, rcvhwm: int, do_decode: bool, first_q, stop, conn, max_s: float) -> None:
    """Child process: SUB to ``overlay``; one row per message: seq, t_recv, t_publish, t_call, k, phase."""
    ctx = zmq.Context(1)
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, rcvhwm)
    sub.setsockopt(zmq.RCVTIMEO, 50)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"overlay")
    sub.connect(endpoint)
    rows: list[tuple[int, ...]] = []
    announced = False
    end = time.monotonic() + max_s
    try:
        while not stop.is_set() and time.monotonic() < end:
            try:
                frames = sub.recv_multipart()
            except zmq.Again:
                continue
            t_recv = now_ns()
            if do_decode:  # what a client does with it (validated, arrays built), after the timestamp
                m = decode(frames)
                seq, t_pub, body = m.seq, m.t_publish_ns, m.body
            else:
                h = json.loads(frames[1])
                seq, t_pub, body = h["seq"], h["t_publish_ns"], h["body"]
            b = body.get("bench") or {}
            rows.append((seq, t_recv, t_pub, b.get("t_call_ns", 0), b.get("k", -1), b.get("phase", -1)))
            if not announced:
                first_q.put(os.getpid())
                announced = True
    finally:
        sub.close(linger=0)
        ctx.term()
    conn.send(np.asarray(rows, dtype=np.int64).reshape(-1, 6))
    conn.close()


def busy_python(ms: float) -> None:
    """Pure-Python work holding the GIL for ``ms`` (a pipeline thread computing the next frame)."""
    end = time.perf_counter() + ms / 1000.0
    x = 0
    while time.perf_counter() < end:
        x += 1


@dataclass
class ZmqSession:
    """A Publisher in this process and ``n`` subscriber processes on a free loopback port.

    With ``raw`` there is no Publisher: the producer thread stamps, encodes and sends on a plain PUB
    socket itself (same encoder, same high-water mark): the floor of the wire without the hand-off.
    """

    payloads: Payloads
    n_subs: int
    rcvhwm: int
    sndhwm: int
    do_decode: bool
    max_s: float
    raw: bool = False

    def __enter__(self) -> "ZmqSession":
        ep = f"tcp://127.0.0.1:{_free_port()}"
        self.ctx = zmq.Context()
        self.pub = None if self.raw else Publisher(
            NetworkConfig(pub_endpoint=ep, control_endpoint=f"tcp://127.0.0.1:{_free_port()}", sndhwm=self.sndhwm),
            context=self.ctx)
        self.sock = None
        self.raw_seq = 0
        self.first_q = _SPAWN.Queue()
        self.stop = _SPAWN.Event()
        self.conns, self.procs = [], []
        try:
            self._start(ep)
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _start(self, ep: str) -> None:
        if self.pub is not None:
            self.pub.start()
        else:
            self.sock = self.ctx.socket(zmq.PUB)
            self.sock.setsockopt(zmq.SNDHWM, self.sndhwm)
            self.sock.setsockopt(zmq.LINGER, 0)
            self.sock.bind(ep)
        for i in range(self.n_subs):
            parent, child = _SPAWN.Pipe(duplex=False)
            p = _SPAWN.Process(target=_zmq_subscriber, name=f"bench-wire-sub{i}",
                               args=(ep, self.rcvhwm, self.do_decode, self.first_q, self.stop, child, self.max_s),
                               daemon=True)
            p.start()
            child.close()
            self.conns.append(parent)
            self.procs.append(p)
        self.published = 0
        self._probe()

    def _probe(self) -> None:
        """Publish tagged probes at 20 Hz until every subscriber has one (subscriptions have propagated)."""
        got: set[int] = set()
        end = time.monotonic() + _START_S
        k = 0
        while len(got) < self.n_subs:
            dead = [p for p in self.procs if not p.is_alive()]
            if dead:
                raise RuntimeError(f"subscriber process {dead[0].name} exited with code {dead[0].exitcode} "
                                   "before receiving (its traceback is above)")
            if time.monotonic() > end:
                raise RuntimeError(f"only {len(got)} of {self.n_subs} subscribers received within {_START_S:.0f} s")
            self.send(k, PHASE_PROBE)
            k += 1
            try:
                while True:
                    got.add(self.first_q.get(timeout=0.05))
            except Exception:  # queue.Empty
                pass
        self.drain()

    def send(self, k: int, phase: int, busy_ms: float = 0.0) -> None:
        t_cap, body, arrays = overlay_for(self.payloads, k, phase)
        t_call = body["bench"]["t_call_ns"] = now_ns()
        if self.pub is not None:
            self.pub.publish("overlay", t_cap, body, arrays)
        else:
            self.raw_seq += 1
            msg = WireMessage("overlay", schema_name("overlay"), self.raw_seq, t_cap, t_call, body, arrays)
            self.sock.send_multipart(encode(msg), copy=False)
        self.published += 1
        if busy_ms > 0:
            busy_python(busy_ms)

    def drain(self, settle: float = 0.3) -> bool:
        """Wait until the Publisher has sent everything queued, then let the subscribers catch up."""
        ok = self.pub is None or _wait_until(lambda: self.pub.sent["overlay"] >= self.published, 10.0)
        time.sleep(settle)
        return ok

    def collect(self) -> list[np.ndarray]:
        self.stop.set()
        return [_recv(c, _JOIN_S + 10.0, "subscriber") for c in self.conns]

    def __exit__(self, *exc) -> None:
        self.stop.set()
        _reap(self.procs)
        for c in self.conns:
            c.close()
        if self.pub is not None:
            self.pub.stop()
        if self.sock is not None:
            self.sock.close(linger=0)
        self.ctx.term()


def _zmq_latency_figures(rows: list[np.ndarray], n_sent: int, phase: int = PHASE_MEASURE) -> dict:
    wire, e2e, hand, lost, gaps, got = [], [], [], 0, 0, 0
    for r in rows:
        m = r[r[:, 5] == phase]
        wire.append(m[:, 1] - m[:, 2])
        e2e.append(m[:, 1] - m[:, 3])
        hand.append(m[:, 2] - m[:, 3])
        got += len(m)
        lost += n_sent - len(np.unique(m[:, 4]))
        seqs = np.sort(m[:, 0])
        gaps += int(np.count_nonzero(np.diff(seqs) > 1))
    return {"wire": _stats_ms(np.concatenate(wire)), "e2e": _stats_ms(np.concatenate(e2e)),
            "handoff": _stats_ms(np.concatenate(hand)), "sent": n_sent, "received": got, "lost": lost,
            "gap_events": gaps, "per_subscriber_wire": [_stats_ms(w) for w in wire]}


def zmq_latency(p: Payloads, n_subs: int, rate: float, warmup: float, duration: float, rcvhwm: int, sndhwm: int,
                do_decode: bool, busy_ms: float = 0.0, raw: bool = False) -> dict:
    """Figure 1: ``rate`` Hz overlays to ``n_subs`` subscriber processes; the warm-up is discarded."""
    n_warm = int(round(rate * warmup))
    with ZmqSession(p, n_subs, rcvhwm, sndhwm, do_decode, max_s=_START_S + warmup + duration + 30.0, raw=raw) as s:
        sent, span = paced(rate, warmup + duration,
                           lambda k: s.send(k, PHASE_WARMUP if k < n_warm else PHASE_MEASURE, busy_ms))
        s.drain()
        rows = s.collect()
    out = _zmq_latency_figures(rows, sent - n_warm)
    out.update({"subscribers": n_subs, "rate_hz": rate, "offered_hz": sent / span, "duration_s": duration})
    return out


def zmq_ladder(p: Payloads, rates: list[float], step_s: float, rcvhwm: int, sndhwm: int, do_decode: bool,
               single_latency: tuple[float, float, float] | None, busy_ms: float = 0.0) -> dict:
    """Figure 2 (and, first, the 60 Hz latency to this one subscriber for comparison)."""
    lat_s = (single_latency[1] + single_latency[2]) if single_latency else 0.0
    max_s = _START_S + lat_s + len(rates) * (step_s + 12.0) + 30.0
    out: dict[str, Any] = {}
    with ZmqSession(p, 1, rcvhwm, sndhwm, do_decode, max_s=max_s) as s:
        if single_latency:
            rate, warm, dur = single_latency
            n_warm = int(round(rate * warm))
            sent_lat, _ = paced(rate, warm + dur,
                                lambda k: s.send(k, PHASE_WARMUP if k < n_warm else PHASE_MEASURE, busy_ms))
            s.drain()
        steps = []
        for i, r in enumerate(rates):
            n, span = paced(r, step_s, lambda k, i=i: s.send(k, PHASE_STEP0 + i))
            s.drain()
            steps.append((r, n, span))
        rows = s.collect()[0]
    if single_latency:
        out["single"] = _zmq_latency_figures([rows], sent_lat - int(round(single_latency[0] * single_latency[1])))
        out["single"].update({"subscribers": 1, "rate_hz": single_latency[0], "duration_s": single_latency[2]})
    out["steps"] = []
    for i, (r, n, span) in enumerate(steps):
        m = rows[rows[:, 5] == PHASE_STEP0 + i]
        got = len(np.unique(m[:, 4]))
        t = np.sort(m[:, 1])
        delivered = (len(t) - 1) / ((t[-1] - t[0]) / 1e9) if len(t) > 1 and t[-1] > t[0] else 0.0
        m = m[np.argsort(m[:, 0])]
        after_gap = np.flatnonzero(np.diff(m[:, 0]) > 1) + 1
        hand = m[:, 2] - m[:, 3]
        out["steps"].append({"rate_hz": r, "sent": n, "offered_hz": n / span, "received": got,
                             "delivered_hz": delivered, "lost": n - got, "gap_events": int(after_gap.size),
                             "wire": _stats_ms(m[:, 1] - m[:, 2]), "handoff": _stats_ms(hand),
                             # the Publisher's backlog when a gap closed: large = its thread fell behind, then burst
                             "handoff_after_gaps_ms": [round(float(x) / 1e6, 3) for x in hand[after_gap][:20]]})
    _lossless(out)
    return out


KEPT_UP = 0.95
"""A ladder step counts when nothing was lost and the delivered rate reached this share of the paced rate."""


def _lossless(out: dict) -> None:
    """``max_lossless_hz``: the highest paced rate delivered in full; ``..._delivered_hz``: what was measured."""
    held = [st for st in out["steps"] if st["sent"] > 0 and st["lost"] == 0
            and st["delivered_hz"] >= KEPT_UP * st["rate_hz"]]
    best = max(held, key=lambda st: st["rate_hz"], default=None)
    out["max_lossless_hz"] = best["rate_hz"] if best else 0.0
    out["max_lossless_delivered_hz"] = best["delivered_hz"] if best else 0.0


# =========================================================================== OpenIGTLink (pyigtl)

def _igtl_server(port: int, images: tuple, T: np.ndarray, mm_per_px: tuple, conn, max_s: float,
                 busy_ms: float = 0.0) -> None:
    """Child process: pyigtl server (built on this process's main thread) that sends frames on command.

    Commands on ``conn``: ``("run", [(phase, rate, seconds), ...])`` sends paced frames and answers
    ``("done", sent_rows, pack_rows)``; ``("stop",)`` stops the server.
    """
    import pyigtl

    class StampingServer(pyigtl.OpenIGTLinkServer):
        """pyigtl's server; the handler thread's send step is pyigtl's own plus one timestamp per message."""

        pack_log: list

        def _send_queued_message_from_socket(self, sock):  # noqa: D102 - same logic as pyigtl 0.3.4
            with self.lock_outgoing_messages:
                if not self.outgoing_messages:
                    return False
                message = self.outgoing_messages.popleft()
                t_pack = now_ns()
                binary = message.pack()
            sock.sendall(binary)
            self.pack_log.append((int(round(message.timestamp * 1e6)),
                                  0 if message.device_name == IGTL_IMAGE_DEVICE else 1, t_pack))
            return True

    server = StampingServer(port=port, local_server=True)
    server.pack_log = []
    end = time.monotonic() + max_s
    conn.send(("listening", port))
    connected = _wait_until(server.is_connected, _START_S, 0.005)
    conn.send(("connected", connected))
    ijk = np.diag([mm_per_px[1], mm_per_px[0], 1.0, 1.0])
    stacks = [im[np.newaxis] for im in images]
    try:
        while time.monotonic() < end:
            if not conn.poll(0.2):
                continue
            cmd = conn.recv()
            if cmd[0] == "stop":
                break
            sent: list[tuple[int, int, int]] = []
            for phase, rate, seconds in cmd[1]:
                def send(k: int, phase: int = phase) -> None:
                    img = pyigtl.ImageMessage(stacks[k % len(stacks)], ijk_to_world_matrix=ijk,
                                              world_coordinate_system="ras", device_name=IGTL_IMAGE_DEVICE)
                    tr = pyigtl.TransformMessage(T, device_name=IGTL_TRANSFORM_DEVICE)
                    ts_us = now_ns() // 1000  # the send time, carried in both headers
                    img.timestamp = tr.timestamp = ts_us / 1e6
                    server.send_message(img, wait=False)
                    server.send_message(tr, wait=False)
                    sent.append((k, phase, ts_us))
                    if busy_ms > 0 and phase in (PHASE_WARMUP, PHASE_MEASURE):
                        busy_python(busy_ms)
                paced(rate, seconds, send)
                _wait_until(lambda: not server.outgoing_messages, 10.0, 0.002)
                time.sleep(0.3)
            conn.send(("done", np.asarray(sent, np.int64).reshape(-1, 3),
                       np.asarray(server.pack_log, np.int64).reshape(-1, 3)))
            server.pack_log = []
    finally:
        server.stop()
        conn.send(("stopped",))
        conn.close()


def _igtl_client(port: int, stop, conn, max_s: float) -> None:
    """Child process: pyigtl client; one row per message received: kind (0 image, 1 transform), ts_us, t_recv."""
    import pyigtl

    class StampingClient(pyigtl.OpenIGTLinkClient):
        """pyigtl's client; every message is timestamped in its receive thread as soon as it is unpacked."""

        rows: list

        def _receive_message_from_socket(self, sock):  # noqa: D102
            ok = super()._receive_message_from_socket(sock)
            if ok:
                t = now_ns()
                with self.lock_incoming_messages:
                    got = list(self.incoming_messages.values())
                    self.incoming_messages.clear()
                for m in got:
                    self.rows.append((0 if m.device_name == IGTL_IMAGE_DEVICE else 1,
                                      int(round(m.timestamp * 1e6)), t))
            return ok

    client = StampingClient(host="127.0.0.1", port=port, start_now=False)
    client.rows = []
    client.start()
    stop.wait(max_s)
    client.stop()
    conn.send(np.asarray(client.rows, np.int64).reshape(-1, 3))
    conn.close()


def _igtl_frames(sent: np.ndarray, packed: np.ndarray, recv: np.ndarray) -> dict[str, np.ndarray]:
    """Per frame sent: t_call, first pack time, last receipt time (0 where a part is missing)."""
    def index(rows: np.ndarray, ts_col: int, kind_col: int, t_col: int) -> dict[tuple[int, int], int]:
        return {(int(r[ts_col]), int(r[kind_col])): int(r[t_col]) for r in rows}
    pk = index(packed, 0, 1, 2)
    rc = index(recv, 1, 0, 2)
    n = len(sent)
    t_call = sent[:, 2] * 1000
    first_pack = np.zeros(n, np.int64)
    last_recv = np.zeros(n, np.int64)
    for i, ts in enumerate(sent[:, 2]):
        ts = int(ts)
        p0, r0, r1 = pk.get((ts, 0), 0), rc.get((ts, 0), 0), rc.get((ts, 1), 0)
        first_pack[i] = p0
        last_recv[i] = max(r0, r1) if (r0 and r1) else 0
    return {"phase": sent[:, 1], "k": sent[:, 0], "t_call": t_call, "first_pack": first_pack, "last_recv": last_recv}


def igtl_figures(p: Payloads, rate: float, warmup: float, duration: float, rates: list[float], step_s: float,
                 busy_ms: float = 0.0) -> dict:
    """Figure 3: the 60 Hz latency and the rate ladder over pyigtl, one server and one client process."""
    port = _free_port()
    total = warmup + duration + len(rates) * (step_s + 12.0)
    max_s = _START_S + total + 60.0
    s_parent, s_child = _SPAWN.Pipe()
    c_parent, c_child = _SPAWN.Pipe(duplex=False)
    stop = _SPAWN.Event()
    server = _SPAWN.Process(target=_igtl_server, name="bench-wire-igtl-server", daemon=True,
                            args=(port, p.images, p.T_headset_from_image, p.mm_per_px, s_child, max_s, busy_ms))
    client = _SPAWN.Process(target=_igtl_client, name="bench-wire-igtl-client", daemon=True,
                            args=(port, stop, c_child, max_s))
    out: dict[str, Any] = {}
    try:
        server.start()
        s_child.close()
        _recv(s_parent, _START_S, "OpenIGTLink server")  # listening
        client.start()
        c_child.close()
        if not _recv(s_parent, _START_S + 5.0, "OpenIGTLink server")[1]:
            raise RuntimeError("the pyigtl client did not connect")
        schedule = [(PHASE_WARMUP, rate, warmup), (PHASE_MEASURE, rate, duration)]
        schedule += [(PHASE_STEP0 + i, r, step_s) for i, r in enumerate(rates)]
        s_parent.send(("run", schedule))
        _, sent, packed = _recv(s_parent, total + 60.0, "OpenIGTLink server")
        stop.set()  # the client first: a pyigtl handler spins on a closed peer
        recv = _recv(c_parent, _JOIN_S + 10.0, "OpenIGTLink client")
        s_parent.send(("stop",))
        _recv(s_parent, _JOIN_S + 5.0, "OpenIGTLink server")
    finally:
        stop.set()
        _reap([client, server])
        s_parent.close()
        c_parent.close()
    f = _igtl_frames(sent, packed, recv)
    m = f["phase"] == PHASE_MEASURE
    ok = m & (f["last_recv"] > 0)
    out["latency"] = {"e2e": _stats_ms(f["last_recv"][ok] - f["t_call"][ok]),
                      "wire": _stats_ms(f["last_recv"][ok] - f["first_pack"][ok]),
                      "handoff": _stats_ms(f["first_pack"][ok] - f["t_call"][ok]),
                      "sent": int(m.sum()), "received": int(ok.sum()), "lost": int(m.sum() - ok.sum()),
                      "rate_hz": rate, "duration_s": duration}
    steps = []
    for i, r in enumerate(rates):
        sel = f["phase"] == PHASE_STEP0 + i
        n = int(sel.sum())
        got = sel & (f["last_recv"] > 0)
        t = np.sort(f["last_recv"][got])
        tc = f["t_call"][sel]
        offered = (n - 1) / ((tc.max() - tc.min()) / 1e9) if n > 1 and tc.max() > tc.min() else 0.0
        delivered = (len(t) - 1) / ((t[-1] - t[0]) / 1e9) if len(t) > 1 and t[-1] > t[0] else 0.0
        steps.append({"rate_hz": r, "sent": n, "offered_hz": offered, "received": int(got.sum()),
                      "delivered_hz": delivered, "lost": n - int(got.sum()),
                      "e2e_p99_ms": _stats_ms(f["last_recv"][got] - f["t_call"][got])["p99_ms"]})
    out["steps"] = steps
    _lossless(out)
    out["image_bytes"] = int(p.images[0].size)
    return out


# =========================================================================== report

def _lat(s: dict) -> str:
    if not s["n"]:
        return "no samples"
    return f"p50 {s['p50_ms']:.3f} / p99 {s['p99_ms']:.3f} / max {s['max_ms']:.2f} ms"


def rows_of(r: dict) -> list[tuple[str, str, str, str]]:
    """One row per figure: (figure, value, target, pass)."""
    rows = []
    z = r["zmq_latency"]
    n = z["subscribers"]
    p99_ok = z["wire"]["p99_ms"] is not None and z["wire"]["p99_ms"] <= TARGET_P99_MS
    e2e_ok = z["e2e"]["p99_ms"] is not None and z["e2e"]["p99_ms"] <= TARGET_P99_MS
    rows.append((f"ZeroMQ wire latency, {z['rate_hz']:g} Hz, {n} subscribers (t_publish -> recv)", _lat(z["wire"]),
                 f"p99 <= {TARGET_P99_MS:g} ms", "yes" if p99_ok else "NO"))
    rows.append((f"ZeroMQ end-to-end latency, {z['rate_hz']:g} Hz, {n} subscribers (publish() -> recv)",
                 _lat(z["e2e"]), f"p99 <= {TARGET_P99_MS:g} ms", "yes" if e2e_ok else "NO"))
    rows.append(("  of which Publisher hand-off (publish() -> t_publish)", _lat(z["handoff"]), "-", "-"))
    rows.append((f"ZeroMQ losses, {n} subscribers", f"{z['lost']} lost, {z['gap_events']} seq gaps of "
                 f"{z['sent'] * n} deliveries", "0", "yes" if z["lost"] == 0 and z["gap_events"] == 0 else "NO"))
    if "zmq_raw" in r:
        z0 = r["zmq_raw"]
        rows.append((f"  floor: plain PUB sent by the producer thread (no Publisher hand-off), {n} subscribers",
                     _lat(z0["wire"]) + f"; {z0['lost']} lost", "-", "-"))
    zl = r["zmq_ladder"]
    if "single" in zl:
        s1 = zl["single"]
        rows.append((f"ZeroMQ wire latency, {s1['rate_hz']:g} Hz, 1 subscriber", _lat(s1["wire"]), "-", "-"))
        rows.append((f"ZeroMQ end-to-end latency, {s1['rate_hz']:g} Hz, 1 subscriber",
                     _lat(s1["e2e"]) + f"; {s1['lost']} lost", "-", "-"))
    for st in zl["steps"]:
        rows.append((f"  ZeroMQ paced at {st['rate_hz']:g}/s", f"offered {st['offered_hz']:.0f}/s, delivered "
                     f"{st['delivered_hz']:.0f}/s, lost {st['lost']} of {st['sent']}", "-", "-"))
    rows.append(("ZeroMQ highest paced rate delivered with zero loss, 1 subscriber",
                 f"{zl['max_lossless_hz']:.0f} overlays/s (measured {zl['max_lossless_delivered_hz']:.0f}/s)",
                 f">= {TARGET_RATE_HZ:g}/s", "yes" if zl["max_lossless_hz"] >= TARGET_RATE_HZ else "NO"))
    ig = r.get("igtl")
    if ig:
        L = ig["latency"]
        rows.append((f"OpenIGTLink (pyigtl) end-to-end latency, {L['rate_hz']:g} Hz, 1 client (send_message -> "
                     "unpacked)", _lat(L["e2e"]) + f"; {L['lost']} lost of {L['sent']}", "-", "-"))
        rows.append(("  of which pyigtl hand-off (send_message -> handler packs)", _lat(L["handoff"]), "-", "-"))
        rows.append(("OpenIGTLink (pyigtl) wire latency (packed -> unpacked)", _lat(L["wire"]), "-", "-"))
        for st in ig["steps"]:
            rows.append((f"  OpenIGTLink paced at {st['rate_hz']:g}/s", f"offered {st['offered_hz']:.0f}/s, "
                         f"delivered {st['delivered_hz']:.0f}/s, lost {st['lost']} of {st['sent']}", "-", "-"))
        rows.append(("OpenIGTLink (pyigtl) highest paced rate delivered with zero loss",
                     f"{ig['max_lossless_hz']:.0f} frames/s (measured {ig['max_lossless_delivered_hz']:.0f}/s)",
                     "-", "-"))
    return rows


def main() -> int:
    default_clock()  # one time base: the subscriber processes inherit its offset (core.clock.OFFSET_ENV)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=20.0, help="seconds measured per latency figure")
    ap.add_argument("--warmup", type=float, default=1.0, help="seconds discarded before each latency figure")
    ap.add_argument("--rate", type=float, default=60.0, help="overlay rate of the latency figures (Hz)")
    ap.add_argument("--subscribers", type=int, default=4)
    ap.add_argument("--rates", default="500,1000,2000,4000,8000", help="throughput ladder (messages/s)")
    ap.add_argument("--step", type=float, default=3.0, help="seconds per ladder step")
    ap.add_argument("--quick", action="store_true", help="smoke run: 3 s latency, 2 s ladder steps")
    ap.add_argument("--no-igtl", action="store_true", help="skip the OpenIGTLink comparison")
    ap.add_argument("--no-decode", action="store_true", help="subscribers parse only the header, not the arrays")
    ap.add_argument("--rcvhwm", type=int, default=100, help="subscriber RCVHWM (the Unity client uses 100)")
    ap.add_argument("--sndhwm", type=int, default=NetworkConfig().sndhwm, help="Publisher SNDHWM (network.sndhwm)")
    ap.add_argument("--raw-baseline", action="store_true",
                    help="also measure a plain PUB sent from the producer thread (the wire without the Publisher)")
    ap.add_argument("--producer-busy-ms", type=float, default=0.0,
                    help="after each 60 Hz publish the producer thread runs this much pure Python (GIL held)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if args.quick:
        args.duration, args.step = 3.0, 2.0
    rates = [float(x) for x in args.rates.split(",") if x.strip()]
    p = make_payloads()
    mach = machine()
    psi = mach["cpu_pressure_start"]
    psi_s = "n/a" if psi is None else f"{psi['avg10']:.0f}%/{psi['avg60']:.0f}%"
    print(f"machine: {mach['cpu_count']} CPUs ({mach['cpus_usable']} usable), {mach['platform']}, "
          f"Python {mach['python']}, pyzmq {mach['pyzmq']} / libzmq {mach['libzmq']}, pyigtl {mach['pyigtl']}; "
          f"load average {mach['loadavg_start']}, CPU pressure (some, avg10/avg60) "
          f"{psi_s}, "
          f"sleep(1 ms) late by {_lat(mach['sleep_1ms_overshoot_start'])}")
    print(f"payload: {IMAGE_PX}x{IMAGE_PX} {p.source} JPEG {p.jpeg_kb:.1f} KB avg + 2x100-pt contours + needle + "
          f"2x 4x4 <f8; IGTL: raw {IMAGE_PX * IMAGE_PX / 1024:.0f} KiB IMAGE + TRANSFORM", flush=True)
    t0 = time.monotonic()
    do_decode = not args.no_decode
    r: dict[str, Any] = {"machine": mach, "config": {
        "duration_s": args.duration, "warmup_s": args.warmup, "rate_hz": args.rate, "subscribers": args.subscribers,
        "ladder_rates": rates, "step_s": args.step, "rcvhwm": args.rcvhwm, "sndhwm": args.sndhwm,
        "decode": do_decode, "jpeg_kb": p.jpeg_kb, "image_source": p.source,
        "producer_busy_ms": args.producer_busy_ms}}
    busy = args.producer_busy_ms
    r["zmq_latency"] = zmq_latency(p, args.subscribers, args.rate, args.warmup, args.duration, args.rcvhwm,
                                   args.sndhwm, do_decode, busy)
    if args.raw_baseline:
        r["zmq_raw"] = zmq_latency(p, args.subscribers, args.rate, args.warmup, args.duration, args.rcvhwm,
                                   args.sndhwm, do_decode, busy, raw=True)
    r["zmq_ladder"] = zmq_ladder(p, rates, args.step, args.rcvhwm, args.sndhwm, do_decode,
                                 (args.rate, args.warmup, args.duration) if args.subscribers != 1 else None, busy)
    if not args.no_igtl:
        r["igtl"] = igtl_figures(p, args.rate, args.warmup, args.duration, rates, args.step, busy)
    r["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    r["machine"]["cpu_pressure_end"] = cpu_pressure()
    r["wall_s"] = time.monotonic() - t0
    rows = rows_of(r)
    r["rows"] = [dict(zip(("figure", "value", "target", "pass"), row)) for row in rows]
    print("| figure | value | target | pass |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"wall {r['wall_s']:.0f} s; load average at the end {r['machine']['loadavg_end']}, CPU pressure "
          f"{r['machine']['cpu_pressure_end']}")
    print("fairness: ZeroMQ carries a ~%.0f KB JPEG + contours + needle, IGTL a raw %d KiB IMAGE + TRANSFORM (no "
          "contours: pyigtl cannot decode POLYDATA); ZeroMQ subscribers stamp before decoding, the pyigtl client after "
          "unpacking; pyigtl's handler sends only between 10 ms receive time-outs and leaves Nagle on; the ZeroMQ "
          "figure fans out to %d processes, IGTL to 1." % (p.jpeg_kb, IMAGE_PX * IMAGE_PX // 1024, args.subscribers))
    if args.json:
        print(json.dumps(r, default=float))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
