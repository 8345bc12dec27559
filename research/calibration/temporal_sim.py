"""Simulated temporal-calibration recordings with a known lag: a probe moved up and down over a plate.

The probe's transducer face moves above a flat plate (the bottom of a water bath) with a hand-like
up-down motion: a stroke frequency and an amplitude that wander slowly (so no two strokes are
alike), a slow lateral drift and small tilts. Two streams observe it:

* ultrasound frames at ``us_hz`` (with timing jitter), rendered by
  :class:`vision.phantom.line_target.LineTargetRenderer` with the plate line where the probe
  saw it ``us_latency`` before the frame's stamp;
* marker poses ``T_tracker_from_marker`` at ``pose_hz`` (jitter, per-axis noise
  ``pose_noise_mm`` / ``pose_noise_deg``), showing the probe ``pose_latency`` before their stamp,
  using the simulated rig's marker-to-probe transform (:mod:`calibration.simulated`).

Frames and poses are dropped at random and in bursts (missing frames, a lost marker). The true
``[tracking.sync] temporal_offset_ms`` is ``pose_latency - us_latency`` = ``lag_ms``.

Usage::

    .venv/bin/python -m research.calibration.temporal_sim --out DIR --lag-ms 40 [--us-hz 25 --pose-hz 50]

writes the capture folder of ``sonoguide calibrate temporal --input DIR`` plus ``truth.json``.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from calibration.simulated import T_MARKER_FROM_PROBE
from core.se3 import invert, make_T, rotvec_to_R
from vision.phantom.line_target import LineTargetConfig, LineTargetRenderer


@dataclass(frozen=True)
class TemporalSimConfig:
    """One simulated recording.

    Attributes:
        lag_ms: the true temporal offset (pose latency minus ultrasound latency).
        us_hz: ultrasound frame rate.
        pose_hz: pose rate.
        duration_s: recording length.
        height_mm: mean height of the transducer above the plate.
        amplitude_mm: half the stroke of the up-down motion.
        stroke_hz: mean stroke frequency.
        pose_noise_mm: pose translation noise per axis (1 sigma).
        pose_noise_deg: pose rotation noise per axis (1 sigma).
        jitter_ms: timing jitter of both streams' stamps (1 sigma).
        drop_us: share of ultrasound frames dropped at random (plus one burst of 5).
        drop_pose: share of poses lost at random (plus one burst of 8).
        image: the frames' geometry and appearance.
        seed: random seed.
    """

    lag_ms: float = 40.0
    us_hz: float = 25.0
    pose_hz: float = 50.0
    duration_s: float = 20.0
    height_mm: float = 20.0
    amplitude_mm: float = 7.0
    stroke_hz: float = 0.7
    pose_noise_mm: float = 0.25
    pose_noise_deg: float = 0.1
    jitter_ms: float = 1.0
    drop_us: float = 0.03
    drop_pose: float = 0.05
    image: LineTargetConfig = field(default_factory=LineTargetConfig)
    seed: int = 0


@dataclass
class TemporalSim:
    """A simulated recording.

    Attributes:
        frames: ``(t_ns, image)`` per ultrasound frame.
        poses: ``(t_ns, T_tracker_from_marker or None)`` per pose (``None``: lost).
        mm_per_px: pixel spacing ``(row, col)``.
        normal_tracker: the plate's normal in the tracker frame (towards the probe).
        offset_ms: the true ``temporal_offset_ms``.
    """

    frames: list[tuple[int, np.ndarray]]
    poses: list[tuple[int, np.ndarray | None]]
    mm_per_px: tuple[float, float]
    normal_tracker: np.ndarray
    offset_ms: float


class _Motion:
    """The probe's path in the plate frame (z up from the plate), evaluated at any time."""

    def __init__(self, cfg: TemporalSimConfig, rng: np.random.Generator) -> None:
        dt = 1e-3
        self.t = np.arange(-2.0, cfg.duration_s + 2.0, dt)

        def wander(n: int, lo: float, hi: float) -> np.ndarray:
            out = np.zeros_like(self.t)
            for _ in range(n):
                out += np.sin(2 * np.pi * rng.uniform(lo, hi) * self.t + rng.uniform(0, 2 * np.pi))
            return out / n

        freq = cfg.stroke_hz * (1.0 + 0.35 * wander(3, 0.03, 0.15))
        phase = 2 * np.pi * np.cumsum(freq) * dt + rng.uniform(0, 2 * np.pi)
        amp = cfg.amplitude_mm * (1.0 + 0.3 * wander(3, 0.05, 0.2))
        self.z = cfg.height_mm + amp * np.sin(phase) + 0.1 * cfg.amplitude_mm * wander(2, 2.0, 4.0)
        self.x = 4.0 * wander(2, 0.02, 0.1)
        self.y = 4.0 * wander(2, 0.02, 0.1)
        self.tilt_in = 3.0 * wander(2, 0.05, 0.3)  # degrees, about the image normal
        self.tilt_out = 2.0 * wander(2, 0.05, 0.3)  # degrees, about the lateral axis

    def at(self, t_s: float) -> tuple[np.ndarray, float]:
        """``T_plate_from_probe`` and the height at ``t_s``."""
        v = [float(np.interp(t_s, self.t, a)) for a in (self.x, self.y, self.z, self.tilt_in, self.tilt_out)]
        # probe axes in the plate frame at rest: lateral = x, depth = -z, normal = +y
        R0 = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
        R = R0 @ rotvec_to_R([math.radians(v[4]), 0.0, 0.0]) @ rotvec_to_R([0.0, 0.0, math.radians(v[3])])
        return make_T(R, [v[0], v[1], v[2]]), v[2]


def _line_in_image(T_plate_from_probe: np.ndarray) -> tuple[float, float]:
    """Depth at the centre column (mm) and tilt (deg) of the plate z = 0 in the image plane."""
    R, p = T_plate_from_probe[:3, :3], T_plate_from_probe[:3, 3]
    # plate point q_probe satisfies z_plate = R[2] @ q + p[2] = 0 with q = (x, y, 0)
    nx, ny = R[2, 0], R[2, 1]
    return -p[2] / ny, math.degrees(math.atan(-nx / ny))


def _noisy(T: np.ndarray, rng: np.random.Generator, mm: float, deg: float) -> np.ndarray:
    dT = make_T(rotvec_to_R(rng.normal(0.0, math.radians(deg), 3)), rng.normal(0.0, mm, 3))
    return T @ dT


def _stamps(rate: float, duration: float, jitter_s: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(0.0, duration, 1.0 / rate)
    return np.sort(t + rng.normal(0.0, jitter_s, t.size))


def _drop(n: int, share: float, burst: int, rng: np.random.Generator) -> np.ndarray:
    keep = rng.random(n) >= share
    if burst and n > 4 * burst:
        s = int(rng.integers(n // 4, 3 * n // 4))
        keep[s:s + burst] = False
    return keep


def simulate(cfg: TemporalSimConfig) -> TemporalSim:
    """Render one recording (see the module docstring)."""
    rng = np.random.default_rng([cfg.seed, 7])
    motion = _Motion(cfg, rng)
    renderer = LineTargetRenderer(cfg.image)
    T_tracker_from_plate = make_T(rotvec_to_R(rng.normal(0.0, 1.0, 3)), rng.uniform(-300.0, 300.0, 3))
    T_probe_from_marker = invert(T_MARKER_FROM_PROBE)
    pose_latency = 0.030
    us_latency = pose_latency - cfg.lag_ms * 1e-3
    t0_ns = 1_765_000_000_000_000_000 + int(rng.integers(0, 10**12))
    frames = []
    us_t = _stamps(cfg.us_hz, cfg.duration_s, cfg.jitter_ms * 1e-3, rng)
    for t, keep in zip(us_t, _drop(us_t.size, cfg.drop_us, 5, rng)):
        if not keep:
            continue
        depth, tilt = _line_in_image(motion.at(t - us_latency)[0])
        frames.append((t0_ns + int(round(t * 1e9)), renderer.render(depth, tilt, rng)))
    poses: list[tuple[int, np.ndarray | None]] = []
    pose_t = _stamps(cfg.pose_hz, cfg.duration_s, cfg.jitter_ms * 1e-3, rng)
    for t, keep in zip(pose_t, _drop(pose_t.size, cfg.drop_pose, 8, rng)):
        t_ns = t0_ns + int(round(t * 1e9))
        if not keep:
            poses.append((t_ns, None))
            continue
        T = T_tracker_from_plate @ motion.at(t - pose_latency)[0] @ T_probe_from_marker
        poses.append((t_ns, _noisy(T, rng, cfg.pose_noise_mm, cfg.pose_noise_deg)))
    return TemporalSim(frames=frames, poses=poses, mm_per_px=cfg.image.mm_per_px,
                       normal_tracker=T_tracker_from_plate[:3, 2].copy(), offset_ms=cfg.lag_ms)


def write_capture(sim: TemporalSim, folder: str | Path) -> Path:
    """Write ``sim`` as a capture folder (``calibration.temporal_capture`` layout) plus ``truth.json``
    (the true offset and the plate's normal in the tracker frame)."""
    d = Path(folder)
    (d / "frames").mkdir(parents=True, exist_ok=True)
    with open(d / "frames.jsonl", "w", encoding="utf-8") as f:
        for k, (t_ns, img) in enumerate(sim.frames):
            name = f"{k:05d}.png"
            cv2.imwrite(str(d / "frames" / name), img)
            f.write(json.dumps({"frame": name, "t_ns": t_ns}) + "\n")
    with open(d / "poses.jsonl", "w", encoding="utf-8") as f:
        for t_ns, T in sim.poses:
            f.write(json.dumps({"t_ns": t_ns, "T_tracker_from_marker": None if T is None else T.tolist()}) + "\n")
    (d / "capture.json").write_text(json.dumps({"mm_per_px": list(sim.mm_per_px)}) + "\n", encoding="utf-8")
    truth = {"temporal_offset_ms": sim.offset_ms, "plate_normal_tracker": sim.normal_tracker.tolist()}
    (d / "truth.json").write_text(json.dumps(truth) + "\n", encoding="utf-8")
    return d


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Write a simulated temporal-calibration capture folder.")
    p.add_argument("--out", required=True, help="capture folder to write")
    p.add_argument("--lag-ms", type=float, default=40.0)
    p.add_argument("--us-hz", type=float, default=25.0)
    p.add_argument("--pose-hz", type=float, default=50.0)
    p.add_argument("--duration-s", type=float, default=20.0)
    p.add_argument("--amplitude-mm", type=float, default=7.0)
    p.add_argument("--noise", type=float, default=4.0, help="image noise, grey levels")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    cfg = TemporalSimConfig(lag_ms=a.lag_ms, us_hz=a.us_hz, pose_hz=a.pose_hz, duration_s=a.duration_s,
                            amplitude_mm=a.amplitude_mm, image=LineTargetConfig(noise_std=a.noise, seed=a.seed),
                            seed=a.seed)
    write_capture(simulate(cfg), a.out)
    print(f"wrote {a.out} (true temporal_offset_ms {a.lag_ms:g})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
