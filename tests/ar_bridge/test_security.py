"""CurveZMQ: a paired headset receives and commands; an unpaired client gets nothing."""

from __future__ import annotations

import json
import time

import pytest
import zmq

from ar_bridge.config import NetworkConfig
from ar_bridge.control import ControlServer
from ar_bridge.publisher import Publisher
from ar_bridge.schema import decode
from ar_bridge.security import CurveSecurity, pair_headset
from core.errors import ConfigError


def _client(ctx, kind, endpoint, bundle=None, server_public=None):
    s = ctx.socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    if bundle is not None:
        s.curve_publickey = bundle.client_public.encode()
        s.curve_secretkey = bundle.client_secret.encode()
        s.curve_serverkey = bundle.server_public.encode()
    elif server_public is not None:  # a stranger with its own keys
        pub, sec = zmq.curve_keypair()
        s.curve_publickey, s.curve_secretkey, s.curve_serverkey = pub, sec, server_public
    return s


def test_paired_headset_only(tmp_path, endpoints):
    ctx = zmq.Context()
    bundle = pair_headset(tmp_path / "curve", "hl2-a", *endpoints)
    with pytest.raises(ConfigError, match="already paired"):
        pair_headset(tmp_path / "curve", "hl2-a", *endpoints)
    sec = CurveSecurity(tmp_path / "curve", ctx)
    cfg = NetworkConfig(pub_endpoint=endpoints[0], control_endpoint=endpoints[1], heartbeat_hz=20.0)
    pub = Publisher(cfg, context=ctx, socket_setup=sec.setup)
    ctl = ControlServer(endpoints[1], lambda r: {"ok": True, "status": "executed"}, context=ctx,
                        socket_setup=sec.setup)
    pub.start()
    ctl.start()
    try:
        good = _client(ctx, zmq.SUB, endpoints[0], bundle)
        good.setsockopt(zmq.SUBSCRIBE, b"heartbeat")
        good.connect(endpoints[0])
        bad = _client(ctx, zmq.SUB, endpoints[0], server_public=bundle.server_public.encode())
        bad.setsockopt(zmq.SUBSCRIBE, b"")
        bad.connect(endpoints[0])
        plain = ctx.socket(zmq.SUB)
        plain.setsockopt(zmq.LINGER, 0)
        plain.setsockopt(zmq.SUBSCRIBE, b"")
        plain.connect(endpoints[0])
        assert good.poll(3000), "paired headset received nothing"
        assert decode(good.recv_multipart()).topic == "heartbeat"
        time.sleep(0.5)
        assert not bad.poll(0) and not plain.poll(0)
        req = _client(ctx, zmq.REQ, endpoints[1], bundle)
        req.setsockopt(zmq.RCVTIMEO, 3000)
        req.connect(endpoints[1])
        req.send(b'{"id": 1, "command": "freeze"}')
        assert json.loads(req.recv())["ok"] is True
        for s in (good, bad, plain, req):
            s.close()
    finally:
        ctl.stop()
        pub.stop()
        sec.stop()
        ctx.term()


def test_curve_without_pairing_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="sonoguide pair"):
        CurveSecurity(tmp_path / "none")


def _published_after(sock: zmq.Socket, seconds: float, t_ns: int) -> int:
    """Messages received within ``seconds`` that were published after ``t_ns``."""
    n, end = 0, time.monotonic() + seconds
    while time.monotonic() < end:
        if sock.poll(20):
            n += decode(sock.recv_multipart()).t_publish_ns > t_ns
    return n


def test_revoked_headset_is_cut_off_and_a_new_one_admitted_without_restart(tmp_path, endpoints):
    """unpair while running: the revoked client receives nothing 1 s later and commands nothing;
    the other headset keeps working; a headset paired while running is admitted."""
    from ar_bridge.security import unpair_headset

    ctx = zmq.Context()
    curve = tmp_path / "curve"
    keep = pair_headset(curve, "keep", *endpoints)
    gone = pair_headset(curve, "gone", *endpoints)
    pub = ctl = None

    def on_revoked(names: set[str]) -> None:
        pub.rebind()
        ctl.rebind()

    sec = CurveSecurity(curve, ctx, on_revoked=on_revoked)
    cfg = NetworkConfig(pub_endpoint=endpoints[0], control_endpoint=endpoints[1], heartbeat_hz=20.0)
    pub = Publisher(cfg, context=ctx, socket_setup=sec.setup)
    ctl = ControlServer(endpoints[1], lambda r: {"ok": True, "status": "executed"}, context=ctx,
                        socket_setup=sec.setup)
    pub.start()
    ctl.start()
    subs = {}
    try:
        for name, bundle in (("keep", keep), ("gone", gone)):
            s = _client(ctx, zmq.SUB, endpoints[0], bundle)
            s.setsockopt(zmq.SUBSCRIBE, b"heartbeat")
            s.connect(endpoints[0])
            subs[name] = s
        assert all(s.poll(3000) for s in subs.values()), "a paired headset received nothing"
        t_revoked = time.time_ns()
        unpair_headset(curve, "gone")
        with pytest.raises(ConfigError, match="paired: keep"):
            unpair_headset(curve, "gone")
        deadline = t_revoked + 1_000_000_000  # nothing published 1 s after the revocation may arrive
        assert _published_after(subs["gone"], 2.5, deadline) == 0, "the revoked headset still receives"
        assert _published_after(subs["keep"], 1.0, deadline) > 5, "the remaining headset lost the stream"
        req = _client(ctx, zmq.REQ, endpoints[1], gone)
        req.setsockopt(zmq.RCVTIMEO, 1500)
        req.connect(endpoints[1])
        req.send(b'{"id": 1, "command": "freeze"}')
        with pytest.raises(zmq.Again):
            req.recv()
        req.close()
        late = pair_headset(curve, "late", *endpoints)  # paired while the core runs
        time.sleep(0.5)  # the bundle travels to the headset; the core re-reads its allow-list meanwhile
        s = _client(ctx, zmq.SUB, endpoints[0], late)
        s.setsockopt(zmq.SUBSCRIBE, b"heartbeat")
        s.connect(endpoints[0])
        subs["late"] = s
        assert s.poll(3000), "a headset paired while running was refused"
        req = _client(ctx, zmq.REQ, endpoints[1], late)
        req.setsockopt(zmq.RCVTIMEO, 3000)
        req.connect(endpoints[1])
        req.send(b'{"id": 2, "command": "freeze"}')
        assert json.loads(req.recv())["ok"] is True
        req.close()
        assert sec.paired == ("keep", "late")
    finally:
        for s in subs.values():
            s.close()
        ctl.stop()
        pub.stop()
        sec.stop()
        ctx.term()
