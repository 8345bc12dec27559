"""Voice bad-input table: what ``sonoguide voice listen`` does with each kind of bad input.

Builds each input in a temporary directory, runs the real command line, and prints a markdown
table: the case, the exit status, and the first line of output (an ``error:`` line, or the
accepted commands). Expected: one clear error line or a "no command" result, never a traceback.

    .venv/bin/python benchmarks/bench_voice_badinput.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy.io import wavfile

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> int:
    from voice.audio.wavio import read_wav

    freeze, _ = read_wav(REPO / "tests" / "data" / "voice" / "en_freeze.wav")
    x = freeze.astype(np.float32) / 32768
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        from scipy.signal import resample_poly

        wavfile.write(t / "rate44k.wav", 44100, (resample_poly(x, 441, 160) * 32767).astype(np.int16))
        wavfile.write(t / "rate8k.wav", 8000, (resample_poly(x, 1, 2) * 32767).astype(np.int16))
        wavfile.write(t / "stereo.wav", 16000, np.stack([freeze, freeze], 1))
        wavfile.write(t / "u8.wav", 16000, (x * 127 + 128).astype(np.uint8))
        wavfile.write(t / "silence.wav", 16000, np.zeros(48000, np.int16))
        wavfile.write(t / "clipped.wav", 16000, (np.clip(x * 30, -1, 1) * 32767).astype(np.int16))
        wavfile.write(t / "empty.wav", 16000, np.zeros(0, np.int16))
        (t / "text.wav").write_text("not audio at all")
        (t / "cfg.toml").write_text('[voice]\naudit_log = ""\n[voice.engine]\nname = "pocketsphinx"\n'
                                    '[voice.input]\nsource = "microphone"\nmicrophone_device = "no such mic 99"\n')
        cases = [
            ("missing WAV", ["voice", "listen", "--wav", str(t / "missing.wav")]),
            ("not a WAV (text file)", ["voice", "listen", "--wav", str(t / "text.wav")]),
            ("empty WAV", ["voice", "listen", "--wav", str(t / "empty.wav")]),
            ("44.1 kHz WAV of 'freeze'", ["voice", "listen", "--wav", str(t / "rate44k.wav")]),
            ("8 kHz WAV of 'freeze'", ["voice", "listen", "--wav", str(t / "rate8k.wav")]),
            ("stereo WAV of 'freeze'", ["voice", "listen", "--wav", str(t / "stereo.wav")]),
            ("8-bit WAV of 'freeze'", ["voice", "listen", "--wav", str(t / "u8.wav")]),
            ("3 s digital silence", ["voice", "listen", "--wav", str(t / "silence.wav")]),
            ("'freeze' clipped (x30)", ["voice", "listen", "--wav", str(t / "clipped.wav")]),
            ("no microphone", ["voice", "listen", "--config", str(t / "cfg.toml"), "--duration", "1"]),
            ("missing Vosk model", ["voice", "listen", "--engine", "vosk", "--lang", "en", "--wav",
                                    str(t / "silence.wav")]),
        ]
        print("| input | exit | output (first line) | traceback |")
        print("|---|---|---|---|")
        for name, args in cases:
            env_args = args if "--engine" in args or "--config" in args else [*args, "--engine", "pocketsphinx"]
            r = subprocess.run([sys.executable, "-m", "sonoguide.cli", *env_args], capture_output=True, text=True,
                               timeout=120, cwd=REPO, env={"SONOGUIDE_DATA": str(t / "data"), "PATH": "/usr/bin:/bin"})
            err = next((ln for ln in r.stderr.splitlines() if ln.startswith("error:")), "")
            out = [json.loads(ln)["intent"] for ln in r.stdout.splitlines() if ln.startswith("{")]
            shown = err or (f"commands: {out}" if out else "no command")
            print(f"| {name} | {r.returncode} | {shown[:110]} | {'yes' if 'Traceback' in r.stderr else 'no'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
