"""``sonoguide watch`` over real sockets: a real Publisher, or crafted frames from our own XPUB."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest
import zmq

from ar_bridge.config import NetworkConfig
from ar_bridge.publisher import Publisher
from ar_bridge.schema import WireMessage, encode, schema_name
from ar_bridge.messages import NeedleOverlay, OverlayMessage, StructureOverlay
from ar_bridge.security import CurveSecurity, pair_headset
from ar_bridge.watch import Watcher, WatchSummary, run_watch
from sonoguide.cli import main
from sonoguide.state import GuidanceState
from sonoguide.compose import state_message

HB_BODY = {"overlay_hz": 25.0, "tracking": "ok", "frozen": False, "state_version": 1}


def _overlay(t_capture_ns: int, validity_ms: float = 60_000.0, pose: str = "ok", frame_seq: int = 0) -> OverlayMessage:
    square = np.array([[10, 10], [20, 10], [20, 20], [10, 20]], np.float32)
    needle = NeedleOverlay("ok", (5.0, 6.0), (0.0, 0.0), 30.0, "caution", {"nerve": 3.0, "vessel": None},
                           {"nerve": 1.0, "vessel": None}, np.array([[5, 6], [9, 12]], np.float32))
    return OverlayMessage(
        frame_seq=frame_seq, t_capture_ns=t_capture_ns, valid_until_ns=t_capture_ns + int(validity_ms * 1e6),
        image_size=(64, 48), mm_per_px=(0.1, 0.1), frozen=False, layers={"nerve": True, "vessel": True, "needle": True},
        quality=0.9, quality_flags=(), pose_validity=pose, pose_age_ms=2.0 if pose in ("ok", "occluded") else None,
        T_headset_from_image=np.eye(4) if pose in ("ok", "occluded") else None,
        structures=(StructureOverlay(1, "nerve", "ok", 0.9, 12.0, square),
                    StructureOverlay(2, "vessel", "uncertain", 0.4, 8.0, square + 20)),
        needle=needle, source="test")


def _overlay_frames(seq: int, validity_ms: float = 60_000.0, pose: str = "ok", **extra) -> list[bytes]:
    t = time.time_ns()
    body, arrays = _overlay(t, validity_ms, pose, seq).to_body()
    body.update(extra)
    return encode(WireMessage("overlay", schema_name("overlay"), seq, t, time.time_ns(), body, arrays))


def _frames(topic: str, seq: int, body: dict, schema: str | None = None) -> list[bytes]:
    t = time.time_ns()
    return encode(WireMessage(topic, schema or schema_name(topic), seq, t, t, body, {}))


def _raw_watch(endpoint: str, messages: list[list[bytes]], gap_s: float = 0.0,
               pauses: dict[int, float] | None = None) -> WatchSummary:
    """Watch ``endpoint`` while our own XPUB sends ``messages``; stop once all arrived."""
    ctx = zmq.Context.instance()
    xpub = ctx.socket(zmq.XPUB)
    xpub.setsockopt(zmq.LINGER, 0)
    xpub.bind(endpoint)
    watcher = Watcher(endpoint)
    stop = threading.Event()
    result: list[WatchSummary] = []
    thread = threading.Thread(target=lambda: result.append(run_watch(watcher, 10.0, stop=stop)), daemon=True)
    thread.start()
    try:
        assert xpub.poll(3000), "the watcher never subscribed"
        assert xpub.recv()[0] == 1
        for i, frames in enumerate(messages):
            time.sleep((pauses or {}).get(i, gap_s))
            xpub.send_multipart(frames)
        deadline = time.monotonic() + 3.0
        while watcher.messages < len(messages) and time.monotonic() < deadline:
            time.sleep(0.005)
    finally:
        stop.set()
        thread.join(5.0)
        xpub.close()
    assert watcher.messages == len(messages)
    return result[0]


def _last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture
def core(endpoints):
    """A real Publisher at 10 Hz heartbeat with a state in its last-value cache."""
    pub = Publisher(NetworkConfig(pub_endpoint=endpoints[0], control_endpoint=endpoints[1]),
                    heartbeat_body=lambda: dict(HB_BODY))
    pub.start()
    pub.set_state(state_message(GuidanceState(version=1, tracking="ok")).to_body())
    yield pub
    pub.stop()


# --------------------------------------------------------------------------- a healthy core

def test_healthy_core_through_the_cli(core, capsys):
    def produce() -> None:
        time.sleep(0.3)
        for i in range(40):
            t = time.time_ns()
            body, arrays = _overlay(t, 60_000.0, "ok" if i % 4 else "occluded", i).to_body()
            core.publish("overlay", t, body, arrays)
            if i == 20:
                core.set_state(state_message(GuidanceState(version=2, tracking="lost")).to_body())
            time.sleep(0.02)

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    rc = main(["watch", "--endpoint", core.config.pub_endpoint, "--seconds", "1.5", "--json"])
    producer.join(5.0)
    out, err = capsys.readouterr()
    s = _last_json(out)
    assert rc == 0, s["problems"]
    assert s["healthy"] is True and s["problems"] == [] and s["invalid"] == 0 and s["errors"] == []
    assert {"endpoint", "seconds", "messages", "topics", "latency_ms", "heartbeat", "overlays"} <= set(s)
    ov, hb = s["topics"]["overlay"], s["heartbeat"]
    assert ov["count"] >= 30 and ov["lost"] == 0 and ov["seq_restarts"] == 0
    assert 20.0 < ov["rate_hz"] < 80.0  # ~50 Hz produced
    assert hb["count"] >= 10 and 7.0 < hb["rate_hz"] < 14.0 and 7.0 < hb["median_hz"] < 14.0
    assert hb["link_down_events"] == 0
    assert hb["max_gap_ms"] < 300.0
    for series in ("publish_to_receive", "capture_to_receive"):
        lat = s["latency_ms"][series]
        assert lat["count"] > 0 and 0.0 <= lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"] < 250.0
    assert s["latency_ms"]["capture_to_receive"]["count"] == ov["count"]
    overlays = s["overlays"]
    assert overlays["count"] == ov["count"] and overlays["expired_on_arrival"] == 0
    assert set(overlays["pose_validity"]) == {"ok", "occluded"}
    assert sum(overlays["pose_validity"].values()) == ov["count"]
    assert overlays["structure_validity"] == {"ok": ov["count"], "uncertain": ov["count"]}
    assert s["state"]["tracking_changes"] == 1 and s["state"]["changes"][0]["old"] == "ok"
    assert s["state"]["tracking"] == "lost" and s["state"]["version"] == 2
    assert "\nhealthy\n" in out
    assert "overlay " in err and "hb ok" in err and "\r" not in err  # plain status lines when not a tty


# --------------------------------------------------------------------------- crafted frames

def test_extra_fields_are_allowed_and_a_broken_body_is_invalid(endpoints):
    s = _raw_watch(endpoints[0], [
        _overlay_frames(1, future_field={"x": 1}),  # "extend, do not break": fine
        _frames("overlay", 2, {"frame_seq": 2, "valid_until_ns": 0}),
        _frames("heartbeat", 1, {**HB_BODY, "uptime_s": 1.0, "subscribers": 1, "cpu": 0.5}),
    ])
    assert s.messages == 3 and s.invalid == 1
    assert s.topics["overlay"].count == 2 and s.topics["overlay"].invalid == 1 and s.topics["overlay"].lost == 0
    assert s.overlays.count == 1
    assert len(s.errors) == 1 and s.errors[0].startswith("overlay #2: overlay body incomplete")
    assert not s.healthy and any("broke the wire contract" in p for p in s.problems)


@pytest.mark.parametrize("frames, error", [
    ([b"overlay", b"{not json"], "header is not UTF-8 JSON"),
    (lambda: _frames("state", 1, {"version": 1, "tracking": "ok"}), "state body lacks 'frozen'"),
    (lambda: _frames("heartbeat", 1, {**HB_BODY, "uptime_s": 1.0, "subscribers": 1, "tracking": "fine"}),
     "heartbeat tracking 'fine'"),
    (lambda: _frames("overlay", 1, {}, schema="sonoguide.overlay/2"), "version this client does not know"),
    (lambda: _overlay_frames(1, pose="lost"), None),  # valid: pose lost, no matrix
    (lambda: _matrix_with_lost_pose(), "T_headset_from_image although pose_validity is 'lost'"),
])
def test_every_message_is_checked_against_the_contract(endpoints, frames, error):
    s = _raw_watch(endpoints[0], [frames() if callable(frames) else frames])
    if error is None:
        assert s.invalid == 0 and s.errors == [] and s.overlays.pose_validity == {"lost": 1}
    else:
        assert s.invalid == 1 and error in s.errors[0]


def _matrix_with_lost_pose() -> list[bytes]:
    t = time.time_ns()
    body, arrays = _overlay(t, pose="lost").to_body()
    arrays["T_headset_from_image"] = np.eye(4)
    return encode(WireMessage("overlay", schema_name("overlay"), 1, t, t, body, arrays))


def test_seq_gap_is_lost_and_seq_restart_is_detected(endpoints):
    s = _raw_watch(endpoints[0], [_overlay_frames(q) for q in (7, 8, 11, 12, 1, 2)])
    ov = s.topics["overlay"]
    assert ov.count == 6 and ov.lost == 2 and ov.seq_restarts == 1 and s.invalid == 0
    assert any(p.startswith("lost 2 message(s) (overlay: 2)") for p in s.problems)
    assert any("restarted 1 time" in p for p in s.problems)


def test_expired_overlay_is_counted(endpoints):
    s = _raw_watch(endpoints[0], [_overlay_frames(1, validity_ms=-5.0), _overlay_frames(2)])
    assert s.overlays.count == 2 and s.overlays.expired_on_arrival == 1
    assert any("1 overlay(s) arrived already expired" in p for p in s.problems)


def test_overlay_going_stale_before_the_next_one(endpoints):
    # 100 ms validity, the next overlay 300 ms later: the headset showed stale content once
    s = _raw_watch(endpoints[0], [_overlay_frames(1, validity_ms=100.0), _overlay_frames(2)], pauses={1: 0.3})
    assert s.overlays.expired_on_arrival == 0 and s.overlays.stale_episodes == 1
    assert 100.0 <= s.overlays.stale_ms < 1000.0


def test_heartbeat_silence_is_a_link_down_episode(endpoints):
    hb = [_frames("heartbeat", q, {**HB_BODY, "uptime_s": q / 20, "subscribers": 1}) for q in range(1, 13)]
    s = _raw_watch(endpoints[0], hb, gap_s=0.05, pauses={6: 0.6})  # 20 Hz, then 0.6 s of silence
    assert s.heartbeat.count == 12 and s.topics["heartbeat"].lost == 0
    assert s.heartbeat.link_down_events == 1 and not s.heartbeat.link_down_now
    assert 550.0 <= s.heartbeat.max_gap_ms < 2000.0 and 40.0 <= s.heartbeat.period_ms <= 200.0
    assert any(p.startswith("link down 1 time(s)") for p in s.problems)


# --------------------------------------------------------------------------- no core, bad input

def test_no_core_is_unhealthy_with_exit_code_1(endpoints, capsys):
    rc = main(["watch", "--endpoint", endpoints[0], "--seconds", "0.4", "--json", "--no-status"])
    out, err = capsys.readouterr()
    s = _last_json(out)
    assert rc == 1 and s["healthy"] is False and s["messages"] == 0 and s["heartbeat"]["count"] == 0
    assert s["problems"][0].startswith(f"no heartbeat from {endpoints[0]} in 0.")
    assert s["problems"][0].endswith("is the core running and is the endpoint right?")
    assert err == ""


@pytest.mark.parametrize("args, message", [
    (["--endpoint", "localhost:5556"], "is not a ZeroMQ endpoint"),
    (["--endpoint", "tcp://*:5556"], "is a bind address"),
    (["--endpoint", "tcp://127.0.0.1"], "cannot connect to tcp://127.0.0.1"),
    (["--pairing", "{tmp}/missing.json"], "pairing file"),
    (["--pairing", "{tmp}/bad.json"], "is not valid JSON"),
    (["--topics", "overlay,bogus"], "unknown topic 'bogus'"),
    (["--config", "{tmp}/curve.toml"], "pass --pairing FILE"),
])
def test_bad_input_is_one_actionable_line(tmp_path, capsys, args, message):
    (tmp_path / "bad.json").write_text("{oops", encoding="utf-8")
    (tmp_path / "curve.toml").write_text("[network]\ncurve = true\n", encoding="utf-8")
    rc = main(["watch", "--seconds", "0.2", *(a.format(tmp=tmp_path) for a in args)])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    assert err.startswith("error: ") and message in err and err.count("\n") == 1 and "Traceback" not in err


# --------------------------------------------------------------------------- CurveZMQ

def test_curve_core_needs_the_pairing_bundle(tmp_path, endpoints, capsys):
    ctx = zmq.Context()
    bundle = pair_headset(tmp_path / "curve", "watch", *endpoints)
    bundle.save(tmp_path / "watch.pairing.json")
    sec = CurveSecurity(tmp_path / "curve", ctx)
    pub = Publisher(NetworkConfig(pub_endpoint=endpoints[0], control_endpoint=endpoints[1]),
                    heartbeat_body=lambda: dict(HB_BODY), context=ctx, socket_setup=sec.setup)
    pub.start()
    pub.set_state(state_message(GuidanceState(version=1, tracking="ok")).to_body())
    try:
        # the endpoint comes from the bundle
        rc = main(["watch", "--pairing", str(tmp_path / "watch.pairing.json"), "--seconds", "0.8", "--json",
                   "--no-status"])
        paired = _last_json(capsys.readouterr().out)
        rc_plain = main(["watch", "--endpoint", endpoints[0], "--seconds", "0.5", "--json", "--no-status"])
        plain = _last_json(capsys.readouterr().out)
    finally:
        pub.stop()
        sec.stop()
        ctx.term()
    assert rc == 0 and paired["healthy"] and paired["curve"] is True and paired["endpoint"] == endpoints[0]
    assert paired["heartbeat"]["count"] >= 5 and paired["state"]["count"] >= 1
    assert rc_plain == 1 and plain["messages"] == 0 and plain["link"]["handshake_failures"] >= 1
    assert "requires CurveZMQ: pass --pairing FILE" in plain["problems"][0]


# --------------------------------------------------------------------------- Ctrl-C, slow heartbeat

def test_ctrl_c_ends_the_watch_with_a_summary(core):
    calls = []

    def on_status(live) -> None:  # Ctrl-C arrives while the loop runs
        calls.append(live)
        if len(calls) == 3:
            raise KeyboardInterrupt

    s = run_watch(Watcher(core.config.pub_endpoint), None, on_status=on_status, status_interval_s=0.1)
    assert s.interrupted and "interrupted" in s.notes and 0.25 <= s.seconds < 2.0
    assert s.state.count >= 1  # the last-value cache answered at once
    assert [c.heartbeat for c in calls][-1] in ("ok", "none")


def test_heartbeat_below_the_contract_rate_is_a_problem():
    w = Watcher("tcp://127.0.0.1:1", start_ns=0)
    for q in range(1, 9):  # 4 Hz: too slow for the contract's 5 Hz
        t = q * 250_000_000
        w.feed(_frames_at("heartbeat", q, t, {**HB_BODY, "uptime_s": q / 4, "subscribers": 1}), t + 1_000_000)
    s = w.summary(8 * 250_000_000 + 50_000_000)
    assert s.heartbeat.count == 8 and s.heartbeat.median_hz == pytest.approx(4.0)
    assert s.heartbeat.link_down_events == 0  # 250 ms < 3 x 200 ms: slow, but not down
    assert s.latency_ms["publish_to_receive"].p50 == pytest.approx(1.0)
    assert any("below the contract's 5 Hz" in p for p in s.problems)


def _frames_at(topic: str, seq: int, t_ns: int, body: dict) -> list[bytes]:
    return encode(WireMessage(topic, schema_name(topic), seq, t_ns, t_ns, body, {}))
