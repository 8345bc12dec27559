"""Anatomy of the phantom: where nerves, vessels, fascia, muscle and bone lie, in millimetres.

Coordinates are world millimetres with ``x`` lateral (0 = left image edge when the probe is at
rest) and ``y`` depth below the skin. The presets follow the textbook sonoanatomy of two
common blocks (Hadzic, *Textbook of Regional Anesthesia and Acute Pain Management*, 2nd ed.):

* ``femoral``: femoral nerve lateral to the femoral artery, deep to the fascia iliaca,
  femoral vein medial to the artery, iliopsoas below, the femoral head deep;
* ``interscalene``: C5-C7 roots as round hypoechoic dots stacked between the anterior and
  middle scalene muscles, carotid artery and internal jugular vein medially.

Every preset is jittered by the seed (positions +/-1 mm, sizes +/-10 %) so that different seeds
give different but plausible views.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from vision.phantom.config import PhantomConfig


@dataclass(frozen=True)
class Nerve:
    """An oval nerve (or root) in mm: centre, semi-axes, rotation, fascicle pattern."""

    cx: float
    cy: float
    ax: float
    ay: float
    angle_deg: float
    fascicles: tuple[tuple[float, float, float], ...]  # (x, y, r) mm, absolute


@dataclass(frozen=True)
class Vessel:
    """An artery (pulsates) or vein (compressible), elliptical lumen in mm."""

    kind: str  # "artery" | "vein"
    cx: float
    cy: float
    ax: float
    ay: float
    angle_deg: float
    wall_mm: float = 0.5


@dataclass(frozen=True)
class Anatomy:
    """Everything the renderer draws, in world mm.

    Attributes:
        fat_depth: polyline ``((x, y), ...)``: bottom of the subcutaneous fat (fascia lata or
            superficial fascia); muscle texture lies below it.
        fascia: bright fascia polylines.
        muscles: closed polygons drawn with muscle texture on connective tissue background
            (empty: everything below ``fat_depth`` is muscle).
        nerves: nerve ovals.
        vessels: arteries and veins.
        bone: bone surface polyline, or ``None``.
    """

    fat_depth: tuple[tuple[float, float], ...]
    fascia: tuple[tuple[tuple[float, float], ...], ...]
    muscles: tuple[tuple[tuple[float, float], ...], ...]
    nerves: tuple[Nerve, ...]
    vessels: tuple[Vessel, ...]
    bone: tuple[tuple[float, float], ...] | None


def build_anatomy(cfg: PhantomConfig) -> Anatomy:
    """Builds the anatomy for ``cfg.anatomy.preset``, jittered by ``cfg.seed``.

    Args:
        cfg: phantom configuration.

    Returns:
        The anatomy in world millimetres.
    """
    rng = np.random.default_rng([cfg.seed, 1])
    if cfg.anatomy.preset == "femoral":
        return _femoral(cfg, rng)
    if cfg.anatomy.preset == "interscalene":
        return _interscalene(cfg, rng)
    return _random(cfg, rng)


def _j(rng: np.random.Generator, v: float, mm: float = 1.0) -> float:
    return float(v + rng.uniform(-mm, mm))


def _s(rng: np.random.Generator, v: float) -> float:
    return float(v * rng.uniform(0.9, 1.1))


def _fascicles(rng: np.random.Generator, cx: float, cy: float, ax: float, ay: float,
               angle_deg: float, r_range: tuple[float, float], max_n: int
               ) -> tuple[tuple[float, float, float], ...]:
    """Packs non-overlapping round fascicles inside the nerve oval (rejection sampling)."""
    ca, sa = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
    out: list[tuple[float, float, float]] = []
    for _ in range(max_n * 30):
        if len(out) >= max_n:
            break
        r = float(rng.uniform(*r_range))
        u, v = rng.uniform(-1.0, 1.0, size=2)
        # keep the fascicle inside the oval, leaving room for the epineurium rim
        eu, ev = ax - r - 0.35, ay - r - 0.35
        if eu <= 0 or ev <= 0 or u * u + v * v > 1.0:
            continue
        lx, ly = u * eu, v * ev
        x, y = cx + lx * ca - ly * sa, cy + lx * sa + ly * ca
        if all((x - fx) ** 2 + (y - fy) ** 2 > (r + fr + 0.18) ** 2 for fx, fy, fr in out):
            out.append((x, y, r))
    return tuple(out)


def _nerve(rng: np.random.Generator, cx: float, cy: float, ax: float, ay: float, angle: float,
           root: bool = False) -> Nerve:
    if root:  # a root: one or two large, dark fascicles (hypoechoic dot)
        fas = _fascicles(rng, cx, cy, ax, ay, angle, (0.65 * min(ax, ay), 0.8 * min(ax, ay)), 2)
    else:  # peripheral nerve: honeycomb of many small fascicles
        fas = _fascicles(rng, cx, cy, ax, ay, angle, (0.28, 0.55), 40)
    return Nerve(cx, cy, ax, ay, angle, fas)


def _bone(cfg: PhantomConfig, rng: np.random.Generator, x0: float, x1: float
          ) -> tuple[tuple[float, float], ...] | None:
    if not cfg.anatomy.bone:
        return None
    d = cfg.anatomy.bone_depth_mm
    xs = np.linspace(x0, x1, 24)
    mid, half = 0.5 * (x0 + x1) + rng.uniform(-2, 2), 0.5 * (x1 - x0)
    ys = d + 3.0 * ((xs - mid) / half) ** 2
    return tuple((float(x), float(y)) for x, y in zip(xs, ys))


def _femoral(cfg: PhantomConfig, rng: np.random.Generator) -> Anatomy:
    w = cfg.imaging.width_mm
    lata = tuple((x, _j(rng, 4.5, 0.3) + 0.6 * math.sin(x / 7.0)) for x in np.linspace(-15, w + 15, 12))
    nx, ny = _j(rng, 12.0), _j(rng, 16.0)
    ax_, ay_ = _j(rng, 24.0), _j(rng, 14.5)
    vx, vy = _j(rng, 33.5), _j(rng, 15.5)
    ar = _s(rng, 3.8)
    iliaca = ((-15.0, ny - 4.0), (nx, ny - 3.2), (ax_ - ar - 2.0, ny - 2.0),
              (ax_ - 1.0, ay_ + ar + 1.6), (w + 15.0, ay_ + ar + 2.4))
    nerves = (_nerve(rng, nx, ny, _s(rng, 4.0), _s(rng, 1.8), _j(rng, -8.0, 6.0)),)
    vessels = (
        Vessel("artery", ax_, ay_, ar, ar, 0.0),
        Vessel("vein", vx, vy, _s(rng, 4.3), _s(rng, 3.0), _j(rng, 5.0, 8.0)),
    )
    return Anatomy(lata, (lata, iliaca), (), nerves, vessels, _bone(cfg, rng, -5.0, w * 0.75))


def _interscalene(cfg: PhantomConfig, rng: np.random.Generator) -> Anatomy:
    w = cfg.imaging.width_mm
    fat = tuple((x, _j(rng, 3.0, 0.3) + 0.3 * math.sin(x / 5.0)) for x in np.linspace(-15, w + 15, 12))
    rx = _j(rng, 21.5)
    roots = tuple(
        _nerve(rng, rx + 0.6 * i + rng.uniform(-0.5, 0.5), _j(rng, 13.0 + 4.6 * i, 0.4),
               _s(rng, 1.6 + 0.2 * i), _s(rng, 1.5 + 0.2 * i), 0.0, root=True)
        for i in range(3)
    )
    scm_bottom = _j(rng, 9.5, 0.5)
    scm = ((14.0, fat[0][1] + 0.5), (w + 15.0, fat[0][1] + 0.5), (w + 15.0, scm_bottom),
           (24.0, scm_bottom - 0.5))
    ant_scalene = ((rx + 4.0, 11.0), (rx + 13.0, 11.5), (rx + 14.0, 27.0), (rx + 5.0, 28.0))
    mid_scalene = ((-15.0, 11.5), (rx - 3.0, 11.0), (rx - 3.5, 29.0), (-15.0, 29.0))
    vessels = (
        Vessel("artery", _j(rng, 36.5), _j(rng, 19.5), _s(rng, 3.2), _s(rng, 3.2), 0.0),
        Vessel("vein", _j(rng, 34.0, 0.5), _j(rng, 11.5, 0.4), _s(rng, 3.4), _s(rng, 2.0),
               _j(rng, -10.0, 5.0)),
    )
    fascia = (fat, scm[:2], scm[2:])
    return Anatomy(fat, fascia, (scm, ant_scalene, mid_scalene), roots, vessels,
                   _bone(cfg, rng, 2.0, w * 0.6))


def _random(cfg: PhantomConfig, rng: np.random.Generator) -> Anatomy:
    w = cfg.imaging.width_mm
    d_fat = rng.uniform(3.0, 7.0)
    fat = tuple((x, d_fat + rng.uniform(-0.5, 0.5)) for x in np.linspace(-15, w + 15, 10))
    deep = rng.uniform(d_fat + 6.0, d_fat + 12.0)
    fascia2 = tuple((x, deep + 2.0 * math.sin(x / 9.0 + rng.uniform(0, 6)))
                    for x in np.linspace(-15, w + 15, 10))
    y_max = (cfg.anatomy.bone_depth_mm - 5.0) if cfg.anatomy.bone else cfg.imaging.depth_mm - 5.0
    placed: list[tuple[float, float, float]] = []
    nerves: list[Nerve] = []
    vessels: list[Vessel] = []
    a = cfg.anatomy
    kinds = ["nerve"] * a.n_nerves + ["artery" if i % 2 == 0 else "vein" for i in range(a.n_vessels)]
    for kind in kinds:
        for _ in range(300):
            if kind == "nerve":
                ax_, ay_ = rng.uniform(2.0, 4.5), rng.uniform(1.5, 3.0)
            elif kind == "artery":
                ax_ = ay_ = rng.uniform(1.5, 4.0)
            else:
                ax_, ay_ = rng.uniform(2.5, 4.5), rng.uniform(1.5, 3.0)
            rad = max(ax_, ay_) + 1.0
            cx = rng.uniform(rad + 1.0, w - rad - 1.0)
            cy = rng.uniform(d_fat + rad + 1.0, max(d_fat + rad + 1.5, y_max - rad))
            if all((cx - px) ** 2 + (cy - py) ** 2 > (rad + pr + 1.0) ** 2 for px, py, pr in placed):
                placed.append((cx, cy, rad))
                ang = float(rng.uniform(-20, 20))
                if kind == "nerve":
                    nerves.append(_nerve(rng, cx, cy, ax_, ay_, ang))
                else:
                    vessels.append(Vessel(kind, cx, cy, ax_, ay_, ang if kind == "vein" else 0.0))
                break
    return Anatomy(fat, (fat, fascia2), (), tuple(nerves), tuple(vessels), _bone(cfg, rng, 0.0, w))
