"""The ``demo`` / ``run`` command line: the live status line, signals, the summary and the exit status.

:func:`run_loop` builds the :class:`~sonoguide.runtime.Runtime` from the configuration (with the
command line's overrides), shows the status line until ``--duration``, the end of the source,
SIGINT or SIGTERM, then takes the runtime's one shutdown path and prints the summary.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
import threading
import time
from typing import Any

from core.errors import ConfigError, SonoguideError
from sonoguide.config import Config, load_config, require_paths
from sonoguide.runtime import Runtime, Summary

log = logging.getLogger(__name__)


def _apply_overrides(config: Config, args: argparse.Namespace, demo: bool) -> Config:
    net = config.network
    if getattr(args, "insecure", False):
        net = dataclasses.replace(net, insecure=True)
    if getattr(args, "pub", None) or getattr(args, "control", None):
        try:
            net = dataclasses.replace(net, pub_endpoint=args.pub or net.pub_endpoint,
                                      control_endpoint=args.control or net.control_endpoint)
        except ConfigError as exc:
            raise ConfigError(f"command line: {exc}") from None
    config = config.replace(network=net)
    if demo:  # the demo never touches hardware besides an optional microphone
        from sonoguide.config import UltrasoundConfig
        if config.ultrasound.source != "phantom" or config.camera.source not in ("synthetic", "none"):
            log.warning("demo: using the phantom and the synthetic camera (configured sources are for 'run')")
        config = config.replace(ultrasound=UltrasoundConfig(source="phantom", fps=config.ultrasound.fps),
                                camera=dataclasses.replace(config.camera, source="synthetic", intrinsics="")
                                if config.camera.source != "none" else config.camera,
                                calibration=dataclasses.replace(config.calibration, image_to_marker="",
                                                                camera_to_headset=""))
    return config


EXIT_CODES = {"finished": 0, "duration": 0, "SIGINT": 130, "SIGTERM": 143}
"""Exit status per way of ending (128 + signal number for the signals, as shells report them)."""


class StopSignals:
    """SIGINT and SIGTERM become a stop request for the one shutdown path (main thread only).

    The first signal sets :attr:`event` and names itself in :attr:`reason`; a second SIGINT
    while shutting down raises ``KeyboardInterrupt`` as usual, for a user who must get out.
    """

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reason: str | None = None
        self._old: dict[int, Any] = {}

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._on_signal)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)

    def _on_signal(self, signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if self.event.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.reason = self.reason or name
        self.event.set()


def run_loop(args: argparse.Namespace, demo: bool) -> int:
    """``sonoguide demo`` / ``sonoguide run``: run until Ctrl-C, SIGTERM, ``--duration`` or the source ends.

    Every way of ending takes :meth:`Runtime.stop`: the summary is printed and the recording
    closed with its end record; the exit status is 0, 130 (SIGINT) or 143 (SIGTERM).
    """
    if args.duration is not None and args.duration <= 0:
        raise ConfigError("--duration must be a positive number of seconds")
    config = _apply_overrides(load_config(args.config), args, demo)
    require_paths(config, args.config or "configuration")  # every missing file at once, before anything starts
    with StopSignals() as signals:
        runtime = Runtime(config, demo=demo, record=args.record)
        if signals.event.is_set():  # stopped while loading: nothing bound yet
            return EXIT_CODES[signals.reason or "finished"]
        runtime.start()
        reason = _wait(runtime, signals, args)
        summary = runtime.stop(reason)
    _print_summary(summary, tty=sys.stderr.isatty() and not args.no_status)
    if summary.error:
        raise SonoguideError(summary.error)
    return EXIT_CODES[reason]


def _wait(runtime: Runtime, signals: StopSignals, args: argparse.Namespace) -> str:
    """Show the status line until the run should end; returns why it ends."""
    tty = sys.stderr.isatty()
    period = 1.0 / runtime.config.pipeline.status_hz
    end = time.monotonic() + args.duration if args.duration else None
    while True:
        if signals.event.is_set():
            return signals.reason or "SIGINT"
        if runtime.pipeline.finished.is_set():
            return "finished"
        now = time.monotonic()
        if end is not None and now >= end:
            return "duration"
        signals.event.wait(min(period, end - now) if end is not None else period)
        if not args.no_status:
            line = runtime.status_line()
            print(("\r" + line + "\x1b[K") if tty else line, end="" if tty else "\n", file=sys.stderr, flush=True)


def _print_summary(s: Summary, tty: bool) -> None:
    if tty:
        print(file=sys.stderr)
    lat = s.latency_ms
    lat_s = (f"p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms, p99 {lat['p99']:.1f} ms" if lat else "n/a")
    how = {"finished": "finished", "duration": "finished", "SIGINT": "interrupted (SIGINT)",
           "SIGTERM": "terminated (SIGTERM)"}.get(s.stop_reason, s.stop_reason)
    restarts = f", control channel restarted {s.control_restarts}x" if s.control_restarts else ""
    restarts += f", overloaded for {s.overloaded_s:.1f} s" if s.overloaded_s > 0 else ""
    print(f"{how} after {s.duration_s:.1f} s: {s.overlays} overlays "
          f"({s.overlay_hz:.1f} Hz), capture-to-publish latency {lat_s}, dropped frames {s.dropped_frames}, "
          f"camera {s.camera_hz:.1f} Hz, peak subscribers {s.subscribers}, voice commands {s.voice_commands}, "
          f"snapshots {s.snapshots}{restarts}", flush=True)
