"""The reader's answers: the sentences the reader scores best, cited, with the short answer.

The reader (reader.py) reads the top passages. The leading reading is the most answerable
window whose best span is of the type the question asks for ("berapa", "how many", "kapan",
"when": spans holding a number or a time), with retrieval's ranking weighed in. Its
sentence leads the answer; other sentences whose own best span scores within a margin of
the leading span join it (the rest of a two-sentence answer in the same passage, the same
answer in another passage), at most `max_sentences` (`Quoting`, fitted on the valid
splits). Whether to answer at all is the answer decision's (decision.py): its confidence
against the threshold of the question's language.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from assistant.answer.base import AnswerEvent, AnswerRequest
from assistant.answer.cite import cite, refuse
from assistant.answer.decision import Decision, Signals, features
from assistant.answer.extractive import ExtractiveAnswerer
from assistant.answer.question import Question
from assistant.answer.reader import Reader, Reading, SentenceScore
from assistant.types import Answer, AnswerSentence


def normalize_answer(text: str) -> str:
    """Lower-case words only: two quotes of one sentence (overlapping chunks) compare equal."""
    return " ".join(re.findall(r"\w+", text.lower()))


@dataclass(frozen=True)
class Quote:
    """A sentence the answer quotes: from which reading, where, how well it scored."""

    reading: Reading
    sentence: SentenceScore

    @property
    def text(self) -> str:
        """The sentence as written."""
        return self.reading.hit.chunk.text[self.sentence.start: self.sentence.end].strip()

    @property
    def span_text(self) -> str:
        """The best span inside the sentence."""
        return self.reading.hit.chunk.text[self.sentence.span[0]: self.sentence.span[1]]


@dataclass(frozen=True)
class Choice:
    """The leading reading and the sentences chosen to quote, leading one first."""

    lead: Reading
    quotes: tuple[Quote, ...]


@dataclass(frozen=True)
class Quoting:
    """How the leading reading and the quoted sentences are chosen (fitted on the valid
    splits' fit halves; eval/reader_eval.py)."""

    lead_retrieval: float = 0.0  # weight of the passage's retrieval score over the best one's
    same_margin: float | None = None  # another sentence of the lead's passage within this
    margin: float | None = None  # a sentence of another passage within this
    max_sentences: int = 2

    @classmethod
    def from_record(cls, stored: Mapping[str, Any]) -> Quoting:
        """The quoting stored in a record (defaults for what it lacks)."""
        fields = {k: v for k, v in stored.items() if k in cls.__dataclass_fields__}
        return cls(**fields)


def lead_of(question: Question, readings: Sequence[Reading], lead_retrieval: float = 0.0
            ) -> Reading | None:
    """The reading whose span is of the asked type that is most answerable, retrieval's
    ranking weighed in by lead_retrieval (None: no span is of the asked type)."""
    typed = [r for r in readings if r.short and question.span_type_ok(r.short)]
    top = max((r.hit.score for r in readings), default=1.0) or 1.0
    return max(typed, key=lambda r: (r.answerable + lead_retrieval * r.hit.score / top,
                                      r.span_score), default=None)


def choose(question: Question, readings: Sequence[Reading], quoting: Quoting = Quoting()  # noqa: B008
           ) -> Choice | None:
    """The leading reading and the sentences to quote (None: nothing answers): the lead's
    sentence, then sentences whose best span scores within a margin of the leading span,
    from the lead's passage first, at most max_sentences, in reading order."""
    lead = lead_of(question, readings, quoting.lead_retrieval)
    if lead is None:
        return None
    first = Quote(lead, lead_sentence(lead))
    chosen, seen = [first], {normalize_answer(first.text)}
    for quote in _joining(lead, readings, quoting):
        key = normalize_answer(quote.text)
        if len(chosen) >= quoting.max_sentences:
            break
        if key not in seen and question.span_type_ok(quote.span_text):
            chosen.append(quote)
            seen.add(key)
    rest = sorted(chosen[1:], key=lambda q: (q.reading.rank, q.sentence.start))
    return Choice(lead, (first, *rest))


def _joining(lead: Reading, readings: Sequence[Reading], quoting: Quoting) -> list[Quote]:
    """Sentences that may join the lead's, best first: its own passage's, then others'."""
    def within(margin: float | None, same: bool) -> list[Quote]:
        if margin is None:
            return []
        found = [Quote(r, s) for r in readings for s in r.sentences
                 if (r.hit.chunk.id == lead.hit.chunk.id) == same
                 and s.score >= lead.span_score - margin]
        return sorted(found, key=lambda q: -q.sentence.score)

    return within(quoting.same_margin, True) + within(quoting.margin, False)


def lead_sentence(lead: Reading) -> SentenceScore:
    """The sentence(s) of the leading window holding its span, as one quote."""
    a, b = lead.span
    inside = [s for s in lead.sentences if s.end > a and s.start < b]
    if not inside:
        return SentenceScore(a, b, lead.span_score, lead.span)
    return SentenceScore(inside[0].start, inside[-1].end, lead.span_score, lead.span)


def signals(question: Question, readings: Sequence[Reading], choice: Choice,
            request: AnswerRequest, gate: Answer) -> Signals:
    """What the decision weighs about a chosen answer."""
    lead = choice.lead
    quoted = " ".join(c.quote for c in gate.citations)
    agree = bool(gate.citations) and (choice.quotes[0].text in quoted
                                      or normalize_answer(lead.short) in normalize_answer(quoted))
    return Signals(lead.answerable, lead.span_score, max(r.answerable for r in readings),
                   lead.rank, request.hits, gate, agree, question.language == "en")


@dataclass(frozen=True)
class Policy:
    """How the reader's answer is chosen and decided: the decision, the quoting of each
    language, and a threshold override for every language (None: the decision's)."""

    decision: Decision
    quoting: Mapping[str, Quoting] = dataclasses.field(default_factory=dict)
    threshold: float | None = None

    def threshold_for(self, language: str) -> float:
        """Refuse below this confidence."""
        return self.threshold if self.threshold is not None else \
            self.decision.threshold(language)

    def quoting_for(self, language: str) -> Quoting:
        """The language's quoting, else the Indonesian one, else the defaults."""
        return self.quoting.get(language) or self.quoting.get("id") or Quoting()

    @classmethod
    def from_record(cls, record: Mapping[str, Any], threshold: float | None = None) -> Policy:
        """The policy stored in the reader's record (defaults where it stores none)."""
        stored = record.get("answer") or {}
        per_language = stored if all(isinstance(v, Mapping) for v in stored.values()) \
            else {"id": stored}
        quoting = {lang: Quoting.from_record(q) for lang, q in per_language.items() if q}
        return cls(Decision.from_record(record), quoting, threshold)


def decide(request: AnswerRequest, readings: Sequence[Reading], gate: Answer, policy: Policy,
           mode: str = "reader") -> Answer:
    """The answer from the readings of the request's passages and the extractive answer to
    the same request: the chosen sentences, cited, or the refusal."""
    question = request.question
    choice = choose(question, readings, policy.quoting_for(question.language))
    if choice is None:
        return refuse(question, 0.0, mode, request.hits, {"typed_spans": 0.0})
    values = features(signals(question, readings, choice, request, gate))
    confidence = policy.decision.confidence(values)
    if confidence < policy.threshold_for(question.language):
        return refuse(question, confidence, mode, request.hits, values)
    return quoted(request, choice, confidence, values, mode)


class ReaderAnswerer:
    """Answers with the reader's sentences and short answer, or refuses (module doc)."""

    name = "reader"
    mode = "reader"

    def __init__(self, reader: Reader, extractive: ExtractiveAnswerer,
                 policy: Callable[[], Policy] | None = None, passages: int = 3,
                 threshold: Callable[[], float | None] | None = None) -> None:
        self.reader, self.extractive, self.passages = reader, extractive, passages
        self._threshold = threshold or (lambda: None)  # set, or calibrated into the index
        self._policy = policy or (lambda: Policy.from_record(reader.engine.record))

    @property
    def policy(self) -> Policy:
        """The record's policy (or the one given), with the threshold override applied."""
        override = self._threshold()
        policy = self._policy()
        return policy if override is None else dataclasses.replace(policy, threshold=override)

    def answer(self, request: AnswerRequest) -> Answer:
        """Read the top passages and the extractive evidence; answer or refuse."""
        question = request.question
        if not question.content:
            return refuse(question, 0.0, self.mode, request.hits)  # junk: nothing to look for
        readings = self.reader.read(question.text, request.hits[: self.passages])
        return decide(request, readings, self.extractive.answer(request), self.policy,
                      self.mode)

    def stream(self, request: AnswerRequest) -> Iterator[AnswerEvent]:
        """The whole answer at once."""
        yield self.answer(request)


def quoted(request: AnswerRequest, choice: Choice, confidence: float,
           values: dict[str, float], mode: str) -> Answer:
    """The chosen sentences, each with its [n] and citation, and the short answer."""
    citations = tuple(cite(n, q.reading.hit.chunk, q.text, q.sentence.score, request.releases)
                      for n, q in enumerate(choice.quotes, start=1))
    sentences = tuple(AnswerSentence(c.quote, (c.n,)) for c in citations)
    text = " ".join(f"{c.quote} [{c.n}]" for c in citations)
    return Answer(request.question.text, text, False, citations, confidence, evidence=values,
                  hits=tuple(request.hits), sentences=sentences, mode=mode,
                  short_answer=choice.lead.short)
