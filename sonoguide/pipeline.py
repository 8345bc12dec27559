"""The guidance loop: sources → vision → compose → ar_bridge, one direction, latest frame wins.

Threads (each stage owns its state; the ZeroMQ sockets live on the publisher's and the control
server's own threads):

* ultrasound capture → one-slot :class:`Mailbox` → ultrasound processing (segmentation, needle,
  pose lookup at the frame's capture time, composition, publish, record);
* camera capture → one-slot mailbox → tracking (detector, SE(3) filter, pose buffer);
* the voice listener (its own threads) and the control server feed the
  :class:`~sonoguide.state.CommandProcessor`, whose state changes go to the ``state`` topic.

A stage that is slower than its source drops the older frame (the mailbox keeps only the
newest) and never builds a queue, so latency stays bounded (DESIGN.md, "Latest frame wins").
Each stage's duration goes into :class:`StageStats`; ``t_capture_ns`` travels with the frame
to the wire.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from core.clock import now_ns
from core.errors import SonoguideError
from core.pose import PoseMeasurement
from core.recording import Recorder, frame_record, overlay_record, pose_record
from core.types import Frame, SegmentationResult
from sonoguide.compose import OverlayComposer
from sonoguide.overload import OverloadMonitor
from sonoguide.state import CommandProcessor, GuidanceState

if TYPE_CHECKING:  # types only: the stages are imported where they are built
    from ar_bridge.messages import OverlayMessage
    from ar_bridge.publisher import Publisher
    from vision.needle.needle_tracker import NeedleTracker
    from vision.segmentation.segmenter import Segmenter
    from vision.sources.base import FrameSource, PoseSource
    from vision.sources.replay import ReplaySource
    from vision.tracking.filter import PoseFilter
    from vision.tracking.sync import PoseBuffer
    from vision.tracking.board_tracker import BoardTracker

log = logging.getLogger(__name__)


_CAPTURE_THREADS = ("us-capture", "camera-capture", "pose-source")

CAMERA_NICE = 5
"""Nice increment of the camera threads: when the cores are contended, the ultrasound path (whose
latency is shown to the clinician) runs first; tracking at 30 Hz needs a third of a core and
still gets it (BENCHMARKS.md, guidance loop)."""


def lower_thread_priority(increment: int) -> None:
    """Lower the calling thread's scheduling priority by ``increment`` nice levels.

    Linux gives every thread its own nice value (``setpriority(2)`` on the thread id); elsewhere,
    or without permission, this does nothing.
    """
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + increment))
    except (AttributeError, OSError) as exc:  # not Linux, or not allowed
        log.debug("thread priority unchanged: %s", exc)


class Mailbox:
    """A one-slot hand-over between two threads: latest wins, or lossless for a replay.

    ``put`` replaces an item not yet taken (counted in :attr:`dropped`); ``get`` waits for an item.
    A ``lossless`` mailbox instead makes ``put`` wait until the reader took the previous item (a
    recording is replayed frame by frame, as fast as the stages go, never dropping one).
    """

    def __init__(self, lossless: bool = False) -> None:
        self._cond = threading.Condition()
        self._item: Any = None
        self._has = False
        self._lossless = lossless
        self.closed = False
        self.dropped = 0
        self.delivered = 0

    def put(self, item: Any) -> bool:
        """Offer ``item``; returns True when an older, untaken item was dropped."""
        with self._cond:
            while self._lossless and self._has and not self.closed:
                self._cond.wait(0.1)
            dropped = self._has
            if dropped:
                self.dropped += 1
            self._item, self._has = item, True
            self._cond.notify_all()
            return dropped

    def get(self, timeout: float) -> Any:
        """The newest item, or ``None`` after ``timeout`` seconds or when closed and empty."""
        with self._cond:
            if not self._has and not self.closed:
                self._cond.wait(timeout)
            if not self._has:
                return None
            item, self._item, self._has = self._item, None, False
            self.delivered += 1
            self._cond.notify_all()  # a lossless writer may put the next one
            return item

    def close(self) -> None:
        """No more items will come; wakes a waiting reader."""
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class StageStats:
    """Recent durations per stage (milliseconds), thread-safe, with percentiles, and CPU time.

    A stage's wall time says how long the frame waited for it; its CPU time (the running
    thread's ``time.thread_time``) says how much of a core it took. Their ratio shows contention:
    a stage whose wall time grows in the running loop while its CPU time does not is waiting for
    a core (or the GIL), not working. CPU seconds are also summed over the whole run per stage,
    so the simulated devices' share (``us_source``, ``camera_source``: rendering that a frame
    grabber and a camera would do in hardware) can be counted apart from the core's.

    Args:
        window: samples kept per stage.
    """

    def __init__(self, window: int = 5000) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, collections.deque[float]] = {}
        self._cpu: dict[str, collections.deque[float]] = {}
        self._cpu_total_s: collections.Counter[str] = collections.Counter()
        self._window = window
        self._counts: collections.Counter[str] = collections.Counter()

    def reset(self) -> None:
        """Forget every sample and CPU sum (for example after a warm-up)."""
        with self._lock:
            self._data.clear()
            self._cpu.clear()
            self._cpu_total_s.clear()
            self._counts.clear()

    def add(self, stage: str, ms: float, cpu_ms: float | None = None) -> None:
        """Record one duration (wall), and the CPU time the stage's thread spent in it when given."""
        with self._lock:
            d = self._data.get(stage)
            if d is None:
                d = self._data[stage] = collections.deque(maxlen=self._window)
            d.append(float(ms))
            self._counts[stage] += 1
            if cpu_ms is not None:
                self._add_cpu(stage, cpu_ms)

    def add_cpu(self, stage: str, cpu_ms: float) -> None:
        """Record CPU time only (a stage whose wall time means nothing, such as a paced source)."""
        with self._lock:
            self._add_cpu(stage, cpu_ms)

    def _add_cpu(self, stage: str, cpu_ms: float) -> None:
        c = self._cpu.get(stage)
        if c is None:
            c = self._cpu[stage] = collections.deque(maxlen=self._window)
        c.append(float(cpu_ms))
        self._cpu_total_s[stage] += cpu_ms / 1e3

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds per stage since the start (or the last :meth:`reset`)."""
        with self._lock:
            return dict(self._cpu_total_s)

    def percentiles(self, stage: str, qs: tuple[float, ...] = (50, 95, 99)) -> tuple[float, ...] | None:
        """Percentiles of the recent samples of ``stage``, or ``None`` without samples."""
        with self._lock:
            d = self._data.get(stage)
            if not d:
                return None
            arr = np.fromiter(d, dtype=np.float64)
        return tuple(float(x) for x in np.percentile(arr, qs))

    def table(self) -> dict[str, dict[str, float]]:
        """``{stage: {"n", "p50", "p95", "p99", "mean"}}`` over the kept samples."""
        with self._lock:
            snap = {k: np.fromiter(v, dtype=np.float64) for k, v in self._data.items() if v}
            counts = dict(self._counts)
            cpu = {k: np.fromiter(v, dtype=np.float64) for k, v in self._cpu.items() if v}
        out: dict[str, dict[str, float]] = {}
        for k, arr in snap.items():
            p50, p95, p99 = np.percentile(arr, (50, 95, 99))
            out[k] = {"n": counts[k], "p50": float(p50), "p95": float(p95), "p99": float(p99),
                      "mean": float(arr.mean())}
        for k, c in cpu.items():
            row = out.setdefault(k, {"n": len(c)})
            row["cpu_p50"] = float(np.percentile(c, 50))
            row["cpu_mean"] = float(c.mean())
        return out


class RateMeter:
    """Events per second over a sliding window."""

    def __init__(self, window_s: float = 2.0) -> None:
        self._t: collections.deque[float] = collections.deque()
        self._window = window_s
        self._lock = threading.Lock()
        self.total = 0

    def tick(self) -> None:
        """Count one event now."""
        now = time.monotonic()
        with self._lock:
            self._t.append(now)
            self.total += 1
            while self._t and now - self._t[0] > self._window:
                self._t.popleft()

    def rate(self) -> float:
        """Events per second in the window."""
        now = time.monotonic()
        with self._lock:
            while self._t and now - self._t[0] > self._window:
                self._t.popleft()
            return len(self._t) / self._window


@dataclass
class FrameProcessor:
    """Segmentation → needle → composition for one ultrasound frame (live and replay share it).

    The stages run in sequence on the processing thread. (Running the needle search on a worker
    beside the segmentation network was measured and rejected: on two cores both stages got
    slower and the frame's latency rose by about 2 ms; BENCHMARKS.md, "Real-time headroom".)

    Attributes:
        segmenter: a :class:`vision.segmentation.Segmenter`, or ``None`` to skip the stage.
        needle: a :class:`vision.needle.NeedleTracker`, or ``None`` to skip the stage.
        composer: builds the overlay message.
        stats: where stage durations (wall and the thread's CPU time) go.
    """

    segmenter: Segmenter | None
    needle: NeedleTracker | None
    composer: OverlayComposer
    stats: StageStats = field(default_factory=StageStats)

    def process(self, frame: Frame, pose: PoseMeasurement | None, state: GuidanceState):
        """Run the stages; returns ``(overlay, segmentation, needle_result)``."""
        t0, c0 = time.perf_counter(), time.thread_time()
        seg: SegmentationResult | None = None
        if self.segmenter is not None:
            seg = self.segmenter.segment(frame.image, frame.t_capture_ns)
        t1, c1 = time.perf_counter(), time.thread_time()
        needle = None
        if self.needle is not None and frame.mm_per_px is not None:
            needle = self.needle.update(frame.image, frame.t_capture_ns, frame.mm_per_px,
                                        seg.structures if seg is not None else ())
        t2, c2 = time.perf_counter(), time.thread_time()
        overlay = self.composer.compose(frame, seg, needle, pose, state)
        t3, c3 = time.perf_counter(), time.thread_time()
        self.stats.add("segment", (t1 - t0) * 1e3, (c1 - c0) * 1e3)
        self.stats.add("needle", (t2 - t1) * 1e3, (c2 - c1) * 1e3)
        self.stats.add("compose", (t3 - t2) * 1e3, (c3 - c2) * 1e3)
        return overlay, seg, needle


class Pipeline:
    """Runs the guidance loop until stopped or the ultrasound source ends.

    Args:
        us_source: the ultrasound :class:`~vision.sources.FrameSource`.
        processor: the per-frame stages.
        publisher: the started :class:`~ar_bridge.publisher.Publisher`, or ``None`` (a replay that
            only compares).
        commands: the command processor (state owner).
        camera_source: the tracking camera's frame source, or ``None``.
        tracker: ``BoardTracker`` turning camera frames into poses (with ``camera_source``).
        pose_filter: ``PoseFilter`` applied to every measurement.
        pose_buffer: ``PoseBuffer`` queried at each ultrasound frame's capture time.
        pose_source: a :class:`~vision.sources.base.PoseSource` of ready-made poses (an external
            tracker), instead of a camera; ``None`` without one.
        replay: a :class:`~vision.sources.replay.ReplaySource` as ``us_source``: every frame is
            processed (lossless hand-over) with the pose and the view recorded with it, and
            published re-timed to now (``replay.offset_ns``) so a headset shows it as current.
        on_overlay: called on the processing thread with ``(frame, overlay)`` after each overlay is
            published (the Slicer server, the replay's comparison).
        record_camera_poses: a recording holds every camera pose, not only those of the frames.
    """

    def __init__(self, us_source: FrameSource, processor: FrameProcessor, publisher: Publisher | None,
                 commands: CommandProcessor,
                 camera_source: FrameSource | None = None, tracker: BoardTracker | None = None,
                 pose_filter: PoseFilter | None = None, pose_buffer: PoseBuffer | None = None,
                 pose_source: PoseSource | None = None, replay: ReplaySource | None = None,
                 on_overlay: Callable[[Frame, OverlayMessage], None] | None = None,
                 record_camera_poses: bool = True) -> None:
        self.us_source = us_source
        self.processor = processor
        self.publisher = publisher
        self.commands = commands
        self.camera_source = camera_source
        self.pose_source = pose_source
        self.replay = replay
        self.tracker = tracker
        self.pose_filter = pose_filter
        self.pose_buffer = pose_buffer
        self.stats = processor.stats
        self.overlay_rate = RateMeter()
        self.camera_rate = RateMeter()
        self._recorder: Recorder | None = None
        self._rec_lock = threading.Lock()
        self._record_camera_poses = record_camera_poses
        self._on_overlay = on_overlay
        self._us_box = Mailbox(lossless=replay is not None)
        self.overload = OverloadMonitor()
        """Watches the ultrasound path for dropped frames and latency over budget (:mod:`sonoguide.overload`)."""
        self._cam_box = Mailbox()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.finished = threading.Event()
        self.error: BaseException | None = None
        self.last: tuple[Frame, OverlayMessage] | None = None
        self._last_lock = threading.Lock()
        self._last_tracking = "off"

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the capture and processing threads."""
        self._spawn("us-capture", self._capture_loop, self.us_source, self._us_box, "us_source", self.overload)
        self._spawn("us-process", self._us_loop)
        if self.camera_source is not None and self.tracker is not None:
            self._spawn("camera-capture", self._capture_loop, self.camera_source, self._cam_box, "camera_source",
                        nice=CAMERA_NICE)
            self._spawn("camera-track", self._camera_loop, nice=CAMERA_NICE)
        if self.pose_source is not None and self.pose_buffer is not None:
            self._spawn("pose-source", self._pose_source_loop)

    def _spawn(self, name: str, fn: Callable[..., None], *args: Any, nice: int = 0) -> None:
        t = threading.Thread(target=self._guard, args=(fn, nice, *args), name=name, daemon=True)
        self._threads.append(t)
        t.start()

    def _guard(self, fn: Callable[..., None], nice: int, *args: Any) -> None:
        if nice:
            lower_thread_priority(nice)
        try:
            fn(*args)
        except SonoguideError as exc:
            log.error("%s stopped: %s", threading.current_thread().name, exc)
            self.error = exc
            self.finished.set()
        except Exception as exc:  # an unexpected bug: stop cleanly and report it
            log.exception("%s crashed", threading.current_thread().name)
            self.error = exc
            self.finished.set()

    @property
    def dropped_frames(self) -> int:
        """Ultrasound frames replaced in the mailbox before processing (latest wins)."""
        return self._us_box.dropped

    def stop(self) -> None:
        """Stop the sources first, let the stages finish the frame in hand, then close (idempotent).

        Capture threads end after their current read; the mailboxes close, so each processing
        thread handles the frame it was handed and ends; then the sources are closed. Nothing is
        published or recorded after this returns.
        """
        self._stop.set()
        if self.replay is not None:  # a lossless hand-over may hold the reader: release it first
            self._us_box.close()
        capture = [t for t in self._threads if t.name in _CAPTURE_THREADS]
        for t in capture:
            t.join(5.0)
        self._us_box.close()
        self._cam_box.close()
        for t in self._threads:
            t.join(5.0)
        self._threads.clear()
        for src in (self.us_source, self.camera_source, self.pose_source):
            if src is not None:
                try:
                    src.close()
                except Exception:
                    log.exception("closing %s failed", getattr(src, "name", src))

    # ------------------------------------------------------------------ recording
    @property
    def recording(self) -> bool:
        """True while a recording is written."""
        return self._recorder is not None

    def start_recording(self, recorder: Recorder) -> bool:
        """Record every processed frame, pose and what :meth:`record` is given into ``recorder``.

        Returns:
            False (and nothing changes) when a recording is already running.
        """
        with self._rec_lock:
            if self._recorder is not None:
                return False
            self._recorder = recorder
            return True

    def stop_recording(self, **end_fields: Any) -> bool:
        """Close the recording with its end record (``end_fields`` added to it); False when none ran."""
        with self._rec_lock:
            rec, self._recorder = self._recorder, None
        if rec is None:
            return False
        rec.close(**end_fields)
        return True

    def record(self, rtype: str, header: dict[str, Any]) -> None:
        """Append one record (state, voice, command...) to the running recording, if any.

        A write that fails (a full disk) stops the recording, says so once, and never stops the
        guidance.
        """
        rec = self._recorder
        if rec is None:
            return
        try:
            rec.write(rtype, header)
        except SonoguideError as exc:
            self._recording_failed(rec, exc)

    def _recording_failed(self, rec: Recorder, exc: SonoguideError) -> None:
        with self._rec_lock:
            if self._recorder is not rec:
                return
            self._recorder = None
        log.error("recording stopped: %s", exc)
        self.commands.update(recording=False)

    # ------------------------------------------------------------------ loops
    def _capture_loop(self, source: FrameSource, box: Mailbox, stage: str,
                      overload: OverloadMonitor | None = None) -> None:
        """Read frames into ``box``; the CPU a read takes is the source's (``stage``: a simulated device's
        rendering). ``overload``, when given, is told of every frame captured and every one dropped unread."""
        while not self._stop.is_set():
            c0 = time.thread_time()
            frame = source.read()
            self.stats.add_cpu(stage, (time.thread_time() - c0) * 1e3)
            if frame is None:
                box.close()
                return
            dropped = box.put(frame)
            if overload is not None:
                t = time.monotonic()
                overload.on_captured(t)
                if dropped:
                    overload.on_dropped(t)

    def _pose_at(self, t_ns: int) -> PoseMeasurement | None:
        if self.pose_buffer is None:
            return None
        t0 = time.perf_counter()
        pose = self.pose_buffer.at(t_ns)
        self.stats.add("pose_lookup", (time.perf_counter() - t0) * 1e3)
        return pose

    def _pose_for(self, frame: Frame) -> tuple[PoseMeasurement | None, str]:
        """The pose for ``frame`` and the tracking status it gives; a replay also restores the view."""
        if self.replay is not None:
            recorded = self.replay.recorded(frame.seq)
            view = recorded.state
            self.commands.restore_view(bool(view.get("frozen", False)),
                                       view.get("layers") or GuidanceState().layers)
            pose = recorded.pose
            return pose, "off" if pose is None else pose.validity.value
        self.stats.add("wait", (now_ns() - frame.t_capture_ns) / 1e6)
        pose = self._pose_at(frame.t_capture_ns)
        return pose, "off" if self.pose_buffer is None else (pose.validity.value if pose is not None else "lost")

    def _publish(self, frame: Frame, body: dict, arrays: dict) -> None:
        t_capture = frame.t_capture_ns
        if self.replay is not None:  # recorded times shifted to now, so the overlay is current when shown
            offset = self.replay.offset_ns
            body = {**body, "valid_until_ns": body["valid_until_ns"] + offset,
                    "frozen_at_ns": None if body.get("frozen_at_ns") is None else body["frozen_at_ns"] + offset}
            t_capture += offset
        self.publisher.publish("overlay", t_capture, body, arrays)

    def _us_loop(self) -> None:
        while True:  # ends when the mailbox is closed and empty (source ended, or stop())
            frame = self._us_box.get(0.1)
            if frame is None:
                if self._us_box.closed:
                    log.info("ultrasound source ended")
                    self.finished.set()
                    return
                continue
            pose, tracking = self._pose_for(frame)
            if tracking != self._last_tracking:
                self._last_tracking = tracking
                self.commands.update(tracking=tracking)
            state = self.commands.state
            overlay, seg, needle = self.processor.process(frame, pose, state)
            body, arrays = overlay.to_body()
            if self.publisher is not None:
                self._publish(frame, body, arrays)
            self.overlay_rate.tick()
            self.overload.on_processed(time.monotonic(), (now_ns() - frame.t_capture_ns) / 1e6)
            with self._last_lock:
                self.last = (frame, overlay)
            rec = self._recorder
            if rec is not None:
                self._record_frame(rec, frame, pose, state, body, arrays)
            if self._on_overlay is not None:
                self._on_overlay(frame, overlay)

    def _record_frame(self, rec: Recorder, frame: Frame, pose: PoseMeasurement | None, state: GuidanceState,
                      body: dict, arrays: dict) -> None:
        try:
            header, images = frame_record(frame, pose, {"frozen": state.frozen, "layers": dict(state.layers),
                                                        "version": state.version})
            rec.write("frame", header, arrays=images)
            header, overlay_arrays = overlay_record(frame, body, arrays)
            rec.write("overlay", header, arrays=overlay_arrays)
        except SonoguideError as exc:  # a full disk stops the recording, not the guidance
            self._recording_failed(rec, exc)

    def _pose_source_loop(self) -> None:
        """Poses that arrive ready (OpenIGTLink): filter and buffer each new one."""
        last_t = None
        while not self._stop.is_set():
            m = self.pose_source.read(0.1)
            if m.T_camera_from_board is None or m.t_capture_ns == last_t or not m.usable:
                continue  # nothing new; the buffer ages the last pose to stale by itself
            last_t = m.t_capture_ns
            self._accept_pose(m)

    def _accept_pose(self, m: PoseMeasurement) -> None:
        t1 = time.perf_counter()
        if self.pose_filter is not None:
            m = self.pose_filter.update(m)
        self.pose_buffer.push(m)
        self.stats.add("filter", (time.perf_counter() - t1) * 1e3)
        self.camera_rate.tick()
        if self._record_camera_poses:
            self.record("pose", {"pose": pose_record(m)})

    def _camera_loop(self) -> None:
        while True:  # ends when the mailbox is closed and empty
            frame = self._cam_box.get(0.1)
            if frame is None:
                if self._cam_box.closed:
                    if not self._stop.is_set():
                        log.warning("camera source ended: probe tracking is lost from now on")
                    return
                continue
            t0, c0 = time.perf_counter(), time.thread_time()
            m = self.tracker.process(frame.image, frame.t_capture_ns)
            self.stats.add("track", (time.perf_counter() - t0) * 1e3, (time.thread_time() - c0) * 1e3)
            self._accept_pose(m)
