"""``sonoguide needle eval``: needle tip/angle accuracy and proximity levels on phantom sequences.

The real-time stage it measures is :mod:`vision.needle`; the ``needle`` group is made with
:func:`core.subcommands.command_group`, so a real-time action can join it.
"""

from __future__ import annotations

import argparse
import json
import sys

from core.subcommands import command_group


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``needle`` and its actions to the ``sonoguide`` parser."""
    nsub = command_group(sub, "needle", help="needle tracking: evaluate on phantom sequences",
                         dest="needle_command")
    e = nsub.add_parser("eval", help="tip and angle error, detection and proximity levels on phantom sequences")
    e.add_argument("--sequences", type=int, default=24,
                   help="number of phantom sequences with a needle (default 24; 4 needle-free ones are added)")
    e.add_argument("--set", choices=("default", "legacy"), default="default",
                   help="default: angles 15-70 deg, depth, gain, motion, bone varied; legacy: the first round's set")
    e.add_argument("--base-seed", type=int, default=200,
                   help="seed of the first sequence (default 200, the development set; others are held out)")
    e.add_argument("--fps", type=float, default=10.0, help="frames per second of each sequence (default 10)")
    e.add_argument("--json", action="store_true", help="print the summary as one JSON line (last line)")
    e.add_argument("--report", metavar="FILE", help="write a PNG report to FILE")
    e.set_defaults(func=_eval)


def _eval(args: argparse.Namespace) -> int:
    from core.errors import ConfigError
    from research.needle.evaluate import default_sequences, evaluate_needle, format_needle_summary, legacy_sequences

    if not (1 <= args.sequences <= 1000):
        raise ConfigError(f"--sequences must be 1..1000, got {args.sequences}")
    if not (0.5 <= args.fps <= 100):
        raise ConfigError(f"--fps must be 0.5..100, got {args.fps}")
    seqs = (legacy_sequences(args.sequences) if args.set == "legacy"
            else default_sequences(args.sequences, base_seed=args.base_seed))
    s = evaluate_needle(seqs, fps=args.fps, progress=sys.stderr.isatty())
    print(format_needle_summary(s))
    if args.report:
        from research.needle.report import write_needle_report
        print(f"report             {write_needle_report(s, args.report)}")
    if args.json:
        print(json.dumps(s.stats()))
    return 0
