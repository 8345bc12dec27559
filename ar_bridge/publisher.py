"""ZeroMQ publisher: overlays, state (last-value cache) and heartbeat on one XPUB socket.

One thread owns the socket (ZeroMQ sockets are not thread-safe). Other threads hand it work
through :meth:`Publisher.publish`, which enqueues and wakes the thread through an inproc pair;
the thread stamps ``seq`` and ``t_publish_ns`` and sends. Patterns from the ZeroMQ Guide
(Hintjens, ch. 5): the *last value cache* — on every new subscription that covers ``state``
the current state is sent at once, so a late joiner never waits for the 1 Hz refresh — and
*heartbeating* at a fixed rate so the headset can tell a dead link from a quiet one.

Every topic is latest-only, so the send high-water mark is small (``network.sndhwm``): a
stalled subscriber costs the core a bounded amount of memory and loses old messages (a ``seq``
gap it can see) rather than making the core queue them. Subscription messages are tiny, so the
socket refuses any inbound message larger than :data:`MAX_INBOUND_BYTES` (the sender is
disconnected unread).
"""

from __future__ import annotations

import collections
import itertools
import logging
import queue
import threading
import time
from typing import Any, Callable, Mapping

import numpy as np
import zmq
import zmq.utils.monitor

from core.clock import CoreClock, default_clock
from ar_bridge.schema import (TOPIC_HEARTBEAT, TOPIC_STATE, TOPICS, WireMessage, encode, schema_name)
from ar_bridge.config import NetworkConfig
from ar_bridge.messages import HeartbeatMessage
from core.errors import NetworkError

log = logging.getLogger(__name__)

_ids = itertools.count()
MAX_INBOUND_BYTES = 4096
"""Largest message a subscriber may send to the XPUB socket (subscriptions are a few bytes)."""
_REBIND_TRIES_S = 3.0
STOP_LINGER_MS = 500
"""How long a stopping publisher still tries to deliver what it already sent (a stalled subscriber cannot hold it longer)."""


def bind_or_raise(sock: zmq.Socket, endpoint: str, what: str, key: str) -> None:
    """Bind ``sock`` or raise :class:`NetworkError` with the fix in the message."""
    try:
        sock.bind(endpoint)
    except zmq.ZMQError as exc:
        if exc.errno == zmq.EADDRINUSE:
            raise NetworkError(f"cannot bind the {what} at {endpoint}: address already in use - stop the other "
                               f"process using it or set {key} to a free endpoint") from None
        raise NetworkError(f"cannot bind the {what} at {endpoint}: {exc.strerror} - check {key}") from None


class Publisher:
    """Owns the XPUB socket; thread-safe :meth:`publish` and :meth:`set_state`.

    Args:
        config: endpoints and rates.
        heartbeat_body: called by the publisher thread at each heartbeat; returns the fields of
            :class:`~ar_bridge.messages.HeartbeatMessage` besides ``uptime_s`` and ``subscribers``
            (absent ones keep their defaults: no video, tracking off).
        context: ZeroMQ context (the global instance by default).
        socket_setup: optional hook applied to the socket before binding (CurveZMQ keys).
        clock: the time base of ``t_publish_ns``, the state's default stamp and the heartbeat
            (uptime and the clock fields); :func:`core.clock.default_clock` unless given (the
            golden files inject a scripted one).
    """

    def __init__(self, config: NetworkConfig, heartbeat_body: Callable[[], Mapping[str, Any]] | None = None,
                 context: zmq.Context | None = None,
                 socket_setup: Callable[[zmq.Socket], None] | None = None,
                 clock: CoreClock | None = None) -> None:
        self.config = config
        self._clock = clock or default_clock()
        self._setup = socket_setup
        self._ctx = context or zmq.Context.instance()
        self._hb_body = heartbeat_body or (lambda: {})
        self._queue: "queue.SimpleQueue[tuple[str, int, Mapping[str, Any], Mapping[str, np.ndarray]] | None]" = \
            queue.SimpleQueue()
        self._wake_addr = f"inproc://sonoguide-pub-wake-{next(_ids)}"
        self._local = threading.local()
        self._wakers: list[zmq.Socket] = []
        self._wakers_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._rebind = threading.Event()
        self._error: BaseException | None = None
        self._seq = {t: 0 for t in TOPICS}
        self._state: tuple[int, Mapping[str, Any]] | None = None
        self._state_lock = threading.Lock()
        self._t_start_ns = self._clock.now_ns()
        self.peers = 0
        """Connected subscriber peers (from the socket monitor)."""
        self.subscriptions = 0
        """Subscription messages received so far (a subscriber is ready once its subscription is in)."""
        self._prefixes: collections.Counter[bytes] = collections.Counter()
        self.sent = {t: 0 for t in TOPICS}
        self.on_sent: Callable[[str, int, int], None] | None = None
        """Called on the publisher thread after each send with ``(topic, t_capture_ns, t_publish_ns)``."""

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Bind and start the thread.

        Raises:
            NetworkError: the endpoint cannot be bound (busy port, bad address).
        """
        self._thread = threading.Thread(target=self._run, name="ar_bridge-publisher", daemon=True)
        self._thread.start()
        self._ready.wait(10.0)
        if self._error is not None:
            raise self._error
        log.info("publishing on %s", self.config.pub_endpoint)

    def stop(self) -> None:
        """Stop the thread and close the sockets."""
        if self._thread is None:
            return
        self._stop.set()
        self._queue.put(None)
        self._wake()
        self._thread.join(5.0)
        with self._wakers_lock:
            for s in self._wakers:
                s.close(linger=0)
            self._wakers.clear()
        self._thread = None

    def rebind(self) -> None:
        """Close and re-create the socket: every subscriber reconnects and authenticates again.

        Used when a headset's key is revoked: CurveZMQ authenticates a connection once, at its
        handshake, so only a new handshake shuts a revoked client out. Authorised subscribers
        reconnect by themselves (ZeroMQ's reconnect interval) and get the cached state at once.
        """
        self._rebind.set()
        self._wake()

    # ------------------------------------------------------------------ producers (any thread)
    def publish(self, topic: str, t_capture_ns: int, body: Mapping[str, Any],
                arrays: Mapping[str, np.ndarray] | None = None) -> None:
        """Queue a message for ``topic``; ``seq`` and ``t_publish_ns`` are stamped at send."""
        if topic not in TOPICS:
            raise ValueError(f"unknown topic {topic!r}")
        self._queue.put((topic, int(t_capture_ns), body, arrays or {}))
        self._wake()

    def set_state(self, body: Mapping[str, Any], t_capture_ns: int | None = None) -> None:
        """Replace the cached state and publish it now (also refreshed at ``state_hz``)."""
        t = self._clock.now_ns() if t_capture_ns is None else int(t_capture_ns)
        with self._state_lock:
            self._state = (t, dict(body))
        self.publish(TOPIC_STATE, t, body)

    def _wake(self) -> None:
        sock = getattr(self._local, "sock", None)
        if sock is None:
            sock = self._ctx.socket(zmq.PUSH)
            sock.setsockopt(zmq.LINGER, 0)
            sock.connect(self._wake_addr)
            self._local.sock = sock
            with self._wakers_lock:
                self._wakers.append(sock)
        try:
            sock.send(b"", zmq.NOBLOCK)
        except zmq.Again:  # the thread is already awake with many pending wakes
            pass

    # ------------------------------------------------------------------ the socket-owning thread
    def _open(self) -> zmq.Socket:
        """A new, bound XPUB socket (raises :class:`NetworkError`)."""
        pub = self._ctx.socket(zmq.XPUB)
        pub.setsockopt(zmq.XPUB_VERBOSE, 1)
        pub.setsockopt(zmq.SNDHWM, self.config.sndhwm)
        pub.setsockopt(zmq.MAXMSGSIZE, MAX_INBOUND_BYTES)
        pub.setsockopt(zmq.LINGER, 0)
        try:
            if self._setup is not None:
                self._setup(pub)
            bind_or_raise(pub, self.config.pub_endpoint, "overlay publisher", "network.pub_endpoint")
        except NetworkError:
            pub.close(linger=0)
            raise
        return pub

    def _reopen(self, pub: zmq.Socket, mon: zmq.Socket, poller: zmq.Poller) -> tuple[zmq.Socket, zmq.Socket]:
        """Close ``pub`` and bind a new socket at the same endpoint (the port frees asynchronously)."""
        for s in (pub, mon):
            poller.unregister(s)
        pub.disable_monitor()
        mon.close(linger=0)
        pub.close(linger=0)
        self.peers = 0
        deadline = time.monotonic() + _REBIND_TRIES_S
        while True:
            try:
                pub = self._open()
                break
            except NetworkError:
                if time.monotonic() > deadline or self._stop.is_set():
                    raise
                time.sleep(0.02)
        mon = pub.get_monitor_socket(zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED)
        for s in (pub, mon):
            poller.register(s, zmq.POLLIN)
        log.info("publisher socket re-created on %s: subscribers reconnect and authenticate again",
                 self.config.pub_endpoint)
        return pub, mon

    def _run(self) -> None:
        wake = self._ctx.socket(zmq.PULL)
        wake.setsockopt(zmq.LINGER, 0)
        try:
            pub = self._open()
            wake.bind(self._wake_addr)
        except NetworkError as exc:
            self._error = exc
            wake.close()
            self._ready.set()
            return
        mon = pub.get_monitor_socket(zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED)
        poller = zmq.Poller()
        for s in (pub, wake, mon):
            poller.register(s, zmq.POLLIN)
        self._ready.set()
        hb_period = 1.0 / self.config.heartbeat_hz
        st_period = 1.0 / self.config.state_hz
        next_hb = self._seconds()
        next_st = self._seconds() + st_period
        try:
            while not self._stop.is_set():
                now = self._seconds()
                timeout_ms = max(0.0, min(next_hb, next_st) - now) * 1000.0
                events = dict(poller.poll(timeout_ms))
                if wake in events:
                    while True:
                        try:
                            wake.recv(zmq.NOBLOCK)
                        except zmq.Again:
                            break
                if self._rebind.is_set():
                    self._rebind.clear()
                    try:
                        pub, mon = self._reopen(pub, mon, poller)
                    except NetworkError as exc:
                        self._error = exc
                        log.error("publisher stopped: %s", exc)
                        return
                    continue
                if mon in events:
                    self._on_monitor(mon)
                if pub in events:
                    self._on_subscriptions(pub)
                self._drain(pub)
                now = self._seconds()
                if now >= next_hb:
                    self._send_heartbeat(pub)
                    next_hb += hb_period
                    if next_hb < now:  # fell behind (machine stalled): do not burst
                        next_hb = now + hb_period
                if now >= next_st:
                    self._send_cached_state(pub)
                    next_st = now + st_period
        finally:
            pub.disable_monitor()
            mon.close(linger=0)
            # the messages already handed to the socket (the last overlays of a replay, the last
            # heartbeat) still go out, for at most STOP_LINGER_MS: a stop loses nothing it published
            pub.close(linger=STOP_LINGER_MS)
            wake.close(linger=0)

    def _seconds(self) -> float:
        """The injected clock in seconds: heartbeat and state refresh run on it (a scripted clock drives them)."""
        return self._clock.now_ns() / 1e9

    def _drain(self, pub: zmq.Socket) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is None:
                return
            topic, t_cap, body, arrays = item
            self._send(pub, topic, t_cap, body, arrays)

    def _send(self, pub: zmq.Socket, topic: str, t_capture_ns: int, body: Mapping[str, Any],
              arrays: Mapping[str, np.ndarray]) -> None:
        self._seq[topic] += 1
        msg = WireMessage(topic=topic, schema=schema_name(topic), seq=self._seq[topic], t_capture_ns=t_capture_ns,
                          t_publish_ns=self._clock.now_ns(), body=body, arrays=arrays)
        try:
            pub.send_multipart(encode(msg), copy=False)
        except zmq.ZMQError as exc:  # never let one message kill the publisher
            log.warning("could not publish %s #%d: %s", topic, msg.seq, exc)
            return
        self.sent[topic] += 1
        if self.on_sent is not None:
            self.on_sent(topic, t_capture_ns, msg.t_publish_ns)

    def _send_heartbeat(self, pub: zmq.Socket) -> None:
        now = self._clock.now_ns()
        status = self._clock.check()
        own = dict(uptime_s=(now - self._t_start_ns) / 1e9, subscribers=self.peers, clock_origin_ns=status.origin_ns,
                   clock_steps=status.steps, clock_wall_step_ns=status.wall_step_ns)
        try:
            msg = HeartbeatMessage(**{**self._hb_body(), **own})
        except Exception:  # a broken stats provider must not stop the heartbeat
            log.exception("heartbeat body provider failed")
            msg = HeartbeatMessage(**own)
        self._send(pub, TOPIC_HEARTBEAT, now, msg.to_body(), {})

    def _send_cached_state(self, pub: zmq.Socket) -> None:
        with self._state_lock:
            cached = self._state
        if cached is not None:
            self._send(pub, TOPIC_STATE, cached[0], cached[1], {})

    def _on_subscriptions(self, pub: zmq.Socket) -> None:
        late_joiner = False
        while True:
            try:
                frame = pub.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            if frame and frame[0] == 1:
                self.subscriptions += 1
                prefix = bytes(frame[1:])
                self._prefixes[prefix] += 1
                if TOPIC_STATE.encode().startswith(prefix):
                    late_joiner = True
            elif frame and frame[0] == 0:
                prefix = bytes(frame[1:])
                self._prefixes[prefix] = max(0, self._prefixes[prefix] - 1)
        if late_joiner:  # last-value cache: the newcomer gets the state at once
            self._send_cached_state(pub)

    def wants(self, topic: str) -> bool:
        """True once a subscription that matches ``topic`` has reached the socket (and is not withdrawn)."""
        t = topic.encode("ascii")
        return any(n > 0 and t.startswith(p) for p, n in list(self._prefixes.items()))

    def _on_monitor(self, mon: zmq.Socket) -> None:
        while True:
            try:
                evt = zmq.utils.monitor.recv_monitor_message(mon, zmq.NOBLOCK)
            except zmq.Again:
                break
            if evt["event"] == zmq.EVENT_ACCEPTED:
                self.peers += 1
            elif evt["event"] == zmq.EVENT_DISCONNECTED:
                self.peers = max(0, self.peers - 1)
