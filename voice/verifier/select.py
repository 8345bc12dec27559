"""Which learned parts a configuration uses: the frame VAD and the intent verifier.

Both are loaded once per listener/evaluation. The verifier is used only when it was trained for
the command set in use *and* the engine's calibration carries fusion weights fitted with it;
otherwise the defence falls back to the engine's own verification score and says so in the log.
"""

from __future__ import annotations

import logging
from pathlib import Path

from core.configtools import key_value
from core.errors import ModelError
from voice.commandset import CommandSet
from voice.config import VoiceConfig, VoiceVadConfig
from voice.score_thresholds import Calibration

log = logging.getLogger(__name__)


def load_vad_for(config: VoiceVadConfig):
    """The learned VAD weights of ``[voice.vad]`` (``None`` for ``voice.vad.kind = "energy"``).

    Raises:
        ModelError: the VAD file is missing or broken (names the fix).
    """
    if config.kind != "learned":
        return None
    from voice.verifier.vad_model import load_vad

    return load_vad(config.model_path())


def build_verifier(config: VoiceConfig, command_set: CommandSet, calibration: Calibration, device: str | None = None,
                   require_fusion: bool = True):
    """The :class:`~voice.verifier.model.IntentVerifier` to fuse with the engine, or ``None``.

    Raises:
        ModelError: an explicitly configured verifier cannot be loaded or does not fit.
    """
    naive, verifier = config.defence.naive, config.defence.verifier
    if naive or verifier == "off":
        return None
    from voice.verifier.model import IntentVerifier, bundled_verifier_dir

    explicit = verifier not in ("", "auto")
    d = bundled_verifier_dir(config.lang) if verifier in ("", "auto", "bundled") else Path(verifier).expanduser()
    if not explicit and not (d / "metadata.json").is_file():
        log.info("no bundled intent verifier for %r: the engine's verification score decides", config.lang)
        return None
    try:
        v = IntentVerifier(d, command_set, device=device)
    except ModelError as exc:
        if explicit:
            raise
        log.warning("intent verifier not used: %s", exc)
        return None
    if require_fusion and not calibration.has_fusion:
        if explicit:
            raise ModelError(f"voice.defence.verifier = {verifier!r} but the calibration for {calibration.engine}/"
                             f"{calibration.lang} has no fusion weights - run 'sonoguide voice calibrate "
                             f"--verifier {verifier}' or set voice.defence.verifier = 'off'")
        log.warning("intent verifier %s not used: the calibration for %s/%s has no fusion weights - run "
                    "'sonoguide voice calibrate'", d, calibration.engine, calibration.lang)
        return None
    fitted = calibration.fusion.get("verifier") if calibration.fusion else None
    mine = verifier_id(v)
    if require_fusion and fitted and fitted != mine:
        log.warning("the fusion weights were fitted with verifier %r, this is %r - recalibrate", fitted, mine)
    if require_fusion:
        front_end = calibration.fusion.get("front_end") or {}  # keys dotted, or flat in older files
        now = {k: key_value(config, k) for k in front_end}
        differ = {f"voice.{now[k][0]}": (fv, now[k][1]) for k, fv in front_end.items()
                  if now[k] is not None and now[k][1] != fv}
        if differ:
            log.warning("the fusion threshold was fitted with %s; this configuration has %s - the false-accept "
                        "rate is not calibrated for it: restore those settings or run 'sonoguide voice calibrate'",
                        ", ".join(f"{k} = {a!r}" for k, (a, _) in differ.items()),
                        ", ".join(f"{k} = {b!r}" for k, (_, b) in differ.items()))
    return v


def verifier_id(v) -> str:
    """Name, version and date of a loaded verifier (stored with the fusion weights)."""
    return f"{v.card.get('name')} {v.card.get('version')} {v.card.get('date')}"
