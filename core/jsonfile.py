"""Reading a JSON file the user handed over, with one clear error when it is not there or not JSON.

Camera, board, calibration, model-card, pairing and recording-metadata files are all JSON; each
reader says what the file is and how to get a good one. :func:`load_json` does the reading and
the two common failures once, and raises the reader's own error type.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.errors import SonoguideError


def load_json(path: str | Path, *, what: str, error: type[SonoguideError], missing_fix: str,
              corrupt_fix: str, require_object: bool = True) -> Any:
    """The parsed contents of a JSON file.

    Args:
        path: the file.
        what: what the file is, for the message ("camera file", "model card").
        error: the exception type to raise (``CalibrationError``, ``ModelError``...).
        missing_fix: what to do when the file is missing (appended to the message).
        corrupt_fix: what to do when it cannot be read or parsed.
        require_object: refuse anything but a JSON object at the top.

    Raises:
        error: missing file, unreadable or invalid JSON, or not an object when one is required.
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{what} {p} not found; {missing_fix}") from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # ValueError: JSONDecodeError and kin
        raise error(f"{what} {p} is not valid JSON ({exc}); {corrupt_fix}") from None
    if require_object and not isinstance(data, dict):
        raise error(f"{what} {p} must hold a JSON object; {corrupt_fix}")
    return data


def recorded_devices(data: Any) -> dict[str, Any]:
    """The ``devices`` object of a loaded calibration or camera file (empty when absent or not an object)."""
    devices = data.get("devices") if isinstance(data, dict) else None
    return devices if isinstance(devices, dict) else {}


def check_devices(data: Any, wanted: dict[str, str], *, what: str, fix: str, error: type[SonoguideError]) -> None:
    """Refuse a file made for another device: each non-empty ``wanted[key]`` must equal the file's
    ``devices[key]`` (written by ``sonoguide calibrate ... --device key=ID``).

    Args:
        data: the loaded file.
        wanted: the configured ids, ``{"camera": "cam#42", ...}``; empty values are not checked.
        what: the file, for the message (``"calibration file calib/us.json"``).
        fix: what to do, appended to the message.
        error: the exception type to raise.

    Raises:
        error: a configured id differs from the file's (or the file records none).
    """
    have = recorded_devices(data)
    for key, want in wanted.items():
        if want and have.get(key) != want:
            raise error(f"{what} is for {key} {have.get(key)!r}, but the configured {key} is {want!r}; {fix}")


def json_types(value: Any, ndigits: int | None = None) -> Any:
    """``value`` with NumPy arrays and scalars turned into JSON types, ready for ``json.dumps``.

    Args:
        value: nested dicts, lists, tuples, arrays and scalars.
        ndigits: round floats to this many decimals (``None``: keep them whole).

    Non-finite floats become ``null`` (strict JSON has no NaN or infinity).
    """
    if isinstance(value, dict):
        return {str(k): json_types(v, ndigits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_types(v, ndigits) for v in value]
    if hasattr(value, "tolist"):  # NumPy arrays and scalars
        return json_types(value.tolist(), ndigits)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        return round(value, ndigits) if ndigits is not None else value
    return value
