"""The answer stage's seam: one `AnswerRequest` in, one cited `Answer` (or refusal) out.

`Answerer` is the protocol every answerer implements (extractive.py, readeranswer.py,
llm.py): `answer(request)` returns the `Answer`; `stream(request)` yields text as it is
produced and ends with the `Answer`. Each answerer declares its `name` (what `calibrate` and
`eval` key its threshold and results by) and the `mode` its answers report.

The request carries the question analysed once (question.py), the passages, the releases
they come from, and what the index knows that helps judge them (`IndexEvidence`: the
question's vector, term statistics and the passages' sentence vectors made at ingest).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from assistant.answer.question import Question
from assistant.types import Answer, Hit, IndexedRelease

# chunk id -> sentence start offset in the chunk's text -> that sentence's vector
StoredVectors = Mapping[str, Mapping[int, Any]]


def _no_idf(_term: str) -> float:
    return 0.0


@dataclass(frozen=True)
class IndexEvidence:
    """What the index knows about the question and its passages."""

    query_vector: Sequence[float] = ()  # the question's embedding
    idf: Callable[[str], float] = _no_idf  # term statistics of the whole index
    sentence_vectors: StoredVectors = field(default_factory=dict)  # made at ingest


@dataclass(frozen=True)
class AnswerRequest:
    """Everything an answerer may use to answer one question."""

    question: Question  # as asked (a follow-up is answered as asked, retrieved in context)
    hits: Sequence[Hit]  # the passages to answer from, best first
    releases: Mapping[str, IndexedRelease] = field(default_factory=dict)  # of the hits
    evidence: IndexEvidence = field(default_factory=IndexEvidence)
    query: str = ""  # what retrieval searched with (a follow-up made standalone), if not question

    @property
    def language(self) -> str:
        """'en' or 'id': the language the answer is written in."""
        return self.question.language


AnswerEvent = str | Answer  # a piece of answer text, or the finished Answer (always last)


class Answerer(Protocol):
    """The answer stage: one request in, one cited Answer (or refusal) out."""

    name: str  # "extractive", "reader", "llm": the key of its calibration and eval results
    mode: str  # what its answers report as Answer.mode

    def answer(self, request: AnswerRequest) -> Answer:
        """The finished answer."""
        ...

    def stream(self, request: AnswerRequest) -> Iterator[AnswerEvent]:
        """Text as it is produced, then the finished Answer."""
        ...
