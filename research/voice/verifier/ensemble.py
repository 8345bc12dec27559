"""Combine trained intent verifiers into one ensemble verifier directory.

Members must be verifiers of the same command set (labels, phrases, language and input
specification); each keeps its own training record in the ensemble's card. At run time
(:class:`voice.verifier.model.IntentVerifier`) the posteriors are the normalised geometric mean of
the members' (:class:`voice.verifier.nets.EnsembleNet`). Members trained on different training
sets (``voice-train`` generator versions) disagree on different utterances, which is what an
ensemble needs (T. G. Dietterich, "Ensemble methods in machine learning", MCS 2000).
"""

from __future__ import annotations

import datetime as _dt
import logging
import shutil
from pathlib import Path
from typing import Sequence

from core.errors import InputError
from voice.verifier.model import read_card, weight_files

log = logging.getLogger(__name__)

_SHARED_KEYS = ("lang", "labels", "phrases", "wake_word", "input", "output")
"""Card fields every member must agree on."""
_MEMBER_KEYS = ("name", "version", "date", "arch", "parameters", "training", "metrics_validation")
"""Card fields kept per member."""


def check_members(member_dirs: Sequence[str | Path]) -> list[tuple[Path, str, dict]]:
    """The weight files of would-be ensemble members as ``(directory, file, card)``, checked.

    Raises:
        InputError: fewer than two directories, a missing weight file, or members that differ in
            command set or input (:data:`_SHARED_KEYS`).
        ModelError: a member's card is missing or malformed.
    """
    if len(member_dirs) < 2:
        raise InputError("an ensemble needs at least two verifier directories")
    members: list[tuple[Path, str, dict]] = []
    for d in map(Path, member_dirs):
        card = read_card(d)
        for f in weight_files(card):
            if not (d / f).is_file():
                raise InputError(f"verifier weights {d / f} are missing - retrain or restore that member")
            members.append((d, f, card))
    first = members[0][2]
    for d, _, card in members[1:]:
        bad = [k for k in _SHARED_KEYS if card.get(k) != first.get(k)]
        if bad:
            raise InputError(f"the verifier in {d} differs from {members[0][0]} in {', '.join(bad)}: only verifiers "
                             f"of the same command set and input can be combined")
    return members


def combine_verifiers(member_dirs: Sequence[str | Path], out_dir: str | Path, version: str,
                      validation: dict | None = None, note: str = "", command: str = "") -> dict:
    """Write an ensemble verifier made of ``member_dirs`` to ``out_dir``; returns its card.

    Args:
        member_dirs: two or more verifier directories (single models; an ensemble's members are
            taken one by one).
        out_dir: the new verifier directory (``member_<k>.pt`` + ``metadata.json``).
        version: the ensemble's version.
        validation: the ensemble's own validation metrics, when measured (see
            :func:`research.voice.verifier.training_app.combine_verifiers_cmd`).
        note: why these members (kept in the card).
        command: the command line that made the ensemble (kept in the card).

    Raises:
        InputError: fewer than two members, or members of another command set.
        ModelError: a member's card is missing or malformed.
    """
    from research.voice.verifier.train import save_card

    out = Path(out_dir)
    members = check_members(member_dirs)
    first = members[0][2]
    if out.resolve() in {d.resolve() for d, _, _ in members}:
        raise InputError(f"--out {out} is one of the members: write the ensemble to a new directory")
    out.mkdir(parents=True, exist_ok=True)
    listed = []
    for k, (d, f, card) in enumerate(members):
        name = f"member_{k}.pt"
        shutil.copyfile(d / f, out / name)
        # a member of an ensemble keeps its own record, a single model its card's
        src = next((m for m in card.get("members", []) if m.get("file") == f), card)
        rec = {key: src[key] for key in _MEMBER_KEYS if src.get(key) is not None}
        listed.append({"file": name, "source": str(d / f), **rec})
    c = {k: v for k, v in first.items() if k not in ("members", "history", "vad_history", "finetuned")}
    c.update({
        "version": version,
        "date": _dt.date.today().isoformat(),
        "arch": f"ensemble of {len(listed)} IntentNets (normalised geometric mean of their posteriors)",
        "parameters": int(sum(int(m.get("parameters", 0)) for m in listed)),
        "members": listed,
        "training": {"ensemble": note or "members trained apart; see members[].training",
                     "data": {"items": int(sum(int(m.get("training", {}).get("data", {}).get("items", 0))
                                                  for m in listed))},
                     **({"command": command} if command else {})},
        "metrics_validation": validation or {"note": "not measured for the ensemble; see members[]"},
    })
    save_card(out / "metadata.json", c)
    log.info("ensemble verifier of %d members written to %s", len(listed), out)
    return c
