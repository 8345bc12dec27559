"""N-wire phantom mode of the synthetic ultrasound phantom: wire geometry and B-mode rendering.

An N-wire calibration phantom (Comeau et al., "Intraoperative ultrasound for guidance and tissue
shift correction in image-guided neurosurgery", Med. Phys. 27(4), 2000; Pagoulatos et al.,
"Rapid calibration of 3-D freehand ultrasound", Ultrasound Med. Biol. 27(10), 2001; Chen et al.,
"An automated ultrasound calibration framework incorporating elevation beamwidth for tracked
ultrasound interventions", Proc. SPIE 2009; the fCal phantoms of PLUS Toolkit) holds thin wires
strung between two parallel walls, in layers of three forming an "N": two parallel side wires
and a diagonal joining one end of the first to the far end of the other. An ultrasound plane
that crosses a layer shows three bright dots on a line.

Geometry (JSON, phantom frame, mm)::

    {"name": "...", "units": "mm",
     "layers": [{"wires": [[[x, y, z], [x, y, z]],    # side wire 1
                           [[x, y, z], [x, y, z]],    # diagonal: starts on wire 1's line,
                           [[x, y, z], [x, y, z]]]},  #           ends on wire 3's line
                ...]}

Layers are listed from the shallowest to the deepest as the phantom is meant to be imaged.

Rendering follows the log-domain B-mode model of :mod:`vision.phantom.tissue`: a wire is a thin
specular reflector; the beam has a finite elevation thickness, so every wire point within the
slice contributes with the elevation beam profile (a wire crossing the plane obliquely spreads
into a longer, dimmer streak, as in real images: Chen et al. 2009), then the in-plane point-spread
function blurs it (wide laterally, narrow axially; the lateral width grows away from the focal
depth). The background is weakly scattering gel with fully developed speckle; a faint
reverberation tail sits beneath each dot; attenuation, time-gain compensation, log compression and
electronic noise complete the image. Image coordinates are pixels ``(u, v)`` = (column, row), the
pixel centre of ``(0, 0)`` at the image frame's origin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import cv2
import numpy as np

from vision.phantom.tissue import speckle_db


@dataclass(frozen=True)
class NWireGeometry:
    """Wires of an N-wire phantom in the phantom frame (mm).

    Attributes:
        wires: ``(L, 3, 2, 3)`` endpoints: per layer, side wire 1, the diagonal, side wire 3, each
            as two 3D endpoints.
        name: a label.
    """

    wires: np.ndarray
    name: str = "N-wire phantom"

    @property
    def n_layers(self) -> int:
        """Number of N layers."""
        return int(self.wires.shape[0])

    def segments(self) -> np.ndarray:
        """All wires as ``(3L, 2, 3)`` endpoints, layer by layer (wire 1, diagonal, wire 3)."""
        return self.wires.reshape(-1, 2, 3)

    def to_dict(self) -> dict[str, Any]:
        """The JSON layout."""
        return {"name": self.name, "units": "mm",
                "layers": [{"wires": layer.tolist()} for layer in np.asarray(self.wires, float)]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "NWireGeometry":
        """Parse the JSON layout (no checks beyond shape; the calibration checks the geometry).

        Raises:
            ValueError: wrong layout.
        """
        wires = np.asarray([layer["wires"] for layer in data["layers"]], dtype=np.float64)
        if wires.ndim != 4 or wires.shape[1:] != (3, 2, 3):
            raise ValueError(f"N-wire layers must each hold 3 wires of 2 endpoints [x, y, z], got {wires.shape}")
        return cls(wires=wires, name=str(data.get("name", "N-wire phantom")))


def fcal_like_geometry(length_mm: float = 40.0) -> NWireGeometry:
    """A three-layer N-wire phantom in the spirit of PLUS fCal 2: wires run along ``y`` between two
    walls ``length_mm`` apart, layers lie at depths ``z`` = 12, 22, 32 mm and alternate laterally so
    the dots cover the image. The probe images it from ``z < 0`` looking towards ``+z``.
    """
    lay = []
    for z, x1, x3, flip in ((12.0, -15.0, 5.0, False), (22.0, -5.0, 15.0, True), (32.0, -15.0, 5.0, False)):
        y0, y1 = (length_mm, 0.0) if flip else (0.0, length_mm)
        lay.append([[[x1, 0.0, z], [x1, length_mm, z]],
                    [[x1, y0, z], [x3, y1, z]],
                    [[x3, 0.0, z], [x3, length_mm, z]]])
    return NWireGeometry(np.asarray(lay, dtype=np.float64), name="fCal-like 3-layer N-wire phantom")


@dataclass(frozen=True)
class NWireImagingConfig:
    """Scanner and medium of the N-wire rendering.

    Attributes:
        psf_lateral_mm: lateral 1-sigma width of the point-spread function at the focus.
        psf_axial_mm: axial 1-sigma width.
        focus_depth_mm: depth of the lateral focus.
        defocus_per_mm: relative growth of the lateral width per mm away from the focus.
        elevation_mm: 1-sigma elevation (slice) thickness of the beam.
        wire_db: echo of a wire crossing the plane at right angles, dB over the gel background.
        background_db: gel scattering level, dB (0 dB maps to ~45 % grey).
        speckle_strength: scale of the log speckle.
        reverb_db: first reverberation below each dot, dB relative to the dot (each next one
            another ``reverb_db`` lower); ``None`` for none.
        reverb_spacing_mm: axial distance between reverberations.
        attenuation_db_per_cm: round-trip attenuation of the medium.
        tgc_db_per_cm: time-gain compensation.
        dynamic_range_db: log-compression range over the 255 grey levels.
        noise_std: electronic noise, grey levels.
    """

    psf_lateral_mm: float = 0.45
    psf_axial_mm: float = 0.15
    focus_depth_mm: float = 25.0
    defocus_per_mm: float = 0.025
    elevation_mm: float = 0.6
    wire_db: float = 30.0
    background_db: float = -14.0
    speckle_strength: float = 1.0
    reverb_db: float | None = -22.0
    reverb_spacing_mm: float = 0.9
    attenuation_db_per_cm: float = 2.0
    tgc_db_per_cm: float = 1.5
    dynamic_range_db: float = 60.0
    noise_std: float = 3.0


@dataclass(frozen=True)
class NWireFrame:
    """One rendered frame with its truth.

    Attributes:
        image: ``HxW`` uint8 B-mode image.
        dots_px: ``(L, 3, 2)`` where each wire crosses the image plane, pixels (NaN where it does
            not cross within its length).
        crosses: ``(L, 3)`` bool: the wire crosses the plane between its endpoints.
        inside: ``(L, 3)`` bool: the crossing lies inside the image.
    """

    image: np.ndarray
    dots_px: np.ndarray
    crosses: np.ndarray
    inside: np.ndarray


def _plane(T_phantom_from_image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float]:
    """Origin, lateral/axial unit axes, plane normal and pixel spacings of a scaled image pose."""
    M = np.asarray(T_phantom_from_image, dtype=np.float64)
    sx, sy = float(np.linalg.norm(M[:3, 0])), float(np.linalg.norm(M[:3, 1]))
    ex, ey = M[:3, 0] / sx, M[:3, 1] / sy
    n = np.cross(ex, ey)
    return M[:3, 3], ex, ey, n / np.linalg.norm(n), sx, sy


def wire_crossings(geometry: NWireGeometry, T_phantom_from_image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each wire crosses the image plane.

    Args:
        geometry: the phantom.
        T_phantom_from_image: image pose, linear part = rotation times per-axis mm/px.

    Returns:
        ``(L, 3, 2)`` pixel positions (NaN where the wire is parallel to the plane) and ``(L, 3)``
        bool: the crossing lies between the wire's endpoints.
    """
    o, ex, ey, n, sx, sy = _plane(T_phantom_from_image)
    seg = geometry.wires
    p0, d = seg[..., 0, :], seg[..., 1, :] - seg[..., 0, :]
    den = d @ n
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t = ((o - p0) @ n) / den
        rel = p0 + t[..., None] * d - o
        px = np.stack([rel @ ex / sx, rel @ ey / sy], axis=-1)
    ok = np.isfinite(t) & (t >= 0.0) & (t <= 1.0) & (np.abs(den) > 1e-9)
    px[~np.isfinite(t)] = np.nan
    return px, ok


def render_nwire(geometry: NWireGeometry, T_phantom_from_image: np.ndarray, image_size: Sequence[int],
                 config: NWireImagingConfig | None = None, seed: int | Sequence[int] = 0) -> NWireFrame:
    """Render one B-mode image of the N-wire phantom seen by an image plane.

    Args:
        geometry: the phantom's wires.
        T_phantom_from_image: pose of the image in the phantom frame; its first two columns are
            the lateral and axial axes times the pixel spacing (mm/px).
        image_size: ``(W, H)`` pixels.
        config: scanner and medium; defaults to :class:`NWireImagingConfig`.
        seed: seeds speckle and noise.

    Returns:
        The image and where the wires cross it.
    """
    cfg = config or NWireImagingConfig()
    w, h = int(image_size[0]), int(image_size[1])
    rng = np.random.default_rng(seed)
    o, ex, ey, n, sx, sy = _plane(T_phantom_from_image)
    dots, crosses = wire_crossings(geometry, T_phantom_from_image)
    inside = crosses & np.all(np.isfinite(dots), axis=-1)
    inside &= (dots[..., 0] >= 0) & (dots[..., 0] <= w - 1) & (dots[..., 1] >= 0) & (dots[..., 1] <= h - 1)

    wire_amp = np.zeros((h, w), np.float32)
    for p0, p1 in geometry.segments():
        _splat_wire(wire_amp, p0, p1, o, ex, ey, n, sx, sy, cfg)
    if cfg.reverb_db is not None:
        shift = cfg.reverb_spacing_mm / sy
        tail = np.zeros_like(wire_amp)
        for k in (1, 2):
            m = np.float32([[1, 0, 0], [0, 1, k * shift]])
            tail += np.float32(10.0 ** (k * cfg.reverb_db / 20.0)) * cv2.warpAffine(
                wire_amp, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        wire_amp += tail

    spk = speckle_db(rng, (h, w), (sy, sx)) * np.float32(cfg.speckle_strength)
    background = np.float32(10.0 ** (cfg.background_db / 20.0)) * np.power(np.float32(10.0), spk / np.float32(20.0))
    envelope = background + np.float32(10.0 ** (cfg.wire_db / 20.0)) * wire_amp
    depth_cm = np.arange(h, dtype=np.float32)[:, None] * np.float32(sy / 10.0)
    echo_db = 20.0 * np.log10(np.maximum(envelope, 1e-6)) + (cfg.tgc_db_per_cm - cfg.attenuation_db_per_cm) * depth_cm
    dr = float(cfg.dynamic_range_db)
    display = (echo_db + 0.45 * dr) * (255.0 / dr)
    display += rng.standard_normal((h, w), dtype=np.float32) * np.float32(cfg.noise_std)
    image = np.clip(np.rint(display), 0, 255).astype(np.uint8)
    return NWireFrame(image=image, dots_px=dots, crosses=crosses, inside=inside)


def _splat_wire(amp: np.ndarray, p0: np.ndarray, p1: np.ndarray, o: np.ndarray, ex: np.ndarray, ey: np.ndarray,
                n: np.ndarray, sx: float, sy: float, cfg: NWireImagingConfig) -> None:
    """Add one wire's echo: the wire points within the beam slice, weighted by the elevation
    profile, blurred by the (depth-dependent) in-plane point-spread function; a wire crossing the
    plane at right angles peaks at 1."""
    h, w = amp.shape
    d = p1 - p0
    length = float(np.linalg.norm(d))
    dn = float(d @ n)
    if length < 1e-9 or abs(dn) < 1e-9 * length:
        return
    t_c = float((o - p0) @ n) / dn
    sig_e = cfg.elevation_mm
    half = 3.0 * sig_e / abs(dn)
    t_lo, t_hi = max(0.0, t_c - half), min(1.0, t_c + half)
    if t_lo >= t_hi:
        return
    rel0 = p0 - o
    # in-plane length of the visible part, pixels: sample every ~0.2 px
    a = rel0 + t_lo * d
    b = rel0 + t_hi * d
    span_px = math.hypot((b - a) @ ex / sx, (b - a) @ ey / sy)
    k = int(min(4000, max(8, math.ceil(span_px / 0.2))))
    t = np.linspace(t_lo, t_hi, k)
    pts = rel0[None, :] + t[:, None] * d[None, :]
    u, v, e = pts @ ex / sx, pts @ ey / sy, pts @ n
    # elevation profile per unit elevation (each sample covers |dn| * dt mm of elevation)
    de = abs(dn) * (t[1] - t[0]) if k > 1 else 1.0
    wgt = np.exp(-0.5 * (e / sig_e) ** 2) * de / (sig_e * math.sqrt(2.0 * math.pi))
    # specular reflector: the echo falls as the wire leans away from the beam's normal incidence
    wgt *= abs(dn) / length
    depth_mm = float(np.mean(v)) * sy
    sig_lat = cfg.psf_lateral_mm * (1.0 + cfg.defocus_per_mm * abs(depth_mm - cfg.focus_depth_mm))
    sgx, sgy = max(0.5, sig_lat / sx), max(0.5, cfg.psf_axial_mm / sy)
    m = int(math.ceil(4.0 * max(sgx, sgy))) + 2
    x0, x1 = int(math.floor(u.min())) - m, int(math.ceil(u.max())) + m + 1
    y0, y1 = int(math.floor(v.min())) - m, int(math.ceil(v.max())) + m + 1
    cx0, cx1, cy0, cy1 = max(0, x0), min(w, x1), max(0, y0), min(h, y1)
    if cx0 >= cx1 or cy0 >= cy1:
        return
    patch = np.zeros((y1 - y0, x1 - x0), np.float64)
    fu, fv = u - x0, v - y0
    iu, iv = np.floor(fu).astype(int), np.floor(fv).astype(int)
    au, av = fu - iu, fv - iv
    for du, dv, ww in ((0, 0, (1 - au) * (1 - av)), (1, 0, au * (1 - av)), (0, 1, (1 - au) * av), (1, 1, au * av)):
        np.add.at(patch, (iv + dv, iu + du), wgt * ww)
    patch = cv2.GaussianBlur(patch.astype(np.float32), (0, 0), sigmaX=sgx, sigmaY=sgy, borderType=cv2.BORDER_CONSTANT)
    patch *= np.float32(2.0 * math.pi * sgx * sgy)
    amp[cy0:cy1, cx0:cx1] += patch[cy0 - y0:cy1 - y0, cx0 - x0:cx1 - x0]


__all__ = ["NWireFrame", "NWireGeometry", "NWireImagingConfig", "fcal_like_geometry", "render_nwire",
           "wire_crossings"]
