"""Configuration of needle tracking: section ``[needle]`` of the TOML file."""

from __future__ import annotations

from dataclasses import dataclass

from sonoguide.configtools import is_number, require

_S = "needle"


@dataclass(frozen=True)
class NeedleConfig:
    """Detector, smoothing and proximity parameters.

    Attributes:
        ridge_sigma_px: scale (px) of the Hessian ridge filter; about half the shaft's thickness.
        skin_mm: depth of the bright near field (skin, coupling layer) ignored by the detector.
        ridge_min: smallest ridge response (grey levels per px^2 at ``ridge_sigma_px``) a pixel
            needs to be a shaft candidate.
        ridge_rel: a candidate also needs this fraction of the frame's strongest ridge response.
        max_candidates: the strongest candidate pixels that RANSAC samples from (all candidates
            vote in the Hough transform and count as support).
        min_angle_deg, max_angle_deg: range of shaft angles below the image horizontal.
        ransac_iterations: line hypotheses per frame (Fischler & Bolles 1981).
        hough_lines: strongest Hough lines used as hypotheses.
        max_hypotheses: distinct lines checked in full per frame.
        max_entry_gap_mm: the visible shaft must begin within this distance of where its line
            enters the image.
        inlier_px: distance of a candidate to the line to count as support.
        orientation_tol_deg: a candidate supports a line only if its ridge direction is within this.
        min_length_mm: shortest visible shaft accepted as a needle.
        min_contrast: smallest echo contrast of the shaft over the tissue beside it (grey levels).
        min_support: fewest supporting pixels per mm of the shaft's visible length.
        gap_mm: the echo may be interrupted for this long along the shaft (texture, dropout).
        tip_gap_mm: beyond the supported shaft, the tip search bridges gaps only this long.
        tip_level: the tip is where the echo along the line falls below this fraction of the
            shaft's median echo above background.
        gate_angle_deg: a detection further than this from the predicted angle starts a new track.
        gate_px: ... or further than this from the predicted line.
        angle_process_deg: process noise of the angle (degrees per sqrt(second)).
        tip_accel_mm_s2: white-noise acceleration of the tip's constant-velocity Kalman model.
        tip_meas_px: measurement noise of the tip along the shaft (px).
        confirm_advance_mm: a new track is ``ok`` only after its visible shaft grew by this much
            (the needle advanced), or when it continues the last confirmed needle's line.
        max_unconfirmed: a track not confirmed after this many frames is static anatomy: its
            line is excluded from later detections (so a fainter needle can be found) and the
            track is dropped.
        exclude_px: distance from an excluded line within which shafts are skipped (the probe
            slides, so anatomy moves a little in the image).
        max_missed: frames without a detection before the track is dropped.
        trajectory_mm: length of the extrapolated path drawn ahead of the tip.
        caution_mm: tip closer than this to a nerve or vessel, or a path that passes within
            ``stop_mm`` of one: ``caution``.
        tip_margin_mm: the tip distance is measured from the tip and this far ahead of it along
            the shaft (the tip's localisation uncertainty), so an error errs towards warning.
        stop_mm: tip closer than this to a nerve or vessel: ``stop``.
    """

    ridge_sigma_px: float = 1.5
    skin_mm: float = 1.5
    ridge_min: float = 4.0
    ridge_rel: float = 0.1
    max_candidates: int = 3000
    min_angle_deg: float = 10.0
    max_angle_deg: float = 85.0
    ransac_iterations: int = 120
    hough_lines: int = 8
    max_hypotheses: int = 10
    max_entry_gap_mm: float = 6.0
    inlier_px: float = 1.5
    orientation_tol_deg: float = 15.0
    min_length_mm: float = 5.0
    min_contrast: float = 20.0
    min_support: float = 4.0
    gap_mm: float = 1.5
    tip_gap_mm: float = 0.5
    tip_level: float = 0.5
    gate_angle_deg: float = 8.0
    gate_px: float = 12.0
    angle_process_deg: float = 2.0
    tip_accel_mm_s2: float = 20.0
    tip_meas_px: float = 1.5
    max_missed: int = 5
    confirm_advance_mm: float = 1.0
    max_unconfirmed: int = 15
    exclude_px: float = 25.0
    trajectory_mm: float = 15.0
    caution_mm: float = 3.0
    tip_margin_mm: float = 0.5
    stop_mm: float = 1.0

    def __post_init__(self) -> None:
        ranges = (
            ("ridge_sigma_px", 0.5, 10.0), ("skin_mm", 0.0, 20.0), ("ridge_min", 0.0, 1000.0),
            ("ridge_rel", 0.0, 1.0), ("min_angle_deg", 0.0, 89.0), ("max_angle_deg", 1.0, 90.0),
            ("inlier_px", 0.2, 20.0), ("max_entry_gap_mm", 0.0, 200.0), ("orientation_tol_deg", 1.0, 90.0),
            ("min_length_mm", 0.1, 200.0), ("min_contrast", 0.0, 255.0), ("min_support", 0.0, 100.0),
            ("gap_mm", 0.0, 50.0), ("tip_gap_mm", 0.0, 50.0), ("tip_level", 0.05, 0.95),
            ("gate_angle_deg", 0.5, 90.0), ("gate_px", 1.0, 1000.0), ("angle_process_deg", 0.0, 100.0),
            ("tip_meas_px", 0.05, 100.0), ("trajectory_mm", 0.0, 200.0), ("confirm_advance_mm", 0.0, 100.0),
            ("exclude_px", 0.0, 1000.0), ("caution_mm", 0.0, 100.0), ("tip_margin_mm", 0.0, 20.0),
            ("tip_accel_mm_s2", 0.0, 1e5),
            ("stop_mm", 0.0, 100.0),
        )
        for key, lo, hi in ranges:
            v = getattr(self, key)
            require(is_number(v) and lo <= v <= hi, f"{_S}.{key}", f"a number {lo:g}..{hi:g}", v)
        ints = (("max_candidates", 50, 10 ** 6), ("ransac_iterations", 1, 100000), ("max_missed", 0, 1000),
                ("max_hypotheses", 1, 1000), ("hough_lines", 0, 1000), ("max_unconfirmed", 1, 100000))
        for key, lo, hi in ints:
            v = getattr(self, key)
            require(isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi, f"{_S}.{key}",
                    f"an integer {lo}..{hi}", v)
        require(self.min_angle_deg < self.max_angle_deg, f"{_S}.max_angle_deg", "a value above min_angle_deg",
                self.max_angle_deg)
        require(self.stop_mm <= self.caution_mm, f"{_S}.stop_mm", "a value <= caution_mm", self.stop_mm)
