"""Configuration of probe-pose tracking: section ``[tracking]`` of the TOML file.

Every default lives here (DESIGN.md, "Configuration"); ``__post_init__`` checks ranges and
names the offending key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.configtools import is_number, require

_S = "tracking"


@dataclass(frozen=True)
class TrackingConfig:
    """Detector, pose, filter and time-synchronisation parameters.

    Attributes:
        fast_window: adaptive-threshold window (px) of a first, single-window detection pass;
            the full multi-window pass runs only when it finds fewer than two markers
            (0 disables the fast pass). The board layout predicts the rest of the board from a
            few markers, so the cheap pass suffices on most frames.
        fast_thresh_constant: adaptive-threshold constant of the fast pass (a higher value
            leaves fewer noise blobs to trace but misses faint markers).
        fast_pixels_per_cell: samples per marker cell in the fast pass.
        adaptive_thresh_win_min: smallest adaptive-threshold window (px, odd) of the ArUco
            candidate search.
        adaptive_thresh_win_max: largest adaptive-threshold window (px).
        adaptive_thresh_win_step: step between windows (px); fewer windows run faster.
        adaptive_thresh_constant: constant subtracted in the adaptive threshold (grey levels).
        min_marker_perimeter_rate: smallest marker perimeter as a fraction of the larger image
            side (0.02 at 1280 px: about 6 px sides).
        cell_margin: fraction of each marker cell ignored at its border when reading bits
            (OpenCV ``perspectiveRemoveIgnoredMarginPerCell``); larger values tolerate blur.
        pixels_per_cell: samples per marker cell in the canonical image.
        error_correction_rate: fraction of the dictionary's correction capability used.
        corner_refinement: marker-corner refinement (``subpix``, ``contour``, ``apriltag``, ``none``).
        refine_with_board: recover missed markers by projecting the board layout
            (``refineDetectedMarkers``).
        small_marker_regions: when the full-resolution passes find fewer than two markers, up
            to this many regions where square-like candidates cluster are upsampled and decoded
            again (0 disables this pass).
        min_charuco_corners: fewest chessboard corners for a ChArUco pose from corners;
            below it the marker corners are used.
        corner_window_frac: half window of the chessboard-corner sub-pixel search as a fraction
            of the local square size in pixels.
        corner_guard_px: the chessboard-corner estimate ignores the markers; this many pixels
            of the markers' edge (blurred into the white print) are ignored as well (negative
            values keep more).
        corner_max_shift_frac: a refined chessboard corner further than this fraction of a
            square from its prediction is discarded.
        corner_min_isotropy: smallest ratio of the structure tensor's eigenvalues at a
            chessboard corner (an X-junction has both directions of gradient).
        max_reproj_err_px: a pose from chessboard corners whose RMS reprojection error exceeds
            this is refused (LOST).
        max_marker_reproj_err_px: the same limit for a pose from marker corners (less precise
            than chessboard corners).
        marker_consistency_px: a ChArUco pose must also place the decoded markers within
            ``max(this, 0.3 marker side)`` of where they were detected; a pose that does not
            (a wrong corner set, a mirrored solution) is refused.
        outlier_px: points with a residual above ``max(outlier_px, 4 sigma)`` are dropped and the
            pose re-solved once.
        ambiguity_chi2: the two planar (IPPE) solutions count as ambiguous when they differ by
            more than 2 degrees and the likelihood-ratio statistic ``N (rms_alt^2 - rms^2) /
            sigma^2`` is below this; the previous pose then decides, and without one the pose is
            ``uncertain``.
        occluded_fraction: pose status is ``occluded`` when fewer than this fraction of the
            board points expected in view were used.
        max_trans_std_mm: a pose whose translation standard deviation (from its covariance)
            exceeds this is marked ``uncertain``.
        max_rot_std_deg: a pose whose rotation standard deviation exceeds this is ``uncertain``.
        sigma_floor_px: smallest image noise assumed in the covariance (px).
        prior_max_age_ms: the previous pose helps resolve ambiguity only when younger than this.
        filter: ``kalman`` (constant-velocity Kalman on SE(3)), ``one_euro`` or ``none``.
        kalman_accel_mm_s2: white-noise acceleration (translation) of the Kalman motion model.
        kalman_ang_accel_deg_s2: white-noise angular acceleration of the Kalman model.
        kalman_meas_scale: multiplies the tracker's covariance used as measurement noise.
        kalman_adaptive: inflate the process noise when the innovation is improbable
            (a real motion onset), so the filter follows without lag.
        one_euro_min_cutoff_hz: One-Euro minimum cutoff frequency.
        one_euro_beta: One-Euro speed coefficient.
        one_euro_d_cutoff_hz: One-Euro cutoff of the derivative.
        filter_reset_ms: the filter restarts after a gap in usable poses longer than this.
        buffer_size: poses kept in the time-synchronisation ring buffer.
        temporal_offset_ms: added to an ultrasound frame's capture time before the pose is
            looked up (camera-to-ultrasound latency, from temporal calibration).
        max_pose_age_ms: a pose at most this old relative to the query time is current; an older
            one is ``stale`` unless the hysteresis below holds it (Schmitt trigger, see
            :class:`~vision.tracking.sync.PoseAgeGate`); a stale pose becomes current again only
            at or below this age.
        max_pose_age_hard_ms: the safety bound of the hysteresis: a pose older than this is
            ``stale`` at once and is never reported current (>= ``max_pose_age_ms``; the default
            equals ``pipeline.overlay_validity_ms``'s default, 200 ms).
        pose_age_grace_ms: a current pose stays current while its age lies between
            ``max_pose_age_ms`` and ``max_pose_age_hard_ms`` for at most this long (query time),
            so one or two late camera frames do not flip the status to ``stale`` and back;
            0 disables the hysteresis (a plain threshold at ``max_pose_age_ms``).
        max_interp_gap_ms: two poses further apart than this are not interpolated between.
        max_extrapolation_ms: the filter predicts forward at most this far.
    """

    fast_window: int = 9
    fast_thresh_constant: float = 7.0
    fast_pixels_per_cell: int = 4
    adaptive_thresh_win_min: int = 5
    adaptive_thresh_win_max: int = 21
    adaptive_thresh_win_step: int = 8
    adaptive_thresh_constant: float = 7.0
    min_marker_perimeter_rate: float = 0.02
    cell_margin: float = 0.3
    pixels_per_cell: int = 8
    error_correction_rate: float = 0.6
    corner_refinement: Literal["subpix", "contour", "apriltag", "none"] = "subpix"
    refine_with_board: bool = True
    small_marker_regions: int = 2
    min_charuco_corners: int = 6
    corner_window_frac: float = 0.45
    corner_guard_px: float = 0.75
    corner_max_shift_frac: float = 0.25
    corner_min_isotropy: float = 0.1
    max_reproj_err_px: float = 0.5
    max_marker_reproj_err_px: float = 2.5
    marker_consistency_px: float = 3.0
    outlier_px: float = 0.5
    ambiguity_chi2: float = 25.0
    occluded_fraction: float = 0.6
    max_trans_std_mm: float = 3.0
    max_rot_std_deg: float = 1.5
    sigma_floor_px: float = 0.05
    prior_max_age_ms: float = 250.0
    filter: Literal["kalman", "one_euro", "none"] = "kalman"
    kalman_accel_mm_s2: float = 100.0
    kalman_ang_accel_deg_s2: float = 30.0
    kalman_meas_scale: float = 1.0
    kalman_adaptive: bool = True
    one_euro_min_cutoff_hz: float = 1.0
    one_euro_beta: float = 0.05
    one_euro_d_cutoff_hz: float = 1.0
    filter_reset_ms: float = 300.0
    buffer_size: int = 128
    temporal_offset_ms: float = 0.0
    max_pose_age_ms: float = 100.0
    max_pose_age_hard_ms: float = 200.0
    pose_age_grace_ms: float = 150.0
    max_interp_gap_ms: float = 150.0
    max_extrapolation_ms: float = 60.0

    def __post_init__(self) -> None:
        ints = (("fast_window", 0, 101), ("fast_pixels_per_cell", 2, 20), ("adaptive_thresh_win_min", 3, 101), ("adaptive_thresh_win_max", 3, 201),
                ("adaptive_thresh_win_step", 1, 100), ("pixels_per_cell", 2, 20),
                ("min_charuco_corners", 4, 1000), ("small_marker_regions", 0, 10), ("buffer_size", 2, 100000))
        for key, lo, hi in ints:
            v = getattr(self, key)
            require(isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi,
                    f"{_S}.{key}", f"an integer {lo}..{hi}", v)
        require(self.fast_window == 0 or self.fast_window >= 3, f"{_S}.fast_window", "0 (off) or an integer >= 3",
                self.fast_window)
        require(self.adaptive_thresh_win_min <= self.adaptive_thresh_win_max, f"{_S}.adaptive_thresh_win_max",
                "a value >= adaptive_thresh_win_min", self.adaptive_thresh_win_max)
        ranges = (
            ("adaptive_thresh_constant", -50.0, 100.0), ("fast_thresh_constant", -50.0, 100.0), ("min_marker_perimeter_rate", 0.001, 1.0),
            ("cell_margin", 0.0, 0.45), ("error_correction_rate", 0.0, 1.0),
            ("corner_window_frac", 0.1, 0.49), ("corner_guard_px", -5.0, 5.0), ("corner_max_shift_frac", 0.02, 0.5),
            ("corner_min_isotropy", 0.0, 1.0), ("max_reproj_err_px", 0.05, 50.0),
            ("max_marker_reproj_err_px", 0.05, 50.0), ("marker_consistency_px", 0.1, 100.0), ("outlier_px", 0.1, 50.0),
            ("ambiguity_chi2", 0.0, 1e6), ("occluded_fraction", 0.0, 1.0), ("max_trans_std_mm", 0.001, 1000.0),
            ("max_rot_std_deg", 0.001, 180.0),
            ("sigma_floor_px", 0.0, 5.0), ("prior_max_age_ms", 0.0, 1e6), ("kalman_accel_mm_s2", 1e-3, 1e7),
            ("kalman_ang_accel_deg_s2", 1e-3, 1e7), ("kalman_meas_scale", 1e-3, 1e3),
            ("one_euro_min_cutoff_hz", 1e-3, 1e3), ("one_euro_beta", 0.0, 1e3), ("one_euro_d_cutoff_hz", 1e-3, 1e3),
            ("filter_reset_ms", 1.0, 1e6), ("temporal_offset_ms", -10000.0, 10000.0),
            ("max_pose_age_ms", 1.0, 1e6), ("max_pose_age_hard_ms", 1.0, 1e6), ("pose_age_grace_ms", 0.0, 1e6),
            ("max_interp_gap_ms", 1.0, 1e6), ("max_extrapolation_ms", 0.0, 1e4),
        )
        for key, lo, hi in ranges:
            v = getattr(self, key)
            require(is_number(v) and lo <= v <= hi, f"{_S}.{key}", f"a number {lo:g}..{hi:g}", v)
        require(self.max_pose_age_hard_ms >= self.max_pose_age_ms, f"{_S}.max_pose_age_hard_ms",
                f"a number >= tracking.max_pose_age_ms ({self.max_pose_age_ms:g})", self.max_pose_age_hard_ms)
        require(self.corner_refinement in ("subpix", "contour", "apriltag", "none"), f"{_S}.corner_refinement",
                "subpix, contour, apriltag or none", self.corner_refinement)
        require(self.filter in ("kalman", "one_euro", "none"), f"{_S}.filter", "kalman, one_euro or none", self.filter)
        for key in ("refine_with_board", "kalman_adaptive"):
            require(isinstance(getattr(self, key), bool), f"{_S}.{key}", "true or false", getattr(self, key))
