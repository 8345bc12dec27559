"""Application functions behind ``sonoguide demo``, ``run`` and ``replay``.

:func:`build_runtime` turns a :class:`~sonoguide.config.Config` into running parts (sources,
stages, publisher, control server, voice listener); :class:`Runtime` starts and stops them in
order and reports; :func:`run_loop` is the CLI's loop with the live status line and the summary;
:func:`replay` reruns a recording through the same frame processor.
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import logging
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ar_bridge.control import ControlRequest, ControlServer
from ar_bridge.publisher import Publisher
from core.frames import FrameName
from sonoguide.compose import CalibrationChain, OverlayComposer, state_message, voice_message
from sonoguide.config import Config, dump_toml, load_config, require_paths
from core.errors import CalibrationError, ConfigError, RecordingError, SonoguideError
from sonoguide.pipeline import FrameProcessor, Pipeline, RateMeter, StageStats, pose_from_record
from sonoguide.recording import Recorder, read_meta, read_records
from sonoguide.state import CommandProcessor, GuidanceState
from core.types import Frame

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------- building
def _us_source(config: Config, realtime: bool = True) -> Any:
    us = config.ultrasound
    if us.source == "phantom":
        from vision.sources.phantom import PhantomSource
        return PhantomSource(config.phantom, fps=us.fps, realtime=realtime)
    if us.source.startswith("folder:"):
        from vision.sources.folder import ImageFolderSource
        return ImageFolderSource(us.source.split(":", 1)[1], fps=us.fps, gray=True, mm_per_px=us.mm_per_px,
                                 loop=us.loop)
    from vision.sources.video import VideoSource
    return VideoSource(us.source, gray=True, mm_per_px=us.mm_per_px, loop=us.loop, key="ultrasound.source")


def _camera_parts(config: Config) -> tuple[Any, Any, Any]:
    """Camera source, intrinsics and board for the configured camera (``None`` when off)."""
    cam = config.camera
    if cam.source == "none":
        return None, None, None
    if cam.source.startswith("igtl:"):
        from vision.tracking.igtl import IgtlConfig, IgtlPoseSource
        host, _, port = cam.source[5:].rpartition(":")
        src = IgtlPoseSource(IgtlConfig(host=host, port=int(port), device_name=cam.igtl_device))
        src.connect()
        return src, None, None
    from vision.tracking.board import load_board
    from vision.sources.marker_camera import DEFAULT_BOARD, SyntheticMarkerCamera, synthetic_intrinsics
    board = load_board(cam.board) if cam.board else load_board(DEFAULT_BOARD)
    if cam.source == "synthetic":
        from core.camera import CameraIntrinsics
        K = CameraIntrinsics.load(cam.intrinsics) if cam.intrinsics else synthetic_intrinsics(cam.width, cam.height)
        return SyntheticMarkerCamera(K, board, fps=cam.fps, seed=cam.seed), K, board
    from core.camera import CameraIntrinsics
    K = CameraIntrinsics.load(cam.intrinsics)
    if cam.source.startswith("folder:"):
        from vision.sources.folder import ImageFolderSource
        return ImageFolderSource(cam.source.split(":", 1)[1], fps=cam.fps), K, board
    from vision.sources.video import VideoSource
    return VideoSource(cam.source, key="camera.source"), K, board


def _chain(config: Config, tracked: bool) -> CalibrationChain | None:
    """The static links: calibration files, or the simulated rig for the phantom + synthetic camera."""
    if not tracked:
        return None
    cal = config.calibration
    simulated = config.ultrasound.source == "phantom" and config.camera.source == "synthetic"
    if not cal.image_to_marker or not cal.camera_to_headset:
        if not simulated:
            missing = "calibration.image_to_marker" if not cal.image_to_marker else "calibration.camera_to_headset"
            raise CalibrationError(f"{missing} is not set; a tracked real probe needs both calibration files "
                                   "(or set camera.source = \"none\" to run without placement)")
        from calibration.simulated import simulated_graph
        g = simulated_graph(config.phantom.mm_per_px, config.phantom.width_px)
        return CalibrationChain(g.get(FrameName.HEADSET, FrameName.CAMERA), g.get(FrameName.MARKER, FrameName.IMAGE))
    from calibration.io import load_calibration
    img = load_calibration(cal.image_to_marker, FrameName.IMAGE, FrameName.MARKER, cal.max_rms_mm,
                           {"probe": cal.probe_id, "camera": cal.camera_id})
    hs = load_calibration(cal.camera_to_headset, FrameName.CAMERA, FrameName.HEADSET, cal.max_rms_mm,
                          {"camera": cal.camera_id, "headset": cal.headset_id})
    return CalibrationChain(hs.matrix, img.matrix)


def build_processor(config: Config, chain: CalibrationChain | None, stats: StageStats | None = None) -> FrameProcessor:
    """Segmenter, needle tracker and composer as configured."""
    segmenter = needle = None
    if config.pipeline.segmentation:
        from vision.segmentation import Segmenter
        segmenter = Segmenter(config.segmentation)
    if config.pipeline.needle:
        from vision.needle.tracker import NeedleTracker
        needle = NeedleTracker(config.needle)
    composer = OverlayComposer(chain, config.pipeline.overlay_validity_ms, config.pipeline.send_image)
    return FrameProcessor(segmenter, needle, composer, stats or StageStats())


# ---------------------------------------------------------------------------------------- runtime
@dataclass
class Summary:
    """What a run did, printed at its end."""

    duration_s: float
    overlays: int
    overlay_hz: float
    latency_ms: dict[str, float]
    dropped_frames: int
    camera_hz: float
    subscribers: int
    voice_commands: int
    snapshots: int
    error: str | None
    control_restarts: int = 0
    stop_reason: str = "finished"


class Runtime:
    """Every running part of the guidance loop, started and stopped in order.

    Args:
        config: the validated configuration.
        demo: use the microphone if present, else the bundled scripted WAV, for voice.
        record: recording folder to write from the start, or ``None``.
        voice: start the voice listener.
    """

    def __init__(self, config: Config, demo: bool = False, record: str | None = None, voice: bool = True) -> None:
        self.config = config
        self.demo = demo
        self._record_dir = record
        self._want_voice = voice
        self.stats = StageStats()
        self.voice_listener: Any = None
        self.voice_count = 0
        self.max_subscribers = 0
        self.t_start = 0.0
        self.t_stop = 0.0
        self._stopping = threading.Event()
        self._final: Summary | None = None
        self._build()

    # .................................................................. construction
    def _build(self) -> None:
        cfg = self.config
        voice_bind = ({"voice.zmq_endpoint": cfg.voice.zmq_endpoint}
                      if self._want_voice and cfg.voice.enabled and cfg.voice.input == "zmq" else {})
        cfg.network.check_exposure(voice_bind)  # before anything binds or loads
        if cfg.igtl_server.enabled:  # OpenIGTLink is plain text whatever network.curve says
            from ar_bridge.config import check_exposure
            check_exposure({"igtl_server.host": f"tcp://{cfg.igtl_server.host}:{cfg.igtl_server.port}"},
                           curve=False, insecure=cfg.network.insecure)
        if cfg.pipeline.opencv_threads > 0:
            import cv2
            cv2.setNumThreads(cfg.pipeline.opencv_threads)
        self.us_source = _us_source(cfg)
        self.camera_source, self.intrinsics, self.board = _camera_parts(cfg)
        tracked = self.camera_source is not None
        self.chain = _chain(cfg, tracked)
        self.processor = build_processor(cfg, self.chain, self.stats)
        self.tracker = self.pose_filter = self.pose_buffer = None
        if tracked:
            from vision.tracking.filter import PoseFilter
            from vision.tracking.sync import PoseBuffer
            from vision.tracking.tracker import BoardTracker
            if self.board is not None:  # camera frames; else poses arrive ready (OpenIGTLink)
                self.tracker = BoardTracker(self.board, self.intrinsics, cfg.tracking)
            self.pose_filter = PoseFilter(cfg.tracking)
            self.pose_buffer = PoseBuffer(cfg.tracking)
        from voice.commandset import load_command_set
        from voice.confirm import ConfirmationGate
        self.gate = ConfirmationGate(load_command_set(cfg.voice.command_set_path()), cfg.voice.confirm_window_s)
        self.commands = CommandProcessor(self.gate, actions={
            "snapshot": self._snapshot, "start recording": self._start_recording,
            "stop recording": self._stop_recording})
        self.commands.on_expired = self._on_confirmation_expired
        self.security = None
        if cfg.network.curve:
            from ar_bridge.security import CurveSecurity
            self.security = CurveSecurity(cfg.network.curve_dir, on_revoked=self._on_revoked)
        setup = self.security.setup if self.security is not None else None
        self.publisher = Publisher(cfg.network, heartbeat_body=self._heartbeat, socket_setup=setup)
        self.publisher.on_sent = self._on_sent
        self.control = ControlServer(cfg.network.control_endpoint, self._handle_control, socket_setup=setup)
        self.pipeline = Pipeline(self.us_source, self.processor, self.publisher, self.commands,
                                 self.camera_source, self.tracker, self.pose_filter, self.pose_buffer)
        self.pipeline.record_camera_poses = cfg.recording.camera_poses
        self.slicer = None
        if cfg.igtl_server.enabled:
            from ar_bridge.igtl_server import SlicerServer
            self.slicer = SlicerServer(cfg.igtl_server)
            self.pipeline.on_overlay = lambda frame, overlay: self.slicer.offer(frame.image, overlay)

    # .................................................................. lifecycle
    def start(self) -> None:
        """Bind the sockets, start recording, the pipeline and the voice listener."""
        self.publisher.start()
        try:
            self.control.start()
            if self.slicer is not None:
                self.slicer.start()
        except SonoguideError:
            self.control.stop()
            self.publisher.stop()
            raise
        self.commands.add_listener(self._on_state)
        self.publisher.set_state(state_message(self.commands.state).to_body())
        if self._record_dir:
            err = self._start_recording(self._record_dir)
            if err:
                self.stop()
                raise RecordingError(err)
            self.commands.update(recording=True)
        self.t_start = time.monotonic()
        self.pipeline.start()
        if self._want_voice and self.config.voice.enabled:
            self._start_voice()
        self._housekeeping = threading.Thread(target=self._housekeep, name="housekeeping", daemon=True)
        self._housekeeping.start()

    def _housekeep(self) -> None:
        """Once a second: the voice noise level into the state (on a change of 1 dB or more)."""
        while not self._stopping.wait(1.0):
            listener = self.voice_listener
            if listener is not None:
                level = round(float(listener.noise_dbfs))
                current = self.commands.state.noise_dbfs
                if current is None or abs(current - level) >= 1.0:
                    self.commands.update(noise_dbfs=float(level))

    def _start_voice(self) -> None:
        from sonoguide.voice_process import VoiceProcess
        self.voice_listener = VoiceProcess(
            self.config.voice, self.config.network.curve_dir if self.security is not None else None,
            self._on_voice, self.gate, on_ready=self._on_voice_ready, on_error=self._on_voice_error, demo=self.demo)
        self.voice_listener.start()

    def _on_voice_ready(self, engine: str) -> None:
        log.info("voice listener running: engine %s", engine)
        self.commands.update(voice_engine=engine)

    def _on_voice_error(self, reason: str) -> None:
        # guidance works without voice; say so plainly
        log.error("voice commands are off: %s", reason)
        self.commands.update(voice_engine=None)

    def stop(self, reason: str = "finished") -> Summary:
        """The one shutdown path (``--duration``, end of source, SIGINT, SIGTERM): returns the summary.

        Order: the voice child is asked to end (no wait); the sources stop and the stages finish
        the frame in hand, so nothing is published or recorded after this point; the summary is
        taken; the recording gets its end record (with the summary) and is closed; then the
        voice child is joined (bounded), and the sockets close. Idempotent: a second call returns
        the first summary.
        """
        if self._final is not None:
            return self._final
        self._stopping.set()
        listener = self.voice_listener
        if listener is not None:
            listener.request_stop()
        self.pipeline.stop()
        self.t_stop = time.monotonic()
        if self.slicer is not None:
            self.slicer.stop()
        summary = dataclasses.replace(self.summary(), stop_reason=reason)
        rec = self.pipeline.recorder
        if rec is not None:
            self.pipeline.recorder = None
            rec.close(reason=reason, summary=dataclasses.asdict(summary))
        if listener is not None:
            listener.stop()
            self.voice_listener = None
        self.control.stop()
        self.publisher.stop()
        if self.security is not None:
            self.security.stop()
            self.security = None
        self._final = summary
        return summary

    def _on_revoked(self, names: set[str]) -> None:
        """A headset's key left the allow-list: end every connection, so it must authenticate again."""
        self.publisher.rebind()
        self.control.rebind()

    # .................................................................. callbacks
    def _on_sent(self, topic: str, t_capture_ns: int, t_publish_ns: int) -> None:
        if topic == "overlay":
            self.stats.add("total", (t_publish_ns - t_capture_ns) / 1e6)

    def _heartbeat(self) -> dict[str, Any]:
        s = self.commands.state
        self.max_subscribers = max(self.max_subscribers, self.publisher.peers)
        return {"overlay_hz": round(self.pipeline.overlay_rate.rate(), 2), "tracking": s.tracking,
                "frozen": s.frozen, "state_version": s.version, "control": self.control.status}

    def _on_state(self, state: GuidanceState) -> None:
        body = state_message(state).to_body()
        self.publisher.set_state(body)
        rec = self.pipeline.recorder
        if rec is not None:
            rec.write("state", {"state": body})

    def _record(self, rtype: str, header: dict[str, Any]) -> None:
        rec = self.pipeline.recorder
        if rec is not None:
            try:
                rec.write(rtype, header)
            except SonoguideError as exc:
                log.error("recording stopped: %s", exc)

    def _handle_control(self, req: ControlRequest) -> dict[str, Any]:
        if req.command == "ping":
            return {"ok": True}
        if req.command == "get_state":
            return {"ok": True, "state": state_message(self.commands.state).to_body()}
        if req.command == "get_stats":
            return {"ok": True, "stages": self.stats.table(), "overlay_hz": self.pipeline.overlay_rate.rate()}
        res = self.commands.submit(req.command, origin="control")
        self._record("command", {"origin": "control", "id": req.id, "command": req.command,
                                 "result": dataclasses.asdict(res)})
        out: dict[str, Any] = {"ok": res.ok, "status": res.status, "intent": res.intent}
        if res.error:
            out["error"] = res.error
        return out

    def _publish_voice(self, event: Any, audit: bool) -> None:
        """Publish and record a voice decision; ``audit`` for decisions the listener did not log itself."""
        body = voice_message(event).to_body()
        self.publisher.publish("voice", event.t_end_ns, body)
        self._record("voice", {"event": body})
        listener = self.voice_listener
        if audit and listener is not None and listener.audit is not None:
            try:
                listener.audit.write_event(event)
            except (OSError, ValueError) as exc:
                log.error("audit log write failed: %s", exc)

    def _on_voice(self, event: Any) -> None:
        """A decision of the voice listener: publish it, record it, apply it to the state."""
        from voice.events import Decision
        self._publish_voice(event, audit=False)
        res = self.commands.apply_voice(event)
        if res is None:
            return
        self.voice_count += int(res.ok)
        self._record("command", {"origin": "voice", "command": event.intent, "result": dataclasses.asdict(res)})
        if not res.ok:  # e.g. a snapshot before the first frame: tell the headset why nothing happened
            self._publish_voice(dataclasses.replace(event, t_event_ns=time.time_ns(), decision=Decision.REJECTED,
                                                    reason=res.error or "failed"), audit=True)

    def _on_confirmation_expired(self, intent: str, t_ns: int) -> None:
        from voice.events import Decision, VoiceEvent
        listener = self.voice_listener
        self._publish_voice(VoiceEvent(
            t_end_ns=t_ns, t_event_ns=t_ns, text="", confidence=0.0, intent=intent, decision=Decision.EXPIRED,
            reason="not confirmed in time", engine=listener.engine_name if listener is not None else "control",
            noise_dbfs=listener.noise_dbfs if listener is not None else -96.0), audit=True)

    # .................................................................. actions
    def _snapshot(self) -> str | None:
        last = self.pipeline.last
        if last is None:
            return "no frame has been processed yet"
        frame, overlay = last
        from sonoguide.snapshot import write_snapshot
        try:
            path = write_snapshot(Path(self.config.pipeline.snapshot_dir), frame, overlay)
        except OSError as exc:
            return f"snapshot could not be written to {self.config.pipeline.snapshot_dir}: {exc.strerror}"
        log.info("snapshot written to %s", path)
        return None

    def _start_recording(self, directory: str | None = None) -> str | None:
        if self.pipeline.recorder is not None:
            return "already recording"
        d = Path(directory) if directory else Path(self.config.recording.dir) / time.strftime("%Y%m%d-%H%M%S")
        meta = {"config_toml": dump_toml(self.config), "demo": self.demo,
                "chain": None if self.chain is None else {
                    "T_headset_from_camera": self.chain.T_headset_from_camera.tolist(),
                    "T_marker_from_image": self.chain.T_marker_from_image.tolist()},
                "model": getattr(self.processor.segmenter, "model_id", None)}
        try:
            self.pipeline.recorder = Recorder(d, meta)
        except RecordingError as exc:
            return str(exc)
        log.info("recording to %s", d)
        return None

    def _stop_recording(self) -> str | None:
        rec = self.pipeline.recorder
        if rec is None:
            return "not recording"
        self.pipeline.recorder = None
        rec.close()
        return None

    # .................................................................. reporting
    def status_line(self) -> str:
        """The live one-line status."""
        s = self.commands.state
        lat = self.stats.percentiles("total", (50, 99))
        lat_s = f"{lat[0]:5.1f}/{lat[1]:5.1f} ms" if lat else "  -  /  -   ms"
        last = s.last_command["intent"] if s.last_command else "-"
        self.max_subscribers = max(self.max_subscribers, self.publisher.peers)
        flags = "".join([" FROZEN" if s.frozen else "", " REC" if s.recording else "",
                         f" CONTROL {self.control.status.upper()}" if self.control.status != "up" else "",
                         f" confirm? {s.pending_confirmation}" if s.pending_confirmation else ""])
        return (f"{self.pipeline.overlay_rate.rate():5.1f} fps | latency p50/p99 {lat_s} | "
                f"subscribers {self.publisher.peers} | voice: {last} | tracking: {s.tracking}{flags}")

    def summary(self) -> Summary:
        """Figures of the run so far."""
        dur = (self.t_stop or time.monotonic()) - self.t_start if self.t_start else 0.0
        lat = self.stats.table().get("total", {})
        return Summary(
            duration_s=dur, overlays=self.publisher.sent["overlay"],
            overlay_hz=self.publisher.sent["overlay"] / dur if dur > 0 else 0.0,
            latency_ms={k: lat[k] for k in ("p50", "p95", "p99") if k in lat},
            dropped_frames=self.pipeline.dropped_frames,
            camera_hz=self.pipeline.camera_rate.total / dur if dur > 0 else 0.0,
            subscribers=self.max_subscribers, voice_commands=self.voice_count,
            snapshots=self.commands.state.snapshots,
            error=self._error_text(), control_restarts=self.control.restarts)

    def _error_text(self) -> str | None:
        """What went wrong in the run, or ``None``: a stage that stopped, a control channel that is down."""
        if self.pipeline.error is not None:
            return f"the pipeline stopped: {self.pipeline.error}"
        if self.control.status != "up":
            return f"the control channel is {self.control.status}: {self.control.last_failure or 'unknown failure'}"
        return None


# ---------------------------------------------------------------------------------------- CLI loop
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
        from sonoguide.config import CameraConfig, UltrasoundConfig
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
    print(f"{how} after {s.duration_s:.1f} s: {s.overlays} overlays "
          f"({s.overlay_hz:.1f} Hz), capture-to-publish latency {lat_s}, dropped frames {s.dropped_frames}, "
          f"camera {s.camera_hz:.1f} Hz, peak subscribers {s.subscribers}, voice commands {s.voice_commands}, "
          f"snapshots {s.snapshots}{restarts}", flush=True)


# ---------------------------------------------------------------------------------------- replay
def replay(args: argparse.Namespace) -> int:
    """``sonoguide replay DIR``: rerun the recorded frames and compare with the recorded overlays."""
    from ar_bridge.messages import OverlayMessage  # noqa: F401  (documents the compared type)
    meta = read_meta(args.recording)
    if args.config:
        config = load_config(args.config)
    elif "config_toml" in meta:
        import tomllib
        from sonoguide.config import config_from_dict
        config = config_from_dict(tomllib.loads(meta["config_toml"]), source=f"{args.recording}/meta.json")
    else:
        config = Config()
    chain = None
    if meta.get("chain"):
        c = meta["chain"]
        chain = CalibrationChain(np.asarray(c["T_headset_from_camera"]), np.asarray(c["T_marker_from_image"]))
    processor = build_processor(config, chain)
    seg = processor.segmenter
    if seg is not None and meta.get("model") and getattr(seg, "model_id", None) != meta["model"]:
        log.warning("the recording was made with model %s, replaying with %s: overlays may differ",
                    meta["model"], getattr(seg, "model_id", None))
    publisher = None
    live: dict[str, Any] = {"overlay_hz": 0.0, "tracking": "off", "frozen": False, "state_version": 0}
    if args.publish:  # the heartbeat carries what the headset requires, as the live loop's does
        publisher = Publisher(config.network, heartbeat_body=lambda: dict(live))
        publisher.start()
    rate = RateMeter()
    out = open(args.out, "w", encoding="utf-8") if args.out else None
    n = same = compared = 0
    differing: collections.Counter[str] = collections.Counter()
    pending: dict[int, dict[str, Any]] = {}
    recorded: dict[int, tuple[dict, dict]] = {}
    try:
        for rec in read_records(args.recording):
            if rec.type == "overlay":
                fs = int(rec.header["frame_seq"])
                recorded[fs] = (rec.header["body"], rec.arrays())
                if fs in pending:
                    compared += 1
                    diff = overlay_differences(pending.pop(fs), recorded.pop(fs))
                    same += not diff
                    differing.update(diff)
                    if diff:
                        log.info("frame %d differs from the recording in %s", fs, ", ".join(diff[:5]))
                continue
            if rec.type != "frame":
                continue
            h = rec.header
            frame = Frame(image=rec.arrays()["image"], t_capture_ns=int(h["t_capture_ns"]), seq=int(h["seq"]),
                          source=str(h.get("source", "")),
                          mm_per_px=tuple(h["mm_per_px"]) if h.get("mm_per_px") else None)
            st = h.get("state") or {}
            state = GuidanceState(frozen=bool(st.get("frozen", False)),
                                  layers=st.get("layers") or GuidanceState().layers)
            overlay, _, _ = processor.process(frame, pose_from_record(h.get("pose")), state)
            body, arrays = overlay.to_body()
            n += 1
            rate.tick()
            live.update(overlay_hz=round(rate.rate(), 2), frozen=state.frozen, state_version=int(st.get("version", 0)),
                        tracking=overlay.pose_validity if h.get("pose") else "off")
            mine = (json.loads(json.dumps(body)), {k: v for k, v in arrays.items() if k != "image"})
            pending[frame.seq] = mine
            if out is not None:
                out.write(json.dumps({"frame_seq": frame.seq, "t_capture_ns": frame.t_capture_ns, "body": body,
                                      "arrays": {k: v.tolist() for k, v in mine[1].items()}}) + "\n")
                out.flush()
            if publisher is not None:
                publisher.publish("overlay", frame.t_capture_ns, body, arrays)
    finally:
        if out is not None:
            out.close()
        if publisher is not None:
            publisher.stop()
    if n == 0:
        raise RecordingError(f"{args.recording} holds no frames to replay")
    print(f"replayed {n} frames from {args.recording}: {same} of {compared} recorded overlays reproduced exactly"
          + (f", {n - compared} frames had no recorded overlay" if n > compared else ""))
    if differing:
        top = ", ".join(f"{k} ({v})" for k, v in differing.most_common(6))
        print(f"differing fields (frames): {top}")
    return 0 if same == compared else 1


def overlay_differences(a: tuple[dict, dict], b: tuple[dict, dict]) -> list[str]:
    """Paths of the fields where two overlays (body, arrays) differ; empty when identical."""
    body_a, arr_a = a
    body_b, arr_b = b
    out = _dict_diff(body_a, body_b, "body")
    for k in sorted(set(arr_a) | set(arr_b)):
        if k not in arr_a or k not in arr_b or not np.array_equal(arr_a[k], arr_b[k]):
            out.append(f"arrays.{k}")
    return out


def _dict_diff(a: Any, b: Any, path: str) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for k in sorted(set(a) | set(b)):
            out += _dict_diff(a.get(k), b.get(k), f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += _dict_diff(x, y, f"{path}[{i}]")
        return out
    return [] if a == b else [path]
