"""Application functions behind ``sonoguide voice listen`` (``voice calibrate``: :mod:`research.voice.calibrate`)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import signal
import threading
import time
import tomllib
from pathlib import Path

from core.configtools import section_from_dict
from core.errors import ConfigError
from voice.config import VoiceConfig
from voice.events import Decision, VoiceEvent

log = logging.getLogger(__name__)


def load_voice_section(path: str | Path) -> VoiceConfig:
    """The ``[voice]`` table of a TOML file (other tables are ignored here)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"configuration file {p} not found")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p} is not valid TOML: {exc}") from None
    return section_from_dict(VoiceConfig, data.get("voice"), "voice")


def listen(args: argparse.Namespace, cfg: VoiceConfig) -> int:
    """Run the listener and print one JSON line per accepted command (every decision with --all)."""
    from voice.audio.sources import open_audio_source
    from voice.engines.select import choose_engine
    from voice.listener import VoiceListener

    choose_engine(cfg)  # configuration errors first, before any device is opened

    if args.wav:
        cfg = dataclasses.replace(cfg, input=dataclasses.replace(cfg.input, source="wav", wav_path=args.wav,
                                                                 wav_realtime=bool(args.realtime), wav_loop=False))
    elif args.zmq is not None:
        cfg = dataclasses.replace(cfg, input=dataclasses.replace(cfg.input, source="zmq",
                                                                 zmq_endpoint=args.zmq or cfg.input.zmq_endpoint))
    publisher = None
    if args.pub:
        from ar_bridge.config import NetworkConfig
        from ar_bridge.publisher import Publisher

        publisher = Publisher(NetworkConfig(pub_endpoint=args.pub))  # heartbeat defaults: no video
        publisher.start()
    lock = threading.Lock()

    def on_event(ev: VoiceEvent) -> None:
        if publisher is not None:
            from ar_bridge.messages import VoiceMessage
            from ar_bridge.schema import TOPIC_VOICE

            publisher.publish(TOPIC_VOICE, ev.t_end_ns, VoiceMessage(**ev.to_body()).to_body())
        if args.all:
            line = ev.to_body()
        elif ev.decision in (Decision.ACCEPTED, Decision.CONFIRMED):
            line = {"intent": ev.intent, "text": ev.text, "confidence": round(ev.confidence, 4), "t_end_ns": ev.t_end_ns}
        else:
            return
        with lock:
            print(json.dumps(line, ensure_ascii=False), flush=True)

    source = open_audio_source(cfg.input)
    listener = VoiceListener(cfg, source, on_event)
    stop = threading.Event()
    old = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        listener.start()
        t_end = time.monotonic() + args.duration if args.duration else None
        while not stop.is_set() and listener.running:
            if t_end is not None and time.monotonic() >= t_end:
                break
            stop.wait(0.1)
    finally:
        listener.stop()
        signal.signal(signal.SIGTERM, old)
        if publisher is not None:
            publisher.stop()
    return 0
