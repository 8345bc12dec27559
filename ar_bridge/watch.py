"""Link health as a headset sees it: a reference subscriber that measures the data socket.

:class:`Watcher` is pure: it is fed each received multipart message with its receive time
(host ``now_ns()``) and keeps the figures a person checking the link wants to know —
per-topic counts and rates, messages lost from ``seq`` gaps, ``seq`` restarts (the core
restarted), publish→receive and capture→receive latency, heartbeat rate and "link down"
episodes (no heartbeat for more than 3 periods, PROTOCOL.md "heartbeat"), overlays that arrived
already expired or that went stale before the next one came, pose and structure validity,
tracking changes on the ``state`` topic and contract violations. Every message is validated
against the contract (:func:`validate`); unknown extra fields are allowed ("extend, do not
break"). :meth:`Watcher.summary` returns a typed :class:`WatchSummary` whose ``problems`` say
why the link is not healthy.

:func:`run_watch` owns the SUB socket (optionally a CurveZMQ client with a headset pairing
bundle) and feeds the watcher for a given time, until ``stop`` is set, or until Ctrl-C.

Latencies compare the core's clock with this machine's: on two machines they include the clock
offset (keep both on NTP/PTP), which is why a negative latency is reported as a note.
"""

from __future__ import annotations

import json
import logging
import random
import statistics
import threading
import time
from collections import Counter, deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import zmq
import zmq.utils.monitor

from core.clock import now_ns
from ar_bridge.schema import SCHEMA_PREFIX, SCHEMA_VERSIONS, TOPIC_HEARTBEAT, TOPIC_OVERLAY, TOPIC_STATE, TOPIC_VOICE, ProtocolError, WireMessage, decode, schema_name
from ar_bridge.messages import OverlayMessage
from core.errors import ConfigError, NetworkError
from core.jsonfile import load_json

log = logging.getLogger(__name__)

LINK_DOWN_PERIODS = 3
"""A link is down after this many heartbeat periods without a heartbeat (PROTOCOL.md)."""
MIN_HEARTBEAT_HZ = 5.0
"""The contract's lowest heartbeat rate."""
DEFAULT_HEARTBEAT_HZ = 10.0
"""Heartbeat rate assumed until enough heartbeats were seen to measure it."""
MAX_ERRORS = 5
"""How many invalid-message texts a summary keeps."""
MAX_TRACKING_CHANGES = 20
"""How many tracking changes a summary lists (all are counted)."""
MAX_SAMPLES = 100_000
"""Latency samples kept per series; beyond it a uniform reservoir sample is kept."""
RECENT_S = 1.0
"""Window of the live status line's rates (s)."""
RECENT_LATENCY_S = 2.0
"""Window of the live status line's latency percentiles (s)."""
DATA_TOPICS: tuple[str, ...] = (TOPIC_OVERLAY, TOPIC_STATE, TOPIC_HEARTBEAT, TOPIC_VOICE)
"""Topics of the data socket a client may subscribe to."""

POSE_VALIDITIES = ("ok", "occluded", "stale", "lost")
POSE_WITH_MATRIX = ("ok", "occluded")
STRUCTURE_VALIDITIES = ("ok", "uncertain")
STRUCTURE_CLASSES = ("nerve", "vessel")
PROXIMITIES = ("safe", "caution", "stop", "unknown")
TRACKING_VALUES = ("ok", "occluded", "lost", "stale", "off")
VOICE_DECISIONS = ("accepted", "rejected", "awaiting_confirmation", "confirmed", "cancelled", "expired")
STATE_KEYS = ("version", "frozen", "layers", "recording", "tracking", "pending_confirmation",
              "pending_deadline_ns", "last_command", "snapshots", "noise_dbfs", "voice_engine")
HEARTBEAT_KEYS = ("uptime_s", "subscribers", "overlay_hz", "tracking", "frozen", "state_version")
VOICE_KEYS = ("t_end_ns", "t_event_ns", "text", "confidence", "intent", "decision", "reason", "engine",
              "noise_dbfs")
"""Body fields each topic must carry (PROTOCOL.md, "Topics"); more are allowed."""


# --------------------------------------------------------------------------- validation

def validate(msg: WireMessage) -> OverlayMessage | None:
    """Check a decoded message's schema and body against the contract.

    Args:
        msg: a message that :func:`ar_bridge.schema.decode` accepted.

    Returns:
        The typed overlay for ``overlay`` messages, ``None`` for other topics.

    Raises:
        ProtocolError: the schema does not match the topic or is an unknown version, a required
            body field is missing, or a value is outside the contract.
    """
    _check_schema(msg)
    if msg.topic == TOPIC_OVERLAY:
        return _check_overlay(msg)
    if msg.topic == TOPIC_STATE:
        _require_keys(msg, STATE_KEYS)
        _check_choice(msg.body["tracking"], TRACKING_VALUES, "state tracking")
        if not _is_int(msg.body["version"]):
            raise ProtocolError(f"state version {msg.body['version']!r} is not an integer")
    elif msg.topic == TOPIC_HEARTBEAT:
        _require_keys(msg, HEARTBEAT_KEYS)
        _check_choice(msg.body["tracking"], TRACKING_VALUES, "heartbeat tracking")
    elif msg.topic == TOPIC_VOICE:
        _require_keys(msg, VOICE_KEYS)
        _check_choice(msg.body["decision"], VOICE_DECISIONS, "voice decision")
    return None


def _check_schema(msg: WireMessage) -> None:
    kind = msg.schema[len(SCHEMA_PREFIX):].split("/", 1)[0]
    if kind != msg.topic:
        raise ProtocolError(f"schema {msg.schema!r} does not match topic {msg.topic!r}")
    if msg.topic in SCHEMA_VERSIONS and msg.schema != schema_name(msg.topic):
        raise ProtocolError(f"schema {msg.schema!r} is a version this client does not know "
                            f"(knows {schema_name(msg.topic)})")


def _require_keys(msg: WireMessage, keys: Iterable[str]) -> None:
    missing = [k for k in keys if k not in msg.body]
    if missing:
        raise ProtocolError(f"{msg.topic} body lacks {', '.join(repr(k) for k in missing)}")


def _check_choice(value: Any, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise ProtocolError(f"{what} {value!r} is not one of {', '.join(allowed)}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_overlay(msg: WireMessage) -> OverlayMessage:
    ov = OverlayMessage.from_wire(msg)
    if not _is_int(msg.body["valid_until_ns"]):
        raise ProtocolError(f"overlay valid_until_ns {msg.body['valid_until_ns']!r} is not an integer")
    _check_choice(ov.pose_validity, POSE_VALIDITIES, "overlay pose_validity")
    has_matrix = "T_headset_from_image" in msg.arrays
    if has_matrix and ov.pose_validity not in POSE_WITH_MATRIX:
        raise ProtocolError(f"overlay carries T_headset_from_image although pose_validity is {ov.pose_validity!r}")
    if has_matrix and np.shape(msg.arrays["T_headset_from_image"]) != (4, 4):
        raise ProtocolError(f"overlay T_headset_from_image has shape {np.shape(msg.arrays['T_headset_from_image'])}, "
                            "expected (4, 4)")
    for s in ov.structures:
        _check_choice(s.cls, STRUCTURE_CLASSES, f"structure {s.id} cls")
        _check_choice(s.validity, STRUCTURE_VALIDITIES, f"structure {s.id} validity")
        if np.ndim(s.contour_px) != 2 or np.shape(s.contour_px)[1] != 2:
            raise ProtocolError(f"structure {s.id} contour has shape {np.shape(s.contour_px)}, expected (N, 2)")
    if ov.needle is not None:
        _check_choice(ov.needle.proximity, PROXIMITIES, "needle proximity")
    return ov


# --------------------------------------------------------------------------- summary types

@dataclass(frozen=True)
class LatencyStats:
    """Percentiles of one latency series, in milliseconds (``None`` without samples)."""

    count: int
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None
    min: float | None


@dataclass(frozen=True)
class TopicStats:
    """Figures of one topic.

    Attributes:
        count: messages received (including invalid ones whose header could be read).
        rate_hz: messages per second between the first and the last one.
        lost: messages missing from ``seq`` gaps.
        seq_restarts: times ``seq`` went back (the core restarted).
        invalid: messages that broke the contract.
    """

    count: int
    rate_hz: float
    lost: int
    seq_restarts: int
    invalid: int


@dataclass(frozen=True)
class HeartbeatStats:
    """Liveness of the link.

    Attributes:
        count: heartbeats received.
        rate_hz: heartbeats per second between the first and the last one (silences included).
        median_hz: the core's heartbeat rate from the median interval (silences excluded).
        max_gap_ms: largest silence between heartbeats, the one until the end included.
        period_ms: the heartbeat period used for "link down" (measured, at most 200 ms).
        link_down_events: episodes without heartbeat for more than 3 periods.
        link_down_now: the link was down when the watch ended.
    """

    count: int
    rate_hz: float
    median_hz: float | None
    max_gap_ms: float | None
    period_ms: float
    link_down_events: int
    link_down_now: bool


@dataclass(frozen=True)
class OverlayStats:
    """What the headset would have drawn.

    Attributes:
        count: valid overlays received.
        expired_on_arrival: overlays received after their ``valid_until_ns``.
        stale_episodes: times the newest overlay expired before a current one arrived (the
            headset had to show stale content).
        stale_ms: total time in those episodes.
        stale_at_end: the newest overlay had expired when the watch ended (no current overlay).
        frozen: overlays sent while the view was frozen.
        pose_validity: count per ``pose_validity`` value.
        structure_validity: count per structure ``validity`` value, over all structures.
        structure_classes: count per structure class.
        needle_proximity: count per needle ``proximity`` value.
    """

    count: int
    expired_on_arrival: int
    stale_episodes: int
    stale_ms: float
    stale_at_end: bool
    frozen: int
    pose_validity: dict[str, int]
    structure_validity: dict[str, int]
    structure_classes: dict[str, int]
    needle_proximity: dict[str, int]


@dataclass(frozen=True)
class TrackingChange:
    """One change of ``tracking`` on the ``state`` topic, ``t_s`` after the watch began."""

    t_s: float
    old: str
    new: str


@dataclass(frozen=True)
class StateStats:
    """What the ``state`` topic said.

    Attributes:
        count: valid state messages.
        version: the last state version seen.
        tracking: the last tracking value seen.
        tracking_changes: how many times tracking changed.
        changes: the first changes, in order.
    """

    count: int
    version: int | None
    tracking: str | None
    tracking_changes: int
    changes: list[TrackingChange]


@dataclass(frozen=True)
class LinkEvents:
    """Connection events of the SUB socket (ZeroMQ socket monitor)."""

    connects: int = 0
    disconnects: int = 0
    handshake_failures: int = 0
    last_failure: str = ""


@dataclass(frozen=True)
class WatchSummary:
    """Everything measured on the link, and the verdict.

    ``problems`` lists why the link is not healthy (empty when ``healthy``); ``notes`` are
    remarks that do not make it unhealthy.
    """

    endpoint: str
    seconds: float
    curve: bool
    interrupted: bool
    messages: int
    invalid: int
    topics: dict[str, TopicStats]
    latency_ms: dict[str, LatencyStats]
    heartbeat: HeartbeatStats
    overlays: OverlayStats
    state: StateStats
    voice_decisions: dict[str, int]
    link: LinkEvents
    errors: list[str]
    healthy: bool
    problems: list[str]
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The summary as a JSON-ready dict (the ``--json`` line)."""
        return asdict(self)


@dataclass(frozen=True)
class LiveStatus:
    """The figures of the live status line."""

    overlay_hz: float
    lost: int
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    heartbeat: str  # "ok", "none" or "down"
    down_for_s: float
    expired: int
    invalid: int
    messages: int


# --------------------------------------------------------------------------- accumulators

class _Samples:
    """A latency series: exact count, min and max, percentiles from a bounded reservoir."""

    def __init__(self, cap: int = MAX_SAMPLES, seed: int = 0) -> None:
        self._cap = cap
        self._values: list[float] = []
        self._rng = random.Random(seed)
        self.count = 0
        self.max: float | None = None
        self.min: float | None = None

    def add(self, value: float) -> None:
        self.count += 1
        self.max = value if self.max is None else max(self.max, value)
        self.min = value if self.min is None else min(self.min, value)
        if len(self._values) < self._cap:
            self._values.append(value)
        else:  # reservoir sampling (Vitter's algorithm R)
            j = self._rng.randrange(self.count)
            if j < self._cap:
                self._values[j] = value

    def stats(self) -> LatencyStats:
        if not self._values:
            return LatencyStats(0, None, None, None, None, None)
        p50, p95, p99 = (round(float(v), 3) for v in np.percentile(self._values, [50, 95, 99]))
        return LatencyStats(self.count, p50, p95, p99, round(self.max, 3), round(self.min, 3))


@dataclass
class _TopicTrack:
    count: int = 0
    invalid: int = 0
    lost: int = 0
    restarts: int = 0
    last_seq: int | None = None
    first_ns: int | None = None
    last_ns: int | None = None
    recent: deque = field(default_factory=deque)

    def seen(self, recv_ns: int) -> None:
        self.count += 1
        self.first_ns = recv_ns if self.first_ns is None else self.first_ns
        self.last_ns = recv_ns
        self.recent.append(recv_ns)
        _trim(self.recent, recv_ns - int(RECENT_S * 1e9))

    def sequence(self, seq: int) -> tuple[int, bool]:
        """Record ``seq``; return (messages lost before it, whether seq restarted)."""
        last, self.last_seq = self.last_seq, seq
        if last is None:
            return 0, False
        if seq <= last:
            self.restarts += 1
            return 0, True
        self.lost += seq - last - 1
        return seq - last - 1, False

    def stats(self) -> TopicStats:
        return TopicStats(self.count, round(_rate(self.count, self.first_ns, self.last_ns), 3), self.lost,
                          self.restarts, self.invalid)


def _trim(times: deque, oldest_ns: int) -> None:
    """Drop receive times (ints, or pairs led by the time) older than ``oldest_ns``."""
    while times and _time_of(times[0]) < oldest_ns:
        times.popleft()


def _time_of(item: int | tuple[int, float]) -> int:
    return item[0] if isinstance(item, tuple) else item


def _rate(count: int, first_ns: int | None, last_ns: int | None) -> float:
    if count < 2 or first_ns is None or last_ns is None or last_ns <= first_ns:
        return 0.0
    return (count - 1) / ((last_ns - first_ns) / 1e9)


class _HeartbeatTrack:
    """Heartbeat arrivals: rate, gaps and link-down episodes."""

    def __init__(self, nominal_hz: float) -> None:
        self.nominal_period_s = 1.0 / max(nominal_hz, MIN_HEARTBEAT_HZ)
        self.intervals: deque[float] = deque(maxlen=256)
        self.count = 0
        self.first_ns: int | None = None
        self.last_ns: int | None = None
        self.max_gap_ns = 0
        self.down_events = 0

    def median_interval_s(self) -> float | None:
        """Median interval between heartbeats once a few are known."""
        return statistics.median(self.intervals) if len(self.intervals) >= 4 else None

    def period_s(self) -> float:
        """The period that "link down" counts in: measured, never above the contract's 200 ms."""
        p = self.median_interval_s()
        return min(self.nominal_period_s if p is None else p, 1.0 / MIN_HEARTBEAT_HZ)

    def seen(self, recv_ns: int) -> float | None:
        """Record a heartbeat; return the silence (ms) when it ends a link-down episode, else None."""
        self.count += 1
        ended = None
        if self.last_ns is not None:
            gap = recv_ns - self.last_ns
            if gap > LINK_DOWN_PERIODS * self.period_s() * 1e9:
                self.down_events += 1
                ended = gap / 1e6
            self.max_gap_ns = max(self.max_gap_ns, gap)
            self.intervals.append(gap / 1e9)
        else:
            self.first_ns = recv_ns
        self.last_ns = recv_ns
        return ended

    def down_for_s(self, now_ns: int) -> float:
        """Seconds without heartbeat beyond the link-down limit (0 when the link is up)."""
        if self.last_ns is None:
            return 0.0
        silence = (now_ns - self.last_ns) / 1e9
        return silence if silence > LINK_DOWN_PERIODS * self.period_s() else 0.0

    def stats(self, now_ns: int) -> HeartbeatStats:
        down_now = self.down_for_s(now_ns) > 0
        max_gap = None
        if self.last_ns is not None:
            max_gap = round(max(self.max_gap_ns, now_ns - self.last_ns) / 1e6, 3)
        median = self.median_interval_s()
        median_hz = round(1.0 / median, 3) if median else None
        return HeartbeatStats(self.count, round(_rate(self.count, self.first_ns, self.last_ns), 3), median_hz,
                              max_gap, round(self.period_s() * 1000, 3), self.down_events + int(down_now), down_now)


class _OverlayTrack:
    """Overlay validity over time: expired arrivals and stale episodes."""

    def __init__(self) -> None:
        self.count = 0
        self.expired = 0
        self.frozen = 0
        self.stale_episodes = 0
        self.stale_ns = 0
        self._valid_until: int | None = None  # the newest validity seen
        self._accounted_ns = 0  # stale time is counted up to here
        self._stale_open = False
        self.pose: Counter[str] = Counter()
        self.struct_validity: Counter[str] = Counter()
        self.struct_cls: Counter[str] = Counter()
        self.proximity: Counter[str] = Counter()

    def seen(self, ov: OverlayMessage, recv_ns: int) -> bool:
        """Record a valid overlay; return True when it arrived already expired."""
        self.count += 1
        self.frozen += int(ov.frozen)
        self.pose[ov.pose_validity] += 1
        self.struct_validity.update(s.validity for s in ov.structures)
        self.struct_cls.update(s.cls for s in ov.structures)
        if ov.needle is not None:
            self.proximity[ov.needle.proximity] += 1
        if self._valid_until is not None and recv_ns > self._valid_until:
            if not self._stale_open:
                self.stale_episodes += 1
                self._stale_open = True
            self.stale_ns += recv_ns - max(self._valid_until, self._accounted_ns)
            self._accounted_ns = recv_ns
        self._valid_until = max(ov.valid_until_ns, self._valid_until or ov.valid_until_ns)
        expired = recv_ns > ov.valid_until_ns
        self.expired += int(expired)
        if not expired:
            self._stale_open = False
        return expired

    def stats(self, now_ns: int) -> OverlayStats:
        return OverlayStats(self.count, self.expired, self.stale_episodes, round(self.stale_ns / 1e6, 3),
                            self._valid_until is not None and now_ns > self._valid_until, self.frozen,
                            dict(self.pose), dict(self.struct_validity), dict(self.struct_cls), dict(self.proximity))


class _StateTrack:
    def __init__(self) -> None:
        self.count = 0
        self.version: int | None = None
        self.tracking: str | None = None
        self.changes = 0
        self.first_changes: list[TrackingChange] = []

    def seen(self, body: Mapping[str, Any], t_s: float) -> None:
        self.count += 1
        self.version = int(body["version"])
        tracking = body["tracking"]
        if self.tracking is not None and tracking != self.tracking:
            self.changes += 1
            if len(self.first_changes) < MAX_TRACKING_CHANGES:
                self.first_changes.append(TrackingChange(round(t_s, 3), self.tracking, tracking))
            log.info("tracking %s -> %s", self.tracking, tracking)
        self.tracking = tracking

    def stats(self) -> StateStats:
        return StateStats(self.count, self.version, self.tracking, self.changes, list(self.first_changes))


# --------------------------------------------------------------------------- the watcher

class Watcher:
    """Accumulates link figures from received messages; no sockets, no clock of its own.

    Args:
        endpoint: the endpoint watched (for the summary and problem texts).
        topics: the topics subscribed to (empty: all).
        heartbeat_hz: the heartbeat rate assumed until it is measured.
        start_ns: when the watch began (host ``now_ns()``; default: now).
        curve: the subscriber uses CurveZMQ.
    """

    def __init__(self, endpoint: str, topics: Iterable[str] = (), heartbeat_hz: float = DEFAULT_HEARTBEAT_HZ,
                 start_ns: int | None = None, curve: bool = False) -> None:
        self.endpoint = endpoint
        self.topics = tuple(topics)
        self.curve = curve
        self.start_ns = now_ns() if start_ns is None else int(start_ns)
        self.messages = 0
        self.invalid = 0
        self.interrupted = False
        self.errors: list[str] = []
        self._topics: dict[str, _TopicTrack] = {t: _TopicTrack() for t in DATA_TOPICS if self._subscribed(t)}
        self._pub_latency = _Samples(seed=1)
        self._cap_latency = _Samples(seed=2)
        self._recent_latency: deque[tuple[int, float]] = deque()
        self._hb = _HeartbeatTrack(heartbeat_hz)
        self._overlays = _OverlayTrack()
        self._state = _StateTrack()
        self._voice: Counter[str] = Counter()
        self._link = LinkEvents()
        self._last_hb_body: Mapping[str, Any] = {}

    def _subscribed(self, topic: str) -> bool:
        return not self.topics or any(topic.startswith(t) for t in self.topics)

    # ------------------------------------------------------------------ feeding
    def feed(self, frames: list[bytes], recv_ns: int) -> None:
        """Account for one received multipart message.

        Args:
            frames: the message's frames as received.
            recv_ns: host ``now_ns()`` when it was received.
        """
        self.messages += 1
        try:
            msg = decode(frames)
        except ProtocolError as exc:
            topic = _topic_of(frames)
            if topic is not None:
                self._track(topic).seen(recv_ns)
                self._track(topic).invalid += 1
            self._record_error(f"{topic or '?'}: {exc}")
            return
        self._feed_header(msg, recv_ns)
        try:
            overlay = validate(msg)
        except ProtocolError as exc:
            self._track(msg.topic).invalid += 1
            self._record_error(f"{msg.topic} #{msg.seq}: {exc}")
            return
        self._feed_body(msg, overlay, recv_ns)

    def link_event(self, kind: str, detail: str = "") -> None:
        """Account for a socket event: ``connected``, ``disconnected`` or ``handshake_failed``."""
        e = self._link
        if kind == "connected":
            self._link = LinkEvents(e.connects + 1, e.disconnects, e.handshake_failures, e.last_failure)
        elif kind == "disconnected":
            self._link = LinkEvents(e.connects, e.disconnects + 1, e.handshake_failures, e.last_failure)
        elif kind == "handshake_failed":
            self._link = LinkEvents(e.connects, e.disconnects, e.handshake_failures + 1, detail)

    def _track(self, topic: str) -> _TopicTrack:
        return self._topics.setdefault(topic, _TopicTrack())

    def _record_error(self, text: str) -> None:
        self.invalid += 1
        log.debug("invalid message: %s", text)
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(text)

    def _feed_header(self, msg: WireMessage, recv_ns: int) -> None:
        track = self._track(msg.topic)
        track.seen(recv_ns)
        lost, restarted = track.sequence(msg.seq)
        if lost:
            log.info("%s: %d message(s) lost before seq %d", msg.topic, lost, msg.seq)
        if restarted:
            log.info("%s: seq went back to %d - the core restarted", msg.topic, msg.seq)
        lat_ms = (recv_ns - msg.t_publish_ns) / 1e6
        self._pub_latency.add(lat_ms)
        self._recent_latency.append((recv_ns, lat_ms))
        _trim(self._recent_latency, recv_ns - int(RECENT_LATENCY_S * 1e9))
        if msg.topic == TOPIC_HEARTBEAT:
            silence_ms = self._hb.seen(recv_ns)
            if silence_ms is not None:
                log.info("heartbeat back after %.0f ms: the link was down", silence_ms)

    def _feed_body(self, msg: WireMessage, overlay: OverlayMessage | None, recv_ns: int) -> None:
        if overlay is not None:
            self._cap_latency.add((recv_ns - msg.t_capture_ns) / 1e6)
            if self._overlays.seen(overlay, recv_ns):
                log.info("overlay #%d arrived %.1f ms after its validity", overlay.frame_seq,
                         (recv_ns - overlay.valid_until_ns) / 1e6)
        elif msg.topic == TOPIC_STATE:
            self._state.seen(msg.body, (recv_ns - self.start_ns) / 1e9)
        elif msg.topic == TOPIC_HEARTBEAT:
            self._last_hb_body = msg.body
        elif msg.topic == TOPIC_VOICE:
            self._voice[msg.body["decision"]] += 1

    # ------------------------------------------------------------------ results
    def live(self, now_ns: int) -> LiveStatus:
        """The figures of the live status line at ``now_ns``."""
        ov = self._topics.get(TOPIC_OVERLAY)
        if ov is not None:
            _trim(ov.recent, now_ns - int(RECENT_S * 1e9))
        _trim(self._recent_latency, now_ns - int(RECENT_LATENCY_S * 1e9))
        p50 = p99 = None
        if self._recent_latency:
            p50, p99 = (float(v) for v in np.percentile([v for _, v in self._recent_latency], [50, 99]))
        down = self._hb.down_for_s(now_ns)
        hb = "none" if self._hb.count == 0 else "down" if down > 0 else "ok"
        return LiveStatus(overlay_hz=len(ov.recent) / RECENT_S if ov is not None else 0.0,
                          lost=sum(t.lost for t in self._topics.values()), latency_p50_ms=p50, latency_p99_ms=p99,
                          heartbeat=hb, down_for_s=down, expired=self._overlays.expired, invalid=self.invalid,
                          messages=self.messages)

    def summary(self, now_ns: int) -> WatchSummary:
        """Every figure and the verdict at ``now_ns`` (the end of the watch)."""
        seconds = max(0.0, (now_ns - self.start_ns) / 1e9)
        topics = {t: tr.stats() for t, tr in self._topics.items()}
        latency = {"publish_to_receive": self._pub_latency.stats(), "capture_to_receive": self._cap_latency.stats()}
        hb = self._hb.stats(now_ns)
        overlays = self._overlays.stats(now_ns)
        state = self._state.stats()
        problems = self._problems(seconds, topics, hb, overlays, state)
        notes = self._notes(latency, overlays)
        return WatchSummary(endpoint=self.endpoint, seconds=round(seconds, 3), curve=self.curve,
                            interrupted=self.interrupted, messages=self.messages, invalid=self.invalid,
                            topics=topics, latency_ms=latency, heartbeat=hb, overlays=overlays, state=state,
                            voice_decisions=dict(self._voice), link=self._link, errors=list(self.errors),
                            healthy=not problems, problems=problems, notes=notes)

    def _problems(self, seconds: float, topics: Mapping[str, TopicStats], hb: HeartbeatStats,
                  overlays: OverlayStats, state: StateStats) -> list[str]:
        out: list[str] = []
        if self._link.handshake_failures:
            out.append(self._handshake_problem())
        if self._subscribed(TOPIC_HEARTBEAT):
            out.extend(self._heartbeat_problems(seconds, hb))
        elif self.messages == 0:
            out.append(f"no message from {self.endpoint} in {seconds:.1f} s - is the core running and is the "
                       "endpoint right?")
        lost = {t: s.lost for t, s in topics.items() if s.lost}
        if lost:
            out.append(f"lost {sum(lost.values())} message(s) ({_counts(lost)}) - a slow network or a full "
                       "send queue (network.sndhwm)")
        restarts = max((s.seq_restarts for s in topics.values()), default=0)
        if restarts:
            out.append(f"the core restarted {restarts} time(s) during the watch (seq went back)")
        if self.invalid:
            out.append(f"{self.invalid} message(s) broke the wire contract (see errors)")
        if overlays.expired_on_arrival:
            out.append(f"{overlays.expired_on_arrival} overlay(s) arrived already expired (valid_until_ns passed) - "
                       "latency too high or the clocks differ")
        if overlays.stale_episodes:
            out.append(f"the newest overlay went stale {overlays.stale_episodes} time(s) before the next one came "
                       f"({overlays.stale_ms:.0f} ms in all)")
        hb_version = self._last_hb_body.get("state_version")
        if self._subscribed(TOPIC_STATE) and state.count == 0 and _is_int(hb_version):
            out.append(f"no state message although heartbeats report state_version {hb_version} - the core's "
                       "last-value cache did not answer this subscriber")
        return out

    def _heartbeat_problems(self, seconds: float, hb: HeartbeatStats) -> list[str]:
        if hb.count == 0:
            if self.messages:
                return [f"messages arrive from {self.endpoint} but no heartbeat in {seconds:.1f} s - the core must "
                        f"send heartbeats at >= {MIN_HEARTBEAT_HZ:g} Hz"]
            return [f"no heartbeat from {self.endpoint} in {seconds:.1f} s - is the core running and is the "
                    "endpoint right?"]
        out = []
        if hb.median_hz is not None and hb.median_hz < MIN_HEARTBEAT_HZ:
            out.append(f"heartbeat at {hb.median_hz:.1f} Hz, below the contract's {MIN_HEARTBEAT_HZ:g} Hz - raise "
                       "network.heartbeat_hz")
        if hb.link_down_events:
            now = " (down at the end)" if hb.link_down_now else ""
            out.append(f"link down {hb.link_down_events} time(s): no heartbeat for more than {LINK_DOWN_PERIODS} "
                       f"periods ({LINK_DOWN_PERIODS * hb.period_ms:.0f} ms); largest gap {hb.max_gap_ms:.0f} ms{now}")
        return out

    def _handshake_problem(self) -> str:
        n, detail = self._link.handshake_failures, self._link.last_failure
        if self.curve:
            return (f"CurveZMQ handshake with {self.endpoint} failed {n} time(s) ({detail}) - is the pairing "
                    "bundle from this core and authorised by it (sonoguide pair), and is network.curve on there?")
        return (f"handshake with {self.endpoint} failed {n} time(s) ({detail}) - the core probably requires "
                "CurveZMQ: pass --pairing FILE from 'sonoguide pair'")

    def _notes(self, latency: Mapping[str, LatencyStats], overlays: OverlayStats) -> list[str]:
        out = []
        lows = [s.min for s in latency.values() if s.min is not None]
        if lows and min(lows) < 0:
            out.append(f"negative latency ({min(lows):.1f} ms): the core's clock is ahead of this one; latencies "
                       "include the clock offset")
        if not self._subscribed(TOPIC_HEARTBEAT):
            out.append("heartbeat not subscribed: link liveness not checked")
        if overlays.stale_at_end:
            out.append("no current overlay at the end: the newest one had expired (the core sends none now)")
        if self.interrupted:
            out.append("interrupted")
        return out


def _topic_of(frames: list[bytes]) -> str | None:
    if not frames:
        return None
    try:
        return bytes(frames[0]).decode("ascii")
    except UnicodeDecodeError:
        return None


def _counts(d: Mapping[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in d.items())


# --------------------------------------------------------------------------- text output

def format_status(s: LiveStatus) -> str:
    """The one-line live status, e.g. ``overlay 25.1 Hz  lost 0  lat p50/p99 0.4/1.2 ms  hb ok ...``."""
    lat = "-/-" if s.latency_p50_ms is None else f"{s.latency_p50_ms:.1f}/{s.latency_p99_ms:.1f}"
    hb = f"DOWN {s.down_for_s:.1f} s" if s.heartbeat == "down" else s.heartbeat
    return (f"overlay {s.overlay_hz:.1f} Hz  lost {s.lost}  lat p50/p99 {lat} ms  hb {hb}  expired {s.expired}  "
            f"invalid {s.invalid}")


def format_summary(s: WatchSummary) -> str:
    """A human-readable report of a watch."""
    lines = [f"watched {s.endpoint}{' (CurveZMQ)' if s.curve else ''} for {s.seconds:.1f} s: {s.messages} messages, "
             f"{s.invalid} invalid",
             f"  {'topic':<10} {'count':>7} {'rate Hz':>8} {'lost':>6} {'restarts':>9} {'invalid':>8}"]
    for t, ts in s.topics.items():
        lines.append(f"  {t:<10} {ts.count:>7} {ts.rate_hz:>8.1f} {ts.lost:>6} {ts.seq_restarts:>9} {ts.invalid:>8}")
    lines.append(f"  {'latency ms':<18} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}")
    for name, ls in s.latency_ms.items():
        vals = [ls.p50, ls.p95, ls.p99, ls.max]
        lines.append(f"  {name.replace('_to_', '->'):<18} " + " ".join(
            f"{'-':>7}" if v is None else f"{v:>7.2f}" for v in vals))
    hb = s.heartbeat
    gap = "-" if hb.max_gap_ms is None else f"{hb.max_gap_ms:.0f} ms"
    lines.append(f"  heartbeat: {hb.count} at {hb.rate_hz:.1f} Hz, largest gap {gap}, link down "
                 f"{hb.link_down_events} time(s){' (down now)' if hb.link_down_now else ''}")
    ov = s.overlays
    lines.append(f"  overlays: {ov.count}, expired on arrival {ov.expired_on_arrival}, went stale "
                 f"{ov.stale_episodes} time(s) ({ov.stale_ms:.0f} ms), frozen {ov.frozen}; pose "
                 f"{_counts(ov.pose_validity) or '-'}; structures {_counts(ov.structure_validity) or '-'}")
    st = s.state
    changes = ", ".join(f"{c.old}->{c.new} at {c.t_s:.1f} s" for c in st.changes)
    lines.append(f"  state: {st.count} message(s), version {st.version if st.version is not None else '-'}, "
                 f"tracking {st.tracking or '-'}, {st.tracking_changes} change(s){': ' + changes if changes else ''}")
    if s.voice_decisions:
        lines.append(f"  voice: {_counts(s.voice_decisions)}")
    for e in s.errors:
        lines.append(f"  invalid: {e}")
    for n in s.notes:
        lines.append(f"  note: {n}")
    lines.append("healthy" if s.healthy else "NOT healthy:")
    lines.extend(f"  - {p}" for p in s.problems)
    return "\n".join(lines)


def summary_json(s: WatchSummary) -> str:
    """The summary as one compact JSON line."""
    return json.dumps(s.to_json(), separators=(",", ":"), allow_nan=False)


# --------------------------------------------------------------------------- the socket loop

@dataclass(frozen=True)
class CurveClientKeys:
    """What a CurveZMQ subscriber needs (Z85 text keys, 40 characters each)."""

    client_public: str
    client_secret: str
    server_public: str


def load_pairing(path: str | Path) -> tuple[CurveClientKeys, str | None]:
    """Read a headset pairing bundle written by ``sonoguide pair``.

    Returns:
        The client keys and the bundle's ``pub_endpoint`` (``None`` when absent).

    Raises:
        ConfigError: the file is missing, unreadable, not JSON, or lacks a valid key.
    """
    p = Path(path)
    data = load_json(p, what="pairing file", error=ConfigError,
                     missing_fix="create one with 'sonoguide pair --name NAME'",
                     corrupt_fix="use the file written by 'sonoguide pair'")
    keys = {}
    for key in ("client_public", "client_secret", "server_public"):
        v = data.get(key)
        if not isinstance(v, str) or len(v) != 40:
            raise ConfigError(f"pairing file {p}: {key!r} is missing or not a 40-character Z85 CurveZMQ key; "
                              "use the file written by 'sonoguide pair'")
        keys[key] = v
    endpoint = data.get("pub_endpoint")
    return CurveClientKeys(**keys), endpoint if isinstance(endpoint, str) else None


_SCHEMES = ("tcp://", "ipc://", "inproc://")
_MONITOR_EVENTS = {
    zmq.EVENT_CONNECTED: "connected",
    zmq.EVENT_DISCONNECTED: "disconnected",
    zmq.EVENT_HANDSHAKE_FAILED_AUTH: "authentication refused",
    zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL: "protocol mismatch",
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL: "handshake failed",
}
_MONITOR_MASK = 0
for _event in _MONITOR_EVENTS:
    _MONITOR_MASK |= _event


def check_endpoint(endpoint: str) -> None:
    """Refuse an endpoint a subscriber cannot connect to.

    Raises:
        ConfigError: not ``tcp://``, ``ipc://`` or ``inproc://``, or a wildcard bind address.
    """
    if not isinstance(endpoint, str) or not endpoint.startswith(_SCHEMES) or not endpoint.split("://", 1)[1]:
        raise ConfigError(f"endpoint {endpoint!r} is not a ZeroMQ endpoint; use e.g. --endpoint tcp://127.0.0.1:5556")
    if endpoint.startswith("tcp://*"):
        raise ConfigError(f"endpoint {endpoint} is a bind address; pass --endpoint tcp://HOST:PORT with the "
                          "core's address")


def open_subscriber(context: zmq.Context, endpoint: str, topics: Iterable[str] = (),
                    curve: CurveClientKeys | None = None) -> tuple[zmq.Socket, zmq.Socket]:
    """A SUB socket connected to ``endpoint`` and subscribed to ``topics`` (empty: all).

    The socket monitor is attached before connecting, so no connection event is missed.

    Returns:
        The SUB socket and its monitor socket (close both; call ``disable_monitor`` first).

    Raises:
        ConfigError: bad endpoint or CurveZMQ keys.
        NetworkError: the endpoint cannot be connected to.
    """
    check_endpoint(endpoint)
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    if curve is not None:
        _set_curve(sub, curve)
    for t in tuple(topics) or ("",):
        sub.setsockopt(zmq.SUBSCRIBE, t.encode("ascii"))
    mon = sub.get_monitor_socket(_MONITOR_MASK)
    try:
        sub.connect(endpoint)
    except zmq.ZMQError as exc:
        _close(sub, mon)
        raise NetworkError(f"cannot connect to {endpoint}: {exc.strerror} - check --endpoint or "
                           "network.pub_endpoint") from None
    return sub, mon


def _close(sub: zmq.Socket, mon: zmq.Socket) -> None:
    sub.disable_monitor()
    mon.close(linger=0)
    sub.close(linger=0)


def _set_curve(sub: zmq.Socket, keys: CurveClientKeys) -> None:
    if not zmq.has("curve"):
        raise ConfigError("this libzmq has no CurveZMQ support; install pyzmq with libsodium")
    try:
        sub.curve_serverkey = keys.server_public.encode("ascii")
        sub.curve_publickey = keys.client_public.encode("ascii")
        sub.curve_secretkey = keys.client_secret.encode("ascii")
    except (zmq.ZMQError, UnicodeEncodeError):
        sub.close(linger=0)
        raise ConfigError("the pairing bundle's keys are not valid Z85 CurveZMQ keys; pair again with "
                          "'sonoguide pair'") from None


def run_watch(watcher: Watcher, seconds: float | None = None, *, context: zmq.Context | None = None,
              curve: CurveClientKeys | None = None, on_status: Callable[[LiveStatus], None] | None = None,
              status_interval_s: float = 1.0, stop: threading.Event | None = None) -> WatchSummary:
    """Subscribe to ``watcher.endpoint`` and feed every message to ``watcher``.

    Runs for ``seconds`` (``None``: until ``stop`` is set or Ctrl-C); Ctrl-C ends the watch
    cleanly and the summary says ``interrupted``.

    Args:
        watcher: receives the messages; its ``topics`` are subscribed to.
        seconds: how long to watch.
        context: ZeroMQ context (the global instance by default).
        curve: client keys for a CurveZMQ-secured core.
        on_status: called about every ``status_interval_s`` with the live figures.
        status_interval_s: period of ``on_status``.
        stop: ends the watch early when set (from another thread).

    Returns:
        The summary at the end of the watch.

    Raises:
        ConfigError: bad endpoint or keys.
        NetworkError: the endpoint cannot be connected to.
    """
    ctx = context or zmq.Context.instance()
    sub, mon = open_subscriber(ctx, watcher.endpoint, watcher.topics, curve)
    log.info("watching %s%s", watcher.endpoint, " with CurveZMQ" if curve else "")
    poller = zmq.Poller()
    poller.register(sub, zmq.POLLIN)
    poller.register(mon, zmq.POLLIN)
    t0 = time.monotonic()
    watcher.start_ns = now_ns()
    end = None if seconds is None else t0 + max(0.0, seconds)
    next_status = t0 + status_interval_s
    try:
        while stop is None or not stop.is_set():
            now = time.monotonic()
            if end is not None and now >= end:
                break
            wait = min(next_status, end if end is not None else next_status, now + 0.1) - now
            events = dict(poller.poll(max(0.0, wait) * 1000.0))
            if sub in events:
                _drain(sub, watcher)
            if mon in events:
                _drain_monitor(mon, watcher)
            if time.monotonic() >= next_status:  # advances without a status line too (no busy loop)
                if on_status is not None:
                    on_status(watcher.live(now_ns()))
                next_status += status_interval_s
        _drain(sub, watcher)  # a stop counts what has already arrived
    except KeyboardInterrupt:
        watcher.interrupted = True
        log.info("watch interrupted")
    finally:
        _close(sub, mon)
    return watcher.summary(now_ns())


def _drain(sub: zmq.Socket, watcher: Watcher) -> None:
    while True:
        try:
            frames = sub.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            return
        watcher.feed(frames, now_ns())


def _drain_monitor(mon: zmq.Socket, watcher: Watcher) -> None:
    while True:
        try:
            evt = zmq.utils.monitor.recv_monitor_message(mon, zmq.NOBLOCK)
        except zmq.Again:
            return
        name = _MONITOR_EVENTS.get(evt["event"])
        if name in ("connected", "disconnected"):
            log.info("%s %s", name, watcher.endpoint)
            watcher.link_event(name)
        elif name is not None:
            log.info("handshake with %s failed: %s", watcher.endpoint, name)
            watcher.link_event("handshake_failed", name)
