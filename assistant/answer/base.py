"""The answer stage: from retrieved passages to a cited answer, or a refusal.

`Answerer` is the seam: `answer(request)` returns the `Answer`; `stream(request)` yields
text as it is produced and ends with the `Answer` (an answerer that writes token by token,
such as an LLM, streams; the extractive one yields the finished answer at once). Every
answerer gets the same `AnswerRequest`: the question, the passages, the query vector, the
term statistics, the releases they come from, the refusal threshold and the passages'
sentence vectors made at ingest (empty for an index built before they were stored).

`ExtractiveAnswerer` quotes the best sentences (sentences.py) and refuses when the evidence
confidence (refusal.py) is below the threshold, or when the question has no content word
(`refusal.content_terms`) to answer on. Citation numbers are assigned here, by our
code, and point at the citations list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from langchain_core.embeddings import Embeddings

from assistant.answer import refusal
from assistant.answer.sentences import Sentence, StoredVectors, candidates, score_sentences, select
from assistant.lexical import detect_language
from assistant.types import Answer, AnswerSentence, Citation, Hit, IndexedRelease

REFUSALS = {
    "id": "Informasi tersebut tidak ditemukan dalam siaran pers yang tersedia.",
    "en": "The releases available do not contain that information.",
}


@dataclass(frozen=True)
class AnswerRequest:
    """Everything an answerer may use to answer one question."""

    question: str  # as asked (a follow-up is answered as asked, retrieved in context)
    hits: Sequence[Hit]  # the passages to answer from, best first
    query_vector: Sequence[float]  # the question's embedding
    idf: Callable[[str], float]  # term statistics of the whole index
    releases: Mapping[str, IndexedRelease] = field(default_factory=dict)  # of the hits
    threshold: float = refusal.DEFAULT_REFUSAL_THRESHOLD  # refuse below this confidence
    query: str = ""  # what retrieval searched with (a follow-up made standalone), if not question
    # the hits' sentence vectors made at ingest: chunk id -> sentence start -> vector
    sentence_vectors: StoredVectors = field(default_factory=dict)

    @property
    def language(self) -> str:
        """'en' or 'id': the language the answer is written in."""
        return detect_language(self.question)


AnswerEvent = str | Answer  # a piece of answer text, or the finished Answer (always last)


class Answerer(Protocol):
    """The answer stage: one request in, one cited Answer (or refusal) out."""

    def answer(self, request: AnswerRequest) -> Answer:
        """The finished answer."""
        ...

    def stream(self, request: AnswerRequest) -> Iterator[AnswerEvent]:
        """Text as it is produced, then the finished Answer."""
        ...


class ExtractiveAnswerer:
    """Quotes the sentences that best answer the question, each cited; or refuses."""

    def __init__(self, sentence_embedder: Embeddings, max_sentences: int = 5) -> None:
        # embeds only sentences the index holds no vector for (an index of an older schema)
        self.sentence_embedder = sentence_embedder
        self.max_sentences = max_sentences

    def answer(self, request: AnswerRequest) -> Answer:
        """Score the passages' sentences, keep the best, refuse on weak evidence."""
        if not refusal.content_terms(request.question):
            return compose(request, (), 0.0)  # junk: the best sentence would be arbitrary
        people = {rid: r.people for rid, r in request.releases.items()}
        scored = score_sentences(request.question, request.query_vector,
                                 candidates(request.hits), self.sentence_embedder,
                                 request.idf, people, request.sentence_vectors)
        features = refusal.evidence(request.question, scored, request.idf)
        answer = compose(request, select(scored, self.max_sentences),
                         refusal.confidence(features))
        return Answer(answer.question, answer.text, answer.refused, answer.citations,
                      answer.confidence, evidence=features, hits=tuple(request.hits),
                      sentences=answer.sentences)

    def stream(self, request: AnswerRequest) -> Iterator[AnswerEvent]:
        """The whole answer at once: quoting has nothing to show before it is done."""
        yield self.answer(request)


def compose(request: AnswerRequest, selected: Sequence[Sentence],
            confidence_score: float) -> Answer:
    """The answer text with [n] markers and its citations, or a refusal."""
    question = request.question
    if not selected or confidence_score < request.threshold:
        return Answer(question, REFUSALS[request.language], True, (), confidence_score)
    citations = [cite(n, s, request.releases) for n, s in enumerate(selected, start=1)]
    text = " ".join(f"{s.text} [{n}]" for n, s in enumerate(selected, start=1))
    # quoted sentences are supported by construction: each is its own citation's quote
    sentences = tuple(AnswerSentence(s.text, (n,)) for n, s in enumerate(selected, start=1))
    return Answer(question, text, False, tuple(citations), confidence_score,
                  sentences=sentences)


def cite(n: int, sentence: Sentence, releases: Mapping[str, IndexedRelease]) -> Citation:
    """Citation number n for a quoted sentence of a passage."""
    c = sentence.hit.chunk
    record = releases.get(c.release_id)
    return Citation(n=n, release_id=c.release_id, title=c.title, date=c.date, source=c.source,
                    quote=sentence.text, passage=c.text, score=round(sentence.score, 4),
                    url=record.url if record else "", chunk_id=c.id)
