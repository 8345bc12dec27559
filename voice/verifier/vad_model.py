"""Frame-level speech probability from the trained :class:`~voice.verifier.nets.VadNet`, in NumPy.

Input per 10 ms frame: per-band SNR features (:func:`voice.verifier.features.snr_features`) of the
log-mel frame against the minimum-statistics noise estimate. The network (a projection, one GRU
layer, a logistic output) is run one frame at a time with its recurrent state carried along
(:class:`VadStream`), or over a whole signal (:func:`vad_probs`, for analysis); both give the
same numbers. The GRU update follows PyTorch's ``nn.GRU`` equations (gates ``r, z, n``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import ModelError
from voice.verifier.features import N_MELS, NoiseTracker, noise_floor_track, snr_features

VAD_FORMAT = "sonoguide.voice-vad/2"


def vad_inputs_from_logmel(feats: np.ndarray) -> np.ndarray:
    """Network inputs ``(T, N_MELS)`` for a whole signal's log-mel frames."""
    return snr_features(feats, noise_floor_track(feats))


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.clip(x, -30, 30)))


@dataclass(frozen=True)
class VadWeights:
    """The exported network."""

    w_in: np.ndarray   # (N_MELS, P)
    b_in: np.ndarray
    w_ih: np.ndarray   # (P, 3H), gates r z n
    b_ih: np.ndarray
    w_hh: np.ndarray   # (H, 3H)
    b_hh: np.ndarray
    w_out: np.ndarray  # (H,)
    b_out: float
    meta: dict

    @property
    def hidden(self) -> int:
        """GRU units."""
        return self.w_hh.shape[0]

    def step(self, x: np.ndarray, h: np.ndarray) -> tuple[float, np.ndarray]:
        """One frame: inputs ``(N_MELS,)`` and state ``(H,)`` -> ``(probability, new state)``."""
        u = np.maximum(x @ self.w_in + self.b_in, 0.0)
        gi = u @ self.w_ih + self.b_ih
        gh = h @ self.w_hh + self.b_hh
        n_h = self.hidden
        r = _sigmoid(gi[:n_h] + gh[:n_h])
        z = _sigmoid(gi[n_h:2 * n_h] + gh[n_h:2 * n_h])
        n = np.tanh(gi[2 * n_h:] + r * gh[2 * n_h:])
        h = ((1.0 - z) * n + z * h).astype(np.float32)
        return float(_sigmoid(h @ self.w_out + self.b_out)), h

    def probs(self, x: np.ndarray) -> np.ndarray:
        """Probabilities for a whole ``(T, N_MELS)`` input sequence from a zero state."""
        h = np.zeros(self.hidden, np.float32)
        out = np.zeros(len(x), np.float32)
        for t in range(len(x)):
            out[t], h = self.step(x[t], h)
        return out


def vad_probs(weights: VadWeights, feats: np.ndarray) -> np.ndarray:
    """Speech probability of every log-mel frame of a whole signal."""
    return weights.probs(vad_inputs_from_logmel(feats))


class VadStream:
    """Frame by frame: noise tracking, SNR features and the recurrent state."""

    def __init__(self, weights: VadWeights) -> None:
        self.w = weights
        self.noise = NoiseTracker()
        self.h = np.zeros(weights.hidden, np.float32)

    def reset(self) -> None:
        """Forget the noise estimate and the recurrent state."""
        self.noise.reset()
        self.h = np.zeros(self.w.hidden, np.float32)

    def push(self, frame_db: np.ndarray) -> float:
        """Speech probability of one log-mel frame."""
        x = snr_features(frame_db[None, :], self.noise.push(frame_db)[None, :])[0]
        p, self.h = self.w.step(x, self.h)
        return p


def save_vad(path: str | Path, state: dict, meta: dict) -> None:
    """Write a trained :class:`~voice.verifier.nets.VadNet` ``state_dict`` as ``.npz`` with its card in ``meta``."""
    arr = {k.replace(".", "_"): v.detach().cpu().numpy().astype(np.float32) for k, v in state.items()}
    np.savez(path, meta=np.array(json.dumps({"format": VAD_FORMAT, **meta})), **arr)


def load_vad(path: str | Path) -> VadWeights:
    """Load :func:`save_vad`'s file.

    Raises:
        ModelError: missing, unreadable or of another format.
    """
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"VAD model {p} not found - set voice.vad.kind = 'energy' or restore the file "
                         f"(retrain with 'sonoguide voice train-verifier')")
    try:
        with np.load(p) as z:
            meta = json.loads(str(z["meta"]))
            if meta.get("format") != VAD_FORMAT:
                raise ValueError(f"format {meta.get('format')!r}, expected {VAD_FORMAT}")
            w = VadWeights(w_in=z["inp_weight"].T.copy(), b_in=z["inp_bias"].copy(),
                           w_ih=z["gru_weight_ih_l0"].T.copy(), b_ih=z["gru_bias_ih_l0"].copy(),
                           w_hh=z["gru_weight_hh_l0"].T.copy(), b_hh=z["gru_bias_hh_l0"].copy(),
                           w_out=z["out_weight"][0].copy(), b_out=float(z["out_bias"][0]), meta=meta)
    except (OSError, KeyError, ValueError) as exc:
        raise ModelError(f"VAD model {p} is unreadable ({exc}) - retrain with 'sonoguide voice train-verifier'") \
            from None
    if w.w_in.shape[0] != N_MELS:
        raise ModelError(f"VAD model {p} expects {w.w_in.shape[0]} bands, this version has {N_MELS} - retrain it")
    return w
