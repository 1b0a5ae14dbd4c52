"""A scripted reader engine for fast tests: it answers with the phrase it is given.

The windows are real (the converted e5 tokenizer cuts them); the logits are made up: for
each passage phrase the script names, the tokens that spell it get high start and end
logits, and the window gets the script's answerability logit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from assistant.answer.readerengine import Logits
from assistant.answer.windows import Shape
from assistant.index.e5tokenizer import load_tokenizer

MODEL_DIR = Path(__file__).parent / "artifacts" / "e5-models"


class ScriptedEngine:
    """Finds each scripted phrase in a window's tokens and scores it as the answer."""

    def __init__(self, script: Mapping[str, float], record: Mapping | None = None) -> None:
        self.tokenizer = load_tokenizer(MODEL_DIR)
        self.tokenizer.no_truncation()
        self.shape = Shape()
        self.script = dict(script)  # phrase -> answerability logit of a window holding it
        self.record = dict(record or {})

    def run(self, windows: Sequence[Sequence[int]]) -> Logits:
        """Start/end logits 4 + its answerability on the phrase's first/last token (a more
        answerable phrase is also the better span); answerability from the script."""
        width = max(len(w) for w in windows)
        start, end = np.zeros((len(windows), width)), np.zeros((len(windows), width))
        answer = np.full(len(windows), -6.0)
        for i, ids in enumerate(windows):
            pieces = [self.tokenizer.id_to_token(t) or "" for t in ids]
            for phrase, logit in self.script.items():
                found = _find(pieces, phrase)
                if found and logit > answer[i]:
                    start[i, found[0]], end[i, found[1]] = 4.0 + logit, 4.0 + logit
                    answer[i] = logit
        return Logits(start, end, answer)


def _find(pieces: Sequence[str], phrase: str) -> tuple[int, int] | None:
    """The first and last token whose pieces spell the phrase (letters and digits only)."""
    wanted = _plain(phrase)
    for a in range(len(pieces)):
        text = ""
        for b in range(a, len(pieces)):
            text += _plain(pieces[b])
            if text == wanted and _plain(pieces[a]):
                return a, b
            if not wanted.startswith(text):
                break
    return None


def _plain(text: str) -> str:
    return re.sub(r"[\W_]", "", text.lower())
