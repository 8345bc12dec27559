"""Simulated probe motion and a simulated camera that renders the probe's marker board.

The camera is an ideal pinhole with OpenCV's distortion model applied by inverse mapping
(each distorted output pixel looks up its undistorted position, ``cv2.undistortPoints`` with an iteration criterion).
Each planar face of the board is drawn by a perspective warp of its printed texture
(plane-induced homography ``H = K [r1 r2 t]``, Hartley & Zisserman, *Multiple View
Geometry*, 2nd ed., §13.1); textures are kept as a mip-map pyramid (Williams, "Pyramidal
parametrics", SIGGRAPH 1983) so far boards are not aliased. Image degradations: Gaussian
and motion blur, additive Gaussian noise, a lighting gain/gradient, and a skin-coloured
occluder over part of the board.

The live demo's camera (gray, no distortion, no occluder or motion blur) takes a fast path that
computes the same image around the board only (``SimulatedCamera.fast_gray``; see
``_render_fast``), about 40 times cheaper at 640x480.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np

from core.camera import CameraIntrinsics
from core.errors import ConfigError
from vision.tracking.board import BoardSpec
from core.se3 import make_T, rotvec_to_R

logger = logging.getLogger(__name__)

_GRAY_NOISE = float(np.sqrt(0.299 ** 2 + 0.587 ** 2 + 0.114 ** 2))
"""Std of the gray value of independent unit noise in B, G and R."""
_NOISE_FRAMES = 4
_NOISE_MARGIN = 32


@dataclass(frozen=True)
class ProbeMotionConfig:
    """Scripted probe motion around a centre point (camera frame, mm / degrees / Hz).

    Attributes:
        centre_mm: mean position of the board centre in the camera frame.
        amplitude_mm: per-axis amplitude of the translation sway.
        rotation_amplitude_deg: per-axis amplitude of the rotation sway.
        base_tilt_deg: fixed tilt of the board away from fronto-parallel (about camera x).
        min_hz, max_hz: range of the sway frequencies (3 sinusoids per axis).
    """

    centre_mm: tuple[float, float, float] = (0.0, 0.0, 400.0)
    amplitude_mm: tuple[float, float, float] = (40.0, 25.0, 60.0)
    rotation_amplitude_deg: tuple[float, float, float] = (15.0, 15.0, 20.0)
    base_tilt_deg: float = 20.0
    min_hz: float = 0.05
    max_hz: float = 0.4

    def __post_init__(self) -> None:
        if len(self.centre_mm) != 3 or self.centre_mm[2] <= 0:
            raise ConfigError("ProbeMotionConfig.centre_mm must be (x, y, z) with z > 0 (in front of the camera)")
        if len(self.amplitude_mm) != 3 or any(a < 0 for a in self.amplitude_mm):
            raise ConfigError("ProbeMotionConfig.amplitude_mm must be 3 values >= 0")
        if self.amplitude_mm[2] >= self.centre_mm[2]:
            raise ConfigError("ProbeMotionConfig.amplitude_mm[2] must be smaller than centre_mm[2]")
        if len(self.rotation_amplitude_deg) != 3 or any(a < 0 for a in self.rotation_amplitude_deg):
            raise ConfigError("ProbeMotionConfig.rotation_amplitude_deg must be 3 values >= 0")
        if not (0 < self.min_hz <= self.max_hz):
            raise ConfigError("ProbeMotionConfig.min_hz/max_hz must satisfy 0 < min_hz <= max_hz")


class SimulatedProbe:
    """A smooth, seeded probe trajectory with exact ground truth.

    The board centre follows a sum of sinusoids; the orientation is a fixed base tilt
    composed with a sum-of-sinusoids rotation vector, so the pose is C-infinity in time.

    Args:
        seed: random seed for frequencies and phases.
        board: when given, the pose places the board's centre (not its origin) on the path.
        config: motion amplitudes; ``ProbeMotionConfig()`` by default.
        static: when True the probe stands still at its mean pose (jitter tests).
    """

    def __init__(self, seed: int = 0, board: BoardSpec | None = None,
                 config: ProbeMotionConfig | None = None, static: bool = False) -> None:
        self.config = config or ProbeMotionConfig()
        self.static = static
        rng = np.random.default_rng(seed)
        c = self.config
        self._freq = rng.uniform(c.min_hz, c.max_hz, size=(6, 3))
        self._phase = rng.uniform(0, 2 * np.pi, size=(6, 3))
        self._weights = rng.dirichlet(np.ones(3), size=6)
        self._amp = np.concatenate([np.asarray(c.amplitude_mm, float), np.radians(c.rotation_amplitude_deg)])
        self._R0 = rotvec_to_R([np.radians(c.base_tilt_deg), 0.0, 0.0])
        centre = np.zeros(3)
        if board is not None:
            centre = board_centre(board)
        self._T_centre_from_board = make_T(np.eye(3), -centre)

    def _signal(self, t_s: float) -> np.ndarray:
        if self.static:
            return np.zeros(6)
        s = np.sin(2 * np.pi * self._freq * t_s + self._phase)  # (6,3)
        return self._amp * np.sum(self._weights * s, axis=1)

    def T_camera_from_board(self, t_s: float) -> np.ndarray:
        """Ground-truth pose at time ``t_s`` seconds (4x4, mm)."""
        sig = self._signal(float(t_s))
        p = np.asarray(self.config.centre_mm, float) + sig[:3]
        R = self._R0 @ rotvec_to_R(sig[3:])
        return make_T(R, p) @ self._T_centre_from_board


def board_centre(board: BoardSpec) -> np.ndarray:
    """Centre of the board's points in board coordinates (mm)."""
    pts = np.concatenate([p for p in board.marker_points.values()] + [board.charuco_points.reshape(-1, 3)])
    return 0.5 * (pts.min(axis=0) + pts.max(axis=0))


def random_pose(rng: np.random.Generator, board: BoardSpec, K: CameraIntrinsics,
                depth_mm: tuple[float, float] = (250.0, 600.0), max_tilt_deg: float = 45.0,
                margin_frac: float = 0.15) -> np.ndarray:
    """A random pose with the board centre at a random depth and image position.

    The centre projects inside the image (with ``margin_frac`` margin); the board is tilted
    up to ``max_tilt_deg`` about a random in-plane axis and rotated freely about its normal.
    """
    z = rng.uniform(*depth_mm)
    u = rng.uniform(margin_frac, 1 - margin_frac) * K.width
    v = rng.uniform(margin_frac, 1 - margin_frac) * K.height
    ray = np.linalg.solve(K.K, np.array([u, v, 1.0]))
    p = ray * z / ray[2]
    spin = rotvec_to_R([0, 0, rng.uniform(-np.pi, np.pi)])
    ax = rng.uniform(0, 2 * np.pi)
    tilt = np.radians(rng.uniform(0, max_tilt_deg))
    R = rotvec_to_R(tilt * np.array([np.cos(ax), np.sin(ax), 0.0])) @ spin
    if board.type == "aruco_cube":
        # look at a cube edge/corner now and then so several faces are visible
        R = R @ rotvec_to_R(rng.uniform(-0.6, 0.6, size=3))
    return make_T(R, p) @ make_T(np.eye(3), -board_centre(board))


@dataclass(frozen=True)
class _Texture:
    levels: tuple  # list of (image uint8, px_per_mm)
    T_board_from_face: np.ndarray
    origin_mm: tuple[float, float]
    size_mm: tuple[float, float]


def _exact_scale(ppm_req: float, *lengths_mm: float) -> float:
    """Smallest texels-per-mm >= ``ppm_req`` that makes every length a whole number of texels.

    Tries scales that make the first length (a marker cell) 1, 2, 3... texels and keeps the
    first that also rounds the other lengths to within 1 % of a texel; falls back to the
    requested scale.
    """
    unit = lengths_mm[0]
    k0 = max(1, int(np.ceil(ppm_req * unit - 1e-9)))
    for k in range(k0, k0 + 64):
        ppm = k / unit
        if all(abs(L * ppm - round(L * ppm)) < 0.01 for L in lengths_mm):
            return ppm
    return float(ppm_req)


class SimulatedCamera:
    """Renders a marker board at a given pose as a camera frame.

    Args:
        board: the board to draw.
        K: intrinsics (image size, matrix, distortion) of the simulated camera.
        texture_px_per_mm: resolution of the finest printed texture.
        seed: seed of the random background.
        gray: return ``HxW`` gray instead of ``HxWx3`` BGR.
    """

    def __init__(self, board: BoardSpec, K: CameraIntrinsics, texture_px_per_mm: float = 10.0,
                 seed: int = 0, gray: bool = False) -> None:
        if texture_px_per_mm <= 0:
            raise ConfigError("SimulatedCamera texture_px_per_mm must be > 0")
        self.board, self.K, self.gray = board, K, gray
        self.fast_gray = True
        """Draw gray, distortion-free frames without occluder or motion blur around the board only."""
        self._seed = int(seed)
        self._gray_bg: np.ndarray | None = None
        self._gray_bg_blur: dict[float, np.ndarray] = {}
        self._bank: np.ndarray | None = None
        self._rng = np.random.default_rng(seed)
        self._textures = [self._make_texture(f, texture_px_per_mm) for f in board.planar_faces]
        self._pad = 0
        self._map = None
        if np.any(K.dist != 0):
            self._pad = int(0.15 * max(K.width, K.height))
            pts = np.stack(np.meshgrid(np.arange(K.width, dtype=np.float32),
                                       np.arange(K.height, dtype=np.float32)), axis=-1).reshape(-1, 1, 2)
            crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 40, 1e-4)
            und = cv2.undistortPoints(pts, K.K, K.dist, None, None, K.K, crit).reshape(K.height, K.width, 2)
            self._map = (und[..., 0] + self._pad).astype(np.float32), (und[..., 1] + self._pad).astype(np.float32)
        self._background = self._make_background()

    def _make_texture(self, face, ppm_req: float) -> _Texture:
        """Print one face at an exact integer number of texels per marker cell.

        The scale is chosen so that squares, markers and marker cells are whole texels (a
        printer's raster, no rounding of marker positions), and the texture is padded with
        the print's white (or the cube's off-white) to a multiple of 2**levels so every
        mip level is an exact half of the one above.
        """
        b = self.board
        cells = b.cv_dictionary.markerSize + 2
        if b.type == "charuco":
            ppm = _exact_scale(ppm_req, b.marker_length_mm / cells, b.square_length_mm,
                               (b.square_length_mm - b.marker_length_mm) / 2)
            sq = int(round(b.square_length_mm * ppm))
            inner = b.cv_board.generateImage((sq * b.squares_x, sq * b.squares_y), marginSize=0, borderBits=1)
            m = int(round(0.6 * b.square_length_mm * ppm))  # white print margin around the board
            paper = 255
        else:
            ppm = _exact_scale(ppm_req, b.marker_length_mm / cells)
            ml = int(round(b.marker_length_mm * ppm))
            inner = cv2.aruco.generateImageMarker(b.cv_dictionary, face.marker_ids[0], ml, borderBits=1)
            m = int(round((face.size_mm[0] - b.marker_length_mm) / 2 * ppm))
            paper = 235  # off-white cube face
        n_levels = max(1, int(np.ceil(np.log2(max(inner.shape) / 32.0))))
        q = 2 ** n_levels
        hh = int(np.ceil((inner.shape[0] + 2 * m) / q)) * q
        ww = int(np.ceil((inner.shape[1] + 2 * m) / q)) * q
        tex = np.full((hh, ww), paper, np.uint8)
        my, mx = (hh - inner.shape[0]) // 2, (ww - inner.shape[1]) // 2
        tex[my:my + inner.shape[0], mx:mx + inner.shape[1]] = inner
        if b.type == "charuco":
            origin = (-mx / ppm, -my / ppm)  # board origin = top-left corner of the chessboard
        else:
            origin = (-(mx + inner.shape[1] / 2) / ppm, -(my + inner.shape[0] / 2) / ppm)  # marker centre
        size_mm = (ww / ppm, hh / ppm)
        levels = [(tex, ppm)]
        for _ in range(n_levels):
            im, p = levels[-1]
            levels.append((cv2.resize(im, (im.shape[1] // 2, im.shape[0] // 2), interpolation=cv2.INTER_AREA), p / 2))
        return _Texture(tuple(levels), face.T_board_from_face, origin, size_mm)

    def _make_background(self) -> np.ndarray:
        rng = self._rng
        h, w = self.K.height + 2 * self._pad, self.K.width + 2 * self._pad
        small = rng.uniform(40, 200, size=(9, 16, 3)).astype(np.float32)
        bg = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
        bg += rng.normal(0, 6, size=(h, w, 3)).astype(np.float32)
        for _ in range(25):  # clutter: rectangles and lines
            c = tuple(float(x) for x in rng.uniform(0, 255, 3))
            p1 = (int(rng.uniform(0, w)), int(rng.uniform(0, h)))
            p2 = (p1[0] + int(rng.uniform(-200, 200)), p1[1] + int(rng.uniform(-200, 200)))
            if rng.random() < 0.5:
                cv2.rectangle(bg, p1, p2, c, -1)
            else:
                cv2.line(bg, p1, p2, c, int(rng.uniform(1, 6)))
        return np.clip(cv2.GaussianBlur(bg, (0, 0), 1.5), 0, 255)

    def _faces(self, T_camera_from_board: np.ndarray,
               Kp: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Visible faces far to near: ``(texture level image, homography texture -> image, corners px 4x2)``."""
        faces = []
        for tex in self._textures:
            T_cf = T_camera_from_board @ tex.T_board_from_face
            n_out = -T_cf[:3, 2]
            if np.dot(n_out, -T_cf[:3, 3]) <= 0:
                continue  # back face
            corners = np.array([[tex.origin_mm[0] + a * tex.size_mm[0], tex.origin_mm[1] + b * tex.size_mm[1], 0, 1]
                                for a, b in ((0, 0), (1, 0), (1, 1), (0, 1))])
            pc = (T_cf @ corners.T)[:3]
            if np.any(pc[2] < 10.0):
                continue
            faces.append((float(pc[2].mean()), tex, T_cf, pc))
        faces.sort(key=lambda f: -f[0])  # far to near
        out = []
        for _, tex, T_cf, pc in faces:
            proj = (Kp @ pc)
            proj = proj[:2] / proj[2]
            # choose the mip level whose texel is about one image pixel
            span_px = np.linalg.norm(proj[:, 1] - proj[:, 0]) + 1e-6
            want_ppm = span_px / tex.size_mm[0]
            level = tex.levels[0]
            for lv in tex.levels:
                if lv[1] >= want_ppm * 0.9:
                    level = lv
            im, ppm = level
            S = np.array([[1 / ppm, 0, tex.origin_mm[0] + 0.5 / ppm], [0, 1 / ppm, tex.origin_mm[1] + 0.5 / ppm], [0, 0, 1]])
            H = Kp @ np.column_stack([T_cf[:3, 0], T_cf[:3, 1], T_cf[:3, 3]]) @ S
            out.append((im, H, proj.T))
        return out

    def render(self, T_camera_from_board: np.ndarray, blur: float = 0.0, noise: float = 0.0,
               light: float = 1.0, light_gradient: float = 0.0, occlusion: float = 0.0,
               motion_blur_px: float = 0.0, rng: np.random.Generator | None = None) -> np.ndarray:
        """Draw the board at ``T_camera_from_board``.

        A gray, distortion-free camera without occluder, motion blur, light gradient or a gain
        above 1 (the live demo's marker camera) is drawn by :meth:`_render_fast` when
        :attr:`fast_gray` is True: the same image content, computed only around the board.

        Args:
            T_camera_from_board: 4x4 pose (mm).
            blur: Gaussian blur sigma in pixels (optics defocus).
            noise: additive Gaussian noise std in grey levels.
            light: global brightness gain (1 = nominal).
            light_gradient: strength of a linear brightness ramp across the image (0..1).
            occlusion: fraction (0..0.6) of the board's image extent covered by an occluder.
            motion_blur_px: length of a linear motion-blur kernel in pixels.
            rng: randomness for the noise, gradient direction and occluder placement.

        Returns:
            ``HxWx3`` uint8 BGR image (``HxW`` when the camera was made with ``gray=True``).
        """
        rng = rng or self._rng
        if (self.gray and self.fast_gray and self._map is None and occlusion <= 0 and motion_blur_px < 1.0
                and light_gradient <= 0 and light <= 1.0):
            return self._render_fast(T_camera_from_board, max(float(blur), 0.4), float(noise), float(light), rng)
        K, pad = self.K, self._pad
        h, w = K.height + 2 * pad, K.width + 2 * pad
        Kp = K.K.copy()
        Kp[0, 2] += pad
        Kp[1, 2] += pad
        img = self._background.copy()
        board_px = []
        for im, H, corners in self._faces(T_camera_from_board, Kp):
            board_px.append(corners)
            warped = cv2.warpPerspective(im, H, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            mask = cv2.warpPerspective(np.full(im.shape, 255, np.uint8), H, (w, h), flags=cv2.INTER_LINEAR,
                                       borderMode=cv2.BORDER_CONSTANT, borderValue=0)
            a = (mask.astype(np.float32) / 255.0)[..., None]
            img = img * (1 - a) + warped.astype(np.float32)[..., None] * a
        if occlusion > 0 and board_px:
            pts = np.concatenate(board_px)
            lo, hi = pts.min(axis=0), pts.max(axis=0)
            ext = hi - lo
            area = float(ext[0] * ext[1]) * float(np.clip(occlusion, 0, 0.6))
            ax = np.sqrt(area / np.pi) * np.array([rng.uniform(0.6, 1.6), 1.0])
            ax[1] = area / (np.pi * ax[0])
            c = lo + rng.uniform(0.1, 0.9, 2) * ext
            skin = tuple(float(x) for x in (rng.uniform(90, 140), rng.uniform(120, 170), rng.uniform(170, 220)))
            cv2.ellipse(img, (int(c[0]), int(c[1])), (int(ax[0]), int(ax[1])), float(rng.uniform(0, 180)), 0, 360, skin, -1,
                        lineType=cv2.LINE_AA)
        if self._map is not None:
            img = cv2.remap(img, self._map[0], self._map[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        # optics: always a little defocus so edges are not perfectly sharp
        sig = max(float(blur), 0.4)
        img = cv2.GaussianBlur(img, (0, 0), sig)
        if motion_blur_px >= 1.0:
            n = int(round(motion_blur_px))
            k = np.zeros((n, n), np.float32)
            k[n // 2, :] = 1.0 / n
            M = cv2.getRotationMatrix2D(((n - 1) / 2, (n - 1) / 2), float(rng.uniform(0, 180)), 1.0)
            k = cv2.warpAffine(k, M, (n, n))
            k /= max(k.sum(), 1e-6)
            img = cv2.filter2D(img, -1, k)
        H_, W_ = img.shape[:2]
        gain = np.float32(light)
        if light_gradient > 0:
            ang = rng.uniform(0, 2 * np.pi)
            xx = (np.arange(W_, dtype=np.float32) / W_ - 0.5) * np.cos(ang)
            yy = (np.arange(H_, dtype=np.float32) / H_ - 0.5) * np.sin(ang)
            ramp = 1.0 + 2.0 * float(light_gradient) * (yy[:, None] + xx[None, :])
            img = img * (gain * ramp)[..., None]
        else:
            img = img * gain
        if noise > 0:
            img = img + rng.normal(0, noise, size=img.shape).astype(np.float32)
        out = np.clip(img, 0, 255).astype(np.uint8)
        if self.gray:
            out = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY)
        return out

    def _fast_background(self, sigma: float) -> tuple[np.ndarray, np.ndarray]:
        """Gray background, unblurred and blurred with ``sigma`` (cached per sigma)."""
        if self._gray_bg is None:
            bgr = np.clip(self._background, 0, 255).astype(np.float32)
            self._gray_bg = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        key = round(sigma, 6)
        if key not in self._gray_bg_blur:
            if len(self._gray_bg_blur) >= 8:
                self._gray_bg_blur.clear()
            self._gray_bg_blur[key] = cv2.GaussianBlur(self._gray_bg, (0, 0), sigma)
        return self._gray_bg, self._gray_bg_blur[key]

    def _render_fast(self, T_camera_from_board: np.ndarray, sigma: float, noise: float, light: float,
                     rng: np.random.Generator) -> np.ndarray:
        """The general path's image for a gray, distortion-free camera, computed around the board only.

        Every step of the general path is linear up to the final clipping (no colour channel
        saturates with a gain <= 1), so it commutes with the gray conversion
        (``0.299 R + 0.587 G + 0.114 B``) and may be done on one channel: the background is
        converted and blurred once; the faces are warped and blended only in the board's
        bounding box (plus the blur's reach), which is blurred and pasted onto the blurred
        background. Noise: independent Gaussian noise of std ``noise`` per colour
        channel is, after the gray conversion, Gaussian with std ``0.669 noise``; it is taken
        from a bank of precomputed standard-normal frames at a random frame and offset.
        """
        K = self.K
        h, w = K.height, K.width
        bg, bg_blur = self._fast_background(sigma)
        frame = bg_blur.copy()
        faces = self._faces(T_camera_from_board, K.K)
        if faces:
            pts = np.concatenate([c for _, _, c in faces])
            reach = int(np.ceil(4.0 * sigma)) + 1  # OpenCV's float kernel: radius round(4 sigma)
            x_lo, y_lo = np.floor(pts.min(axis=0)).astype(int) - 2
            x_hi, y_hi = np.ceil(pts.max(axis=0)).astype(int) + 3
            cx0, cy0, cx1, cy1 = max(x_lo - reach, 0), max(y_lo - reach, 0), min(x_hi + reach, w), min(y_hi + reach, h)
            ex0, ey0, ex1, ey1 = max(cx0 - reach, 0), max(cy0 - reach, 0), min(cx1 + reach, w), min(cy1 + reach, h)
            if cx1 > cx0 and cy1 > cy0:
                region = bg[ey0:ey1, ex0:ex1].copy()
                size = (ex1 - ex0, ey1 - ey0)
                shift = np.array([[1.0, 0.0, -ex0], [0.0, 1.0, -ey0], [0.0, 0.0, 1.0]])
                for im, H, _ in faces:
                    Hs = shift @ H
                    warped = cv2.warpPerspective(im, Hs, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                                                 borderValue=0)
                    mask = cv2.warpPerspective(np.full(im.shape, 255, np.uint8), Hs, size, flags=cv2.INTER_LINEAR,
                                               borderMode=cv2.BORDER_CONSTANT, borderValue=0)
                    a = mask.astype(np.float32) * np.float32(1.0 / 255.0)
                    region += (warped.astype(np.float32) - region) * a
                region = cv2.GaussianBlur(region, (0, 0), sigma)
                frame[cy0:cy1, cx0:cx1] = region[cy0 - ey0:cy1 - ey0, cx0 - ex0:cx1 - ex0]
        if light != 1.0:
            frame *= np.float32(light)
        if noise > 0:
            bank = self._noise_bank()
            k = int(rng.integers(bank.shape[0]))
            dy, dx = (int(v) for v in rng.integers(0, _NOISE_MARGIN + 1, size=2))
            frame = cv2.scaleAdd(bank[k, dy:dy + h, dx:dx + w], float(noise) * _GRAY_NOISE, frame)
        np.clip(frame, 0, 255, out=frame)
        return frame.astype(np.uint8)

    def _noise_bank(self) -> np.ndarray:
        """Standard-normal frames (``_NOISE_FRAMES``, a margin wider than the image), made once."""
        if self._bank is None:
            g = np.random.default_rng(self._seed + 7919)
            self._bank = g.standard_normal((_NOISE_FRAMES, self.K.height + _NOISE_MARGIN,
                                            self.K.width + _NOISE_MARGIN), dtype=np.float32)
        return self._bank
