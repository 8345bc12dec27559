"""The whole chain simulated with known truth, for ``sonoguide calibrate verify``.

Truth is the simulated rig of :mod:`calibration.simulated` (``T_marker_from_image`` from the
probe's design values at the phantom's default 0.1 mm/px, 400 px wide, and
``T_headset_from_camera``). A phantom target sits at a known point in front of the headset; in
every frame the tracked probe images it at another pixel from another angle. The capture carries
what a real one would: the target pixel with marking noise (``pixel_noise_px``), the marker pose
with the tracker's noise (``marker_noise_mm`` / ``marker_noise_deg`` per axis, 1 sigma; the
issue's marker pose noise), and the target's position in the headset frame (with the headset
registration's noise ``target_noise_mm``).

The two calibration files are either given (paths: the files the ``calibrate us-probe`` and
``calibrate hand-eye`` commands wrote from their own simulated data) or made here from the truth
with a stated error: the image-to-marker file moved by ``i2m_error_mm`` at the image centre and
turned by ``i2m_error_deg`` about it, the camera-to-headset file by ``c2h_error_mm`` and
``c2h_error_deg`` (the issue's acceptance figures of those calibrations by default), each in a
random direction.

Usage::

    .venv/bin/python -m research.calibration.verify_sim --out DIR [--image-to-marker F --camera-to-headset F]

writes ``DIR/capture.json`` (and the two calibration files when not given) and prints the chain's
error; then ``sonoguide calibrate verify --input DIR/capture.json --image-to-marker ...`` checks it.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from calibration.io import Calibration, load_calibration
from calibration.simulated import T_HEADSET_FROM_CAMERA, T_MARKER_FROM_PROBE, T_probe_from_image
from calibration.verify import VerifyCapture, VerifyResult, verify_chain
from core.frames import FrameName
from core.se3 import make_T, rotvec_to_R

MM_PER_PX = (0.1, 0.1)
WIDTH_PX, HEIGHT_PX = 400, 400
P_CAMERA_TARGET = np.array([0.0, 60.0, 420.0])
"""The phantom target in the tracking camera's frame (below the line of sight, 42 cm ahead)."""
NOMINAL_RMS_MM = 0.5
"""Fit residual written into made files: a calibration's residual does not reveal its error, so a
made file with a large error still loads, as a real miscalibrated one would."""


@dataclass(frozen=True)
class VerifySimConfig:
    """One simulated verification session.

    Attributes:
        n_frames: frames with the target in the image.
        pixel_noise_px: target marking noise per axis (1 sigma).
        marker_noise_mm: marker pose translation noise per axis (1 sigma).
        marker_noise_deg: marker pose rotation noise per axis (1 sigma).
        target_noise_mm: noise of the target's known position (headset registration), per axis.
        i2m_error_mm: image-to-marker file's error at the image centre (made files only).
        i2m_error_deg: its rotation error about the image centre.
        c2h_error_mm: camera-to-headset file's translation error.
        c2h_error_deg: its rotation error.
        tilt_deg: spread of the probe's orientation between frames.
        seed: random seed.
    """

    n_frames: int = 30
    pixel_noise_px: float = 0.5
    marker_noise_mm: float = 0.5
    marker_noise_deg: float = 0.2
    target_noise_mm: float = 0.0
    i2m_error_mm: float = 0.3
    i2m_error_deg: float = 0.1
    c2h_error_mm: float = 1.2
    c2h_error_deg: float = 0.15
    tilt_deg: float = 25.0
    seed: int = 0


def true_marker_from_image() -> np.ndarray:
    """``T_marker_from_image`` of the simulated rig."""
    return T_MARKER_FROM_PROBE @ T_probe_from_image(MM_PER_PX, WIDTH_PX)


def _unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


def _perturb_about(T: np.ndarray, centre: np.ndarray, mm: float, deg: float, rng: np.random.Generator) -> np.ndarray:
    """``T`` with its output moved by ``mm`` and turned by ``deg`` about the output point ``centre``."""
    R = rotvec_to_R(_unit(rng) * math.radians(deg))
    d = make_T(R, centre - R @ centre + _unit(rng) * mm)
    return d @ T


def made_calibrations(cfg: VerifySimConfig) -> tuple[Calibration, Calibration]:
    """The two calibration files, from the truth with the configured errors."""
    rng = np.random.default_rng([cfg.seed, 31])
    T_mi = true_marker_from_image()
    centre_img = np.array([0.5 * (WIDTH_PX - 1), 0.5 * (HEIGHT_PX - 1), 0.0, 1.0])
    i2m = _perturb_about(T_mi, (T_mi @ centre_img)[:3], cfg.i2m_error_mm, cfg.i2m_error_deg, rng)
    c2h = _perturb_about(T_HEADSET_FROM_CAMERA, T_HEADSET_FROM_CAMERA[:3, 3], cfg.c2h_error_mm, cfg.c2h_error_deg, rng)
    note = "simulated: truth plus a stated error"
    return (Calibration(FrameName.IMAGE, FrameName.MARKER, i2m, method=note,
                        residuals={"rms_mm": NOMINAL_RMS_MM},
                        extra={"error_mm": cfg.i2m_error_mm, "error_deg": cfg.i2m_error_deg}),
            Calibration(FrameName.CAMERA, FrameName.HEADSET, c2h, method=note,
                        residuals={"rms_mm": NOMINAL_RMS_MM},
                        extra={"error_mm": cfg.c2h_error_mm, "error_deg": cfg.c2h_error_deg}))


def simulate_capture(cfg: VerifySimConfig) -> dict[str, Any]:
    """A verification capture (the layout of :mod:`calibration.verify`) with the true chain."""
    rng = np.random.default_rng([cfg.seed, 37])
    T_mi = true_marker_from_image()
    scale = np.diag([MM_PER_PX[1], MM_PER_PX[0], 1.0])
    p_headset = (T_HEADSET_FROM_CAMERA @ np.append(P_CAMERA_TARGET, 1.0))[:3]
    pixels, poses, targets = [], [], []
    for _ in range(cfg.n_frames):
        uv = rng.uniform([40.0, 40.0], [WIDTH_PX - 40.0, HEIGHT_PX - 40.0])
        R = rotvec_to_R(rng.uniform(-1.0, 1.0, 3) * math.radians(cfg.tilt_deg))  # image x~cam x, depth~cam y (down)
        A = R @ scale
        T_ci = make_T(np.eye(3), P_CAMERA_TARGET - A @ np.append(uv, 0.0))
        T_ci[:3, :3] = A
        T_cm = T_ci @ np.linalg.inv(T_mi)
        noisy = T_cm.copy()
        noisy[:3, :3] = T_cm[:3, :3] @ rotvec_to_R(rng.normal(0.0, math.radians(cfg.marker_noise_deg), 3))
        noisy[:3, 3] += rng.normal(0.0, cfg.marker_noise_mm, 3)
        pixels.append((uv + rng.normal(0.0, cfg.pixel_noise_px, 2)).tolist())
        poses.append(noisy.tolist())
        targets.append((p_headset + rng.normal(0.0, cfg.target_noise_mm, 3)).tolist())
    return {"image_size": [WIDTH_PX, HEIGHT_PX], "pixels": pixels, "T_camera_from_marker": poses,
            "p_headset_target_mm": targets}


def evaluate(cfg: VerifySimConfig, image_to_marker: str | Path | None = None,
             camera_to_headset: str | Path | None = None, limit_mm: float = 1.5) -> VerifyResult:
    """The chain's error on a simulated capture, with given or made calibration files."""
    made = made_calibrations(cfg)
    T_mi = load_calibration(image_to_marker, "image", "marker").matrix if image_to_marker else made[0].matrix
    T_hc = load_calibration(camera_to_headset, "camera", "headset").matrix if camera_to_headset else made[1].matrix
    cap = simulate_capture(cfg)
    capture = VerifyCapture(pixels=np.asarray(cap["pixels"]),
                            T_camera_from_marker=np.asarray(cap["T_camera_from_marker"]),
                            p_headset_true=np.asarray(cap["p_headset_target_mm"]))
    return verify_chain(capture, T_mi, T_hc, limit_mm)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Write a simulated whole-chain verification capture "
                                            "(and calibration files).")
    p.add_argument("--out", required=True, help="folder to write capture.json (and the calibration files) into")
    p.add_argument("--image-to-marker", help="use this image-to-marker file instead of making one")
    p.add_argument("--camera-to-headset", help="use this camera-to-headset file instead of making one")
    for name in ("n_frames", "pixel_noise_px", "marker_noise_mm", "marker_noise_deg", "target_noise_mm",
                 "i2m_error_mm", "i2m_error_deg", "c2h_error_mm", "c2h_error_deg", "seed"):
        default = getattr(VerifySimConfig, name)
        p.add_argument("--" + name.replace("_", "-"), type=type(default), default=default)
    a = p.parse_args(argv)
    cfg = VerifySimConfig(**{k: getattr(a, k) for k in VerifySimConfig.__dataclass_fields__ if hasattr(a, k)})
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "capture.json").write_text(json.dumps(simulate_capture(cfg)) + "\n", encoding="utf-8")
    i2m_cal, c2h_cal = made_calibrations(cfg)
    i2m = a.image_to_marker or str(out / "image_to_marker.json")
    c2h = a.camera_to_headset or str(out / "camera_to_headset.json")
    if not a.image_to_marker:
        i2m_cal.save(i2m)
    if not a.camera_to_headset:
        c2h_cal.save(c2h)
    r = evaluate(cfg, i2m, c2h)
    print(f"wrote {out / 'capture.json'}; chain error mean {r.mean_mm:.3f} mm, max {r.max_mm:.3f} mm "
          f"({i2m}, {c2h})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
