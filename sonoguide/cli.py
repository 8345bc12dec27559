"""The ``sonoguide`` command line: parses arguments and hands over to application functions.

This module stays thin (scikit-surgery's ``ui/*_command_line.py`` idea): each package that owns
commands exposes ``register(subparsers)`` in its own ``cli`` module, which adds its parsers and
sets ``func`` to a function ``(args) -> int``. Heavy imports (torch, vosk...) happen inside those
functions so ``sonoguide --help`` stays fast.

Expected failures raise :class:`~core.errors.SonoguideError`; :func:`main` prints them as one
line ``error: ...`` on stderr and returns their exit code, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from sonoguide import __version__
from core.errors import SonoguideError

COMMAND_MODULES: tuple[str, ...] = (
    "sonoguide.commands",
    "research.segmentation.cli",
    "vision.segmentation.cli",
    "research.tracking.cli",
    "research.needle.cli",
    "voice.cli",
    "research.voice.cli",
    "ar_bridge.cli",
    "sonoguide.calibrate.cli",
)
"""Modules whose ``register(subparsers)`` adds sub-commands, in help order. The ``seg`` and
``voice`` groups are shared between a real-time package and :mod:`research`
(:func:`core.subcommands.command_group`): the first module to register creates the group, so
``research.segmentation.cli`` comes first to keep ``seg run`` last in its help. The ``track``
and ``needle`` groups are made the same way; today only :mod:`research` fills them."""

log = logging.getLogger("sonoguide")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="sonoguide",
        description="Hands-free AR guidance for ultrasound-guided regional anaesthesia.")
    parser.add_argument("--version", action="version", version=f"sonoguide {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more log output (-v info, -vv debug)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def setup_logging(verbosity: int) -> None:
    """Log to stderr; warnings by default, info with ``-v``, debug with ``-vv``."""
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``sonoguide`` console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(func(args) or 0)
    except SonoguideError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a closed reader (| head): not an error
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
