"""Property-based fuzzing of the control channel through a real ROUTER socket.

Every request, however hostile (random bytes, deep nesting, huge numbers, wrong types, several
frames), gets one well-formed reply, and the channel keeps serving. The default suite runs a
bounded number of examples; ``-m slow`` runs 100,000.
"""

from __future__ import annotations

import json
import socket

import pytest
import zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ar_bridge.control import MAX_DEPTH, MAX_REQUEST_BYTES, ControlServer, json_depth, parse_request
from sonoguide.state import CommandProcessor
from voice.commandset import bundled_command_set_path, load_command_set
from voice.confirm import ConfirmationGate
from sonoguide.routing import handle_control

COMMANDS = ["freeze", "unfreeze", "show nerve", "hide nerve", "hide all", "confirm", "cancel", "show all",
            "ping", "get_state", "fly", ""]

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)

_requests = st.one_of(
    st.binary(max_size=512),
    st.text(max_size=256).map(lambda t: t.encode("utf-8", "surrogatepass")),
    _json.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"id": st.one_of(st.text(max_size=200), st.integers(), st.none(), st.booleans(), _json),
                           "command": st.one_of(st.sampled_from(COMMANDS), st.text(max_size=300), _json)},
                          optional={"extra": _json}).map(lambda d: json.dumps(d).encode()),
    st.integers(1, 5000).map(lambda n: b"[" * n),
    st.integers(1, 200).map(lambda n: b'{"id": 1, "command": "freeze", "x": ' + b"[" * n + b"]" * n + b"}"),
    st.integers(4000, 6000).map(lambda n: b'{"id": ' + b"9" * n + b', "command": "freeze"}'),
)


def _handler():
    gate = ConfirmationGate(load_command_set(bundled_command_set_path("en")), 5.0)
    commands = CommandProcessor(gate, actions={"snapshot": lambda: None, "start recording": lambda: None,
                                               "stop recording": lambda: None})

    def handle(req):
        return handle_control(commands, req)[0]
    return handle


@pytest.fixture(scope="module")
def dealer():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        ep = f"tcp://127.0.0.1:{s.getsockname()[1]}"
    server = ControlServer(ep, _handler())
    server.start()
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVTIMEO, 5000)
    sock.connect(ep)
    yield server, sock
    sock.close()
    server.stop()


def _well_formed(raw: bytes) -> dict:
    reply = json.loads(raw)
    assert isinstance(reply, dict) and set(reply) >= {"id", "ok"} and isinstance(reply["ok"], bool)
    if not reply["ok"]:
        assert isinstance(reply.get("error"), str) and reply["error"]
    return reply


def _exchange(sock: zmq.Socket, frames: list[bytes]) -> dict:
    sock.send_multipart([b"", *frames])
    reply = sock.recv_multipart()
    assert reply[0] == b"" and len(reply) == 2
    return _well_formed(reply[1])


def _fuzz(dealer, payload: bytes, extra_frames: int) -> None:
    server, sock = dealer
    reply = _exchange(sock, [payload] + [b"x"] * extra_frames)
    if extra_frames:
        assert reply["ok"] is False and "one frame" in reply["error"]
    assert server.status == "up" and server.restarts == 0


@settings(max_examples=400, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(payload=_requests, extra_frames=st.integers(0, 2))
def test_fuzzed_requests_each_get_a_well_formed_reply(dealer, payload, extra_frames):
    _fuzz(dealer, payload, extra_frames)


@pytest.mark.slow
@settings(max_examples=100_000, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(payload=_requests, extra_frames=st.integers(0, 2))
def test_fuzzed_requests_100k(dealer, payload, extra_frames):
    _fuzz(dealer, payload, extra_frames)


@pytest.mark.parametrize("payload, fragment", [
    (b"[" * 1000, "nests 1000 levels"),  # made json raise RecursionError and killed the channel
    (b'{"id": ' + b"9" * 5000 + b', "command": "x"}', "not UTF-8 JSON"),  # int max str digits
    (b'{"id": "' + b"i" * 200 + b'", "command": "freeze"}', "'id'"),
    (b'{"id": 1, "command": "' + b"c" * 300 + b'"}', "limit is 256"),
])
def test_hostile_requests_are_answered_and_the_channel_survives(dealer, payload, fragment):
    reply = _exchange(dealer[1], [payload])
    assert reply["ok"] is False and fragment in reply["error"]
    assert _exchange(dealer[1], [b'{"id": 7, "command": "ping"}']) == {"id": 7, "ok": True}


def test_depth_counts_brackets_outside_strings_only():
    assert json_depth('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[["}') == 1
    assert json_depth("[" * (MAX_DEPTH + 5)) == MAX_DEPTH + 5
    assert json_depth('{"a": "\\"[[[[[[[[[[[[[[[[[[[[", "b": [[1]]}') == 3
    with pytest.raises(ValueError, match="nests"):
        parse_request(b'{"id": 1, "command": "x", "d": ' + b"[" * 20 + b"]" * 20 + b"}")


def test_a_10_mb_request_is_dropped_unread_and_the_channel_keeps_serving(dealer):
    server, sock = dealer
    big = zmq.Context.instance().socket(zmq.DEALER)
    big.setsockopt(zmq.LINGER, 0)
    big.setsockopt(zmq.RCVTIMEO, 1000)
    big.connect(server.endpoint)
    big.send_multipart([b"", b'{"id": 1, "command": "' + b"x" * (10 << 20) + b'"}'])
    with pytest.raises(zmq.Again):  # ZMQ_MAXMSGSIZE: the peer is disconnected, nothing is answered
        big.recv_multipart()
    big.close()
    assert _exchange(sock, [b'{"id": 8, "command": "freeze"}'])["ok"] is True
    assert MAX_REQUEST_BYTES < 10 << 20 and server.status == "up"
