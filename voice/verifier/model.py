"""The trained intent verifier at run time: load it, check it fits the command set, score utterances.

Files (bundled in ``voice/data/verifier_<lang>/``): ``model.pt`` (the
:class:`~voice.verifier.nets.IntentNet` state dict) and ``metadata.json`` (the model card: labels,
the phrases it was trained for, input specification, training data and metrics). An *ensemble*
(:mod:`research.voice.verifier.ensemble`) lists its members' weight files in the card's ``members``
instead; its posterior is the normalised geometric mean of the members' posteriors (the average
of their log-probabilities: T. G. Dietterich, "Ensemble methods in machine learning", MCS 2000;
G. E. Hinton, "Training products of experts by minimizing contrastive divergence", Neural
Computation 14, 2002). The frame VAD
is a separate file (``voice.vad.model``, default ``voice/data/vad.npz``,
:mod:`voice.verifier.vad_model`). Loading is offline; the weights are read with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import numpy as np

from core.errors import ModelError
from core.jsonfile import load_json
from voice.commandset import CommandSet
from voice.verifier.features import N_MELS, utterance_input

log = logging.getLogger(__name__)

CARD_FORMAT = "sonoguide.voice-verifier/1"
DATA_DIR = Path(__file__).resolve().parents[1] / "data"


def bundled_verifier_dir(lang: str) -> Path:
    """``voice/data/verifier_<lang>``."""
    return DATA_DIR / f"verifier_{lang}"


def read_card(model_dir: Path) -> dict:
    """The model card of a verifier directory.

    Raises:
        ModelError: missing or malformed.
    """
    p = Path(model_dir) / "metadata.json"
    if not p.is_file():
        raise ModelError(f"no verifier model card at {p} - set voice.defence.verifier to a directory written by "
                         f"'sonoguide voice train-verifier', or 'off'")
    card = load_json(p, what="verifier model card", error=ModelError, missing_fix="retrain the verifier",
                     corrupt_fix="it is unreadable: retrain the verifier")
    if card.get("format") != CARD_FORMAT or not isinstance(card.get("labels"), list):
        raise ModelError(f"{p} is not a verifier model card ({CARD_FORMAT}) - retrain the verifier")
    members = card.get("members")
    if members is not None and (not isinstance(members, list) or not members
                                or not all(isinstance(m, dict) and isinstance(m.get("file"), str) for m in members)):
        raise ModelError(f"{p}: 'members' must list the ensemble's weight files ({{\"file\": ...}}) - combine the "
                         f"verifiers again with 'sonoguide voice combine-verifiers'")
    return card


def weight_files(card: dict) -> list[str]:
    """The weight files of a verifier: its ensemble members' (card ``members``), else ``model.pt``."""
    members = card.get("members")
    if not members:
        return ["model.pt"]
    return [str(m["file"]) for m in members]


def load_networks(model_dir: str | Path, card: dict, files: list[str] | None = None) -> list:
    """The :class:`~voice.verifier.nets.IntentNet` of each weight file of a verifier (CPU, eval mode).

    ``files``: only these weight files (default: all of :func:`weight_files`).

    Raises:
        ModelError: a weight file is missing, corrupt or of another shape (the message names it).
    """
    import torch

    from voice.verifier.nets import IntentNet

    nets = []
    for name in files if files is not None else weight_files(card):
        weights = Path(model_dir) / name
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
            net = IntentNet(len(card["labels"]))
            net.load_state_dict(state)
        except (OSError, RuntimeError, KeyError, ValueError, TypeError, EOFError, pickle.UnpicklingError) as exc:
            raise ModelError(f"cannot load the verifier weights {weights} ({exc}) - restore the file or retrain "
                             f"with 'sonoguide voice train-verifier'") from None
        nets.append(net.eval())
    return nets


def fits_command_set(card: dict, command_set: CommandSet) -> str:
    """``""`` when the verifier was trained for exactly these phrases and intents, else why not."""
    want = dict(sorted(command_set.phrase_to_intent().items()))
    have = card.get("phrases", {})
    if have != want:
        extra = sorted(set(want) - set(have))
        gone = sorted(set(have) - set(want))
        return (f"trained for other phrases (new: {', '.join(extra) or '-'}; missing: {', '.join(gone) or '-'}; "
                f"or other intents)")
    if card.get("labels", [])[:-1] != sorted(command_set.intents):
        return "trained for other intents"
    return ""


class IntentVerifier:
    """Posterior probabilities of the intents (and ``none``) for one utterance.

    Args:
        model_dir: directory with ``metadata.json`` and ``model.pt`` (or an ensemble's member files).
        command_set: the command set in use; a verifier trained for other phrases is refused.
        device: torch device (default: CUDA when available, else CPU).
        threads: CPU threads for one utterance's forward pass (default 1: the listener shares two
            cores with the video pipeline). :func:`torch.set_num_threads` is process-wide, so it
            is never called at import or load; :meth:`posteriors` sets it on the calling thread
            for the duration of the pass only and restores the previous value afterwards
            (with torch's OpenMP backend other running threads keep their own setting).

    Raises:
        ModelError: missing/broken files or a command set the verifier was not trained for.
    """

    def __init__(self, model_dir: str | Path, command_set: CommandSet, device: str | None = None,
                 threads: int = 1) -> None:
        import torch

        from voice.verifier.nets import EnsembleNet

        self.dir = Path(model_dir)
        self.card = read_card(self.dir)
        why = fits_command_set(self.card, command_set)
        if why:
            raise ModelError(f"the verifier in {self.dir} does not fit {command_set.source}: {why} - retrain it with "
                             f"'sonoguide voice train-verifier --command-set {command_set.source}' or set "
                             f"voice.defence.verifier = 'off'")
        self.labels: list[str] = list(self.card["labels"])
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        nets = load_networks(self.dir, self.card)
        self.net = nets[0] if len(nets) == 1 else EnsembleNet(nets)
        self.net.eval().to(self.device)
        self.n_members = len(nets)
        self._torch = torch
        self.max_frames = int(self.card.get("input", {}).get("max_frames", 300))
        self.threads = max(1, int(threads))
        log.info("intent verifier %s v%s loaded (%d member%s, %s)", self.card.get("name"), self.card.get("version"),
                 self.n_members, "" if self.n_members == 1 else "s", self.device)

    @property
    def none_index(self) -> int:
        """Index of ``none`` in :attr:`labels`."""
        return len(self.labels) - 1

    def posteriors(self, feats: np.ndarray) -> np.ndarray:
        """Softmax over :attr:`labels` for an utterance's log-mel frames ``(T, N_MELS)`` (dB).

        Segments longer than the model's ``max_frames`` are cut to their first ``max_frames``;
        a segment shorter than 4 frames is ``none`` with certainty. An ensemble gives the
        normalised geometric mean of its members' posteriors.
        """
        f = np.asarray(feats, dtype=np.float32)
        if f.ndim != 2 or f.shape[1] != N_MELS:
            raise ValueError(f"verifier input must be (frames, {N_MELS}), got {f.shape}")
        if len(f) < 4:
            p = np.zeros(len(self.labels), np.float32)
            p[self.none_index] = 1.0
            return p
        x = utterance_input(f[:self.max_frames])
        torch = self._torch
        prev = torch.get_num_threads()
        if prev != self.threads:
            torch.set_num_threads(self.threads)
        try:
            with torch.inference_mode():
                xt = torch.from_numpy(x)[None].to(self.device)
                mask = torch.ones(1, len(x), device=self.device)
                return torch.softmax(self.net(xt, mask), dim=1)[0].float().cpu().numpy()
        finally:
            if prev != self.threads:
                torch.set_num_threads(prev)
