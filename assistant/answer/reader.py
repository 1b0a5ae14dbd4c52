"""The trained reader: reads the top passages for a question, finds the answer span and
scores every sentence by the best span inside it.

Each passage is read in windows (windows.py) by the network (readerengine.py). A window
gives an answerability logit and, over its passage tokens, start and end logits; a span's
score is its start logit plus its end logit (at most `max_answer_tokens` long). A
`Reading` keeps, per window, its answerability, its best span and the best span score of
each sentence of the window: that is what picks the sentences an answer quotes
(answerreader.py) and what the answer decision weighs (decision.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from assistant.answer.readerengine import ReaderEngine
from assistant.answer.windows import (
    PassageTokens,
    Window,
    passage_prefix,
    passage_tokens,
    question_ids,
    windows,
)
from assistant.text import split_sentences
from assistant.types import Hit


@dataclass(frozen=True)
class SentenceScore:
    """A sentence of a passage and the best span the reader found inside it."""

    start: int  # character offsets in the chunk text
    end: int
    score: float  # start + end logit of its best span (-inf: no span fits inside)
    span: tuple[int, int]  # that span, in characters


@dataclass(frozen=True)
class Reading:
    """What the reader found in one window of one passage."""

    hit: Hit
    rank: int  # the passage's rank among the hits
    answerable: float  # logit that the window answers the question
    span: tuple[int, int]  # characters of the best span in the chunk text
    span_score: float
    sentences: tuple[SentenceScore, ...] = ()

    @property
    def short(self) -> str:
        """The best span as text."""
        return self.hit.chunk.text[self.span[0]: self.span[1]].strip(" ,.;:()\"'")


class Reader:
    """Reads passages for a question with the trained network, loaded on first use."""

    def __init__(self, load: Callable[[], ReaderEngine]) -> None:
        self._load = load
        self._engine: ReaderEngine | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> ReaderEngine:
        """The network, its tokenizer and its record (loaded once)."""
        with self._lock:
            if self._engine is None:
                self._engine = self._load()
            return self._engine

    def read(self, question: str, hits: Sequence[Hit], first_rank: int = 0) -> list[Reading]:
        """One Reading per window of each passage, in one batch."""
        engine = self.engine
        tok, shape = engine.tokenizer, engine.shape
        q_ids, prefix = question_ids(tok, question, shape), passage_prefix(tok)
        items: list[tuple[int, Hit, PassageTokens, Window]] = []
        for rank, hit in enumerate(hits, start=first_rank):
            tokens = passage_tokens(tok, hit.chunk.text)
            items += [(rank, hit, tokens, w) for w in windows(q_ids, prefix, tokens, shape)]
        if not items:
            return []
        logits = engine.run([w.ids for *_rest, w in items])
        return [reading(hit, rank, tokens, w, logits.start[i], logits.end[i],
                        float(logits.answer[i]), shape.max_answer_tokens)
                for i, (rank, hit, tokens, w) in enumerate(items)]


def reading(hit: Hit, rank: int, tokens: PassageTokens, w: Window, start: np.ndarray,
            end: np.ndarray, answerable: float, max_len: int) -> Reading:
    """The best span of one window and the best span of each of its sentences."""
    lo, n = w.passage_start, w.n_passage
    scores = span_scores(start[lo: lo + n], end[lo: lo + n], max_len)
    i, j = np.unravel_index(int(np.argmax(scores)), scores.shape)
    text = hit.chunk.text
    offsets = tokens.offsets[w.token_start: w.token_start + n]
    best = whole_words(text, (offsets[i][0], offsets[j][1]))
    sentences = []
    for a, b in split_sentences(text):
        inside = [k for k, (x, y) in enumerate(offsets) if x >= a and y <= b and y > x]
        if not inside:
            continue
        block = scores[inside[0]: inside[-1] + 1, inside[0]: inside[-1] + 1]
        si, sj = np.unravel_index(int(np.argmax(block)), block.shape)
        span = whole_words(text, (offsets[inside[0] + si][0], offsets[inside[0] + sj][1]))
        sentences.append(SentenceScore(a, b, float(block[si, sj]), span))
    return Reading(hit, rank, answerable, best, float(scores[i, j]), tuple(sentences))


def span_scores(start: np.ndarray, end: np.ndarray, max_len: int) -> np.ndarray:
    """[i, j]: start[i] + end[j] for spans i <= j < i + max_len; -inf elsewhere."""
    n = len(start)
    scores = start[:, None].astype(np.float64) + end[None, :]
    i, j = np.indices((n, n))
    return np.where((j >= i) & (j - i < max_len), scores, -np.inf)


def whole_words(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """The span widened to whole words (a span may start or end inside a word's tokens)."""
    a, b = span
    while 0 < a < len(text) and text[a - 1].isalnum() and text[a].isalnum():
        a -= 1
    while 0 < b < len(text) and text[b - 1].isalnum() and text[b].isalnum():
        b += 1
    while a < b and text[a].isspace():
        a += 1
    return a, b
