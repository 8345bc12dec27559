"""Application functions behind ``sonoguide voice listen`` and ``voice calibrate``."""

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

from sonoguide.configtools import section_from_dict
from sonoguide.errors import ConfigError
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
        cfg = dataclasses.replace(cfg, input="wav", wav_path=args.wav, wav_realtime=bool(args.realtime), wav_loop=False)
    elif args.zmq is not None:
        cfg = dataclasses.replace(cfg, input="zmq", zmq_endpoint=args.zmq or cfg.zmq_endpoint)
    publisher = None
    if args.pub:
        from ar_bridge.publisher import Publisher, PublisherConfig

        publisher = Publisher(PublisherConfig(endpoint=args.pub))
        publisher.start()
    lock = threading.Lock()

    def on_event(ev: VoiceEvent) -> None:
        if publisher is not None:
            from ar_bridge.schema import TOPIC_VOICE

            publisher.publish(TOPIC_VOICE, ev.t_end_ns, ev.to_body())
        if args.all:
            line = ev.to_body()
        elif ev.decision in (Decision.ACCEPTED, Decision.CONFIRMED):
            line = {"intent": ev.intent, "text": ev.text, "confidence": round(ev.confidence, 4), "t_end_ns": ev.t_end_ns}
        else:
            return
        with lock:
            print(json.dumps(line, ensure_ascii=False), flush=True)

    source = open_audio_source(cfg)
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


def calibrate_cmd(args: argparse.Namespace, cfg: VoiceConfig) -> int:
    """Evaluate on the manifest with thresholds disabled and choose per-intent thresholds."""
    import math

    from voice.commandset import load_command_set
    from voice.engines.select import build_engine
    from voice.evaluate import evaluate

    cs = load_command_set(cfg.command_set_path())
    engine, cal = build_engine(cfg, cs)
    if args.samples and Path(args.samples).is_file():
        samples = [tuple(x) for x in json.loads(Path(args.samples).read_text())]
        samples = [(e, r, math.nan if s is None else s) for e, r, s in samples]
        penalty = args.garbage_penalty if args.garbage_penalty is not None else cal.garbage_penalty_log10
        return _write_calibration(args, cfg, engine.name, penalty, samples)
    if args.garbage_penalty is not None and engine.name == "pocketsphinx":
        from voice.engines.sphinx import SphinxEngine

        engine = SphinxEngine(cs, args.garbage_penalty, wake_word=cfg.wake_word)
        cal = dataclasses.replace(cal, garbage_penalty_log10=args.garbage_penalty)
    open_cal = dataclasses.replace(cal, thresholds={}, default_threshold=-math.inf)
    import sys

    _, results = evaluate(cfg, args.manifest, progress=sys.stderr.isatty(), engine=engine, calibration=open_cal,
                          command_set=cs)
    samples = [(r.expect, r.structural_intent, r.score) for r in results]
    if args.samples:
        Path(args.samples).write_text(json.dumps([(e, r, None if math.isnan(s) else s) for e, r, s in samples]))
    return _write_calibration(args, cfg, engine.name, cal.garbage_penalty_log10, samples)


def _write_calibration(args: argparse.Namespace, cfg: VoiceConfig, engine: str, penalty: float, samples) -> int:
    from voice.calibration import bundled_calibration_path, calibrate, save_calibration

    new = calibrate(samples, engine, cfg.lang, penalty, fa_target=args.fa_target,
                    safety_quantile=args.safety_quantile, meta={"data": str(args.manifest)})
    out = Path(args.out) if args.out else bundled_calibration_path(engine, cfg.lang)
    save_calibration(new, out)
    print(f"wrote {out}: default threshold {new.default_threshold:.4f}, {len(new.thresholds)} intents")
    return 0
