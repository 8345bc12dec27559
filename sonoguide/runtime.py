"""The running guidance loop: its parts built from the configuration, started and stopped in order.

:class:`Runtime` turns a :class:`~sonoguide.config.Config` into running parts (sources from
:mod:`vision.sources.factory`, stages, publisher, control server, voice process, the 3D Slicer
server), starts them, routes control requests and voice decisions to the guidance state, and
stops everything along one shutdown path with a :class:`Summary`. The command line around it
(status line, signals, exit codes) is :mod:`sonoguide.console`; a recording's replay is
:mod:`sonoguide.replay`.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ar_bridge.control import ControlRequest, ControlServer
from ar_bridge.publisher import Publisher
from core.errors import CalibrationError, RecordingError, SonoguideError
from core.frames import FrameName
from core.recording import Recorder, command_record, state_record
from sonoguide.compose import CalibrationChain, OverlayComposer, state_message
from sonoguide.config import Config, dump_toml
from sonoguide.pipeline import FrameProcessor, Pipeline, StageStats
from sonoguide.routing import VoiceRouter, handle_control
from sonoguide.state import CommandProcessor, GuidanceState
from vision.sources.factory import is_pose_source, open_frame_source, open_pose_source

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------- building
def _camera(config: Config) -> tuple[Any, Any, Any]:
    """Camera frame source, intrinsics and marker board of a tracking camera (not ``none``/``igtl:``)."""
    from core.camera import CameraIntrinsics
    from vision.sources.marker_camera import DEFAULT_BOARD, SyntheticMarkerCamera, synthetic_intrinsics
    from vision.tracking.board import load_board
    cam = config.camera
    board = load_board(cam.board) if cam.board else load_board(DEFAULT_BOARD)
    if cam.source == "synthetic":
        K = (CameraIntrinsics.load(cam.intrinsics, config.calibration.camera_id, cam.max_rms_px) if cam.intrinsics
             else synthetic_intrinsics(cam.width, cam.height))
        if config.pipeline.device_process:
            from vision.sources.device_process import DeviceProcessSource, SourceSpec
            spec = SourceSpec("vision.sources.marker_camera:open_synthetic_camera",
                              {"camera": K, "board": cam.board or DEFAULT_BOARD, "fps": cam.fps, "seed": cam.seed},
                              "synthetic-camera", K.width * K.height * 3)
            return DeviceProcessSource(spec), K, board
        return SyntheticMarkerCamera(K, board, fps=cam.fps, seed=cam.seed), K, board
    K = CameraIntrinsics.load(cam.intrinsics, config.calibration.camera_id, cam.max_rms_px)
    return open_frame_source(cam.source, key="camera.source", fps=cam.fps, loop=False), K, board


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
        g = simulated_graph(config.phantom.mm_per_px, config.phantom.imaging.width_px)
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
        from vision.needle.needle_tracker import NeedleTracker
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
    overloaded_s: float = 0.0


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
        self.max_subscribers = 0
        self.t_start = 0.0
        self.t_stop = 0.0
        self._stopping = threading.Event()
        self._final: Summary | None = None
        self._build()

    # .................................................................. construction
    def _build(self) -> None:
        cfg = self.config
        voice_bind = ({"voice.input.zmq_endpoint": cfg.voice.input.zmq_endpoint}
                      if self._want_voice and cfg.voice.enabled and cfg.voice.input.source == "zmq" else {})
        cfg.network.check_exposure(voice_bind)  # before anything binds or loads
        if cfg.igtl_server.enabled:  # OpenIGTLink is plain text whatever network.curve says
            from ar_bridge.config import check_exposure
            check_exposure({"igtl_server.host": f"tcp://{cfg.igtl_server.host}:{cfg.igtl_server.port}"},
                           curve=False, insecure=cfg.network.insecure)
        if cfg.pipeline.opencv_threads > 0:
            import cv2
            cv2.setNumThreads(cfg.pipeline.opencv_threads)
        us = cfg.ultrasound
        if us.source == "phantom" and cfg.pipeline.device_process:
            from vision.sources.device_process import DeviceProcessSource, SourceSpec
            im = cfg.phantom.imaging
            self.us_source = DeviceProcessSource(SourceSpec(
                "vision.sources.phantom:PhantomSource", {"config": cfg.phantom, "fps": us.fps},
                f"phantom:{cfg.phantom.anatomy.preset}", im.width_px * im.height_px))
        else:
            self.us_source = open_frame_source(us.source, key="ultrasound.source", fps=us.fps, gray=True,
                                               mm_per_px=us.mm_per_px, loop=us.loop, phantom=cfg.phantom)
        self.camera_source = self.pose_source = self.intrinsics = self.board = None
        if is_pose_source(cfg.camera.source):  # poses arrive ready (OpenIGTLink)
            self.pose_source = open_pose_source(cfg.camera.source, key="camera.source",
                                                device_name=cfg.camera.igtl_device)
        elif cfg.camera.source != "none":
            self.camera_source, self.intrinsics, self.board = _camera(cfg)
        tracked = self.camera_source is not None or self.pose_source is not None
        self.chain = _chain(cfg, tracked)
        self.processor = build_processor(cfg, self.chain, self.stats)
        self.tracker = self.pose_filter = self.pose_buffer = None
        if tracked:
            from vision.tracking.filter import PoseFilter
            from vision.tracking.sync import PoseBuffer
            from vision.tracking.board_tracker import BoardTracker
            if self.camera_source is not None:
                self.tracker = BoardTracker(self.board, self.intrinsics, cfg.tracking)
            self.pose_filter = PoseFilter(cfg.tracking.filter)
            self.pose_buffer = PoseBuffer(cfg.tracking.sync)
        from voice.commandset import load_command_set
        from voice.confirm import ConfirmationGate
        self.gate = ConfirmationGate(load_command_set(cfg.voice.command_set_path()), cfg.voice.confirm_window_s)
        self.commands = CommandProcessor(self.gate, actions={
            "snapshot": self._snapshot, "start recording": self._start_recording,
            "stop recording": self._stop_recording})
        self.security = None
        if cfg.network.curve:
            from ar_bridge.security import CurveSecurity
            self.security = CurveSecurity(cfg.network.curve_dir, on_revoked=self._on_revoked)
        setup = self.security.setup if self.security is not None else None
        self.publisher = Publisher(cfg.network, heartbeat_body=self._heartbeat, socket_setup=setup)
        self.publisher.on_sent = self._on_sent
        self.control = ControlServer(cfg.network.control_endpoint, self._handle_control, socket_setup=setup)
        self.slicer = None
        if cfg.igtl_server.enabled:
            from ar_bridge.igtl_server import SlicerServer
            self.slicer = SlicerServer(cfg.igtl_server)
        slicer = self.slicer
        self.pipeline = Pipeline(self.us_source, self.processor, self.publisher, self.commands,
                                 camera_source=self.camera_source, tracker=self.tracker, pose_filter=self.pose_filter,
                                 pose_buffer=self.pose_buffer, pose_source=self.pose_source,
                                 on_overlay=None if slicer is None else (lambda f, o: slicer.offer(f.image, o)),
                                 record_camera_poses=cfg.recording.camera_poses)
        self.voice = VoiceRouter(self.commands, self.publisher.publish, self.pipeline.record,
                                 lambda: self.voice_listener)

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
        """Twice a second: the overload verdict and the voice noise level (on a change of 1 dB or more) into the state."""
        while not self._stopping.wait(0.5):
            self._check_overload()
            listener = self.voice_listener
            if listener is not None:
                level = round(float(listener.noise_dbfs))
                current = self.commands.state.noise_dbfs
                if current is None or abs(current - level) >= 1.0:
                    self.commands.update(noise_dbfs=float(level))

    def _check_overload(self) -> None:
        status = self.pipeline.overload.evaluate(time.monotonic())
        if status.overloaded == self.commands.state.overloaded:
            return
        if status.overloaded:
            log.warning("the guidance loop is overloaded: %.1f of %.1f frames/s processed (%s); frames are dropped "
                        "early so what is shown stays fresh", status.loop_hz, status.source_hz, status.reason)
        else:
            log.info("the guidance loop keeps up again: %.1f frames/s", status.loop_hz)
        self.commands.update(overloaded=status.overloaded)

    def _start_voice(self) -> None:
        from sonoguide.voice_process import VoiceProcess
        self.voice_listener = VoiceProcess(
            self.config.voice, self.config.network.curve_dir if self.security is not None else None,
            self.voice.on_voice, self.gate, on_ready=self._on_voice_ready, on_error=self._on_voice_error, demo=self.demo)
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
        self.pipeline.stop_recording(reason=reason, summary=dataclasses.asdict(summary))
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
        self.pipeline.record(*state_record(body))

    def _handle_control(self, req: ControlRequest) -> dict[str, Any]:
        if req.command == "get_stats":
            return {"ok": True, "stages": self.stats.table(), "overlay_hz": self.pipeline.overlay_rate.rate()}
        reply, result = handle_control(self.commands, req)
        if result is not None:
            self.pipeline.record(*command_record("control", req.command, dataclasses.asdict(result), req.id))
        return reply

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
        if self.pipeline.recording:
            return "already recording"
        d = Path(directory) if directory else Path(self.config.recording.dir) / time.strftime("%Y%m%d-%H%M%S")
        meta = {"config_toml": dump_toml(self.config), "demo": self.demo,
                "chain": None if self.chain is None else {
                    "T_headset_from_camera": self.chain.T_headset_from_camera.tolist(),
                    "T_marker_from_image": self.chain.T_marker_from_image.tolist()},
                "model": getattr(self.processor.segmenter, "model_id", None)}
        try:
            recorder = Recorder(d, meta)
        except RecordingError as exc:
            return str(exc)
        if not self.pipeline.start_recording(recorder):  # started by the other channel meanwhile
            recorder.close(reason="duplicate")
            return "already recording"
        log.info("recording to %s", d)
        return None

    def _stop_recording(self) -> str | None:
        if not self.pipeline.stop_recording(reason="stop recording"):
            return "not recording"
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
                         " OVERLOADED" if s.overloaded else "",
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
            subscribers=self.max_subscribers, voice_commands=self.voice.accepted,
            snapshots=self.commands.state.snapshots,
            error=self._error_text(), control_restarts=self.control.restarts,
            overloaded_s=self.pipeline.overload.overloaded_s)

    def _error_text(self) -> str | None:
        """What went wrong in the run, or ``None``: a stage that stopped, a control channel that is down."""
        if self.pipeline.error is not None:
            return f"the pipeline stopped: {self.pipeline.error}"
        if self.control.status != "up":
            return f"the control channel is {self.control.status}: {self.control.last_failure or 'unknown failure'}"
        return None
