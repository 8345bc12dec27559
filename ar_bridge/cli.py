"""``sonoguide watch``: the reference subscriber, to see whether the link to the headset is healthy.

``sonoguide watch [--endpoint E] [--config FILE] [--pairing FILE] [--topics LIST] [--seconds N] [--json]``

Thin argument parsing only; the measuring happens in :mod:`ar_bridge.watch`. A live status line
goes to stderr about once a second, the summary to stdout (with ``--json`` its last line is one
JSON object). Exit code 0 when the link is healthy, 1 when not.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, TextIO


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``watch`` sub-command to the ``sonoguide`` parser."""
    p = sub.add_parser("watch", help="subscribe like a headset and report whether the link is healthy",
                       description="Subscribe to the core's data socket and measure rates, lost messages, "
                                   "latency, heartbeat, expired overlays and contract violations. Exit code 0 "
                                   "when the link is healthy, 1 when not.")
    p.add_argument("--endpoint", metavar="E",
                   help="data endpoint to connect to (default: the pairing bundle's, else network.pub_endpoint, "
                        "tcp://127.0.0.1:5556)")
    p.add_argument("--config", metavar="FILE", help="TOML configuration (the [network] section: endpoint, curve)")
    p.add_argument("--pairing", metavar="FILE",
                   help="headset pairing bundle written by 'sonoguide pair', to watch a CurveZMQ-secured core")
    p.add_argument("--topics", metavar="LIST", help="comma-separated topics to subscribe to (default: all)")
    p.add_argument("--seconds", type=float, metavar="N", help="watch this long (default: until Ctrl-C)")
    p.add_argument("--json", action="store_true", help="end the output with one JSON line of every figure")
    p.add_argument("--no-status", action="store_true", help="do not print the live status line on stderr")
    p.set_defaults(func=_watch)


def _watch(args: argparse.Namespace) -> int:
    from ar_bridge.watch import Watcher, format_summary, load_pairing, run_watch, summary_json
    from core.errors import ConfigError

    net = _network_config(args.config)
    curve, bundle_endpoint = load_pairing(args.pairing) if args.pairing else (None, None)
    if net.curve and curve is None:
        raise ConfigError("network.curve is on: the core only talks to paired headsets; pass --pairing FILE "
                          "(create one with 'sonoguide pair --name watch')")
    if args.seconds is not None and args.seconds <= 0:
        raise ConfigError(f"--seconds must be > 0, got {args.seconds:g}")
    endpoint = args.endpoint or bundle_endpoint or net.pub_endpoint
    watcher = Watcher(endpoint, _topics(args.topics), heartbeat_hz=net.heartbeat_hz, curve=curve is not None)
    status = None if args.no_status else _status_writer(sys.stderr)
    summary = run_watch(watcher, args.seconds, curve=curve, on_status=status)
    if status is not None and sys.stderr.isatty():
        sys.stderr.write("\n")
    print(format_summary(summary))
    if args.json:
        print(summary_json(summary), flush=True)
    return 0 if summary.healthy else 1


def _network_config(path: str | None):
    """The ``[network]`` section of the configuration file (defaults without one)."""
    from ar_bridge.config import NetworkConfig
    from core.configtools import section_from_file
    return section_from_file(NetworkConfig, path, "network")


def _topics(text: str | None) -> tuple[str, ...]:
    """``"overlay,heartbeat"`` → ``("overlay", "heartbeat")``; refuses unknown topics."""
    from ar_bridge.watch import DATA_TOPICS
    from core.errors import ConfigError
    if not text:
        return ()
    topics = tuple(t.strip() for t in text.split(",") if t.strip())
    unknown = [t for t in topics if t not in DATA_TOPICS]
    if unknown or not topics:
        raise ConfigError(f"--topics: unknown topic {unknown[0] if unknown else text!r}; "
                          f"known: {', '.join(DATA_TOPICS)}")
    return topics


def _status_writer(stream: TextIO) -> Callable:
    """A callback that shows the live status: rewritten in place on a terminal, plain lines otherwise."""
    from ar_bridge.watch import format_status
    tty = stream.isatty()

    def write(live) -> None:
        line = format_status(live)
        stream.write(f"\r{line}\x1b[K" if tty else line + "\n")
        stream.flush()
    return write
