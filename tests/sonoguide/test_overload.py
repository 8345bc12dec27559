"""Overload: the loop drops frames early instead of queueing, keeps what it shows fresh, and says so.

Unit tests drive :class:`sonoguide.overload.OverloadMonitor` on a synthetic timeline; the
integration test runs the real runtime (phantom, segmentation, needle, camera tracking,
publisher) against a CPU hog in other processes and an ultrasound source faster than the
machine can segment, and reads the state a headset would get.
"""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import time

import zmq

from ar_bridge.schema import decode
from sonoguide.config import Config
from sonoguide.overload import OverloadConfig, OverloadMonitor
from sonoguide.runtime import Runtime


def _feed(mon: OverloadMonitor, t0: float, t1: float, fps: float, keep_every: int, latency_ms: float) -> None:
    """Frames at ``fps`` from ``t0`` to ``t1``; every ``keep_every``-th is processed, the others dropped."""
    n = int((t1 - t0) * fps)
    for i in range(n):
        t = t0 + i / fps
        mon.on_captured(t)
        if i % keep_every:
            mon.on_dropped(t)
        else:
            mon.on_processed(t, latency_ms)


def test_a_loop_that_keeps_up_is_not_overloaded():
    mon = OverloadMonitor(OverloadConfig(warmup_s=0.0))
    _feed(mon, 0.0, 5.0, 30.0, 1, 18.0)
    status = mon.evaluate(5.0)
    assert not status.overloaded and status.reason == ""
    assert abs(status.loop_hz - 30.0) < 1.0 and status.drop_fraction == 0.0


def test_dropped_frames_make_overload_after_enter_s_and_recovery_needs_leave_s():
    mon = OverloadMonitor(OverloadConfig(enter_s=1.0, leave_s=2.0, warmup_s=0.0))
    _feed(mon, 0.0, 2.0, 30.0, 1, 18.0)
    assert not mon.evaluate(2.0).overloaded
    _feed(mon, 2.0, 2.6, 30.0, 2, 30.0)  # half the frames dropped
    first = mon.evaluate(2.6)
    assert not first.overloaded and "dropped" in first.reason  # not yet for enter_s
    _feed(mon, 2.6, 4.0, 30.0, 2, 30.0)
    status = mon.evaluate(4.0)
    assert status.overloaded and abs(status.loop_hz - 15.0) < 2.0 and status.source_hz > 25.0
    _feed(mon, 4.0, 6.5, 30.0, 1, 18.0)  # keeps up again; the window still holds drops until 6.0
    assert mon.evaluate(6.5).overloaded  # recovered conditions for less than leave_s
    _feed(mon, 6.5, 9.0, 30.0, 1, 18.0)
    assert not mon.evaluate(9.0).overloaded
    assert mon.overloaded_s > 3.0


def test_latency_over_budget_is_overload_without_drops():
    mon = OverloadMonitor(OverloadConfig(latency_budget_ms=50.0, enter_s=0.5, warmup_s=0.0))
    for k in range(4):
        _feed(mon, k * 0.5, (k + 1) * 0.5, 30.0, 1, 70.0)
        status = mon.evaluate((k + 1) * 0.5)
    assert status.overloaded and "latency p95 70 ms" in status.reason


def test_the_slow_start_is_not_judged():
    mon = OverloadMonitor(OverloadConfig(warmup_s=3.0))
    _feed(mon, 0.0, 2.5, 30.0, 2, 400.0)  # the network's first calls: slow, frames dropped
    for t in (1.0, 2.0, 2.5):
        assert not mon.evaluate(t).overloaded
    _feed(mon, 2.5, 6.0, 30.0, 1, 18.0)
    for t in (3.0, 4.0, 5.0, 6.0):
        status = mon.evaluate(t)
        assert not status.overloaded and status.reason == "", (t, status)
    assert abs(status.loop_hz - 30.0) < 1.5


def _hog(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def test_under_a_cpu_hog_the_loop_drops_frames_keeps_latency_bounded_and_the_state_says_so(free_endpoint):
    # the ultrasound source runs faster than the machine segments, and two busy processes take the
    # cores: the loop cannot keep up, so it must drop frames (not queue them) and report it
    cfg = Config()
    cfg = cfg.replace(network=dataclasses.replace(cfg.network, pub_endpoint=free_endpoint(), control_endpoint=free_endpoint()),
                      ultrasound=dataclasses.replace(cfg.ultrasound, fps=120.0))
    hogs = [mp.get_context("spawn").Process(target=_hog, args=(25.0,), daemon=True) for _ in range(2)]
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"state")
    sub.setsockopt(zmq.LINGER, 0)
    sub.connect(cfg.network.pub_endpoint)
    rt = Runtime(cfg, demo=True, voice=False)
    for h in hogs:
        h.start()
    rt.start()
    states = []
    try:
        deadline = time.monotonic() + 12.0
        while time.monotonic() < deadline and not any(s.body["overloaded"] for s in states):
            if sub.poll(100):
                states.append(decode(sub.recv_multipart()))
        rt.stats.reset()
        time.sleep(3.0)
        lat = rt.stats.percentiles("total", (50, 99))
        rate = rt.pipeline.overlay_rate.rate()
        status = rt.pipeline.overload.evaluate(time.monotonic())
    finally:
        summary = rt.stop()
        for h in hogs:
            h.terminate()
            h.join(5)
        sub.close()
        ctx.term()
    print(f"overload test: {rate:.1f} Hz of 120, latency p50 {lat[0]:.1f} p99 {lat[1]:.1f} ms, {status.reason}")
    assert any(s.body["overloaded"] for s in states), "the state never said the loop is overloaded"
    assert status.overloaded and status.drop_fraction > 0.1
    assert rate < 0.9 * 120.0, "the rate drops instead of queueing"
    assert lat is not None and lat[1] < 150.0, f"latency of what is shown must stay bounded, p99 {lat[1]:.0f} ms"
    assert summary.overloaded_s > 0 and summary.dropped_frames > 0
    assert "OVERLOADED" in rt.status_line()
