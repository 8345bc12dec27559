"""Evaluation of the voice front end on a manifest of labelled clips.

Each clip runs through the same :class:`~voice.processor.UtteranceProcessor` as the live
listener, fed in 20 ms blocks (a microphone's block size), each clip with a fresh endpointer,
cooldown and gate. A clip's *recognised intent* is the first utterance that passed the
false-accept defence (a confirmation-gated intent counts when it is heard; the gate's own
behaviour is tested separately).

Latency is measured in simulated real time: block ``k`` becomes available when its last
sample would have been captured (``(k+1) * 20 ms`` after the clip starts), decoding starts when
both the block is there and the previous block is done, and takes the measured wall time of
``feed``. The event's time is read from that clock at the moment the processor creates it. The
latency is event time minus the end of speech (the manifest's ``speech_end_s`` when present,
else the endpointer's estimate). This equals what a live run at real-time pace would see on the
same machine, without waiting in real time. The real-time factor ``rtf`` is decoding CPU time
(engine thread time) over audio duration, on one thread; ``rtf_process`` is the whole process's
CPU time (reading, endpointing, decoding, defence) over audio duration.
"""

from __future__ import annotations

import collections
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import InputError
from voice.audio.wavio import read_wav
from voice.config import ENGINE_RATE, VoiceConfig
from voice.processor import UtteranceProcessor, UtteranceResult

log = logging.getLogger(__name__)

BLOCK = 320  # 20 ms


@dataclass
class ClipResult:
    """Outcome of one clip."""

    audio: str
    expect: str | None
    recognised: str | None
    latency_ms: float | None
    score: float
    structural_intent: str | None
    reason: str
    condition: str
    audio_s: float
    cpu_s: float
    text: str = ""
    utterances: list = field(default_factory=list)
    speech: tuple = (None, None)
    speaker: str = ""


def read_manifest(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSON-lines manifest (``audio`` relative to the manifest, ``expect`` intent or null).

    Raises:
        InputError: missing file, bad JSON line or missing keys (names the line).
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"manifest {p} not found")
    items = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{p}:{n}: not JSON ({exc.msg})") from None
        if not isinstance(rec, dict) or "audio" not in rec or "expect" not in rec:
            raise InputError(f"{p}:{n}: each line needs \"audio\" and \"expect\" (intent or null)")
        rec["_path"] = str((p.parent / rec["audio"]).resolve())
        items.append(rec)
    if not items:
        raise InputError(f"manifest {p} has no clips")
    return items


def speaker_of(rec: dict[str, Any]) -> str:
    """The manifest's ``speaker``, else the Speech Commands file-name convention
    (``<speaker>_nohash_<n>.wav``, ``<word>_<speaker>_nohash_<n>.wav`` for its other words), else
    ``""`` (unknown)."""
    if rec.get("speaker"):
        return str(rec["speaker"])
    name = Path(str(rec.get("audio", ""))).name
    return name.split("_nohash_")[0].split("_")[-1] if "_nohash_" in name else ""


def condition_of(rec: dict[str, Any]) -> str:
    """``clean`` or ``<noise>@<snr>`` (``unknown`` when the manifest does not say)."""
    if rec.get("noise") == "clean":
        return "clean"
    if rec.get("snr_db") is not None:
        return f"{rec.get('noise', 'noise')}@{rec['snr_db']:g}"
    return str(rec.get("condition", "unknown"))


def snr_group(rec: dict[str, Any]) -> str:
    """``clean`` or ``snr<value>`` across noise kinds."""
    if rec.get("noise") == "clean":
        return "clean"
    if rec.get("snr_db") is not None:
        return f"snr{rec['snr_db']:g}"
    return "unknown"


def run_clip(config: VoiceConfig, command_set, engine, calibration, pcm: np.ndarray,
             speech_end_s: float | None, verifier=None, vad_weights=None) -> tuple[list[UtteranceResult], float | None, float]:
    """Feed one clip through a fresh processor in simulated real time.

    Returns:
        ``(utterances, latency_ms of the first passed utterance or None, cpu_s)``.
    """
    state = {"start": 0.0, "t0": 0.0}

    def clock() -> int:
        return int((state["start"] + (time.perf_counter() - state["t0"])) * 1e9)

    utts: list[UtteranceResult] = []
    event_times: list[tuple[UtteranceResult, float]] = []

    def hook(u: UtteranceResult) -> None:
        utts.append(u)
        event_times.append((u, clock() / 1e9))

    proc = UtteranceProcessor(config, command_set, engine, calibration, clock=clock, on_utterance=hook,
                              verifier=verifier, vad_weights=vad_weights)
    done = 0.0
    for k in range(0, len(pcm), BLOCK):
        block = pcm[k:k + BLOCK]
        arrive = (k + len(block)) / ENGINE_RATE
        state["start"] = max(arrive, done)
        state["t0"] = time.perf_counter()
        proc.feed(block, int((k / ENGINE_RATE) * 1e9))
        done = state["start"] + (time.perf_counter() - state["t0"])
    # trailing silence so an utterance ending with the clip is closed by the endpointer
    tail = np.zeros(int(config.vad.endpoint_silence_s * ENGINE_RATE) + 2 * BLOCK, np.int16)
    for k in range(0, len(tail), BLOCK):
        arrive = (len(pcm) + k + BLOCK) / ENGINE_RATE
        state["start"] = max(arrive, done)
        state["t0"] = time.perf_counter()
        proc.feed(tail[k:k + BLOCK], int(((len(pcm) + k) / ENGINE_RATE) * 1e9))
        done = state["start"] + (time.perf_counter() - state["t0"])
    proc.flush()
    latency = None
    for u, t_event in event_times:
        if u.verdict.passed:
            end = speech_end_s if speech_end_s is not None else u.t_end_ns / 1e9
            latency = 1000.0 * (t_event - end)
            break
    return utts, latency, proc.cpu_s


AUTO = "auto"


def evaluate(config: VoiceConfig, manifest: str | Path, progress: bool = True, limit: int | None = None,
             engine=None, calibration=None, command_set=None, verifier=AUTO, vad_weights=AUTO,
             keep_utterances: bool = False) -> tuple[dict[str, Any], list[ClipResult]]:
    """Evaluate ``config`` on ``manifest``; returns ``(summary, per-clip results)``.

    ``verifier`` / ``vad_weights``: ``"auto"`` builds them from ``config``
    (:mod:`voice.verifier.select`); pass ``None`` to disable. ``keep_utterances`` stores every
    utterance's :class:`~voice.processor.UtteranceResult` on the clip results (calibration).
    """
    from tqdm import tqdm

    from voice.commandset import load_command_set
    from voice.engines.select import build_engine
    from voice.verifier.select import build_verifier, load_vad_for

    items = read_manifest(manifest)[:limit]
    cs = command_set or load_command_set(config.command_set_path())
    if engine is None:
        engine, calibration = build_engine(config, cs)
    if isinstance(vad_weights, str):
        vad_weights = load_vad_for(config.vad)
    if isinstance(verifier, str):
        verifier = build_verifier(config, cs, calibration)
    results: list[ClipResult] = []
    cpu0 = time.process_time()
    for rec in tqdm(items, desc="voice eval", disable=not progress, unit="clip"):
        try:
            pcm, info = read_wav(rec["_path"], ENGINE_RATE)
        except InputError as exc:
            log.warning("skipping %s: %s", rec["audio"], exc)
            continue
        utts, lat, cpu = run_clip(config, cs, engine, calibration, pcm, rec.get("speech_end_s"), verifier, vad_weights)
        passed = next((u for u in utts if u.verdict.passed), None)
        struct = next((u for u in utts if u.verdict.structural_ok), None)
        first = passed or struct or (utts[0] if utts else None)
        results.append(ClipResult(
            audio=rec["audio"], expect=rec["expect"], recognised=passed.verdict.intent if passed else None,
            latency_ms=lat, score=struct.verdict.score if struct else math.nan,
            structural_intent=struct.verdict.intent if struct else None,
            reason=first.verdict.reason if first else "no speech detected", condition=condition_of(rec),
            audio_s=len(pcm) / ENGINE_RATE, cpu_s=cpu, text=first.verdict.text if first else "",
            utterances=utts if keep_utterances else [], speech=(rec.get("speech_start_s"), rec.get("speech_end_s")),
            speaker=speaker_of(rec)))
    summary = summarise(results, items, gated=frozenset(n for n, spec in cs.intents.items() if spec.confirm))
    audio = sum(r.audio_s for r in results)
    summary["rtf_process"] = round((time.process_time() - cpu0) / audio, 4) if audio else None
    return summary, results


def _group_stats(rs: list[ClipResult]) -> dict[str, Any]:
    cmd = [r for r in rs if r.expect is not None]
    null = [r for r in rs if r.expect is None]
    lat = [r.latency_ms for r in cmd if r.recognised == r.expect and r.latency_ms is not None]
    return {"n_command": len(cmd), "n_null": len(null),
            "latency_ms_p50": round(float(np.percentile(lat, 50)), 1) if lat else None,
            "latency_ms_p95": round(float(np.percentile(lat, 95)), 1) if lat else None,
            "accuracy": round(sum(r.recognised == r.expect for r in cmd) / len(cmd), 4) if cmd else None,
            "wrong_intent": sum(r.recognised is not None and r.recognised != r.expect for r in cmd),
            "false_accepts": sum(r.recognised is not None for r in null)}


def summarise(results: list[ClipResult], items: list[dict[str, Any]] | None = None,
              gated: frozenset[str] = frozenset()) -> dict[str, Any]:
    """Headline figures plus per-condition breakdown, and the false accepts by command and by speaker.

    ``gated``: the intents that execute only after "confirm"; a false accept of one of them asks
    for confirmation and changes nothing on its own, so ``false_executions`` leaves them out.
    ``false_accepts_per_hour`` relates the false accepts to the hours of non-command audio.
    """
    cmd = [r for r in results if r.expect is not None]
    null = [r for r in results if r.expect is None]
    lats = np.array([r.latency_ms for r in cmd if r.recognised == r.expect and r.latency_ms is not None])
    audio = sum(r.audio_s for r in results)
    by_cond: dict[str, list[ClipResult]] = {}
    by_snr: dict[str, list[ClipResult]] = {}
    snr_of = {}
    if items:
        snr_of = {it["audio"]: snr_group(it) for it in items}
    for r in results:
        by_cond.setdefault(r.condition, []).append(r)
        by_snr.setdefault(snr_of.get(r.audio, r.condition), []).append(r)
    s = _group_stats(results)
    null_hours = sum(r.audio_s for r in null) / 3600.0
    return {
        "accuracy": s["accuracy"],
        "false_accepts": s["false_accepts"],
        "n_command": s["n_command"],
        "n_null": s["n_null"],
        "latency_ms_p95": round(float(np.percentile(lats, 95)), 1) if len(lats) else None,
        "latency_ms_p50": round(float(np.percentile(lats, 50)), 1) if len(lats) else None,
        "wrong_intent": s["wrong_intent"],
        "false_accept_rate": round(s["false_accepts"] / len(null), 4) if null else None,
        "rtf": round(sum(r.cpu_s for r in results) / audio, 4) if audio else None,
        "false_accepts_by_intent": dict(sorted(collections.Counter(r.recognised for r in null
                                                                   if r.recognised is not None).items())),
        "false_executions": sum(r.recognised is not None and r.recognised not in gated for r in null),
        "false_accepts_per_hour": round(s["false_accepts"] / null_hours, 2) if null_hours > 0 else None,
        "speakers": len({r.speaker for r in results if r.speaker}),
        "false_accepts_by_speaker": dict(sorted(collections.Counter(
            r.speaker or "?" for r in null if r.recognised is not None).items())),
        "by_snr": {k: _group_stats(v) for k, v in sorted(by_snr.items())},
        "by_condition": {k: _group_stats(v) for k, v in sorted(by_cond.items())},
    }


def write_report_png(path: str | Path, summary: dict[str, Any], results: list[ClipResult], title: str) -> None:
    """Draw accuracy / false accepts per condition, the score histogram and latencies (OpenCV)."""
    import cv2

    W, H = 1200, 820
    img = np.full((H, W, 3), 255, np.uint8)
    font = cv2.FONT_HERSHEY_SIMPLEX

    def text(s, x, y, scale=0.5, color=(0, 0, 0), th=1):
        cv2.putText(img, s, (int(x), int(y)), font, scale, color, th, cv2.LINE_AA)

    text(title, 20, 32, 0.75, th=2)
    head = (f"accuracy {summary['accuracy']}  false accepts {summary['false_accepts']}/{summary['n_null']}  "
            f"wrong intent {summary['wrong_intent']}  latency p50/p95 {summary['latency_ms_p50']}/"
            f"{summary['latency_ms_p95']} ms  RTF {summary['rtf']}")
    text(head, 20, 60, 0.5)
    # panel 1: per SNR group bars
    groups = summary["by_snr"]
    x0, y0, ph = 60, 100, 260
    text("command accuracy (blue) and false-accept rate x10 (red) per condition", x0, y0 - 10)
    cv2.line(img, (x0, y0 + ph), (x0 + 1080, y0 + ph), (0, 0, 0), 1)
    for k, frac in enumerate((0.0, 0.5, 0.9, 1.0)):
        yy = int(y0 + ph - frac * ph)
        cv2.line(img, (x0 - 5, yy), (x0 + 1080, yy), (200, 200, 200), 1)
        text(f"{frac:.0%}", 10, yy + 5, 0.4)
    bw = max(20, min(120, 1000 // max(1, 2 * len(groups) + 1)))
    for i, (name, g) in enumerate(groups.items()):
        bx = x0 + 20 + i * (2 * bw + 30)
        acc = g["accuracy"] or 0.0
        far = (g["false_accepts"] / g["n_null"]) if g["n_null"] else 0.0
        cv2.rectangle(img, (bx, int(y0 + ph - acc * ph)), (bx + bw, y0 + ph), (200, 120, 40), -1)
        cv2.rectangle(img, (bx + bw, int(y0 + ph - min(1.0, 10 * far) * ph)), (bx + 2 * bw, y0 + ph), (40, 40, 210), -1)
        text(name, bx, y0 + ph + 18, 0.45)
        text(f"{acc:.3f}", bx, int(y0 + ph - acc * ph) - 4, 0.4)
        text(f"{g['false_accepts']}/{g['n_null']}", bx + bw, int(y0 + ph - min(1.0, 10 * far) * ph) - 18, 0.4,
             (40, 40, 210))
    # panel 2: score histogram
    sc_cmd = [r.score for r in results if r.expect is not None and r.structural_intent == r.expect and not math.isnan(r.score)]
    sc_null = [r.score for r in results if r.expect is None and r.structural_intent and not math.isnan(r.score)]
    x0, y0, pw, ph = 60, 440, 520, 300
    text("verification score: commands (blue) vs non-commands that reached scoring (red)", x0, y0 - 10, 0.45)
    allv = sc_cmd + sc_null
    if allv:
        lo, hi = float(np.percentile(allv, 1)), float(np.percentile(allv, 99))
        hi = hi if hi > lo else lo + 1
        bins = np.linspace(lo, hi, 31)
        hc, _ = np.histogram(np.clip(sc_cmd, lo, hi), bins)
        hn, _ = np.histogram(np.clip(sc_null, lo, hi), bins)
        m = max(1, hc.max(), hn.max())
        bwid = pw / 30
        for i in range(30):
            bx = int(x0 + i * bwid)
            cv2.rectangle(img, (bx, int(y0 + ph - hc[i] / m * ph)), (int(bx + bwid / 2), y0 + ph), (200, 120, 40), -1)
            cv2.rectangle(img, (int(bx + bwid / 2), int(y0 + ph - hn[i] / m * ph)), (int(bx + bwid), y0 + ph),
                          (40, 40, 210), -1)
        text(f"{lo:.2f}", x0, y0 + ph + 18, 0.4)
        text(f"{hi:.2f}", x0 + pw - 40, y0 + ph + 18, 0.4)
    cv2.line(img, (x0, y0 + ph), (x0 + pw, y0 + ph), (0, 0, 0), 1)
    # panel 3: latency histogram
    lats = [r.latency_ms for r in results if r.latency_ms is not None and r.recognised == r.expect]
    x0, y0 = 640, 440
    text("latency from end of speech to event (ms)", x0, y0 - 10, 0.45)
    if lats:
        lo, hi = 0.0, max(400.0, float(np.max(lats)))
        bins = np.linspace(lo, hi, 31)
        h, _ = np.histogram(np.clip(lats, lo, hi), bins)
        m = max(1, h.max())
        bwid = pw / 30
        for i in range(30):
            bx = int(x0 + i * bwid)
            cv2.rectangle(img, (bx, int(y0 + ph - h[i] / m * ph)), (int(bx + bwid - 1), y0 + ph), (60, 160, 60), -1)
        xx = int(x0 + 300 / hi * pw)
        cv2.line(img, (xx, y0), (xx, y0 + ph), (0, 0, 200), 1)
        text("300 ms", xx + 3, y0 + 12, 0.4, (0, 0, 200))
        text("0", x0, y0 + ph + 18, 0.4)
        text(f"{hi:.0f}", x0 + pw - 40, y0 + ph + 18, 0.4)
    cv2.line(img, (x0, y0 + ph), (x0 + pw, y0 + ph), (0, 0, 0), 1)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img)
