"""Frame sources: phantom pacing/stamping, image folders, video files, missing devices."""

from __future__ import annotations

import time

import cv2
import numpy as np
import pytest

from sonoguide.errors import DeviceError, InputError
from vision.phantom import PhantomConfig
from vision.sources import FrameSource
from vision.sources.folder import ImageFolderSource
from vision.sources.phantom import PhantomSource
from vision.sources.video import VideoSource


def test_phantom_source_paces_and_stamps_capture_time():
    src = PhantomSource(PhantomConfig(needle=False), fps=50.0, realtime=True)
    assert isinstance(src, FrameSource)
    t0 = time.monotonic()
    frames = [src.read() for _ in range(11)]
    elapsed = time.monotonic() - t0
    assert 0.15 <= elapsed <= 0.6  # 10 periods of 20 ms
    assert [f.seq for f in frames] == list(range(11))
    assert all(b.t_capture_ns > a.t_capture_ns for a, b in zip(frames, frames[1:]))
    assert frames[0].mm_per_px == (0.1, 0.1) and frames[0].truth["labels"].shape == frames[0].image.shape


def test_phantom_source_ends_after_duration():
    src = PhantomSource(PhantomConfig(), fps=10.0, realtime=False, duration_s=0.5)
    assert len(list(iter(src.read, None))) == 6


def test_folder_source_skips_unreadable_images(tmp_path):
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i:02d}.png"), np.full((8, 8), i * 50, np.uint8))
    (tmp_path / "01b.png").write_bytes(b"not a png")
    src = ImageFolderSource(tmp_path, gray=True, mm_per_px=(0.2, 0.2))
    frames = list(iter(src.read, None))
    assert [int(f.image[0, 0]) for f in frames] == [0, 50, 100]
    assert [p.name for p in src.skipped] == ["01b.png"] and frames[0].mm_per_px == (0.2, 0.2)


def test_folder_source_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        ImageFolderSource(tmp_path / "nope")
    with pytest.raises(InputError, match="holds no images"):
        ImageFolderSource(tmp_path)


def test_video_file_source_reads_every_frame(tmp_path):
    path = tmp_path / "clip.avi"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (64, 48))
    assert w.isOpened()
    for i in range(10):
        w.write(np.full((48, 64, 3), 20 * i, np.uint8))
    w.release()
    src = VideoSource(str(path), gray=True, realtime=False, mm_per_px=(0.1, 0.1))
    frames = list(iter(src.read, None))
    src.close()
    assert len(frames) == 10 and frames[0].image.shape == (48, 64)
    assert abs(int(frames[5].image.mean()) - 100) <= 3


def test_missing_video_and_device_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        VideoSource(str(tmp_path / "missing.mp4"))
    (tmp_path / "junk.mp4").write_bytes(b"\x00" * 100)
    with pytest.raises(InputError, match="cannot be decoded"):
        VideoSource(str(tmp_path / "junk.mp4"))
    with pytest.raises(DeviceError, match="capture device 97 cannot be opened"):
        VideoSource("device:97")
    with pytest.raises(InputError, match="integer"):
        VideoSource("device:abc")
