"""The extractive answerer, and the contract every answerer keeps (extractive, reader, LLM):
cited sentences whose markers resolve, refusals in the question's language, streaming that
ends with the same Answer, the mode each reports."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from assistant.answer import sentences as S
from assistant.answer.base import Answerer, AnswerRequest, IndexEvidence
from assistant.answer.cite import REFUSALS
from assistant.answer.decision import Decision
from assistant.answer.extractive import ExtractiveAnswerer, fixed
from assistant.answer.llm import LLMAnswerer
from assistant.answer.question import Question
from assistant.answer.reader import Reader
from assistant.answer.readeranswer import Policy, ReaderAnswerer
from assistant.answer.verify import Verifier
from assistant.index.embed import FakeEmbeddings
from assistant.types import Answer, Chunk, Hit, IndexedRelease
from tests.readerfakes import ScriptedEngine


def hit(rid: str, text: str, score: float = 1.0) -> Hit:
    chunk = Chunk(id=f"{rid}#0", release_id=rid, text=text, para_start=0, para_end=1,
                  char_start=0, char_end=len(text), title=f"Judul {rid}", source=f"{rid}.txt")
    return Hit(chunk, score)


def request(question: str, hits: Sequence[Hit] = ()) -> AnswerRequest:
    fake = FakeEmbeddings()
    releases = {h.chunk.release_id: IndexedRelease(h.chunk.release_id, "h", h.chunk.source,
                                                   h.chunk.title, None, 1,
                                                   url=f"https://x.go.id/{h.chunk.release_id}")
                for h in hits}
    return AnswerRequest(Question(question), tuple(hits), releases,
                         IndexEvidence(fake.embed_query(question), lambda t: 1.0))


HITS = [hit("a", "Rapat membahas gizi anak sekolah di Jakarta pada tahun ini."),
        hit("b", "Gizi anak sekolah menjadi prioritas pemerintah tahun ini.", 0.9)]
QUESTION = "gizi anak sekolah"


def extractive(threshold: float) -> ExtractiveAnswerer:
    return ExtractiveAnswerer(FakeEmbeddings(), max_sentences=5, threshold=fixed(threshold))


def reader(threshold: float) -> ReaderAnswerer:
    engine = ScriptedEngine({"gizi anak sekolah": 3.0})
    decision = Decision({"answerable": 1.0}, 0.0, {"id": threshold, "en": threshold})
    return ReaderAnswerer(Reader(lambda: engine), extractive(0.0), lambda: Policy(decision))


def llm(threshold: float) -> LLMAnswerer:
    model = FakeListChatModel(responses=["Gizi anak sekolah menjadi prioritas pemerintah "
                                         "tahun ini [2]."])
    return LLMAnswerer(model, extractive(threshold), Verifier(FakeEmbeddings(), 0.0), "fake")


ANSWERERS: dict[str, Callable[[float], Answerer]] = {
    "extractive": extractive, "reader": reader, "llm": llm}


@pytest.mark.parametrize("name", sorted(ANSWERERS))
def test_answerer_contract(name: str) -> None:
    """answer() carries the hits it read and its mode; every [n] resolves to a citation
    quoting its passage; stream() ends with the same Answer; a threshold above every
    confidence refuses, in the question's language, citing nothing."""
    answerer = ANSWERERS[name](0.0)
    answer = answerer.answer(request(QUESTION, HITS))
    assert not answer.refused and answer.hits == tuple(HITS)
    assert answer.mode == answerer.mode == name and answerer.name == name
    markers = [int(m) for m in re.findall(r"\[(\d+)\]", answer.text)]
    assert markers and sorted(set(markers)) == [c.n for c in answer.citations]
    for c in answer.citations:
        assert c.quote in c.passage and c.title.startswith("Judul")
        assert c.url == f"https://x.go.id/{c.release_id}" and c.chunk_id == f"{c.release_id}#0"
    events = list(answerer.stream(request(QUESTION, HITS)))
    assert isinstance(events[-1], Answer) and all(isinstance(e, str) for e in events[:-1])
    assert events[-1].text == answer.text and events[-1].citations == answer.citations
    for question, language in (("Berapa anggaran gizi anak sekolah?", "id"),
                               ("How much is the school nutrition budget?", "en")):
        refused = ANSWERERS[name](1.01).answer(request(question, HITS))
        assert refused.refused and refused.text == REFUSALS[language]
        assert refused.citations == () and refused.mode == name


@pytest.mark.parametrize("name", sorted(ANSWERERS))
def test_a_question_without_content_words_is_refused(name: str) -> None:
    answer = ANSWERERS[name](0.0).answer(request("the the the ???", HITS))
    assert answer.refused and answer.confidence == 0.0


def test_quotes_are_numbered_in_order_and_lead_with_the_best() -> None:
    answer = extractive(0.0).answer(request(QUESTION, HITS))
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert [s.citations for s in answer.sentences] == [(c.n,) for c in answer.citations]
    assert all(s.supported for s in answer.sentences)  # a quote is its own support


def test_weak_evidence_refuses_even_with_sentences() -> None:
    answer = extractive(0.999).answer(request(QUESTION, HITS))
    assert answer.refused and answer.citations == () and 0 < answer.confidence < 0.999
    assert set(answer.evidence) >= {"score", "dense", "type_ok", "lang_en"}


def test_threshold_is_read_per_question() -> None:
    """`assistant calibrate` may store a new threshold while a server runs."""
    current = [0.0]
    answerer = ExtractiveAnswerer(FakeEmbeddings(), threshold=lambda: current[0])
    assert not answerer.answer(request(QUESTION, HITS)).refused
    current[0] = 1.01
    assert answerer.answer(request(QUESTION, HITS)).refused


def test_sentences_are_scored_once_with_the_question_analysed_once() -> None:
    scored = extractive(0.0).score(request(QUESTION, HITS))
    assert scored == sorted(scored, key=lambda s: -s.score)
    assert {s.text for s in scored} == {s.text for s in S.candidates(HITS)}
