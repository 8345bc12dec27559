"""Endpointer: finds speech bursts in noise and estimates the noise level."""

from __future__ import annotations

import numpy as np

from voice.audio.vad import FRAME, Endpointer, VadKind, frame_dbfs


def _run(x: np.ndarray, **kw):
    ep = Endpointer(**kw)
    out = []
    for i in range(0, len(x) - FRAME + 1, FRAME):
        ev = ep.push(x[i:i + FRAME])
        if ev.kind in (VadKind.START, VadKind.END):
            out.append((ev.kind, i / 16000, ev))
    return ep, out


def _signal(noise_dbfs: float, bursts, seconds: float = 4.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * 16000)
    x = rng.standard_normal(n) * 10 ** (noise_dbfs / 20)
    t = np.arange(n) / 16000
    for a, b in bursts:  # amplitude-modulated harmonic "speech", 25 dB above the noise
        m = (t >= a) & (t < b)
        x[m] += 10 ** ((noise_dbfs + 25) / 20) * np.sqrt(2) * np.sin(2 * np.pi * 180 * t[m]) * (
            0.6 + 0.4 * np.sin(2 * np.pi * 4 * t[m]))
    return (np.clip(x, -1, 1) * 32767).astype(np.int16)


def test_bursts_are_found_with_their_ends():
    x = _signal(-50, [(1.0, 1.6), (2.5, 3.0)])
    ep, evs = _run(x, endpoint_silence_s=0.2)
    kinds = [k for k, _, _ in evs]
    assert kinds == [VadKind.START, VadKind.END, VadKind.START, VadKind.END]
    starts = [t for k, t, _ in evs if k is VadKind.START]
    assert abs(starts[0] - 1.0) < 0.08 and abs(starts[1] - 2.5) < 0.08
    ends = [ev for k, _, ev in evs if k is VadKind.END]
    assert abs(ends[0].speech_frames / 100 - 0.6) < 0.1
    assert abs(ep.noise_dbfs - frame_dbfs(x[:1600])) < 3.0


def test_digital_silence_and_a_click_start_nothing():
    x = np.zeros(32000, np.int16)
    x[16000:16010] = 20000  # 0.6 ms click
    _, evs = _run(x)
    assert evs == []


def test_noise_level_is_tracked_up_and_down():
    x = np.concatenate([_signal(-60, [], 2.0), _signal(-40, [], 3.0, seed=1)])
    ep, _ = _run(x)
    assert abs(ep.noise_dbfs - (-40)) < 4.0


def test_max_length_forces_an_end():
    x = _signal(-60, [(0.5, 5.5)], seconds=6.0)
    _, evs = _run(x, max_utterance_s=2.0)
    ends = [ev for k, _, ev in evs if k is VadKind.END]
    assert ends and ends[0].forced
