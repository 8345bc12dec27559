"""Learned-VAD endpointing delay on labelled command clips, for several stop probabilities and silences.

For each command clip of a manifest (with ``speech_start_s`` / ``speech_end_s``), the clip is run
frame by frame through the :class:`~voice.audio.learned_vad.LearnedEndpointer` exactly as the
processor feeds it (the log-mel front end hears the comfort noise). Reported per setting: the
delay from the end of speech to the first endpoint at or after it (p50 / p95), utterances cut
inside the speech (an endpoint more than 100 ms before its end), and clips never endpointed.
Choose settings on the calibration split, not on the test split.

    .venv/bin/python benchmarks/bench_voice_endpoint.py \\
        --manifest runs/voice_data/en_calib2/manifest.jsonl --every 3
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--every", type=int, default=1, help="use every N-th clip")
    ap.add_argument("--start", type=float, help="onset probability (default: the configured voice.vad.start_prob)")
    ap.add_argument("--stop", default="0.35,0.45,0.5", help="comma list of stop probabilities (<= the start one)")
    ap.add_argument("--silence", default="0.2,0.15", help="comma list of endpointing silences (s)")
    ap.add_argument("--vad-model", metavar="NPZ", help="VAD weights (default: the configured voice.vad.model)")
    args = ap.parse_args()

    from voice.audio.comfort import ComfortNoise
    from voice.audio.learned_vad import LearnedEndpointer
    from voice.audio.vad import VadKind
    from voice.audio.wavio import read_wav
    from voice.config import ENGINE_RATE, VoiceConfig
    from voice.verifier.features import StreamingLogMel
    from voice.verifier.vad_model import load_vad

    cfg = VoiceConfig()
    weights = load_vad(args.vad_model or cfg.vad.model_path())
    start = cfg.vad.start_prob if args.start is None else args.start
    man = Path(args.manifest)
    clips = [json.loads(x) for x in man.read_text(encoding="utf-8").splitlines() if x.strip()][::args.every]
    clips = [c for c in clips if c.get("expect") is not None]
    audio = [read_wav(man.parent / c["audio"])[0] for c in clips]
    print(f"{len(clips)} command clips of {man}")
    print(f"onset probability {start}")
    print("| stop prob | silence | delay p50 / p95 (ms) | cut inside speech | never ended |")
    print("|---|---|---|---|---|")
    for stop in (float(x) for x in args.stop.split(",")):
        for sil in (float(x) for x in args.silence.split(",")):
            delays, cut, never = [], 0, 0
            for c, x in zip(clips, audio):
                ep = LearnedEndpointer(weights, start, stop, sil, cfg.vad.preroll_s, cfg.defence.max_utterance_s + 0.5)
                mel, comfort = StreamingLogMel(), ComfortNoise(cfg.input.comfort_noise_dbfs)
                ends = []
                for i in range(0, len(x) - 159, 160):
                    f = x[i:i + 160]
                    if ep.push(f, mel.push(comfort.add(f))).kind is VadKind.END:
                        ends.append((i + 160) / ENGINE_RATE)
                t0, t1 = c["speech_start_s"], c["speech_end_s"]
                if not ends:
                    never += 1
                    continue
                cut += any(t0 + 0.1 < e < t1 - 0.1 for e in ends)
                after = [e for e in ends if e >= t1 - 0.05]
                if after:
                    delays.append(after[0] - t1)
            d = np.asarray(delays) * 1000
            print(f"| {stop} | {sil} | {np.percentile(d, 50):.0f} / {np.percentile(d, 95):.0f} | {cut} | {never} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
