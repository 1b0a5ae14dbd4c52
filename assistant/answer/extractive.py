"""The extractive answerer: quotes the sentences that best answer the question, each cited.

Candidate sentences of the passages are scored (sentences.py) and the best few kept; the
question is refused when the evidence confidence (refusal.py) is below the threshold, or
when the question has no content word to answer on. Quoted sentences are supported by
construction: each is its own citation's quote.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

from langchain_core.embeddings import Embeddings

from assistant.answer import refusal
from assistant.answer.base import AnswerEvent, AnswerRequest
from assistant.answer.cite import cite, refuse
from assistant.answer.sentences import Sentence, candidates, score_sentences, select
from assistant.types import Answer, AnswerSentence


def fixed(value: float) -> Callable[[], float]:
    """A threshold source that always gives value."""
    return lambda: value


class ExtractiveAnswerer:
    """Quotes the sentences that best answer the question, each cited; or refuses."""

    name = "extractive"
    mode = "extractive"

    def __init__(self, sentence_embedder: Embeddings, max_sentences: int = 5,
                 threshold: Callable[[], float] | None = None) -> None:
        # embeds only sentences the index holds no vector for (an index of an older schema)
        self.sentence_embedder = sentence_embedder
        self.max_sentences = max_sentences
        # re-read per question: `assistant calibrate` may change it while a server runs
        self.threshold = threshold or fixed(refusal.DEFAULT_REFUSAL_THRESHOLD)

    def score(self, request: AnswerRequest) -> list[Sentence]:
        """Every candidate sentence of the passages, scored, best first."""
        people = {rid: r.people for rid, r in request.releases.items()}
        evidence = request.evidence
        return score_sentences(request.question, evidence.query_vector,
                               candidates(request.hits), self.sentence_embedder, evidence.idf,
                               people, evidence.sentence_vectors)

    def answer(self, request: AnswerRequest) -> Answer:
        """Score the passages' sentences, keep the best, refuse on weak evidence."""
        question = request.question
        if not question.content:
            return refuse(question, 0.0, self.mode, request.hits)  # junk: nothing to look for
        scored = self.score(request)
        features = refusal.evidence(question, scored, request.evidence.idf)
        confidence = refusal.confidence(features)
        selected = select(scored, self.max_sentences)
        if not selected or confidence < self.threshold():
            return refuse(question, confidence, self.mode, request.hits, features)
        return quoted(request, selected, confidence, features, self.mode)

    def stream(self, request: AnswerRequest) -> Iterator[AnswerEvent]:
        """The whole answer at once: quoting has nothing to show before it is done."""
        yield self.answer(request)


def quoted(request: AnswerRequest, selected: Sequence[Sentence], confidence: float,
           evidence: Mapping[str, float], mode: str) -> Answer:
    """The answer quoting the selected sentences, each with its [n] and citation."""
    citations = tuple(cite(n, s.hit.chunk, s.text, s.score, request.releases)
                      for n, s in enumerate(selected, start=1))
    text = " ".join(f"{s.text} [{n}]" for n, s in enumerate(selected, start=1))
    sentences = tuple(AnswerSentence(s.text, (n,)) for n, s in enumerate(selected, start=1))
    return Answer(request.question.text, text, False, citations, confidence,
                  evidence=dict(evidence), hits=tuple(request.hits), sentences=sentences,
                  mode=mode)
