"""How the imaged anatomy moves in the image: the probe slides, the tissue moves with it.

A needle is pushed into the patient, so it *advances relative to the anatomy*; fascia, vessel
walls and bone move with the anatomy when the probe slides, even when their visible ends move
in the image. The tracker therefore judges advance in anatomy-fixed coordinates
``q_anatomy = q_image - D(t)``, where ``D(t)`` is the displacement of the image content since
the tracker started.

``D`` is accumulated from frame-to-frame displacements. Each is the median of the optical flow
of a regular grid of points, tracked by the pyramidal Lucas-Kanade method (Lucas & Kanade, "An
iterative image registration technique with an application to stereo vision", IJCAI 1981;
Bouguet's pyramidal implementation, ``cv2.calcOpticalFlowPyrLK``) on the half-resolution frame.
Speckle is fixed to the tissue, so almost every point carries the tissue's motion; the median
ignores the minority that does not (a pulsating artery, the needle itself, an anechoic lumen
without texture). A global phase correlation is *not* used: the changing outline of a pulsating
artery biases it by several pixels at systole.
"""

from __future__ import annotations

import cv2
import numpy as np

_GRID = 8
_WIN = 15
_LEVELS = 1
_MARGIN = 12
_MIN_POINTS = 6


class AnatomyMotion:
    """Displacement of the image content since :meth:`reset`, in full-resolution pixels.

    Args:
        scale: full-resolution pixels per pixel of the images given to :meth:`update`.
    """

    def __init__(self, scale: float = 2.0) -> None:
        self.scale = float(scale)
        self.reset()

    def reset(self) -> None:
        """Forget the previous frame; the displacement restarts at zero."""
        self._prev: np.ndarray | None = None
        self._pts: np.ndarray | None = None
        self.displacement = np.zeros(2)
        self.tracked = 0

    def update(self, image: np.ndarray) -> np.ndarray:
        """Add one frame (``hxw`` uint8, the reduced-resolution image).

        Returns:
            ``D = (dx, dy)``: where content that was at ``q`` at the reset is now, minus ``q``.
        """
        if self._prev is None or self._prev.shape != image.shape:
            h, w = image.shape
            xs = np.linspace(_MARGIN, w - 1 - _MARGIN, _GRID)
            ys = np.linspace(_MARGIN, h - 1 - _MARGIN, _GRID)
            self._pts = np.array([(x, y) for y in ys for x in xs], np.float32).reshape(-1, 1, 2)
            self._prev = image
            return self.displacement
        nxt, status, _ = cv2.calcOpticalFlowPyrLK(self._prev, image, self._pts, None, winSize=(_WIN, _WIN),
                                                  maxLevel=_LEVELS)
        ok = status.ravel() == 1
        self.tracked = int(ok.sum())
        if self.tracked >= _MIN_POINTS:
            flow = (nxt - self._pts).reshape(-1, 2)[ok]
            self.displacement = self.displacement + self.scale * np.median(flow, axis=0)
        self._prev = image
        return self.displacement
