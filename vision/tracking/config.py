"""Configuration of probe-pose tracking: section ``[tracking]`` of the TOML file.

The section has one table per stage: ``[tracking.detector]`` (marker and chessboard-corner
detection, :class:`~vision.tracking.detect.MarkerDetector`), ``[tracking.pose]`` (pose solving
and acceptance, :class:`~vision.tracking.board_tracker.BoardTracker`), ``[tracking.filter]``
(:class:`~vision.tracking.filter.PoseFilter`) and ``[tracking.sync]`` (the time-synchronisation
buffer, :class:`~vision.tracking.sync.PoseBuffer`). Every default lives here (DESIGN.md,
"Configuration"); each field declares its allowed values and
:class:`~core.configtools.Section` checks them, naming the offending key. The flat keys of the
previous release (``max_pose_age_ms`` directly in ``[tracking]``) are still read, with a
deprecation line (:func:`~core.configtools.section_from_dict`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from core.configtools import Section, bounds, check, formerly, require


@dataclass(frozen=True)
class DetectorConfig(Section, key="tracking.detector"):
    """ArUco marker and ChArUco chessboard-corner detection (``[tracking.detector]``).

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
        sharpen_retry: when every other pass finds fewer than two markers (none on a board
            without chessboard corners: a cube face carries one), decode once more on
            the image sharpened by an unsharp mask of this amount (0: no retry): blurred or
            smeared markers whose cells still differ in contrast become readable.
        sharpen_sigma_px: the unsharp mask's Gaussian sigma (px).
        small_marker_regions: when the full-resolution passes find fewer than two markers, up
            to this many regions where square-like candidates cluster are upsampled and decoded
            again (0 disables this pass).
        corner_window_frac: half window of the chessboard-corner sub-pixel search as a fraction
            of the local square size in pixels.
        corner_guard_px: the chessboard-corner estimate ignores the markers; this many pixels
            of the markers' edge (blurred into the white print) are ignored as well (negative
            values keep more).
        corner_max_shift_frac: a refined chessboard corner further than this fraction of a
            square from its prediction is discarded.
        corner_min_isotropy: smallest ratio of the structure tensor's eigenvalues at a
            chessboard corner (an X-junction has both directions of gradient).
    """

    fast_window: int = field(default=9, metadata=check(lambda v: v == 0 or 3 <= v <= 101,
                                                         "0 (off) or an integer 3..101"))
    fast_thresh_constant: float = field(default=7.0, metadata=bounds(-50.0, 100.0))
    fast_pixels_per_cell: int = field(default=4, metadata=bounds(2, 20))
    adaptive_thresh_win_min: int = field(default=5, metadata=bounds(3, 101))
    adaptive_thresh_win_max: int = field(default=21, metadata=bounds(3, 201))
    adaptive_thresh_win_step: int = field(default=8, metadata=bounds(1, 100))
    adaptive_thresh_constant: float = field(default=7.0, metadata=bounds(-50.0, 100.0))
    min_marker_perimeter_rate: float = field(default=0.02, metadata=bounds(0.001, 1.0))
    cell_margin: float = field(default=0.3, metadata=bounds(0.0, 0.45))
    pixels_per_cell: int = field(default=8, metadata=bounds(2, 20))
    error_correction_rate: float = field(default=0.6, metadata=bounds(0.0, 1.0))
    corner_refinement: Literal["subpix", "contour", "apriltag", "none"] = "subpix"
    refine_with_board: bool = True
    small_marker_regions: int = field(default=2, metadata=bounds(0, 10))
    sharpen_retry: float = field(default=3.0, metadata=bounds(0.0, 20.0))
    sharpen_sigma_px: float = field(default=2.0, metadata=bounds(0.3, 20.0))
    corner_window_frac: float = field(default=0.45, metadata=bounds(0.1, 0.49))
    corner_guard_px: float = field(default=0.75, metadata=bounds(-5.0, 5.0))
    corner_max_shift_frac: float = field(default=0.25, metadata=bounds(0.02, 0.5))
    corner_min_isotropy: float = field(default=0.1, metadata=bounds(0.0, 1.0))

    def cross_check(self) -> None:
        require(self.adaptive_thresh_win_min <= self.adaptive_thresh_win_max,
                f"{self.section_key}.adaptive_thresh_win_max", "a value >= adaptive_thresh_win_min",
                self.adaptive_thresh_win_max)


@dataclass(frozen=True)
class PoseConfig(Section, key="tracking.pose"):
    """Pose from the detected points, its acceptance and its status (``[tracking.pose]``).

    Attributes:
        min_charuco_corners: fewest chessboard corners for a ChArUco pose from corners;
            below it the marker corners are used.
        acceptance: how a pose from chessboard corners is accepted. ``"chi2"``: its residuals
            must be consistent with the corner precision measured in the image (the χ² test of
            :meth:`~vision.tracking.board_tracker.BoardTracker._consistent`), and its RMS error
            below the gross limit ``max_reproj_err_px``; ``"rms"``: the RMS error alone against
            ``max_reproj_err_px`` (the previous release's rule, whose limit must then be tight).
        max_reproj_err_px: a pose from chessboard corners whose RMS reprojection error exceeds
            this is refused (LOST). With ``acceptance = "chi2"`` a gross limit only.
        consistency_alpha: false-refusal probability of the χ² consistency test.
        corner_sigma_scale: ratio allowed between the corners' real scatter and the precision
            estimated in the image; 2 accepts every correct pose of a 600-frame rendered
            tuning set (seed 1000) at ``consistency_alpha`` 0.001, 1.5 accepts 99.8 %
            (BENCHMARKS.md).
        calibration_sigma_px: the camera model's own error per point (lens-model residual of a
            good calibration), added to each corner's variance.
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
    """

    min_charuco_corners: int = field(default=6, metadata=bounds(4, 1000))
    acceptance: Literal["chi2", "rms"] = "chi2"
    max_reproj_err_px: float = field(default=2.0, metadata=bounds(0.05, 50.0))
    consistency_alpha: float = field(default=1e-3, metadata=bounds(1e-12, 0.5))
    corner_sigma_scale: float = field(default=2.0, metadata=bounds(0.1, 100.0))
    calibration_sigma_px: float = field(default=0.2, metadata=bounds(0.0, 10.0))
    max_marker_reproj_err_px: float = field(default=2.5, metadata=bounds(0.05, 50.0))
    marker_consistency_px: float = field(default=3.0, metadata=bounds(0.1, 100.0))
    outlier_px: float = field(default=0.5, metadata=bounds(0.1, 50.0))
    ambiguity_chi2: float = field(default=25.0, metadata=bounds(0.0, 1e6))
    occluded_fraction: float = field(default=0.6, metadata=bounds(0.0, 1.0))
    max_trans_std_mm: float = field(default=1.5, metadata=bounds(0.001, 1000.0))
    max_rot_std_deg: float = field(default=1.5, metadata=bounds(0.001, 180.0))
    sigma_floor_px: float = field(default=0.05, metadata=bounds(0.0, 5.0))
    prior_max_age_ms: float = field(default=250.0, metadata=bounds(0.0, 1e6))


@dataclass(frozen=True)
class FilterConfig(Section, key="tracking.filter"):
    """Smoothing of the tracked poses (``[tracking.filter]``).

    Attributes:
        kind: ``kalman`` (constant-velocity Kalman on SE(3)), ``one_euro`` or ``none``
            (``tracking.filter`` before the nesting).
        kalman_accel_mm_s2: white-noise acceleration (translation) of the Kalman motion model.
        kalman_ang_accel_deg_s2: white-noise angular acceleration of the Kalman model.
        kalman_meas_scale: multiplies the tracker's covariance used as measurement noise.
        kalman_adaptive: inflate the process noise when the innovation is improbable
            (a real motion onset), so the filter follows without lag.
        one_euro_min_cutoff_hz: One-Euro minimum cutoff frequency.
        one_euro_beta: One-Euro speed coefficient.
        one_euro_d_cutoff_hz: One-Euro cutoff of the derivative.
        reset_ms: the filter restarts after a gap in usable poses longer than this
            (``tracking.filter_reset_ms`` before the nesting).
        max_extrapolation_ms: the filter predicts forward at most this far.
    """

    kind: Literal["kalman", "one_euro", "none"] = field(default="kalman", metadata=formerly("filter"))
    kalman_accel_mm_s2: float = field(default=100.0, metadata=bounds(1e-3, 1e7))
    kalman_ang_accel_deg_s2: float = field(default=30.0, metadata=bounds(1e-3, 1e7))
    kalman_meas_scale: float = field(default=1.0, metadata=bounds(1e-3, 1e3))
    kalman_adaptive: bool = True
    one_euro_min_cutoff_hz: float = field(default=1.0, metadata=bounds(1e-3, 1e3))
    one_euro_beta: float = field(default=0.05, metadata=bounds(0.0, 1e3))
    one_euro_d_cutoff_hz: float = field(default=1.0, metadata=bounds(1e-3, 1e3))
    reset_ms: float = field(default=300.0, metadata=bounds(1.0, 1e6) | formerly("filter_reset_ms"))
    max_extrapolation_ms: float = field(default=60.0, metadata=bounds(0.0, 1e4))


@dataclass(frozen=True)
class SyncConfig(Section, key="tracking.sync"):
    """Time synchronisation of poses with ultrasound frames (``[tracking.sync]``).

    Attributes:
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
        lost_confirm_frames: consecutive camera frames the tracker must report the board not
            usable (lost, uncertain) before that report wins over the last usable pose; fewer
            are a dropout (one blurred or refused frame), bridged by the poses around it within
            the age limits. 1 reports the first miss at once (the previous release).
    """

    buffer_size: int = field(default=128, metadata=bounds(2, 100000))
    temporal_offset_ms: float = field(default=0.0, metadata=bounds(-10000.0, 10000.0))
    max_pose_age_ms: float = field(default=100.0, metadata=bounds(1.0, 1e6))
    max_pose_age_hard_ms: float = field(default=200.0, metadata=bounds(1.0, 1e6))
    pose_age_grace_ms: float = field(default=150.0, metadata=bounds(0.0, 1e6))
    max_interp_gap_ms: float = field(default=150.0, metadata=bounds(1.0, 1e6))
    lost_confirm_frames: int = field(default=2, metadata=bounds(1, 100))

    def cross_check(self) -> None:
        require(self.max_pose_age_hard_ms >= self.max_pose_age_ms, f"{self.section_key}.max_pose_age_hard_ms",
                f"a number >= {self.section_key}.max_pose_age_ms ({self.max_pose_age_ms:g})",
                self.max_pose_age_hard_ms)


@dataclass(frozen=True)
class TrackingConfig(Section, key="tracking"):
    """Probe-pose tracking, one sub-section per stage.

    Attributes:
        detector: marker and corner detection (:class:`DetectorConfig`).
        pose: pose solving and acceptance (:class:`PoseConfig`).
        filter: pose smoothing (:class:`FilterConfig`).
        sync: time synchronisation with the ultrasound frames (:class:`SyncConfig`).
    """

    detector: DetectorConfig = field(default_factory=DetectorConfig)
    pose: PoseConfig = field(default_factory=PoseConfig)
    filter: FilterConfig = field(default_factory=FilterConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)
