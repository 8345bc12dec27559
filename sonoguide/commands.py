"""Core sub-commands: ``demo``, ``run``, ``replay`` and ``config show``.

Thin argument parsing only; the work happens in :mod:`sonoguide.console`, :mod:`sonoguide.runtime`
and :mod:`sonoguide.replay`.
"""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add the core sub-commands to the ``sonoguide`` parser."""
    p = sub.add_parser("demo", help="run the whole guidance loop on the synthetic phantom (no hardware)")
    _loop_args(p)
    p.set_defaults(func=_demo)

    p = sub.add_parser("run", help="run the guidance loop on the sources named in a configuration file")
    _loop_args(p)
    p.set_defaults(func=_run)

    p = sub.add_parser("replay", help="rerun the pipeline from a recording, deterministically")
    p.add_argument("recording", metavar="DIR", help="recording directory written by --record")
    p.add_argument("--config", metavar="FILE", help="TOML configuration (default: the one stored in the recording)")
    p.add_argument("--out", metavar="FILE", help="write the replayed overlays as JSON lines to FILE")
    p.add_argument("--publish", action="store_true",
                   help="also publish the replayed stream at the recorded pace, re-timed to now, as the live loop does")
    p.add_argument("--pub", metavar="ENDPOINT", help="override network.pub_endpoint for --publish")
    p.set_defaults(func=_replay)

    p = sub.add_parser("config", help="configuration tools")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    s = csub.add_parser("show", help="print the effective configuration (file values over defaults) as TOML")
    s.add_argument("--config", metavar="FILE", help="TOML configuration file")
    s.set_defaults(func=_config_show)
    s = csub.add_parser("check", help="validate a configuration file and exit")
    s.add_argument("config", metavar="FILE")
    s.set_defaults(func=_config_check)


    p = sub.add_parser("pair", help="pair a headset for CurveZMQ: create its keys and authorise it")
    p.add_argument("--name", required=True, help="headset name (letters, digits, '-', '_')")
    p.add_argument("--config", metavar="FILE", help="TOML configuration (network.curve_dir and endpoints)")
    p.add_argument("--out", metavar="FILE", help="where to write the headset's key bundle (default: NAME.pairing.json)")
    p.add_argument("--host", help="address the headset connects to, when the core binds a wildcard (tcp://*:5556)")
    p.set_defaults(func=_pair)

    p = sub.add_parser("unpair", help="revoke a paired headset: a running core closes its connections within 1 s")
    p.add_argument("name", metavar="NAME", help="the headset name given to 'sonoguide pair --name'")
    p.add_argument("--config", metavar="FILE", help="TOML configuration (network.curve_dir)")
    p.set_defaults(func=_unpair)


def _pair(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ar_bridge.security import pair_headset
    from sonoguide.config import load_config
    from core.errors import ConfigError
    net = load_config(args.config).network
    pub, ctl = net.pub_endpoint, net.control_endpoint
    if args.host:
        pub, ctl = (_with_host(ep, args.host) for ep in (pub, ctl))
    elif any(h in ep for ep in (pub, ctl) for h in ("://*", "://0.0.0.0")):
        raise ConfigError("the core binds a wildcard address; pass --host with the address the headset connects to")
    bundle = pair_headset(net.curve_dir, args.name, pub, ctl)
    out = Path(args.out or f"{args.name}.pairing.json")
    bundle.save(out)
    print(f"paired {args.name}: copy {out} to the headset (it holds the headset's secret key), then delete it "
          f"here; set network.curve = true to require pairing")
    return 0


def _unpair(args: argparse.Namespace) -> int:
    from ar_bridge.security import unpair_headset
    from sonoguide.config import load_config
    removed = unpair_headset(load_config(args.config).network.curve_dir, args.name)
    print(f"unpaired {args.name}: removed {removed}; a running core refuses it from now on")
    return 0


def _with_host(endpoint: str, host: str) -> str:
    """``tcp://*:5556`` with host ``10.0.0.2`` → ``tcp://10.0.0.2:5556``."""
    scheme, rest = endpoint.split("://", 1)
    port = rest.rsplit(":", 1)[1] if ":" in rest else ""
    return f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}"


def _loop_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="TOML configuration file (default: built-in defaults)")
    p.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this many seconds (default: until Ctrl-C)")
    p.add_argument("--record", metavar="DIR", help="record frames, poses, overlays, voice events and commands to DIR")
    p.add_argument("--no-status", action="store_true", help="do not print the live one-line status")
    p.add_argument("--pub", metavar="ENDPOINT", help="override network.pub_endpoint")
    p.add_argument("--control", metavar="ENDPOINT", help="override network.control_endpoint")
    p.add_argument("--insecure", action="store_true",
                   help="accept plain-text (unencrypted, unauthenticated) binds that other machines can reach; "
                        "without it such endpoints are refused unless network.curve = true")


def _demo(args: argparse.Namespace) -> int:
    from sonoguide.console import run_loop
    return run_loop(args, demo=True)


def _run(args: argparse.Namespace) -> int:
    from sonoguide.console import run_loop
    return run_loop(args, demo=False)


def _replay(args: argparse.Namespace) -> int:
    from sonoguide.replay import replay
    return replay(args)


def _config_show(args: argparse.Namespace) -> int:
    from sonoguide.config import dump_toml, load_config
    print(dump_toml(load_config(args.config)), end="")
    return 0


def _config_check(args: argparse.Namespace) -> int:
    from sonoguide.config import load_config, require_paths
    require_paths(load_config(args.config), args.config)
    print(f"{args.config}: ok")
    return 0
