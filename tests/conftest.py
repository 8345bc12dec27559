"""Shared test set-up: repository paths and the shared data folder."""

from __future__ import annotations

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
