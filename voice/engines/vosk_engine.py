"""Vosk engine: Kaldi ``KaldiRecognizer`` restricted to a grammar built from the command set.

The grammar lists every command phrase plus *garbage*: Vosk's ``[unk]`` where the model has it,
and the command set's in-vocabulary filler words (``[garbage] words``), so that other speech is
decoded as filler instead of being forced onto a command. This matters because a grammar of
commands alone makes Vosk return a command, with word confidence 1.0, for unrelated speech (its
lattice has nothing else to choose), and even with garbage the word posteriors of a small
model saturate at 1.0 (lattice beam 2). The score is therefore the n-best margin: the lattice
score of the best path minus that of the best path with different words (garbage included),
a standard confusability-based confidence (F. Wessel et al., "Confidence measures for large
vocabulary continuous speech recognition", IEEE Trans. Speech Audio Process. 9(3), 2001).

Audio streams into the recogniser as it arrives (``AcceptWaveform`` per block, Vosk's own
examples), so the end of an utterance only costs ``FinalResult``.
"""

from __future__ import annotations

import json
import logging
import math
import struct
import time
from pathlib import Path

import numpy as np

from core.errors import ConfigError, ModelError
from voice.commandset import CommandSet
from voice.engines.base import Recognition, WordHyp

log = logging.getLogger(__name__)

UNK = "[unk]"
N_BEST = 8
MARGIN_CAP = 5.0
"""Score given when no other word sequence is within the lattice beam."""
REQUIRED = ("am/final.mdl", "conf/model.conf")


def check_model_dir(path: Path) -> None:
    """Raise :class:`ModelError` unless ``path`` looks like a Vosk model directory."""
    if not path.is_dir():
        raise ModelError(f"Vosk model directory {path} not found - run 'sonoguide models fetch vosk-en' "
                         f"or set voice.engine.vosk_model")
    missing = [r for r in REQUIRED if not (path / r).is_file()]
    if missing:
        raise ModelError(f"{path} is not a complete Vosk model (missing {', '.join(missing)}) - fetch it again "
                         f"with 'sonoguide models fetch vosk-en --force'")


def read_vocabulary(model_dir: Path) -> set[str] | None:
    """The model's word list (``graph/words.txt``, else the output symbol table of ``Gr.fst``).

    Returns ``None`` when neither can be read (the grammar is then passed as is).
    """
    words_txt = model_dir / "graph" / "words.txt"
    if words_txt.is_file():
        return {line.split()[0] for line in words_txt.read_text(encoding="utf-8").splitlines() if line.strip()}
    gr = model_dir / "graph" / "Gr.fst"
    if gr.is_file():
        try:
            return _fst_output_symbols(gr)
        except (OSError, struct.error, UnicodeDecodeError, ValueError) as exc:
            log.warning("cannot read the vocabulary of %s: %s", gr, exc)
    return None


def _fst_output_symbols(path: Path) -> set[str]:
    """Read the output symbol table stored in an OpenFst binary header (``FstHeader``)."""
    with open(path, "rb") as f:
        def i32() -> int:
            return struct.unpack("<i", f.read(4))[0]

        def i64() -> int:
            return struct.unpack("<q", f.read(8))[0]

        def string() -> str:
            n = i32()
            if not 0 <= n < 1 << 20:
                raise ValueError("bad string length in FST header")
            return f.read(n).decode("utf-8")

        if i32() != 2125659606:  # OpenFst magic number
            raise ValueError("not an OpenFst file")
        string(), string()  # fst type, arc type
        i32()  # version
        flags = i32()
        f.read(8)  # properties
        i64(), i64(), i64()  # start, states, arcs
        tables = []
        for bit in (1, 2):  # input, output symbols
            if flags & bit:
                if i32() != 2125658996:  # SymbolTable magic
                    raise ValueError("bad symbol table")
                string()
                i64()
                size = i64()
                table = set()
                for _ in range(size):
                    table.add(string())
                    i64()  # key
                tables.append(table)
        if not tables:
            raise ValueError("FST has no symbol table")
        return tables[-1]


class VoskEngine:
    """Grammar-restricted Vosk recogniser with garbage words.

    Args:
        command_set: phrases and garbage words.
        model_dir: the Vosk model directory.
        wake_word: include the wake word in the grammar.
        naive: grammar of commands only, no garbage (the baseline).
        model: an already loaded ``vosk.Model`` to share (loading takes seconds).
    """

    name = "vosk"

    def __init__(self, command_set: CommandSet, model_dir: Path, wake_word: bool = False, naive: bool = False,
                 model=None) -> None:
        import vosk

        vosk.SetLogLevel(-1)
        self.command_set = command_set
        self.naive = naive
        check_model_dir(model_dir)
        vocab = read_vocabulary(model_dir)
        words = set(command_set.words()) if wake_word else {w for p in command_set.phrases() for w in p.split()}
        if vocab is not None:
            missing = sorted(w for w in words if w not in vocab)
            if missing:
                raise ConfigError(f"{command_set.source}: word(s) {', '.join(missing)} are not in the vocabulary of "
                                  f"{model_dir} - rephrase those commands with in-vocabulary words")
        phrases = list(command_set.phrases())
        if wake_word and command_set.wake_word:
            phrases.append(command_set.wake_word)
        self._garbage: set[str] = set()
        if not naive:
            gw = [w for w in command_set.garbage_words if vocab is None or w in vocab]
            dropped = len(command_set.garbage_words) - len(gw)
            if dropped:
                log.info("%d garbage word(s) not in the model vocabulary were left out", dropped)
            self._garbage = set(gw)
            if vocab is None or UNK in vocab:
                self._garbage.add(UNK)
            phrases += sorted(self._garbage)
        self._grammar = json.dumps(phrases, ensure_ascii=False)
        try:
            self._model = model or vosk.Model(str(model_dir))
        except Exception as exc:  # vosk raises a bare Exception on load failure
            raise ModelError(f"Vosk could not load the model in {model_dir} ({exc}) - fetch it again") from None
        self._vosk = vosk
        self._rec = None
        self._recognizer = None
        self._cpu = 0.0
        log.info("Vosk engine ready: model %s, %d phrases, %d garbage words", model_dir,
                 len(command_set.phrases()), len(self._garbage))

    @property
    def model(self):
        """The loaded ``vosk.Model`` (to share with another engine)."""
        return self._model

    def start_utterance(self) -> None:
        """Begin an utterance (the recogniser and its compiled grammar are made once, then reset)."""
        t = time.thread_time()
        if self._recognizer is None:
            self._recognizer = self._vosk.KaldiRecognizer(self._model, 16000.0, self._grammar)
            self._recognizer.SetWords(True)
            self._recognizer.SetMaxAlternatives(N_BEST)
        else:
            self._recognizer.Reset()
        self._rec = self._recognizer
        self._cpu = time.thread_time() - t

    def feed(self, pcm: np.ndarray) -> None:
        """Stream a block into the recogniser."""
        if self._rec is None:
            self.start_utterance()
        t = time.thread_time()
        self._rec.AcceptWaveform(np.ascontiguousarray(pcm, dtype=np.int16).tobytes())
        self._cpu += time.thread_time() - t

    def end_utterance(self) -> Recognition:
        """Finalise: ``FinalResult`` and word confidences."""
        if self._rec is None:
            return Recognition(words=())
        t = time.thread_time()
        res = json.loads(self._rec.FinalResult())
        self._rec = None
        alts = res.get("alternatives") or [res]
        top = alts[0]
        words = []
        for w in top.get("result", []):
            words.append(WordHyp(word=w["word"], start_s=float(w["start"]), end_s=float(w["end"]),
                                 conf=float(w.get("conf", 1.0)), garbage=w["word"] in self._garbage))
        if not words and top.get("text"):
            words = [WordHyp(word=x, start_s=0.0, end_s=0.0, garbage=x in self._garbage) for x in top["text"].split()]
        self._cpu += time.thread_time() - t
        score = math.nan
        if words and "confidence" in top:
            # n-best margin: how much better the best path scores than the best path that says
            # something else (lattice scores; a competitor outside the lattice beam -> the cap)
            other = [a["confidence"] for a in alts[1:] if a.get("text", "") != top.get("text", "")]
            score = min(MARGIN_CAP, float(top["confidence"]) - max(other)) if other else MARGIN_CAP
        return Recognition(words=tuple(words), score=score, cpu_s=self._cpu,
                           detail={"text": top.get("text", ""), "n_best": len(alts)})

    def close(self) -> None:
        """Drop the recogniser."""
        self._rec = None
        self._recognizer = None
