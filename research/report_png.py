"""Writing an evaluation's PNG report: one place for the folder, the encoder and the error."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from core.errors import InputError


def write_report_png(path: str | Path, image: np.ndarray) -> Path:
    """Write ``image`` as a PNG at ``path`` (its folder created); returns the path.

    Raises:
        InputError: the folder cannot be made or the file cannot be written (names the fix).
    """
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        ok = cv2.imwrite(str(out), image)
    except (OSError, cv2.error) as exc:
        raise InputError(f"cannot write the report {out} ({exc}); pass --report with a writable path") from None
    if not ok:
        raise InputError(f"cannot write the report {out}; pass --report with a writable path")
    return out
