"""Regenerate the small voice test fixtures (espeak-ng + the project's own generator).

Run from the repository root: ``.venv/bin/python tests/data/voice/make_fixtures.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

from research.voice.datagen import ClipSpec, render
from voice.audio.wavio import write_wav

HERE = Path(__file__).resolve().parent

CLIPS = [
    # name, text, expect, voice, noise, snr
    ("en_freeze", "freeze", "freeze", "en-us", "clean", None),
    ("en_unfreeze", "unfreeze", "unfreeze", "en-us", "clean", None),
    ("en_show_vessels_pink10", "show vessels", "show vessel", "en-us", "pink", 10.0),
    ("en_hide_all", "hide all", "hide all", "en-us", "clean", None),
    ("en_confirm", "confirm", "confirm", "en-us", "clean", None),
    ("en_chatter_nerve", "the nerve looks swollen", None, "en-us", "clean", None),
    ("en_chatter_record", "did you press record", None, "en-us+m3", "pink", 20.0),
    ("ko_start_recording", "녹화 시작", "start recording", "ko+m3", "clean", None),
    ("ko_chatter", "오늘 날씨가 좋네요", None, "ko+m4", "clean", None),
]


def main() -> None:
    manifest = []
    for k, (name, text, expect, voice, noise, snr) in enumerate(CLIPS):
        spec = ClipSpec(text=text, expect=expect, voice=voice, rate_wpm=160, pitch=50, noise=noise, snr_db=snr,
                        level_dbfs=-24.0, lead_s=0.5, tail_s=0.6, seed=100 + k)
        x, t0, t1 = render(spec, None)
        write_wav(HERE / f"{name}.wav", x)
        if name.startswith("en_"):
            manifest.append({"audio": f"{name}.wav", "expect": expect, "text": text, "noise": noise, "snr_db": snr,
                             "speech_start_s": round(t0, 4), "speech_end_s": round(t1, 4)})
    (HERE / "manifest_en.jsonl").write_text("".join(json.dumps(m) + "\n" for m in manifest), encoding="utf-8")


if __name__ == "__main__":
    main()
