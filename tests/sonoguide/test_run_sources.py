"""``sonoguide run`` on configured sources: a recorded ultrasound video, no tracking camera."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import cv2

from vision.phantom import Phantom, PhantomConfig

EXE = str(Path(sys.executable).with_name("sonoguide"))


def _ep() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


def test_run_on_a_video_file_processes_its_frames(tmp_path):
    video = tmp_path / "scan.avi"
    ph = Phantom(PhantomConfig(seed=2))
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (400, 400), isColor=False)
    for k in range(45):
        w.write(ph.render(k / 30).image)
    w.release()
    cfg = tmp_path / "run.toml"
    cfg.write_text(f'[ultrasound]\nsource = "{video}"\nmm_per_px = [0.1, 0.1]\nloop = false\n'
                   '[camera]\nsource = "none"\n[voice]\nenabled = false\n')
    p = subprocess.run([EXE, "run", "--config", str(cfg), "--no-status", "--pub", _ep(), "--control", _ep()],
                       capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr
    assert "finished after" in p.stdout
    overlays = int(p.stdout.split(": ")[1].split(" overlays")[0])
    assert 1 <= overlays <= 45
