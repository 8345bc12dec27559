"""Control channel over real sockets: REQ and DEALER clients, every request answered."""

from __future__ import annotations

import json
import time

import pytest
import zmq

from ar_bridge.control import ControlRequest, ControlServer


def _handler(req: ControlRequest) -> dict:
    if req.command == "boom":
        raise RuntimeError("handler bug")
    if req.command == "freeze":
        return {"ok": True, "status": "executed"}
    return {"ok": False, "error": f"unknown command {req.command!r}"}


@pytest.fixture
def server(endpoints):
    s = ControlServer(endpoints[1], _handler)
    s.start()
    yield s
    s.stop()


def _req(endpoint: str) -> zmq.Socket:
    s = zmq.Context.instance().socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.RCVTIMEO, 2000)
    s.connect(endpoint)
    return s


def _ask(sock: zmq.Socket, payload: bytes) -> dict:
    sock.send(payload)
    return json.loads(sock.recv())


def test_command_executes_and_reply_echoes_the_id(server):
    s = _req(server.endpoint)
    assert _ask(s, b'{"id": "a1", "command": "  Freeze "}') == {"id": "a1", "ok": True, "status": "executed"}
    s.close()


@pytest.mark.parametrize("payload, fragment, rid", [
    (b"not json", "not UTF-8 JSON", None),
    (b'["freeze"]', "must be a JSON object", None),
    (b'{"command": "freeze"}', "needs an 'id'", None),
    (b'{"id": 5}', "needs a 'command'", 5),
    (b'{"id": "x", "command": 3}', "needs a 'command'", "x"),
    (b'{"id": "y", "command": "fly"}', "unknown command 'fly'", "y"),
    (b'{"id": "z", "command": "boom"}', "internal error: handler bug", "z"),
    (b'{"id": "big", "command": "' + b"x" * 70000 + b'"}', "limit", None),
])
def test_malformed_or_unknown_requests_get_a_reason_never_silence(server, payload, fragment, rid):
    s = _req(server.endpoint)
    reply = _ask(s, payload)
    s.close()
    assert reply["ok"] is False and fragment in reply["error"] and reply["id"] == rid


def test_dealer_client_can_pipeline_requests(server):
    d = zmq.Context.instance().socket(zmq.DEALER)
    d.setsockopt(zmq.LINGER, 0)
    d.setsockopt(zmq.RCVTIMEO, 2000)
    d.connect(server.endpoint)
    for i in range(5):
        d.send(json.dumps({"id": i, "command": "freeze"}).encode())
    replies = [json.loads(d.recv_multipart()[-1]) for _ in range(5)]
    d.send_multipart([b"a", b"b"])  # two frames: refused, answered
    bad = json.loads(d.recv_multipart()[-1])
    d.close()
    assert [r["id"] for r in replies] == list(range(5)) and all(r["ok"] for r in replies)
    assert bad["ok"] is False and "one frame" in bad["error"]
    assert server.served == 5


def test_a_failing_socket_loop_is_restarted_and_visible(endpoints, monkeypatch):
    """The serving thread is supervised: a failure past the request handler (here in the envelope
    split) re-creates the socket; the failure shows in status/restarts and the channel serves again."""
    server = ControlServer(endpoints[1], _handler)
    server.start()
    calls = {"n": 0}
    split = ControlServer._split

    def broken_once(frames):
        calls["n"] += 1
        if calls["n"] == 1:
            raise MemoryError("simulated failure in the socket loop")
        return split(frames)

    monkeypatch.setattr(ControlServer, "_split", staticmethod(broken_once))
    try:
        s = _req(server.endpoint)
        s.send(b'{"id": 1, "command": "freeze"}')
        with pytest.raises(zmq.Again):  # that request died with the socket
            s.recv()
        s.close()
        assert server.restarts == 1 and "MemoryError" in server.last_failure
        deadline = time.monotonic() + 3
        while server.status != "up" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.status == "up"
        s = _req(server.endpoint)
        assert _ask(s, b'{"id": 2, "command": "freeze"}')["ok"] is True
        s.close()
    finally:
        server.stop()
    assert server.status == "down" and not server.alive
