"""Application function behind ``sonoguide voice calibrate``: score the calibration clips, fit, write.

Without the learned verifier, the manifest is run with every threshold open and the engine's own
score gets per-intent thresholds (:func:`research.voice.thresholds.calibrate`). With it, every
utterance's fused evidence is collected with fusion open, then the fusion weights and the
threshold(s) on the fused log-odds are fitted (:func:`research.voice.thresholds.calibrate_fusion`).
``--samples`` caches the per-clip scores (or the fused evidence) so a refit skips the decoding.
The result is the calibration file that the live defence reads (:mod:`voice.score_thresholds`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

from core.configtools import key_value
from core.errors import InputError
from core.jsonfile import load_json
from voice.config import VoiceConfig


def calibrate_cmd(args: argparse.Namespace, cfg: VoiceConfig) -> int:
    """Evaluate on the manifest with thresholds disabled and choose per-intent thresholds."""
    import math

    from research.voice.evaluate import evaluate
    from voice.commandset import load_command_set
    from voice.engines.select import build_engine

    cs = load_command_set(cfg.command_set_path())
    engine, cal = build_engine(cfg, cs)
    if cfg.defence.verifier != "off" and not cfg.defence.naive:
        from voice.verifier.select import build_verifier

        verifier = build_verifier(cfg, cs, cal, require_fusion=False)
        if verifier is not None:
            return _calibrate_fused(args, cfg, cs, engine, cal, verifier)
    if args.samples and Path(args.samples).is_file():
        samples = [tuple(x) for x in load_json(args.samples, what="score cache", error=InputError,
                                               missing_fix="", require_object=False,
                                               corrupt_fix="delete it so the scores are decoded again")]
        samples = [(e, r, math.nan if s is None else s) for e, r, s in samples]
        penalty = args.garbage_penalty if args.garbage_penalty is not None else cal.garbage_penalty_log10
        return _write_calibration(args, cfg, engine.name, penalty, samples,
                                  cal.fusion if penalty == cal.garbage_penalty_log10 else {})
    if args.garbage_penalty is not None and engine.name == "pocketsphinx":
        from voice.engines.sphinx import SphinxEngine

        engine = SphinxEngine(cs, args.garbage_penalty, wake_word=cfg.defence.wake_word)
        cal = dataclasses.replace(cal, garbage_penalty_log10=args.garbage_penalty)
    open_cal = dataclasses.replace(cal, thresholds={}, default_threshold=-math.inf)
    import sys

    _, results = evaluate(cfg, args.manifest, progress=sys.stderr.isatty(), engine=engine, calibration=open_cal,
                          command_set=cs)
    samples = [(r.expect, r.structural_intent, r.score) for r in results]
    if args.samples:
        Path(args.samples).write_text(json.dumps([(e, r, None if math.isnan(s) else s) for e, r, s in samples]))
    keep = cal.fusion if args.garbage_penalty is None or engine.name != "pocketsphinx" else {}
    return _write_calibration(args, cfg, engine.name, cal.garbage_penalty_log10, samples, keep)


def _write_calibration(args: argparse.Namespace, cfg: VoiceConfig, engine: str, penalty: float, samples,
                       fusion=None) -> int:
    """Engine-only thresholds; ``fusion``: the existing fusion block to keep (fitted with the same
    engine settings), dropped when the garbage penalty changed."""
    from research.voice.thresholds import calibrate, save_calibration
    from voice.score_thresholds import bundled_calibration_path

    new = calibrate(samples, engine, cfg.lang, penalty, fa_target=args.fa_target,
                    safety_quantile=args.safety_quantile, meta={"data": str(args.manifest)})
    if fusion:
        new = dataclasses.replace(new, fusion=fusion)
    out = Path(args.out) if args.out else bundled_calibration_path(engine, cfg.lang)
    save_calibration(new, out)
    print(f"wrote {out}: default threshold {new.default_threshold:.4f}, {len(new.thresholds)} intents")
    return 0


def _record_to_json(r) -> dict:
    import math

    ev = r.evidence
    return {"clip": r.clip, "expect": r.expect, "target": r.target, "reason": r.reason,
            "post": [round(float(x), 6) for x in ev.post], "hyp": ev.hyp,
            "score": None if ev.score is None or math.isnan(ev.score) else float(ev.score),
            "garbage_only": bool(ev.garbage_only), "extra_s": float(ev.extra_s)}


def _record_from_json(d: dict):
    import math

    import numpy as np

    from research.voice.thresholds import UtteranceRecord
    from voice.fusion import Evidence

    ev = Evidence(post=np.asarray(d["post"], dtype=np.float32), hyp=d["hyp"],
                  score=math.nan if d["score"] is None else float(d["score"]), garbage_only=bool(d["garbage_only"]),
                  extra_s=float(d["extra_s"]))
    return UtteranceRecord(clip=int(d["clip"]), expect=d["expect"], target=d["target"], reason=d["reason"], evidence=ev)


def read_fusion_records(path: str | Path):
    """A ``voice calibrate --samples`` cache of fused evidence: ``(records, expects)``."""
    data = load_json(path, what="fused-evidence cache", error=InputError, missing_fix="run without --samples",
                     corrupt_fix="delete it so the evidence is collected again")
    return [_record_from_json(d) for d in data["records"]], data["expects"]


def collect_fusion_records(cfg: VoiceConfig, manifest, cs, engine, cal, verifier, progress: bool = False,
                           limit: int | None = None):
    """Run the calibration clips with fusion open (verifier alone, no thresholds); every utterance's evidence.

    Returns:
        ``(records, expects)``.
    """
    import math

    from research.voice.evaluate import evaluate
    from research.voice.thresholds import UtteranceRecord
    from voice.fusion import FusionWeights
    from voice.verifier.select import load_vad_for

    open_cal = dataclasses.replace(cal, fusion={"weights": FusionWeights().to_json(), "thresholds": {},
                                                "default_threshold": -math.inf})
    _, results = evaluate(cfg, manifest, progress=progress, limit=limit, engine=engine, calibration=open_cal,
                          command_set=cs, verifier=verifier, vad_weights=load_vad_for(cfg.vad), keep_utterances=True)
    records, expects = [], []
    for k, res in enumerate(results):
        expects.append(res.expect)
        t0, t1 = res.speech
        for u in res.utterances:
            ev = u.verdict.evidence
            if ev is None:
                continue
            target = None
            if res.expect is not None:
                if t0 is None or t1 is None or (u.t_start_ns / 1e9 < t1 and u.t_end_ns / 1e9 > t0):
                    target = res.expect
            records.append(UtteranceRecord(clip=k, expect=res.expect, target=target, reason=u.verdict.reason,
                                           evidence=ev))
    return records, expects


def _calibrate_fused(args: argparse.Namespace, cfg: VoiceConfig, cs, engine, cal, verifier) -> int:
    import sys

    from research.voice.thresholds import calibrate_fusion, save_calibration
    from voice.score_thresholds import bundled_calibration_path
    from voice.verifier.select import verifier_id

    cache = Path(args.samples) if args.samples else None
    if cache is not None and cache.is_file():
        records, expects = read_fusion_records(cache)
    else:
        records, expects = collect_fusion_records(cfg, args.manifest, cs, engine, cal, verifier,
                                                  progress=sys.stderr.isatty())
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps({"expects": expects, "records": [_record_to_json(r) for r in records]}))
    front_end = {k: key_value(cfg, k)[1] for k in ("vad.kind", "vad.start_prob", "vad.stop_prob",
                                                   "vad.endpoint_silence_s", "input.comfort_noise_dbfs")}
    new = calibrate_fusion(records, expects, verifier.labels, cal, verifier_id(verifier), fa_target=args.fa_target,
                           safety_quantile=args.safety_quantile,
                           meta={"data": str(args.manifest), "front_end": front_end},
                           policy=args.policy)
    out = Path(args.out) if args.out else bundled_calibration_path(engine.name, cfg.lang)
    save_calibration(new, out)
    f = new.fusion
    op = f.get("operating_point")
    where = (f"one threshold {f['default_threshold']:.4f} ({op['false_accepts']}/{op['n_null']} non-command clips "
             f"accepted, 95% upper bound {op['fa_upper_bound']:.4f}; command accuracy {op['command_accuracy']})"
             if op else f"{len(f['thresholds'])} intent thresholds (default {f['default_threshold']})")
    print(f"wrote {out}: fusion weights {f['weights']}, fit {f['fit']}, {where}")
    return 0
