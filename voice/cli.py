"""``sonoguide voice ...`` and ``sonoguide models ...`` sub-commands of the live system (thin argument parsing).

- ``voice listen [--wav FILE] [--engine vosk|pocketsphinx] [--lang en|ko]``: one JSON line per
  accepted command ``{"intent", "text", "confidence", "t_end_ns"}``.
- ``models fetch vosk-en``: download and verify the English Vosk model.

The ``voice`` group is shared: evaluation, calibration, data generation and verifier training
(``voice eval / calibrate / gen-data / train-verifier / combine-verifiers``) are registered on it
by :mod:`research.voice.cli` through :func:`voice_actions`.
"""

from __future__ import annotations

import argparse
import sys

from core.subcommands import command_group


def voice_actions(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """The actions of the ``sonoguide voice`` group (created by whichever package registers first)."""
    return command_group(sub, "voice", help="sterile-field voice commands: listen, evaluate, calibrate, generate data",
                         dest="voice_command")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``voice listen`` and the ``models`` command group."""
    vsub = voice_actions(sub)

    s = vsub.add_parser("listen", help="recognise commands from the microphone, a WAV or the headset stream")
    common_options(s)
    s.add_argument("--wav", metavar="FILE", help="read this WAV file instead of the configured input")
    s.add_argument("--zmq", metavar="ENDPOINT", nargs="?", const="",
                   help="listen to 16 kHz PCM from the headset (PULL bound at ENDPOINT, default voice.input.zmq_endpoint)")
    s.add_argument("--realtime", action="store_true", help="play --wav at real-time pace (default: as fast as possible)")
    s.add_argument("--duration", type=float, metavar="SECONDS", help="stop after this long (live inputs)")
    s.add_argument("--all", action="store_true", help="print every decision, not only accepted commands")
    s.add_argument("--pub", metavar="ENDPOINT", help="also publish decisions as 'voice' messages on this PUB endpoint")
    s.set_defaults(func=_listen)

    p = sub.add_parser("models", help="speech models")
    msub = p.add_subparsers(dest="models_command", metavar="ACTION", required=True)
    s = msub.add_parser("fetch", help="download and verify a model (needs internet)")
    s.add_argument("name", choices=("vosk-en",), help="vosk-en: vosk-model-small-en-us-0.15 (Apache-2.0)")
    s.add_argument("--dir", metavar="DIR", help="model directory (default: voice.engine.model_dir or the user data dir)")
    s.add_argument("--url", help="download from this URL instead of the official one")
    s.add_argument("--sha256", help="expected SHA-256 of the archive (default: the pinned value)")
    s.add_argument("--force", action="store_true", help="download again even if installed")
    s.set_defaults(func=_fetch)


def common_options(s: argparse.ArgumentParser) -> None:
    """The options every recognising action takes: configuration, engine, language, command set,
    calibration, verifier and endpointer."""
    s.add_argument("--config", metavar="FILE", help="TOML configuration (its [voice] section)")
    s.add_argument("--engine", choices=("auto", "vosk", "pocketsphinx"))
    s.add_argument("--lang", help="command-set language (en, ko)")
    s.add_argument("--command-set", metavar="TOML")
    s.add_argument("--calibration", metavar="JSON")
    s.add_argument("--verifier", metavar="DIR", help="learned intent verifier: 'auto' (default), 'bundled', 'off' "
                                                     "(the engine's score alone, round 1) or a directory")
    s.add_argument("--vad", choices=("learned", "energy"), help="endpointer (default: learned)")


_OPTION_KEYS = (("engine", "engine.name"), ("lang", "lang"), ("command_set", "command_set"),
                ("calibration", "defence.calibration"), ("verifier", "defence.verifier"), ("vad", "vad.kind"))
"""Command-line option -> ``[voice]`` key it overrides."""


def voice_config(args: argparse.Namespace, over: dict | None = None):
    """The ``[voice]`` section from ``--config`` with command-line overrides.

    Args:
        args: parsed options (``--engine``, ``--lang``, ``--command-set``, ``--calibration``,
            ``--verifier``, ``--vad``; absent ones change nothing).
        over: further ``[voice]`` keys, dotted for a sub-section (``{"defence.naive": True}``);
            ``None`` values change nothing.
    """
    from core.configtools import replace_keys
    from voice.config import VoiceConfig

    cfg = VoiceConfig()
    if getattr(args, "config", None):
        from voice.listen_app import load_voice_section

        cfg = load_voice_section(args.config)
    changes = {key: v for opt, key in _OPTION_KEYS if (v := getattr(args, opt, None))}
    changes.update({k: v for k, v in (over or {}).items() if v is not None})
    return replace_keys(cfg, changes)


def _listen(args: argparse.Namespace) -> int:
    from voice.listen_app import listen

    return listen(args, voice_config(args))


def _fetch(args: argparse.Namespace) -> int:
    from pathlib import Path

    from voice.fetch import fetch_vosk_en
    from voice.config import default_model_dir

    path = fetch_vosk_en(Path(args.dir) if args.dir else default_model_dir(), url=args.url, sha256=args.sha256,
                         force=args.force, progress=sys.stderr.isatty())
    print(path)
    return 0
