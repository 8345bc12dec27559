"""Shared test set-up: repository paths and the shared data folder."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
USGRA = SHARED / "data" / "usgra"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root."""
    return REPO


@pytest.fixture(scope="session")
def usgra_dir() -> Path:
    """The real ultrasound data set (``../shared/data/usgra``); skips when it is absent."""
    if not (USGRA / "images").is_dir():
        pytest.skip(f"real ultrasound data not found at {USGRA}")
    return USGRA


@pytest.fixture()
def usgra_subset(usgra_dir: Path, tmp_path: Path) -> Callable[[int], Path]:
    """``make(n)``: a data folder under ``tmp_path`` with the first ``n`` real image/mask pairs."""
    def make(n: int) -> Path:
        d = tmp_path / f"usgra_{n}"
        (d / "images").mkdir(parents=True, exist_ok=True)
        (d / "masks").mkdir(exist_ok=True)
        for name in sorted(p.name for p in (usgra_dir / "images").iterdir())[:n]:
            shutil.copy(usgra_dir / "images" / name, d / "images" / name)
            shutil.copy(usgra_dir / "masks" / name, d / "masks" / name)
        return d
    return make
