"""Frame sources: phantom pacing/stamping, image folders, video files, missing devices."""

from __future__ import annotations

import os
import time

import cv2
import numpy as np
import pytest

from core.errors import DeviceError, InputError
from vision.phantom import PhantomConfig, PhantomNeedleConfig
from vision.sources import FrameSource
from vision.sources.folder import ImageFolderSource
from vision.sources.opencv_log import quiet_opencv
from vision.sources.phantom import PhantomSource
from vision.sources.video import VideoSource


def test_phantom_source_paces_and_stamps_capture_time():
    src = PhantomSource(PhantomConfig(needle=PhantomNeedleConfig(enabled=False)), fps=50.0, realtime=True)
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


def test_failed_open_leaves_no_opencv_output_and_restores_the_log_level(tmp_path, capfd):
    # FFmpeg's own lines ("moov atom not found") are checked in a fresh process by
    # tests/sonoguide/test_cli_errors.py: OpenCV reads FFmpeg's level once per process.
    level = cv2.utils.logging.getLogLevel()
    capfd.readouterr()
    with pytest.raises(DeviceError, match="capture device 97"):
        VideoSource("device:97")  # OpenCV tries each backend and warns for each one that fails
    missing = tmp_path / "gone.png"
    cv2.imwrite(str(missing), np.zeros((8, 8), np.uint8))
    src = ImageFolderSource(tmp_path)
    missing.unlink()  # vanishes between listing and reading: OpenCV's imread would warn
    assert src.read() is None and src.skipped == [missing]
    out = capfd.readouterr()
    assert out.err == "" and out.out == "", out.err
    assert cv2.utils.logging.getLogLevel() == level
    assert "OPENCV_FFMPEG_LOGLEVEL" not in os.environ


def test_quiet_opencv_restores_the_level_after_an_error_and_respects_the_user_setting(monkeypatch):
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_INFO)
    try:
        with pytest.raises(RuntimeError), quiet_opencv():
            assert cv2.utils.logging.getLogLevel() == cv2.utils.logging.LOG_LEVEL_SILENT
            assert os.environ["OPENCV_FFMPEG_LOGLEVEL"] == "-8"
            raise RuntimeError("open failed")
        assert cv2.utils.logging.getLogLevel() == cv2.utils.logging.LOG_LEVEL_INFO
        assert "OPENCV_FFMPEG_LOGLEVEL" not in os.environ
        monkeypatch.setenv("OPENCV_FFMPEG_LOGLEVEL", "32")
        with quiet_opencv():
            assert os.environ["OPENCV_FFMPEG_LOGLEVEL"] == "32"
        assert os.environ["OPENCV_FFMPEG_LOGLEVEL"] == "32"
    finally:
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_WARNING)
