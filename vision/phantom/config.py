"""Configuration of the synthetic ultrasound phantom.

Every default lives here (DESIGN.md, "Configuration"); :meth:`PhantomConfig.__post_init__`
validates every field and raises :class:`~core.errors.ConfigError` naming the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.errors import ConfigError

PRESETS = ("femoral", "interscalene", "random")
NEEDLE_SIDES = ("left", "right")
NEEDLE_TARGETS = ("none", "nerve", "vessel")


def _check(cond: bool, field: str, allowed: str, value: object) -> None:
    if not cond:
        raise ConfigError(f"phantom.{field}: {value!r} is invalid; allowed: {allowed}")


@dataclass(frozen=True)
class PhantomConfig:
    """Parameters of one synthetic linear-probe B-mode view.

    Geometry is in millimetres; the image spans ``width_mm`` laterally and ``depth_mm``
    axially, sampled on ``height_px x width_px`` pixels (default 400x400 at 0.1 mm/px).

    Attributes:
        seed: seed of every random choice (anatomy jitter, scatterers, noise bank).
        width_px: image width in pixels.
        height_px: image height in pixels.
        width_mm: lateral field of view (a 40 mm linear probe footprint).
        depth_mm: imaging depth.
        preset: anatomy: ``"femoral"``, ``"interscalene"`` or ``"random"``.
        n_nerves: nerves placed by the ``"random"`` preset.
        n_vessels: vessels (arteries and veins) placed by the ``"random"`` preset.
        gain_db: overall receive gain added to every pixel.
        dynamic_range_db: displayed dynamic range of the log-compressed image.
        attenuation_db_per_cm: round-trip soft-tissue attenuation (about 1 dB/cm/MHz at
            a ~10 MHz linear probe).
        tgc_db_per_cm: time-gain compensation slope; less than the attenuation leaves the
            deep image slightly darker, as on a real scanner.
        speckle_strength: scale of the log-speckle fluctuation (1.0 = fully developed
            Rayleigh speckle).
        noise_std: electronic noise per frame, grey levels (0..255 scale), standard deviation.
        bone: add a bone surface with its acoustic shadow.
        bone_depth_mm: depth of the bone surface's shallowest point.
        motion: slow probe sway/slide so the anatomy moves in the image.
        motion_amplitude_mm: lateral slide amplitude (the axial part is a quarter of it).
        motion_period_s: period of the lateral slide.
        pulsation: arteries pulse (radius change).
        heart_rate_hz: pulse frequency (~72 bpm = 1.2 Hz).
        pulse_amplitude: relative radius change of an artery at systole.
        vein_compression: fraction (0..0.9) by which veins are flattened by probe pressure.
        vein_compression_period_s: 0 = constant compression, else compress/release period.
        needle: render an in-plane needle.
        needle_angle_deg: insertion angle below the skin surface, degrees.
        needle_speed_mm_s: advance speed of the tip.
        needle_start_s: time at which the tip is at the skin puncture.
        needle_side: side of the probe the needle comes from, ``"left"`` or ``"right"``.
        needle_entry_offset_mm: lateral distance of the skin puncture from the image edge.
        needle_max_insert_mm: insertion length after which the needle stops advancing.
        needle_target: ``"none"`` keeps ``needle_angle_deg``; ``"nerve"`` / ``"vessel"``
            aims the needle at the centre of the first nerve / vessel at ``t = 0``.
        needle_thickness_px: drawn shaft thickness.
        needle_brightness: shaft echo, grey levels added to the image.
        reverberations: number of reverberation lines below the shaft.
    """

    seed: int = 0
    width_px: int = 400
    height_px: int = 400
    width_mm: float = 40.0
    depth_mm: float = 40.0
    preset: str = "femoral"
    n_nerves: int = 1
    n_vessels: int = 2
    gain_db: float = 0.0
    dynamic_range_db: float = 60.0
    attenuation_db_per_cm: float = 10.0
    tgc_db_per_cm: float = 8.0
    speckle_strength: float = 1.0
    noise_std: float = 3.0
    bone: bool = True
    bone_depth_mm: float = 31.0
    motion: bool = True
    motion_amplitude_mm: float = 2.0
    motion_period_s: float = 8.0
    pulsation: bool = True
    heart_rate_hz: float = 1.2
    pulse_amplitude: float = 0.08
    vein_compression: float = 0.2
    vein_compression_period_s: float = 0.0
    needle: bool = True
    needle_angle_deg: float = 30.0
    needle_speed_mm_s: float = 3.0
    needle_start_s: float = 0.5
    needle_side: str = "left"
    needle_entry_offset_mm: float = 4.0
    needle_max_insert_mm: float = 40.0
    needle_target: str = "none"
    needle_thickness_px: int = 3
    needle_brightness: float = 150.0
    reverberations: int = 3

    def __post_init__(self) -> None:
        _check(isinstance(self.seed, int) and self.seed >= 0, "seed", "an integer >= 0", self.seed)
        _check(isinstance(self.width_px, int) and 64 <= self.width_px <= 2048, "width_px",
               "an integer 64..2048", self.width_px)
        _check(isinstance(self.height_px, int) and 64 <= self.height_px <= 2048, "height_px",
               "an integer 64..2048", self.height_px)
        for name, lo, hi in (("width_mm", 10.0, 100.0), ("depth_mm", 10.0, 100.0)):
            v = getattr(self, name)
            _check(_num(v) and lo <= v <= hi, name, f"a number {lo:g}..{hi:g} mm", v)
        _check(self.preset in PRESETS, "preset", ", ".join(PRESETS), self.preset)
        _check(isinstance(self.n_nerves, int) and 0 <= self.n_nerves <= 6, "n_nerves",
               "an integer 0..6", self.n_nerves)
        _check(isinstance(self.n_vessels, int) and 0 <= self.n_vessels <= 6, "n_vessels",
               "an integer 0..6", self.n_vessels)
        ranges = (
            ("gain_db", -30.0, 30.0),
            ("dynamic_range_db", 20.0, 100.0),
            ("attenuation_db_per_cm", 0.0, 30.0),
            ("tgc_db_per_cm", 0.0, 30.0),
            ("speckle_strength", 0.0, 2.0),
            ("noise_std", 0.0, 50.0),
            ("bone_depth_mm", 2.0, 100.0),
            ("motion_amplitude_mm", 0.0, 10.0),
            ("heart_rate_hz", 0.3, 4.0),
            ("pulse_amplitude", 0.0, 0.3),
            ("vein_compression", 0.0, 0.9),
            ("vein_compression_period_s", 0.0, 60.0),
            ("needle_angle_deg", 5.0, 75.0),
            ("needle_speed_mm_s", 0.0, 50.0),
            ("needle_start_s", -1000.0, 1e6),
            ("needle_entry_offset_mm", 0.0, 30.0),
            ("needle_max_insert_mm", 1.0, 200.0),
            ("needle_brightness", 0.0, 255.0),
        )
        for name, lo, hi in ranges:
            v = getattr(self, name)
            _check(_num(v) and lo <= v <= hi, name, f"a number {lo:g}..{hi:g}", v)
        _check(_num(self.motion_period_s) and 0.5 <= self.motion_period_s <= 600.0,
               "motion_period_s", "a number 0.5..600 s", self.motion_period_s)
        for name in ("bone", "motion", "pulsation", "needle"):
            v = getattr(self, name)
            _check(isinstance(v, bool), name, "true or false", v)
        _check(self.needle_side in NEEDLE_SIDES, "needle_side", ", ".join(NEEDLE_SIDES),
               self.needle_side)
        _check(self.needle_target in NEEDLE_TARGETS, "needle_target", ", ".join(NEEDLE_TARGETS),
               self.needle_target)
        _check(isinstance(self.needle_thickness_px, int) and 1 <= self.needle_thickness_px <= 15,
               "needle_thickness_px", "an integer 1..15", self.needle_thickness_px)
        _check(isinstance(self.reverberations, int) and 0 <= self.reverberations <= 8,
               "reverberations", "an integer 0..8", self.reverberations)

    @property
    def mm_per_px(self) -> tuple[float, float]:
        """Pixel spacing ``(row, col)`` in millimetres."""
        return (self.depth_mm / self.height_px, self.width_mm / self.width_px)


def _num(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))
