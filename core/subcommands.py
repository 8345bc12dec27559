"""Command groups of the ``sonoguide`` command line that more than one package fills.

A group such as ``sonoguide seg ACTION`` or ``sonoguide voice ACTION`` holds actions of the
real-time package (``seg run``, ``voice listen``) and of :mod:`research` (training, evaluation,
export). Each package's ``cli.register(subparsers)`` asks for the group with
:func:`command_group` and adds its own actions; whichever registers first creates it, so the
order of ``sonoguide.cli.COMMAND_MODULES`` decides the order of the actions in the help.
"""

from __future__ import annotations

import argparse


def command_group(sub: argparse._SubParsersAction, name: str, *, help: str, dest: str,
                  metavar: str = "ACTION") -> argparse._SubParsersAction:
    """The actions of the command group ``name`` under ``sub``, created on first use.

    Args:
        sub: the top-level sub-parsers (``sonoguide COMMAND``).
        name: the group's command, e.g. ``"seg"``.
        help: its help line (used when this call creates it).
        dest: the namespace attribute that receives the chosen action.
        metavar: how the help names the action.

    Returns:
        The group's sub-parsers, to ``add_parser`` actions on.

    Raises:
        ValueError: ``name`` is already a command without actions (a programming error).
    """
    parser = sub.choices.get(name)
    if parser is None:
        parser = sub.add_parser(name, help=help)
        return parser.add_subparsers(dest=dest, metavar=metavar, required=True)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise ValueError(f"'{name}' is a command without actions; it cannot be shared as a command group")
