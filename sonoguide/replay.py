"""``sonoguide replay DIR``: a recording re-run through the live pipeline, compared and optionally published.

The recording becomes a :class:`~vision.sources.replay.ReplaySource` that feeds the same
:class:`~sonoguide.pipeline.Pipeline` as a live source (PLUS Toolkit's SavedDataSource idea):
every frame is processed with the pose and the view recorded with it, the overlays are compared
with the recorded ones field by field, and with ``--publish`` they go out through the same
publisher, state and heartbeat as the live loop, at the recorded pace and re-timed to now, so a
headset cannot tell a replay from a live session (the heartbeat says ``control: down``: a
replay takes no commands).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import logging
import threading
import time
import tomllib
from typing import Any

import numpy as np

from ar_bridge.publisher import Publisher
from core.errors import ConfigError, RecordingError
from sonoguide.runtime import build_processor
from sonoguide.compose import CalibrationChain, state_message
from sonoguide.config import Config, config_from_dict, load_config
from sonoguide.pipeline import Pipeline
from sonoguide.state import CommandProcessor
from vision.sources.replay import ReplaySource

log = logging.getLogger(__name__)

LEAD_IN_S = 2.0
"""With ``--publish``, how long a headset that is already waiting gets to connect before frame one."""


def _await_subscriber(publisher: Publisher, seconds: float) -> None:
    """Wait up to ``seconds`` until a subscription to the overlays has reached the socket (a
    subscriber sends one subscription per topic; the first may be another topic's)."""
    deadline = time.monotonic() + seconds
    while not publisher.wants("overlay") and time.monotonic() < deadline:
        time.sleep(0.01)


class _Count(logging.Filter):
    """Counts (and swallows) the records it sees."""

    def __init__(self) -> None:
        super().__init__()
        self.n = 0

    def filter(self, record: logging.LogRecord) -> bool:
        self.n += 1
        return False


def _stored_config(text: str, source: str) -> Config:
    """The configuration stored in a recording; one line, not one per key, for an older layout."""
    configtools_log = logging.getLogger("core.configtools")
    counter = _Count()
    configtools_log.addFilter(counter)
    try:
        config = config_from_dict(tomllib.loads(text), source=source)
    finally:
        configtools_log.removeFilter(counter)
    if counter.n:
        log.info("%s: %d keys of an earlier configuration layout were read at their current places", source, counter.n)
    return config


def replay(args: argparse.Namespace) -> int:
    """Rerun the recorded frames, compare with the recorded overlays; exit 1 when any differs."""
    source = ReplaySource(args.recording, realtime=bool(args.publish))
    meta = source.meta
    if args.config:
        config = load_config(args.config)
    elif "config_toml" in meta:
        config = _stored_config(meta["config_toml"], f"{args.recording}/meta.json")
    else:
        config = Config()
    if getattr(args, "pub", None):
        try:
            config = config.replace(network=dataclasses.replace(config.network, pub_endpoint=args.pub))
        except ConfigError as exc:
            raise ConfigError(f"command line: {exc}") from None
    chain = None
    if meta.get("chain"):
        c = meta["chain"]
        chain = CalibrationChain(np.asarray(c["T_headset_from_camera"]), np.asarray(c["T_marker_from_image"]))
    processor = build_processor(config, chain)
    seg = processor.segmenter
    if seg is not None and meta.get("model") and getattr(seg, "model_id", None) != meta["model"]:
        log.warning("the recording was made with model %s, replaying with %s: overlays may differ",
                    meta["model"], getattr(seg, "model_id", None))
    commands = CommandProcessor()
    publisher = None
    pipeline: Pipeline | None = None
    if args.publish:
        def heartbeat() -> dict[str, Any]:
            s = commands.state
            return {"overlay_hz": round(pipeline.overlay_rate.rate(), 2) if pipeline else 0.0,
                    "tracking": s.tracking, "frozen": s.frozen, "state_version": s.version, "control": "down"}
        publisher = Publisher(config.network, heartbeat_body=heartbeat)
        publisher.start()
        publisher.set_state(state_message(commands.state).to_body())
        commands.add_listener(lambda state: publisher.set_state(state_message(state).to_body()))
        _await_subscriber(publisher, LEAD_IN_S)
    replayed: dict[int, tuple[dict, dict]] = {}
    lock = threading.Lock()
    out = open(args.out, "w", encoding="utf-8") if args.out else None

    def on_overlay(frame: Any, overlay: Any) -> None:
        body, arrays = overlay.to_body()
        mine = (json.loads(json.dumps(body)), {k: v for k, v in arrays.items() if k != "image"})
        with lock:
            replayed[frame.seq] = mine
        if out is not None:
            out.write(json.dumps({"frame_seq": frame.seq, "t_capture_ns": frame.t_capture_ns, "body": body,
                                  "arrays": {k: v.tolist() for k, v in mine[1].items()}}) + "\n")
            out.flush()

    pipeline = Pipeline(source, processor, publisher, commands, replay=source, on_overlay=on_overlay)
    try:
        pipeline.start()
        while not pipeline.finished.wait(0.2):
            pass
    finally:
        pipeline.stop()
        if out is not None:
            out.close()
        if publisher is not None:
            publisher.stop()
    if pipeline.error is not None:
        raise pipeline.error if isinstance(pipeline.error, RecordingError) else RecordingError(
            f"the replay stopped: {pipeline.error}")
    return _report(args.recording, replayed, source.overlays)


def _report(recording: str, replayed: dict[int, tuple[dict, dict]], recorded: dict[int, tuple[Any, Any]]) -> int:
    n = len(replayed)
    if n == 0:
        raise RecordingError(f"{recording} holds no frames to replay")
    same = compared = 0
    differing: collections.Counter[str] = collections.Counter()
    for seq in sorted(replayed):
        if seq not in recorded:
            continue
        compared += 1
        diff = overlay_differences(replayed[seq], recorded[seq])
        same += not diff
        differing.update(diff)
        if diff:
            log.info("frame %d differs from the recording in %s", seq, ", ".join(diff[:5]))
    print(f"replayed {n} frames from {recording}: {same} of {compared} recorded overlays reproduced exactly"
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
