"""The real-time segmentation stage: frame in, nerves and vessels with validity out.

Per call: validate the frame, find the ultrasound image (ROI), letterbox it to the network
input, run the network (optionally also on the mirrored image), smooth the probabilities over
time when the scene is still, extract regions (dropping those too small or too unsure) and
simplified contours, track them and gate them by confidence, score the view.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2
import numpy as np
import torch

import vision.segmentation.postprocess as postprocess
import vision.segmentation.quality as quality_mod
from core.errors import ConfigError
from vision.segmentation.config import SegmentationConfig, parse_roi
from vision.segmentation.inference import Network, OpenCVNetwork, pick_device
from vision.segmentation.modelcard import BUNDLED_WEIGHTS, load_model
from vision.segmentation.preprocess import MIN_SIDE, Letterbox, detect_roi, to_gray
from vision.segmentation.runtime import make_runner
from vision.segmentation.temporal import ProbabilitySmoother, Tracker
from core.types import SegmentationResult, Structure

log = logging.getLogger(__name__)

UI_FRACTION = 0.005
"""In ``roi = "auto"``, the frame is cropped to the detected image only when more than this
fraction of the pixels outside it are not black (scanner UI, text); black padding alone is kept."""


def default_threads() -> int:
    """Torch threads for ``segmentation.threads = 0``: one fewer than the CPU cores, at least one."""
    return max(1, (os.cpu_count() or 1) - 1)


def auto_roi(gray: np.ndarray) -> tuple[int, int, int, int] | None:
    """The ROI for ``roi = "auto"``: the detected image in a screen grab, else the whole frame.

    Returns ``None`` for a blank frame (nothing that looks like an image).
    """
    h, w = gray.shape
    found = detect_roi(gray)
    if found is None:
        return None
    x, y, rw, rh = found
    outside = int(np.count_nonzero(gray > 0)) - int(np.count_nonzero(gray[y:y + rh, x:x + rw] > 0))
    n_out = h * w - rw * rh
    if n_out <= 0 or outside <= UI_FRACTION * n_out:
        return 0, 0, w, h
    return found


class Segmenter:
    """Segments nerves and vessels in ultrasound frames of any size.

    The engine that runs the network (OpenCV DNN, torch, int8 weights) is chosen by
    :func:`~vision.segmentation.runtime.make_runner`.

    Args:
        config: stage settings (``config.model = ""``: the bundled weights).
        device: torch device; ``None`` follows ``config.device`` (``"auto"``: CUDA when present).

    Raises:
        ModelError: the weights or their model card are missing, corrupt or mismatched (the
            message names the file).
        ConfigError: CUDA requested but not available, or a runtime that cannot run the weights.
    """

    def __init__(self, config: SegmentationConfig = SegmentationConfig(), device: str | torch.device | None = None
                 ) -> None:
        self.config = config
        if device is None and config.device != "auto":
            device = config.device
        dev = pick_device(device)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError("segmentation.device = 'cuda' but no CUDA device is available; use \"auto\" or \"cpu\"")
        threads = config.threads if config.threads > 0 else default_threads()
        torch.set_num_threads(threads)
        weights = Path(config.model) if config.model else BUNDLED_WEIGHTS
        model, self.card = load_model(weights, dev)
        self.net: Network | OpenCVNetwork = make_runner(config, model, self.card, weights, dev, threads)
        self.precision = self.net.precision
        self.runtime = self.net.runtime
        self.size = self.net.size
        self._fixed_roi = parse_roi(config.roi)
        self._smoother = ProbabilitySmoother(config.smoothing, config.motion_threshold)
        self._tracker = Tracker(config.gate_on, config.gate_off)
        self._roi: tuple[int, int, int, int] | None = None
        log.info("segmenter: %s on %s (%s, %s), input %d px, %d threads", self.card.get("name"), dev,
                 self.precision, self.runtime, self.size, threads)

    @property
    def model_id(self) -> str:
        """What produced the masks: card name and version, the first 12 hex digits of the weights'
        SHA-256, precision and runtime (recorded with a recording; replay warns on a difference)."""
        return (f"{self.card.get('name')} {self.card.get('version')} "
                f"{str(self.card['weights']['sha256'])[:12]} {self.precision}/{self.runtime}")

    def reset(self) -> None:
        """Forget the temporal state (smoothing, tracks, ROI)."""
        self._smoother.reset()
        self._tracker.reset()
        self._roi = None

    def _choose_roi(self, gray: np.ndarray) -> tuple[int, int, int, int] | None:
        h, w = gray.shape
        mode = self.config.roi
        if mode == "full":
            return 0, 0, w, h
        if self._fixed_roi is not None:
            x, y, rw, rh = self._fixed_roi
            x0, y0 = min(max(0, x), w), min(max(0, y), h)
            x1, y1 = min(w, x + rw), min(h, y + rh)
            return (x0, y0, x1 - x0, y1 - y0) if x1 - x0 >= MIN_SIDE and y1 - y0 >= MIN_SIDE else None
        roi = auto_roi(gray)
        if roi is not None and self._roi is not None:
            # keep the previous ROI unless it really changed (no jitter of the letterbox)
            a, b = roi, self._roi
            iw = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
            ih = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
            inter = iw * ih
            if inter / float(a[2] * a[3] + b[2] * b[3] - inter) > 0.9 and b[0] + b[2] <= w and b[1] + b[3] <= h:
                roi = b
        self._roi = roi
        return roi

    def _empty(self, t_capture_ns: int, flags: tuple[str, ...], shape: tuple[int, int] | None,
               want_labels: bool) -> SegmentationResult:
        self._smoother.reset()
        self._tracker.reset()
        labels = np.zeros(shape, np.uint8) if want_labels and shape is not None else None
        return SegmentationResult((), labels, 0.0, flags, t_capture_ns)

    def network_input(self, image: np.ndarray) -> np.ndarray | None:
        """The letterboxed ``size x size`` uint8 network input of one frame (``None``: no image)."""
        gray = to_gray(image)
        if min(gray.shape) < MIN_SIDE:
            return None
        roi = self._choose_roi(gray)
        return None if roi is None else Letterbox.fit(roi, self.size).apply(gray)

    def segment(self, image: np.ndarray, t_capture_ns: int = 0, *, want_labels: bool = False) -> SegmentationResult:
        """Segment one frame.

        Args:
            image: ``HxW`` grayscale or ``HxWx3`` BGR frame (uint8; uint16 and float accepted).
            t_capture_ns: capture time, copied to the result.
            want_labels: also return the ``HxW`` label image at frame resolution.

        Returns:
            Structures with contours in frame pixels, confidence, area, validity and track id;
            the quality score and its flags. A blank, tiny or ROI-less frame gives no structures,
            quality 0 and a flag saying why.

        Raises:
            InputError: the frame is not an image (empty, wrong shape or dtype, too large).
        """
        gray = to_gray(image)
        h, w = gray.shape
        if min(h, w) < MIN_SIDE:
            return self._empty(t_capture_ns, ("too_small",), (h, w), want_labels)
        roi = self._choose_roi(gray)
        if roi is None:
            return self._empty(t_capture_ns, ("no_image",), (h, w), want_labels)
        lb = Letterbox.fit(roi, self.size)
        net_img = lb.apply(gray)
        img_score, img_flags = quality_mod.image_term(net_img, lb.content_wh)
        probs = self.net.probabilities(net_img, lb.content_wh[0] if self.config.flip_tta else 0)
        probs = self._smoother(probs, net_img, lb)
        cfg = self.config
        cw, ch = lb.content_wh
        min_area = cfg.min_area_fraction * cw * ch
        regs = postprocess.regions(probs, lb.content_wh, max(4.0, min_area),
                                   cfg.contour_epsilon_px * lb.scale, cfg.max_structures, cfg.min_confidence)
        structures = []
        inv_area = 1.0 / (lb.scale * lb.scale)
        for r, tid, validity in self._tracker.update(regs):
            structures.append(Structure(postprocess.CLASS_NAMES[r.cls], lb.to_frame(r.contour), r.confidence,
                                        r.area * inv_area, validity, tid))
        structures_t = tuple(structures)
        moving = self._smoother.last_change >= cfg.motion_threshold
        q, flags = quality_mod.quality(img_score, img_flags, structures_t, moving)
        labels = None
        if want_labels:
            labels = np.zeros((h, w), np.uint8)
            roi_lab = postprocess.label_image(lb.probs_to_roi(probs), max(4.0, min_area) * inv_area,
                                              cfg.min_confidence, cfg.fill_holes, cfg.max_structures)
            x, y = lb.x0, lb.y0
            labels[y:y + lb.roi_h, x:x + lb.roi_w] = roi_lab
        return SegmentationResult(structures_t, labels, q, flags, t_capture_ns)


def draw(image: np.ndarray, result: SegmentationResult, thickness: int = 2) -> np.ndarray:
    """A BGR picture of the frame with certain structures solid and uncertain ones dashed."""
    from vision.segmentation.modelcard import CLASS_SPEC
    colours = {c["name"]: tuple(int(v) for v in reversed(c["colour_rgb"])) for c in CLASS_SPEC}
    out = cv2.cvtColor(to_gray(image), cv2.COLOR_GRAY2BGR)
    for s in result.structures:
        pts = np.round(s.contour_px).astype(np.int32).reshape(-1, 1, 2)
        col = colours[s.cls]
        if s.validity.value == "ok":
            cv2.polylines(out, [pts], True, col, thickness, cv2.LINE_AA)
        else:
            for i in range(0, len(pts), 2):
                cv2.line(out, tuple(pts[i, 0]), tuple(pts[(i + 1) % len(pts), 0]), col, 1, cv2.LINE_AA)
    return out
