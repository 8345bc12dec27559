"""Publisher over real ZeroMQ sockets: sequence numbers, heartbeat, last-value cache, busy port."""

from __future__ import annotations

import time

import numpy as np
import pytest
import zmq

from ar_bridge.config import NetworkConfig
from ar_bridge.publisher import Publisher
from ar_bridge.schema import decode
from core.errors import ConfigError, NetworkError


def _sub(ctx: zmq.Context, endpoint: str, *topics: bytes) -> zmq.Socket:
    s = ctx.socket(zmq.SUB)
    s.setsockopt(zmq.LINGER, 0)
    for t in topics:
        s.setsockopt(zmq.SUBSCRIBE, t)
    s.connect(endpoint)
    return s


def _collect(sock: zmq.Socket, seconds: float) -> list:
    out, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        if sock.poll(20):
            out.append(decode(sock.recv_multipart()))
    return out


@pytest.fixture
def publisher(endpoints):
    pub_ep, ctl_ep = endpoints
    p = Publisher(NetworkConfig(pub_endpoint=pub_ep, control_endpoint=ctl_ep, heartbeat_hz=20.0))
    p.start()
    yield p
    p.stop()


def test_overlay_sequence_and_arrays_reach_a_subscriber(endpoints):
    # a burst of 50 at once needs a high-water mark above the latest-only default
    publisher = Publisher(NetworkConfig(pub_endpoint=endpoints[0], control_endpoint=endpoints[1], sndhwm=1000))
    publisher.start()
    ctx = zmq.Context.instance()
    sub = _sub(ctx, publisher.config.pub_endpoint, b"overlay")
    time.sleep(0.3)  # slow-joiner: let the subscription propagate
    t0 = time.time_ns()
    for i in range(50):
        publisher.publish("overlay", t0 + i, {"i": i}, {"a": np.full(3, i, np.float32)})
    msgs = _collect(sub, 0.5)
    sub.close()
    publisher.stop()
    assert [m.body["i"] for m in msgs] == list(range(50))
    seqs = [m.seq for m in msgs]
    assert seqs == list(range(seqs[0], seqs[0] + 50))
    assert all(m.t_publish_ns >= m.t_capture_ns for m in msgs)
    np.testing.assert_array_equal(msgs[-1].arrays["a"], np.full(3, 49, np.float32))


def test_heartbeat_rate_and_monotonic_seq(publisher):
    sub = _sub(zmq.Context.instance(), publisher.config.pub_endpoint, b"heartbeat")
    time.sleep(0.2)
    msgs = _collect(sub, 1.0)
    sub.close()
    assert len(msgs) >= 15  # 20 Hz configured; allow a busy CI machine
    assert all(b.seq == a.seq + 1 for a, b in zip(msgs, msgs[1:]))
    assert msgs[0].schema == "sonoguide.heartbeat/1"


def test_late_joiner_gets_the_state_at_once(publisher):
    publisher.set_state({"frozen": True, "version": 3})
    time.sleep(0.1)
    sub = _sub(zmq.Context.instance(), publisher.config.pub_endpoint, b"state")
    t0 = time.monotonic()
    assert sub.poll(1000), "no state within 1 s of subscribing"
    latency = time.monotonic() - t0
    msg = decode(sub.recv_multipart())
    sub.close()
    assert msg.body == {"frozen": True, "version": 3}
    assert latency < 1.0


def test_busy_port_is_a_clear_network_error(publisher, endpoints):
    other = Publisher(NetworkConfig(pub_endpoint=publisher.config.pub_endpoint, control_endpoint=endpoints[1]))
    with pytest.raises(NetworkError, match="already in use.*network.pub_endpoint"):
        other.start()
    other.stop()


def test_endpoint_validation_names_the_key():
    with pytest.raises(ConfigError, match="network.pub_endpoint"):
        NetworkConfig(pub_endpoint="localhost:5556")
    with pytest.raises(ConfigError, match="network.heartbeat_hz"):
        NetworkConfig(heartbeat_hz=2.0)


def test_the_heartbeat_announces_a_wall_clock_step_and_the_stamps_do_not_step(endpoints):
    from core.clock import CoreClock

    shift = [0]
    clock = CoreClock(wall=lambda: time.time_ns() + shift[0])
    publisher = Publisher(NetworkConfig(pub_endpoint=endpoints[0], control_endpoint=endpoints[1], heartbeat_hz=20.0),
                          clock=clock)
    publisher.start()
    sub = _sub(zmq.Context.instance(), publisher.config.pub_endpoint, b"heartbeat")
    try:
        before = _collect(sub, 0.5)
        shift[0] = -1_000_000_000  # NTP steps the wall clock one second back
        after = _collect(sub, 0.5)
    finally:
        sub.close()
        publisher.stop()
    assert before and after
    assert all(m.body["clock_steps"] == 0 and m.body["clock_origin_ns"] == clock.origin_ns for m in before)
    assert after[-1].body["clock_steps"] == 1
    assert abs(after[-1].body["clock_wall_step_ns"] + 1_000_000_000) < 5_000_000
    stamps = [m.t_publish_ns for m in before + after]
    assert stamps == sorted(stamps)
    gaps = np.diff(stamps)
    assert gaps.max() < 300_000_000  # no one-second jump backwards or forwards


def test_wants_follows_the_subscriptions_that_reached_the_socket(publisher):
    ctx = zmq.Context.instance()
    assert not publisher.wants("overlay")
    sub = _sub(ctx, publisher.config.pub_endpoint, b"state")
    deadline = time.monotonic() + 5
    while not publisher.wants("state") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert publisher.wants("state") and not publisher.wants("overlay")
    sub.setsockopt(zmq.SUBSCRIBE, b"over")  # a prefix covers the topic
    while not publisher.wants("overlay") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert publisher.wants("overlay")
    sub.setsockopt(zmq.UNSUBSCRIBE, b"over")
    while publisher.wants("overlay") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not publisher.wants("overlay")
    sub.close()


def test_a_stop_still_delivers_what_was_published(endpoints):
    """The last overlays of a replay were lost: the socket was closed with linger 0 right after them."""
    publisher = Publisher(NetworkConfig(pub_endpoint=endpoints[0], control_endpoint=endpoints[1], sndhwm=1000))
    publisher.start()
    sub = _sub(zmq.Context.instance(), publisher.config.pub_endpoint, b"overlay")
    sub.setsockopt(zmq.RCVHWM, 10000)
    deadline = time.monotonic() + 5
    while not publisher.wants("overlay") and time.monotonic() < deadline:
        time.sleep(0.01)
    image = np.zeros((400, 400), np.uint8)
    for i in range(30):
        publisher.publish("overlay", i, {"i": i}, {"image": image})
    publisher.stop()
    got = _collect(sub, 1.0)
    sub.close()
    assert [m.body["i"] for m in got] == list(range(30))
