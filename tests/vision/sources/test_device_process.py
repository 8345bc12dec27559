"""A simulated device in a process of its own: frames through shared memory, latest wins, clear errors."""

from __future__ import annotations

import dataclasses
import time
from multiprocessing import shared_memory

import numpy as np
import pytest

from core.clock import now_ns
from core.errors import DeviceError
from sonoguide.config import Config
from vision.phantom import Phantom, PhantomConfig
from vision.sources.device_process import DeviceProcessSource, SourceSpec


def _phantom_spec(fps: float = 30.0, duration_s: float | None = None) -> SourceSpec:
    cfg = PhantomConfig()
    return SourceSpec("vision.sources.phantom:PhantomSource", {"config": cfg, "fps": fps, "duration_s": duration_s},
                      "phantom", cfg.imaging.width_px * cfg.imaging.height_px)


def test_frames_arrive_paced_whole_and_on_the_core_clock():
    src = DeviceProcessSource(_phantom_spec(fps=30.0))
    try:
        frames = [src.read() for _ in range(20)]
        t_read = now_ns()
    finally:
        src.close()
    seqs = [f.seq for f in frames]
    assert seqs == sorted(seqs) and len(set(seqs)) == 20
    gaps = np.diff([f.t_capture_ns for f in frames]) / 1e6
    assert 20.0 < float(np.median(gaps)) < 50.0  # about 33 ms at 30 Hz
    assert 0 <= t_read - frames[-1].t_capture_ns < 1_000_000_000
    f = frames[-1]
    assert f.image.shape == (400, 400) and f.image.dtype == np.uint8 and f.mm_per_px == (0.1, 0.1)
    assert f.truth is None  # the label images stay in the device process unless asked for
    # the image is the phantom's own rendering of that frame, not a torn or stale slot
    expected = Phantom(PhantomConfig()).render(f.seq / 30.0).image
    np.testing.assert_array_equal(f.image, expected)


def test_a_slow_reader_gets_the_newest_frame_and_the_older_ones_are_dropped():
    src = DeviceProcessSource(_phantom_spec(fps=60.0))
    try:
        first = src.read()
        time.sleep(0.5)  # about 30 frames come in meanwhile
        newest = src.read()
    finally:
        src.close()
    assert newest.seq - first.seq >= 20 and src.dropped >= 15 and src.torn == 0
    assert 0 <= now_ns() - newest.t_capture_ns < 500_000_000


def test_the_end_of_a_finite_stream_is_none():
    src = DeviceProcessSource(_phantom_spec(fps=200.0, duration_s=0.05))
    try:
        frames = []
        while (f := src.read()) is not None:
            frames.append(f)
    finally:
        src.close()
    assert 1 <= len(frames) <= 11 and src.read() is None


def test_a_source_that_cannot_be_built_is_a_clear_device_error():
    spec = SourceSpec("vision.sources.phantom:PhantomSource", {"config": PhantomConfig(), "fps": -1.0}, "phantom",
                      400 * 400)
    with pytest.raises(DeviceError, match="phantom device process failed: .*ultrasound.fps"):
        DeviceProcessSource(spec)


def test_close_ends_the_process_and_frees_the_shared_memory():
    src = DeviceProcessSource(_phantom_spec())
    src.read()
    pid, name = src.pid, src._shm.name
    src.close()
    src.close()  # idempotent
    assert src.pid is None
    with pytest.raises(FileNotFoundError):
        shared_memory.SharedMemory(name=name)
    assert pid is not None


def test_the_demo_runs_with_its_devices_in_their_own_processes(free_endpoint):
    from sonoguide.runtime import Runtime

    cfg = Config()
    cfg = cfg.replace(network=dataclasses.replace(cfg.network, pub_endpoint=free_endpoint(), control_endpoint=free_endpoint()),
                      pipeline=dataclasses.replace(cfg.pipeline, device_process=True))
    rt = Runtime(cfg, demo=True, voice=False)
    assert isinstance(rt.us_source, DeviceProcessSource) and isinstance(rt.camera_source, DeviceProcessSource)
    rt.start()
    try:
        time.sleep(4.0)
    finally:
        summary = rt.stop()
    assert summary.error is None
    assert summary.overlays >= 60 and summary.camera_hz > 15
    assert rt.commands.state.tracking in ("ok", "occluded")
