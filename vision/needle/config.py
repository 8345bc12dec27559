"""Configuration of needle tracking: section ``[needle]`` of the TOML file.

One table per stage: ``[needle.detector]`` (finding and measuring a shaft in one frame:
:mod:`vision.needle.entry`, :mod:`vision.needle.strip`), ``[needle.tracker]`` (following and
confirming candidate lines over frames: :class:`~vision.needle.needle_tracker.NeedleTracker`) and
``[needle.proximity]`` (the predicted path and the warning levels:
:mod:`vision.needle.proximity`). Every default lives here; each field declares its allowed
values (:class:`~core.configtools.Section`). The flat keys of the previous release
(``stop_mm`` directly in ``[needle]``) are still read, with a deprecation line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.configtools import Section, bounds, require


@dataclass(frozen=True)
class NeedleDetectorConfig(Section, key="needle.detector"):
    """Finding and measuring a needle shaft in one frame (``[needle.detector]``).

    Attributes:
        skin_mm: depth of the bright near field (skin, coupling layer) ignored by the detector.
        min_angle_deg, max_angle_deg: range of shaft angles below the image horizontal.
        strip_half_px: half-width (px) of the band around a line hypothesis in which the shaft
            is looked for (the entering line's or the prediction's uncertainty across the line).
        max_tilt_deg: largest angle between a hypothesis and the shaft fitted in its band.
        shaft_half_px: half-width (px) of the shaft's echo profile.
        background_px: ``(inner, outer)`` distance (px) of the background bands either side.
        max_entry_gap_mm: the visible shaft must begin within this distance of where its line
            enters the imaged field (an in-plane needle is visible from its entry down to its tip).
        min_length_mm: shortest visible shaft accepted as a needle.
        min_contrast: smallest echo contrast (grey levels) of the shaft over the darker side.
        min_snr: ... and over this many noise standard deviations of the bands beside it.
        orientation_tol_deg: along the shaft, the local ridge must run within this of the line
            (structures crossing the line beyond the tip do not extend the shaft).
        max_wobble_px: largest RMS deviation of the shaft's echo centre from its fitted line
            (a needle is straight).
        gap_mm: the echo may be interrupted for this long along the shaft (a dropout) when it
            then runs on for at least this long and three times the interruption.
        tip_gap_mm: the shaft's echo is split into pieces where it is interrupted for longer
            than this (shorter dips are part of the shaft).
        tip_level: the tip is where the echo along the line falls below this fraction of the
            shaft's median contrast (sub-pixel).
    """

    skin_mm: float = field(default=1.5, metadata=bounds(0.0, 20.0))
    min_angle_deg: float = field(default=10.0, metadata=bounds(0.0, 89.0))
    max_angle_deg: float = field(default=80.0, metadata=bounds(1.0, 90.0))
    strip_half_px: int = field(default=10, metadata=bounds(2, 100))
    max_tilt_deg: float = field(default=3.0, metadata=bounds(0.1, 20.0))
    shaft_half_px: int = field(default=1, metadata=bounds(0, 20))
    background_px: tuple[int, int] = (5, 10)
    max_entry_gap_mm: float = field(default=3.0, metadata=bounds(0.0, 200.0))
    min_length_mm: float = field(default=3.0, metadata=bounds(0.1, 200.0))
    min_contrast: float = field(default=12.0, metadata=bounds(0.0, 255.0))
    min_snr: float = field(default=2.0, metadata=bounds(0.0, 100.0))
    orientation_tol_deg: float = field(default=15.0, metadata=bounds(1.0, 90.0))
    max_wobble_px: float = field(default=1.2, metadata=bounds(0.1, 20.0))
    gap_mm: float = field(default=1.0, metadata=bounds(0.0, 50.0))
    tip_gap_mm: float = field(default=0.3, metadata=bounds(0.0, 50.0))
    tip_level: float = field(default=0.5, metadata=bounds(0.05, 0.95))

    def cross_check(self) -> None:
        key, bg = self.section_key, self.background_px
        require(self.shaft_half_px < bg[0] < bg[1] <= 50, f"{key}.background_px",
                "two integers (inner, outer) with shaft_half_px < inner < outer <= 50", bg)
        require(self.min_angle_deg < self.max_angle_deg, f"{key}.max_angle_deg", "a value above min_angle_deg",
                self.max_angle_deg)


@dataclass(frozen=True)
class NeedleTrackerConfig(Section, key="needle.tracker"):
    """Following candidate lines over frames and confirming the needle (``[needle.tracker]``).

    Attributes:
        search_lines: while no needle is confirmed, the best entering lines
            (:mod:`vision.needle.entry`) not on a known line that are measured per frame (plus
            one lower-ranked line in turn).
        gate_angle_deg: a detection further than this from a track's angle belongs to another line.
        gate_px: ... or further than this from its line (px, anatomy-compensated).
        angle_process_deg: process noise of the angle (degrees per sqrt(second)).
        tip_accel_mm_s2: white-noise acceleration of the tip's constant-velocity Kalman model.
        tip_meas_px: measurement noise of the tip along the shaft (px).
        confirm_advance_mm: a track is ``ok`` only once its tip advanced this far *relative to
            the anatomy* (the needle is pushed in; fascia and vessel walls move with the tissue),
            steadily and on a line that does not turn,
        confirm_z: ... with a Mann-Kendall trend statistic of at least this (one-sided normal
            quantile), or when it lies on the line of a needle confirmed less than ``relock_s``
            ago.
        history: tip positions kept per track for the advance test.
        max_unconfirmed: a track that has not advanced after this many detections is static
            anatomy: the search stops spending its line hypotheses on it (it is re-measured in
            turn, so a needle that was held still is still confirmed when it moves).
        max_tracks: candidate lines followed at once before one is confirmed.
        static_memory_s: how long a static line is remembered without being seen.
        relock_s: for this long after a confirmed needle was lost, a shaft on its line is
            confirmed at once.
        max_missed: frames without a detection before a track is dropped.
    """

    search_lines: int = field(default=2, metadata=bounds(1, 100))
    gate_angle_deg: float = field(default=5.0, metadata=bounds(0.5, 90.0))
    gate_px: float = field(default=8.0, metadata=bounds(1.0, 1000.0))
    angle_process_deg: float = field(default=2.0, metadata=bounds(0.0, 100.0))
    tip_accel_mm_s2: float = field(default=20.0, metadata=bounds(0.0, 1e5))
    tip_meas_px: float = field(default=1.5, metadata=bounds(0.05, 100.0))
    confirm_advance_mm: float = field(default=1.0, metadata=bounds(0.0, 100.0))
    confirm_z: float = field(default=2.33, metadata=bounds(0.0, 10.0))
    history: int = field(default=24, metadata=bounds(4, 1000))
    max_unconfirmed: int = field(default=20, metadata=bounds(2, 100000))
    max_tracks: int = field(default=6, metadata=bounds(1, 100))
    static_memory_s: float = field(default=30.0, metadata=bounds(0.0, 3600.0))
    relock_s: float = field(default=10.0, metadata=bounds(0.0, 3600.0))
    max_missed: int = field(default=5, metadata=bounds(0, 1000))


@dataclass(frozen=True)
class ProximityConfig(Section, key="needle.proximity"):
    """The predicted path and the warning levels (``[needle.proximity]``).

    Attributes:
        trajectory_mm: length of the extrapolated path drawn ahead of the tip.
        caution_mm: tip closer than this to a nerve or vessel, or a path that passes within
            ``stop_mm`` of one: ``caution``.
        tip_margin_mm: the tip distance is measured from the tip and this far ahead of it along
            the shaft (the tip's localisation uncertainty), so an error errs towards warning.
        stop_mm: tip closer than this to a nerve or vessel: ``stop``.
    """

    trajectory_mm: float = field(default=15.0, metadata=bounds(0.0, 200.0))
    caution_mm: float = field(default=3.0, metadata=bounds(0.0, 100.0))
    tip_margin_mm: float = field(default=0.5, metadata=bounds(0.0, 20.0))
    stop_mm: float = field(default=1.0, metadata=bounds(0.0, 100.0))

    def cross_check(self) -> None:
        require(self.stop_mm <= self.caution_mm, f"{self.section_key}.stop_mm", "a value <= caution_mm", self.stop_mm)


@dataclass(frozen=True)
class NeedleConfig(Section, key="needle"):
    """Needle tracking, one sub-section per stage.

    Attributes:
        detector: shaft detection in one frame (:class:`NeedleDetectorConfig`).
        tracker: tracks over frames and confirmation (:class:`NeedleTrackerConfig`).
        proximity: predicted path and warning levels (:class:`ProximityConfig`).
    """

    detector: NeedleDetectorConfig = field(default_factory=NeedleDetectorConfig)
    tracker: NeedleTrackerConfig = field(default_factory=NeedleTrackerConfig)
    proximity: ProximityConfig = field(default_factory=ProximityConfig)
