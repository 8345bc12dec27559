"""What every ``calibrate`` action shares: the output arguments, the device ids and the summary print."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from calibration.report import Report
from core.errors import InputError
from core.jsonfile import json_types


def add_output_arguments(p: argparse.ArgumentParser, out_help: str) -> None:
    """``--out`` (required), ``--report``, ``--json`` and ``--device KEY=ID``."""
    p.add_argument("--out", required=True, metavar="FILE", help=out_help)
    p.add_argument("--report", metavar="FILE", help="PNG report (default: next to --out, with .png)")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON line (last line)")
    p.add_argument("--device", action="append", default=[], metavar="KEY=ID",
                   help="a device id stored in the file and checked when the running system loads it, "
                        "e.g. --device probe=L14-6Ns#1234 (repeat for several)")


def devices(args: argparse.Namespace) -> dict[str, str]:
    """The ``--device KEY=ID`` pairs.

    Raises:
        InputError: an entry without ``=``.
    """
    out: dict[str, str] = {}
    for item in args.device or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError(f"--device {item!r}: write KEY=ID, e.g. --device probe=L14-6Ns#1234")
        out[key.strip()] = value.strip()
    return out


def report_path(args: argparse.Namespace) -> Path:
    """Where the PNG report goes: ``--report`` or ``--out`` with the suffix ``.png``."""
    return Path(args.report) if args.report else Path(args.out).with_suffix(".png")


def emit(args: argparse.Namespace, report: Report, summary: dict[str, Any], lines: list[str]) -> int:
    """Write the report, then print the human lines or (``--json``) one JSON line; returns 0.

    Args:
        args: the parsed command line (``--json``, ``--report``, ``--out``).
        report: the report page to save.
        summary: the figures; ``report`` and ``out`` paths are added.
        lines: the human-readable result lines.
    """
    path = report.save(report_path(args))
    summary = {**summary, "out": str(args.out), "report": str(path)}
    if args.json:
        sys.stdout.write(json.dumps(json_types(summary, ndigits=6)) + "\n")
    else:
        sys.stdout.write("\n".join(lines + [f"wrote {args.out}", f"report {path}"]) + "\n")
    return 0
