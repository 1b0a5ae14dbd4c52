"""Citations and refusals, made one way for every answerer.

Citation numbers are assigned by our code, never by a model: `cite()` makes citation n for
a quoted sentence of a passage; `refuse()` makes the refusal, in the question's language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from assistant.answer.question import Question
from assistant.types import Answer, Chunk, Citation, Hit, IndexedRelease

REFUSALS = {
    "id": "Informasi tersebut tidak ditemukan dalam siaran pers yang tersedia.",
    "en": "The releases available do not contain that information.",
}


def cite(n: int, chunk: Chunk, quote: str, score: float,
         releases: Mapping[str, IndexedRelease]) -> Citation:
    """Citation number n: the quoted sentence of a passage, with its release's metadata."""
    record = releases.get(chunk.release_id)
    return Citation(n=n, release_id=chunk.release_id, title=chunk.title, date=chunk.date,
                    source=chunk.source, quote=quote, passage=chunk.text,
                    score=round(score, 4), url=record.url if record else "", chunk_id=chunk.id)


def refuse(question: Question, confidence: float, mode: str, hits: Sequence[Hit] = (),
           evidence: Mapping[str, float] | None = None, model: str = "") -> Answer:
    """The refusal: the releases do not hold the answer (in the question's language)."""
    return Answer(question.text, REFUSALS[question.language], True, (), confidence,
                  evidence=dict(evidence or {}), hits=tuple(hits), mode=mode, model=model)
