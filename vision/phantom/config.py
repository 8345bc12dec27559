"""Configuration of the synthetic ultrasound phantom: section ``[phantom]`` of the TOML file.

``phantom.seed`` seeds every random choice; the rest is one table per part of the simulation:
``[phantom.imaging]`` (image geometry and the scanner's settings), ``[phantom.anatomy]``,
``[phantom.motion]`` (probe sway), ``[phantom.vessels]`` (pulsation and vein compression) and
``[phantom.needle]``. Every default lives here (DESIGN.md, "Configuration"); each field declares
its allowed values and :class:`~core.configtools.Section` checks them, raising
:class:`~core.errors.ConfigError` naming the dotted key. The flat keys of the previous release
(``needle_angle_deg`` directly in ``[phantom]``) are still read, with a deprecation line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.configtools import Section, bounds, choices, formerly

PRESETS = ("femoral", "interscalene", "random")
NEEDLE_SIDES = ("left", "right")
NEEDLE_TARGETS = ("none", "nerve", "vessel")


@dataclass(frozen=True)
class PhantomImagingConfig(Section, key="phantom.imaging"):
    """Image geometry and the simulated scanner's settings (``[phantom.imaging]``).

    Geometry is in millimetres; the image spans ``width_mm`` laterally and ``depth_mm``
    axially, sampled on ``height_px x width_px`` pixels (default 400x400 at 0.1 mm/px).

    Attributes:
        width_px: image width in pixels.
        height_px: image height in pixels.
        width_mm: lateral field of view (a 40 mm linear probe footprint).
        depth_mm: imaging depth.
        gain_db: overall receive gain added to every pixel.
        dynamic_range_db: displayed dynamic range of the log-compressed image.
        attenuation_db_per_cm: round-trip soft-tissue attenuation (about 1 dB/cm/MHz at
            a ~10 MHz linear probe).
        tgc_db_per_cm: time-gain compensation slope; less than the attenuation leaves the
            deep image slightly darker, as on a real scanner.
        speckle_strength: scale of the log-speckle fluctuation (1.0 = fully developed
            Rayleigh speckle).
        noise_std: electronic noise per frame, grey levels (0..255 scale), standard deviation.
    """

    width_px: int = field(default=400, metadata=bounds(64, 2048))
    height_px: int = field(default=400, metadata=bounds(64, 2048))
    width_mm: float = field(default=40.0, metadata=bounds(10.0, 100.0, note="mm"))
    depth_mm: float = field(default=40.0, metadata=bounds(10.0, 100.0, note="mm"))
    gain_db: float = field(default=0.0, metadata=bounds(-30.0, 30.0))
    dynamic_range_db: float = field(default=60.0, metadata=bounds(20.0, 100.0))
    attenuation_db_per_cm: float = field(default=10.0, metadata=bounds(0.0, 30.0))
    tgc_db_per_cm: float = field(default=8.0, metadata=bounds(0.0, 30.0))
    speckle_strength: float = field(default=1.0, metadata=bounds(0.0, 2.0))
    noise_std: float = field(default=3.0, metadata=bounds(0.0, 50.0))


@dataclass(frozen=True)
class PhantomAnatomyConfig(Section, key="phantom.anatomy"):
    """The structures in the view (``[phantom.anatomy]``).

    Attributes:
        preset: anatomy: ``"femoral"``, ``"interscalene"`` or ``"random"``.
        n_nerves: nerves placed by the ``"random"`` preset.
        n_vessels: vessels (arteries and veins) placed by the ``"random"`` preset.
        bone: add a bone surface with its acoustic shadow.
        bone_depth_mm: depth of the bone surface's shallowest point.
    """

    preset: str = field(default="femoral", metadata=choices(*PRESETS))
    n_nerves: int = field(default=1, metadata=bounds(0, 6))
    n_vessels: int = field(default=2, metadata=bounds(0, 6))
    bone: bool = True
    bone_depth_mm: float = field(default=31.0, metadata=bounds(2.0, 100.0))


@dataclass(frozen=True)
class PhantomMotionConfig(Section, key="phantom.motion"):
    """Slow probe sway/slide, so the anatomy moves in the image (``[phantom.motion]``).

    Attributes:
        enabled: move the probe (``phantom.motion`` before the nesting).
        amplitude_mm: lateral slide amplitude (the axial part is a quarter of it).
        period_s: period of the lateral slide.
    """

    enabled: bool = field(default=True, metadata=formerly("motion"))
    amplitude_mm: float = field(default=2.0, metadata=bounds(0.0, 10.0) | formerly("motion_amplitude_mm"))
    period_s: float = field(default=8.0, metadata=bounds(0.5, 600.0, note="s") | formerly("motion_period_s"))


@dataclass(frozen=True)
class PhantomVesselsConfig(Section, key="phantom.vessels"):
    """How the vessels change over time (``[phantom.vessels]``).

    Attributes:
        pulsation: arteries pulse (radius change).
        heart_rate_hz: pulse frequency (~72 bpm = 1.2 Hz).
        pulse_amplitude: relative radius change of an artery at systole.
        vein_compression: fraction (0..0.9) by which veins are flattened by probe pressure.
        vein_compression_period_s: 0 = constant compression, else compress/release period.
    """

    pulsation: bool = True
    heart_rate_hz: float = field(default=1.2, metadata=bounds(0.3, 4.0))
    pulse_amplitude: float = field(default=0.08, metadata=bounds(0.0, 0.3))
    vein_compression: float = field(default=0.2, metadata=bounds(0.0, 0.9))
    vein_compression_period_s: float = field(default=0.0, metadata=bounds(0.0, 60.0))


@dataclass(frozen=True)
class PhantomNeedleConfig(Section, key="phantom.needle"):
    """The rendered in-plane needle (``[phantom.needle]``; each key was ``needle_<key>`` before
    the nesting, and ``enabled`` was ``needle``).

    Attributes:
        enabled: render an in-plane needle.
        angle_deg: insertion angle below the skin surface, degrees.
        speed_mm_s: advance speed of the tip.
        start_s: time at which the tip is at the skin puncture.
        side: side of the probe the needle comes from, ``"left"`` or ``"right"``.
        entry_offset_mm: lateral distance of the skin puncture from the image edge.
        max_insert_mm: insertion length after which the needle stops advancing.
        target: ``"none"`` keeps ``angle_deg``; ``"nerve"`` / ``"vessel"`` aims the needle at
            the centre of the first nerve / vessel at ``t = 0``.
        thickness_px: drawn shaft thickness.
        brightness: shaft echo, grey levels added to the image.
        reverberations: number of reverberation lines below the shaft.
    """

    enabled: bool = field(default=True, metadata=formerly("needle"))
    angle_deg: float = field(default=30.0, metadata=bounds(5.0, 75.0) | formerly("needle_angle_deg"))
    speed_mm_s: float = field(default=3.0, metadata=bounds(0.0, 50.0) | formerly("needle_speed_mm_s"))
    start_s: float = field(default=0.5, metadata=bounds(-1000.0, 1e6) | formerly("needle_start_s"))
    side: str = field(default="left", metadata=choices(*NEEDLE_SIDES) | formerly("needle_side"))
    entry_offset_mm: float = field(default=4.0, metadata=bounds(0.0, 30.0) | formerly("needle_entry_offset_mm"))
    max_insert_mm: float = field(default=40.0, metadata=bounds(1.0, 200.0) | formerly("needle_max_insert_mm"))
    target: str = field(default="none", metadata=choices(*NEEDLE_TARGETS) | formerly("needle_target"))
    thickness_px: int = field(default=3, metadata=bounds(1, 15) | formerly("needle_thickness_px"))
    brightness: float = field(default=150.0, metadata=bounds(0.0, 255.0) | formerly("needle_brightness"))
    reverberations: int = field(default=3, metadata=bounds(0, 8))


@dataclass(frozen=True)
class PhantomConfig(Section, key="phantom"):
    """Parameters of one synthetic linear-probe B-mode view.

    Attributes:
        seed: seed of every random choice (anatomy jitter, scatterers, noise bank).
        imaging: image geometry and scanner settings (:class:`PhantomImagingConfig`).
        anatomy: the structures (:class:`PhantomAnatomyConfig`).
        motion: probe sway (:class:`PhantomMotionConfig`).
        vessels: pulsation and vein compression (:class:`PhantomVesselsConfig`).
        needle: the needle (:class:`PhantomNeedleConfig`).
    """

    seed: int = field(default=0, metadata=bounds(lo=0))
    imaging: PhantomImagingConfig = field(default_factory=PhantomImagingConfig)
    anatomy: PhantomAnatomyConfig = field(default_factory=PhantomAnatomyConfig)
    motion: PhantomMotionConfig = field(default_factory=PhantomMotionConfig)
    vessels: PhantomVesselsConfig = field(default_factory=PhantomVesselsConfig)
    needle: PhantomNeedleConfig = field(default_factory=PhantomNeedleConfig)

    @property
    def mm_per_px(self) -> tuple[float, float]:
        """Pixel spacing ``(row, col)`` in millimetres."""
        im = self.imaging
        return (im.depth_mm / im.height_px, im.width_mm / im.width_px)
