"""Frame renderer of the synthetic ultrasound phantom: moving probe, pulsating vessels, needle.

Per frame the renderer slices the precomputed world (:mod:`vision.phantom.tissue`) at the probe's
lateral position, draws the time-varying structures on top, and converts to display grey levels:

* arteries pulse: the lumen radius follows a systolic waveform with a dicrotic notch at
  ``heart_rate_hz``; veins are flattened by probe pressure (``vein_compression``);
* lumens are anechoic (blood scatters ~40 dB less than tissue) with a bright wall;
* the in-plane needle is a specular reflector (bright line) whose echo falls with the insertion
  angle (specular reflection sends steep needles' echoes away from the probe), with reverberation
  ("comet tail") lines beneath it at the shaft's diameter spacing and decaying amplitude
  (Reusz et al., "Needle-related ultrasound artifacts and their importance in anaesthetic
  practice", Br J Anaesth 112(5), 2014);
* additive electronic noise changes every frame, while speckle stays fixed to the tissue, as on
  a real scanner looking at a still scene.

World coordinates are millimetres: ``x`` lateral (0 at the left image edge when the probe is at
rest), ``y`` depth below the skin. The needle is inserted in the patient (world frame), so it
moves in the image when the probe slides. Image coordinates are ``(x, y)`` pixels (column, row).
Rendering is deterministic: the same configuration and time give the same frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from vision.phantom.anatomy import Anatomy, Vessel, build_anatomy
from vision.phantom.config import PhantomConfig
from vision.phantom.tissue import LUMEN_DB, WALL_DB, build_world, depth_gain_db, to_display

_NOISE_BANK = 8
NERVE, VESSEL = 1, 2
"""Label values of :attr:`PhantomFrame.labels` (as in the real data set's masks)."""


@dataclass(frozen=True)
class NeedleState:
    """Needle geometry at one time, in world millimetres.

    Attributes:
        puncture_mm: skin puncture ``(x, y)``.
        tip_mm: needle tip ``(x, y)``.
        direction: unit vector from the puncture towards the tip.
        inserted_mm: inserted length.
        angle_deg: insertion angle below the skin surface.
    """

    puncture_mm: tuple[float, float]
    tip_mm: tuple[float, float]
    direction: tuple[float, float]
    inserted_mm: float
    angle_deg: float


@dataclass(frozen=True)
class PhantomFrame:
    """One rendered B-mode frame with its exact ground truth.

    Attributes:
        image: ``HxW`` uint8 B-mode image.
        labels: ``HxW`` uint8 label image: 0 background, 1 nerve, 2 vessel.
        t_s: phantom time of the frame, seconds.
        mm_per_px: pixel spacing ``(row, col)`` in mm.
        probe_offset_mm: lateral probe displacement from rest, mm (anatomy moves by the opposite).
        needle_visible: the needle shaft is inside the image over at least 1 mm.
        needle_tip_px: tip ``(x, y)`` in image pixels (may lie outside the image), or ``None`` before
            the needle is inserted.
        needle_entry_px: where the shaft enters the image (left/right edge or the skin line), or
            ``None`` when the needle is not visible.
        needle_angle_deg: angle of the shaft below the image horizontal (0..90), or ``None``.
        needle_mask: ``HxW`` bool mask of the shaft (no reverberations).
        structures: per labelled structure, ``(class, kind, centre_px, semi_axes_px)``; kind is
            ``"nerve"``, ``"artery"`` or ``"vein"``.
    """

    image: np.ndarray
    labels: np.ndarray
    t_s: float
    mm_per_px: tuple[float, float]
    probe_offset_mm: float
    needle_visible: bool
    needle_tip_px: tuple[float, float] | None
    needle_entry_px: tuple[float, float] | None
    needle_angle_deg: float | None
    needle_mask: np.ndarray
    structures: tuple[tuple[int, str, tuple[float, float], tuple[float, float]], ...]

    def truth(self) -> dict:
        """Ground truth as a plain dict (for :class:`core.types.Frame`'s ``truth``)."""
        return {
            "labels": self.labels, "t_s": self.t_s, "probe_offset_mm": self.probe_offset_mm,
            "needle_visible": self.needle_visible, "needle_tip_px": self.needle_tip_px,
            "needle_entry_px": self.needle_entry_px, "needle_angle_deg": self.needle_angle_deg,
            "needle_mask": self.needle_mask,
        }


def pulse_waveform(phase: float) -> float:
    """Arterial distension over one cardiac cycle, 0..1 (systolic peak plus dicrotic wave).

    Args:
        phase: cycle phase in [0, 1).
    """
    systole = math.exp(-(((phase - 0.15) / 0.07) ** 2))
    dicrotic = 0.35 * math.exp(-(((phase - 0.42) / 0.09) ** 2))
    return min(1.0, systole + dicrotic)


class Phantom:
    """Synthetic linear-probe B-mode stream with ground truth.

    Args:
        config: all parameters; see :class:`~vision.phantom.config.PhantomConfig`.

    The world fields are computed once here (about 0.1-0.3 s); :meth:`render` costs a few
    milliseconds per frame.
    """

    def __init__(self, config: PhantomConfig | None = None) -> None:
        self.config = cfg = config or PhantomConfig()
        self.anatomy: Anatomy = build_anatomy(cfg)
        self.mm_per_px = cfg.mm_per_px
        sy, sx = self.mm_per_px
        h, w = cfg.imaging.height_px, cfg.imaging.width_px
        amp = cfg.motion.amplitude_mm if cfg.motion.enabled else 0.0
        self._margin = int(math.ceil(amp / sx)) + 2
        self._off_x_mm = self._margin * sx
        world = build_world(cfg, self.anatomy, (h, w + 2 * self._margin), self._off_x_mm)
        static = world["tissue"] + world["speckle"] - world["cum_alpha"] + depth_gain_db(cfg, h)
        self._static_db = static.astype(np.float32)
        self._nerve_mask = world["nerve_mask"]
        # blood: anechoic lumen, low-level speckle, attenuated as the tissue around it
        self._lumen_db = (LUMEN_DB + 0.25 * world["speckle"] - world["cum_alpha"]
                          + depth_gain_db(cfg, h)).astype(np.float32)
        self._gain = depth_gain_db(cfg, h)
        # what the beam has lost (and the TGC given back) above each pixel: a specular reflector
        # there (the needle) shows with its own echo on top of this, whatever tissue it is in
        self._path_db = (depth_gain_db(cfg, h) - world["cum_alpha"]).astype(np.float32)
        rng = np.random.default_rng([cfg.seed, 3])
        self._noise = rng.standard_normal((_NOISE_BANK, h, w), dtype=np.float32) * np.float32(cfg.imaging.noise_std)
        self._needle_texture = 0.75 + 0.5 * rng.random((h, w), dtype=np.float32)
        self._needle_angle, self._needle_limit = self._plan_needle()

    # ------------------------------------------------------------------ time-varying state
    def probe_offset_mm(self, t_s: float) -> float:
        """Lateral probe displacement from rest at ``t_s`` (smooth slide), mm."""
        c = self.config
        if not c.motion.enabled or c.motion.amplitude_mm == 0:
            return 0.0
        return c.motion.amplitude_mm * math.sin(2.0 * math.pi * t_s / c.motion.period_s)

    def vessels_at(self, t_s: float) -> tuple[Vessel, ...]:
        """Vessels at ``t_s``: arteries distended by the pulse, veins compressed."""
        c = self.config
        out = []
        for v in self.anatomy.vessels:
            if v.kind == "artery":
                k = 1.0
                if c.vessels.pulsation:
                    k += c.vessels.pulse_amplitude * pulse_waveform((t_s * c.vessels.heart_rate_hz) % 1.0)
                out.append(Vessel(v.kind, v.cx, v.cy, v.ax * k, v.ay * k, v.angle_deg, v.wall_mm))
            else:
                comp = c.vessels.vein_compression
                if c.vessels.vein_compression_period_s > 0:
                    comp *= 0.5 * (1.0 - math.cos(2.0 * math.pi * t_s / c.vessels.vein_compression_period_s))
                out.append(Vessel(v.kind, v.cx, v.cy, v.ax * (1.0 + 0.3 * comp), v.ay * (1.0 - comp),
                                  v.angle_deg, v.wall_mm))
        return tuple(out)

    def _plan_needle(self) -> tuple[float, float]:
        """Insertion angle and maximum insertion, aimed at a target when configured."""
        c = self.config
        angle, limit = c.needle.angle_deg, c.needle.max_insert_mm
        px, py = self._puncture()
        target = None
        if c.needle.target == "nerve" and self.anatomy.nerves:
            n = self.anatomy.nerves[0]
            target = (n.cx, n.cy, n.ax, n.ay, n.angle_deg)
        elif c.needle.target == "vessel" and self.anatomy.vessels:
            v = self.anatomy.vessels[0]
            target = (v.cx, v.cy, v.ax, v.ay, v.angle_deg)
        if target is not None:
            tx, ty, ax, ay, ang = target
            dx, dy = (tx - px) if c.needle.side == "left" else (px - tx), ty - py
            angle = float(np.clip(math.degrees(math.atan2(dy, dx)), 5.0, 75.0))
            # stop with the tip touching the structure's wall (the "stop" case of a block)
            d = math.hypot(tx - px, ty - py)
            u = np.array([tx - px, ty - py]) / max(d, 1e-9)
            a = math.radians(ang)
            local = np.array([u[0] * math.cos(a) + u[1] * math.sin(a), -u[0] * math.sin(a) + u[1] * math.cos(a)])
            r_dir = 1.0 / math.sqrt((local[0] / ax) ** 2 + (local[1] / ay) ** 2)
            limit = min(limit, max(1.0, d - r_dir - 0.3))
        hit = self._bone_distance(angle)
        if hit is not None:  # a needle does not pass through bone: it stops on the surface
            limit = min(limit, max(1.0, hit - 0.5))
        return angle, limit

    def _bone_distance(self, angle_deg: float) -> float | None:
        """Distance along the needle from the puncture to the bone surface, mm (``None``: no hit)."""
        bone = self.anatomy.bone
        if not bone:
            return None
        a = math.radians(angle_deg)
        p = np.array(self._puncture())
        d = np.array([math.cos(a) if self.config.needle.side == "left" else -math.cos(a), math.sin(a)])
        best = None
        for q0, q1 in zip(bone[:-1], bone[1:]):
            q0, e = np.asarray(q0, float), np.asarray(q1, float) - np.asarray(q0, float)
            den = d[0] * e[1] - d[1] * e[0]
            if abs(den) < 1e-12:
                continue
            r = q0 - p
            t = (r[0] * e[1] - r[1] * e[0]) / den  # along the needle
            u = (r[0] * d[1] - r[1] * d[0]) / den  # along the bone segment
            if t > 0.0 and 0.0 <= u <= 1.0 and (best is None or t < best):
                best = float(t)
        return best

    def _puncture(self) -> tuple[float, float]:
        c = self.config
        if c.needle.side == "left":
            return (-c.needle.entry_offset_mm, 0.0)
        return (c.imaging.width_mm + c.needle.entry_offset_mm, 0.0)

    def needle_at(self, t_s: float) -> NeedleState | None:
        """Needle geometry at ``t_s`` (world mm), or ``None`` when disabled or not yet inserted."""
        c = self.config
        if not c.needle.enabled:
            return None
        ins = min(self._needle_limit, c.needle.speed_mm_s * (t_s - c.needle.start_s))
        if ins <= 0.0:
            return None
        a = math.radians(self._needle_angle)
        d = (math.cos(a), math.sin(a)) if c.needle.side == "left" else (-math.cos(a), math.sin(a))
        p = self._puncture()
        tip = (p[0] + ins * d[0], p[1] + ins * d[1])
        return NeedleState(p, tip, d, ins, self._needle_angle)

    # ------------------------------------------------------------------ rendering
    def render(self, t_s: float) -> PhantomFrame:
        """Render the frame at phantom time ``t_s`` seconds."""
        c = self.config
        h, w = c.imaging.height_px, c.imaging.width_px
        sy, sx = self.mm_per_px
        dx_mm = self.probe_offset_mm(t_s)
        col0 = self._margin + int(round(dx_mm / sx))
        dx_mm = (col0 - self._margin) * sx  # what is actually shown (whole pixels)
        echo = self._static_db[:, col0:col0 + w].copy()
        labels = np.zeros((h, w), np.uint8)
        labels[self._nerve_mask[:, col0:col0 + w] > 0] = NERVE

        vessels = self.vessels_at(t_s)
        lumen = np.zeros((h, w), np.uint8)
        wall = np.zeros((h, w), np.float32)
        structs: list[tuple[int, str, tuple[float, float], tuple[float, float]]] = []
        for v in vessels:
            centre = ((v.cx - dx_mm) / sx, v.cy / sy)
            axes = (v.ax / sx, v.ay / sy)
            _ellipse(lumen, centre, axes, v.angle_deg, 1, -1)
            _ellipse(wall, centre, (axes[0] + 0.5 * v.wall_mm / sx, axes[1] + 0.5 * v.wall_mm / sy),
                     v.angle_deg, 1.0, max(1, int(round(v.wall_mm / sy))))
            structs.append((VESSEL, v.kind, centre, axes))
        for n in self.anatomy.nerves:
            structs.append((NERVE, "nerve", ((n.cx - dx_mm) / sx, n.cy / sy), (n.ax / sx, n.ay / sy)))
        inside = lumen > 0
        wall[inside] = 0.0
        echo += wall * np.float32(WALL_DB + 6.0)
        np.copyto(echo, self._lumen_db[:, col0:col0 + w], where=inside)
        labels[inside] = VESSEL

        display = to_display(echo, c)
        needle = self.needle_at(t_s)
        needle_mask = np.zeros((h, w), bool)
        tip_px = entry_px = angle = None
        visible = False
        if needle is not None:
            tip_px, entry_px, visible = self._draw_needle(display, needle_mask, needle, dx_mm, col0)
            angle = needle.angle_deg
        display += self._noise[int(round(t_s * 1000.0)) % _NOISE_BANK]  # electronic noise on top
        image = np.clip(display, 0.0, 255.0)
        image = np.rint(image, out=image).astype(np.uint8)
        return PhantomFrame(image=image, labels=labels, t_s=float(t_s), mm_per_px=self.mm_per_px,
                            probe_offset_mm=dx_mm, needle_visible=visible, needle_tip_px=tip_px,
                            needle_entry_px=entry_px if visible else None,
                            needle_angle_deg=angle, needle_mask=needle_mask, structures=tuple(structs))

    def _draw_needle(self, display: np.ndarray, mask: np.ndarray, n: NeedleState, dx_mm: float, col0: int
                     ) -> tuple[tuple[float, float], tuple[float, float] | None, bool]:
        """Draw shaft and reverberations into ``display`` (the world columns from ``col0``); fill
        ``mask``; return tip, entry, visible."""
        c = self.config
        h, w = display.shape
        sy, sx = self.mm_per_px
        p0 = np.array([(n.puncture_mm[0] - dx_mm) / sx, n.puncture_mm[1] / sy])
        p1 = np.array([(n.tip_mm[0] - dx_mm) / sx, n.tip_mm[1] / sy])
        tip = (float(p1[0]), float(p1[1]))
        seg = _clip_segment(p0, p1, w, h)
        if seg is None:
            return tip, None, False
        a, b = seg
        if math.hypot((b[0] - a[0]) * sx, (b[1] - a[1]) * sy) < 1.0:
            return tip, None, False
        thick = c.needle.thickness_px
        spacing = max(2.0, 1.6 * thick)
        # work in the lines' bounding box only (a few % of the frame)
        m = thick + 2
        x0 = max(0, int(min(a[0], b[0])) - m)
        x1 = min(w, int(math.ceil(max(a[0], b[0]))) + m + 1)
        y0 = max(0, int(min(a[1], b[1])) - m)
        y1 = min(h, int(math.ceil(max(a[1], b[1]) + c.needle.reverberations * spacing)) + m + 1)
        origin = np.array([x0, y0], float)
        box = display[y0:y1, x0:x1]
        path = self._path_db[y0:y1, col0 + x0:col0 + x1]
        texture = self._needle_texture[y0:y1, x0:x1]
        # specular echo: strong when the shaft is near-parallel to the transducer face; it is a
        # reflector of its own, so it shows in an anechoic lumen as in tissue (only the path
        # above it attenuates it)
        gain = c.needle.brightness * math.cos(math.radians(n.angle_deg)) ** 1.5
        base = to_display(path, c)
        cover = np.zeros(box.shape, np.float32)
        for k in range(c.needle.reverberations + 1):  # k = 0: the shaft, then its reverberations
            cover.fill(0.0)
            shift = np.array([0.0, k * spacing]) - origin
            _line(cover, a + shift, b + shift, 1.0, thick if k == 0 else max(1, thick - 1))
            if k == 0:
                mask[y0:y1, x0:x1] |= cover > 0.5
            level = base + np.float32(gain * 0.55 ** k) * texture
            # anti-aliased coverage blends the reflector over what lies beneath
            box += cover * (np.maximum(box, level) - box)
        return tip, (float(a[0]), float(a[1])), True


def _fixed(p) -> tuple[int, int]:
    return (int(round(p[0] * 16.0)), int(round(p[1] * 16.0)))


def _ellipse(img: np.ndarray, centre, axes, angle: float, value: float, thickness: int) -> None:
    """Sub-pixel ellipse (OpenCV fixed point, 4 fractional bits); centre/axes in pixels."""
    ax = (max(1, int(round(axes[0] * 16.0))), max(1, int(round(axes[1] * 16.0))))
    cv2.ellipse(img, _fixed(centre), ax, float(angle), 0, 360, value, thickness, cv2.LINE_8, 4)


def _line(img: np.ndarray, a, b, value: float, thickness: int) -> None:
    cv2.line(img, _fixed(a), _fixed(b), float(value), int(thickness), cv2.LINE_AA, 4)


def _clip_segment(a: np.ndarray, b: np.ndarray, w: int, h: int
                  ) -> tuple[np.ndarray, np.ndarray] | None:
    """Clip segment ``a``-``b`` to the image rectangle (Liang-Barsky); ``None`` if outside."""
    d = b - a
    t0, t1 = 0.0, 1.0
    for p, q in ((-d[0], a[0]), (d[0], (w - 1) - a[0]), (-d[1], a[1]), (d[1], (h - 1) - a[1])):
        if abs(p) < 1e-12:
            if q < 0:
                return None
            continue
        r = q / p
        if p < 0:
            t0 = max(t0, r)
        else:
            t1 = min(t1, r)
        if t0 > t1:
            return None
    return a + t0 * d, a + t1 * d
