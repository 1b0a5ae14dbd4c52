"""The compact prompt: the sources a small LLM reads, and LLMAnswerer's verification,
re-citation, refusals and fallback over it (as ASSISTANT_LLM=local wires them).

A scripted LangChain chat model stands in for the LLM (the real one: test_local_llm.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from assistant.answer import compact as C
from assistant.answer.cite import REFUSALS
from assistant.answer.extractive import ExtractiveAnswerer, fixed
from assistant.answer.llm import LLMAnswerer
from assistant.answer.sentences import candidates
from assistant.answer.verify import Verifier
from assistant.index.embed import FakeEmbeddings
from assistant.types import Answer
from tests.test_extractive import hit, request

RELEASE = ("Rapat koordinasi digelar di Jakarta pada Senin (3/7/2023). "
           "Deputi Rina mengusulkan pelatihan guru vokasi bersama. "
           "Cuaca cerah sepanjang hari itu. "
           "Deputi Budi mengusulkan pertukaran pelajar dengan Guangxi.")


def scripted(reply: str) -> GenericFakeChatModel:
    """A chat model that streams `reply` word by word."""
    return GenericFakeChatModel(messages=iter([AIMessage(reply)]))


class Failing(GenericFakeChatModel):
    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:  # type: ignore[override]
        raise RuntimeError("llama.cpp crashed")


def _answerer(model: Any, threshold: float = 0.0) -> LLMAnswerer:
    """The LLM answerer as ASSISTANT_LLM=local builds it, over a fake embedder: similarity
    passes everything (threshold -1), so the verifier's fact check decides."""
    embedder = FakeEmbeddings()
    gate = ExtractiveAnswerer(embedder, threshold=fixed(threshold))
    return LLMAnswerer(model, gate, Verifier(embedder, -1.0), "qwen",
                       style=C.CompactPrompt(embedder))


def _stream(model: Any, question: str = "Apa usulan para deputi?", threshold: float = 0.0
            ) -> tuple[list[str], Answer]:
    events = list(_answerer(model, threshold).stream(request(question, [hit("a", RELEASE)])))
    assert isinstance(events[-1], Answer)
    return [e for e in events[:-1] if isinstance(e, str)], events[-1]


def test_sources_carry_the_sentence_before_and_show_nothing_twice() -> None:
    sentences = {s.text: s for s in candidates([hit("a", RELEASE)])}
    rina = sentences["Deputi Rina mengusulkan pelatihan guru vokasi bersama."]
    budi = sentences["Deputi Budi mengusulkan pertukaran pelajar dengan Guangxi."]
    cuaca = sentences["Cuaca cerah sepanjang hari itu."]
    rapat = "Rapat koordinasi digelar di Jakarta pada Senin (3/7/2023)."
    assert [(s.n, s.text) for s in C.compact_sources([budi, rina])] == [
        (1, f"{cuaca.text} {budi.text}"), (2, f"{rapat} {rina.text}")]
    # cuaca was shown as context: no source of its own; rina's context is not repeated
    assert [(s.n, s.text) for s in C.compact_sources([budi, cuaca, rina])] == [
        (1, f"{cuaca.text} {budi.text}"), (2, f"{rapat} {rina.text}")]
    assert [s.text for s in C.compact_sources([rina, cuaca])] == [f"{rapat} {rina.text}",
                                                                  cuaca.text]
    assert [s.text for s in C.compact_sources([rina], before=0)] == [rina.text]


def test_a_sentence_in_two_overlapping_chunks_is_shown_once() -> None:
    first, second = hit("a", RELEASE), hit("a", RELEASE.split(". ", 2)[2])
    found = [s for s in candidates([first]) if s.text.startswith("Deputi Budi")]
    again = [s for s in candidates([second]) if s.text.startswith("Deputi Budi")]
    sources = C.compact_sources(found + again)
    assert len(sources) == 1 and sources[0].text.count("Deputi Budi") == 1


def test_prompt_puts_the_fixed_head_first_and_sources_as_numbered_data() -> None:
    found = candidates([hit("a", RELEASE)])
    sources = C.compact_sources([found[0], found[3]])
    chat = C.messages("What did the deputies propose?", sources, "en")
    other = C.messages("Apa usulan para deputi?", sources[:1], "id")
    head = len(C.EXAMPLES) * 2 + 1
    assert isinstance(chat[0], SystemMessage) and chat[:head] == other[:head]  # cacheable
    assert isinstance(chat[-1], HumanMessage)
    assert chat[-1].content.startswith("Sources:\n[1] Rapat koordinasi")
    assert "\n[2] " in chat[-1].content and chat[-1].content.endswith(
        "Question: What did the deputies propose?\nAnswer in English.")
    assert other[-1].content.endswith("Jawab dalam bahasa Indonesia.")


def test_compact_prompt_numbers_the_chosen_sentences_with_their_chunks() -> None:
    style = C.CompactPrompt(FakeEmbeddings(), max_sentences=2)
    numbered, chat = style.build(request("Apa usulan para deputi?", [hit("a", RELEASE)]))
    assert [p.n for p in numbered] == [1, 2] and all(p.chunk.id == "a#0" for p in numbered)
    assert chat[-1].content.startswith(f"Sources:\n[1] {numbered[0].text}")
    assert style.head()[:-1] == chat[:-1]  # the fixed head llama.cpp caches


def test_markers_point_at_our_numbers_and_dangling_ones_are_dropped() -> None:
    tokens, answer = _stream(scripted(
        "Deputi Budi mengusulkan pertukaran pelajar [2][7]. Deputi Rina mengusulkan "
        "pelatihan guru. [1]"))
    assert "".join(tokens).startswith("Deputi Budi")
    assert answer.mode == "llm" and not answer.refused and not answer.notice
    assert [s.citations for s in answer.sentences] == [(1,), (2,)]  # [7] dropped
    assert answer.text == ("Deputi Budi mengusulkan pertukaran pelajar. [1] Deputi Rina "
                           "mengusulkan pelatihan guru. [2]")
    assert all(c.passage == RELEASE for c in answer.citations)


def test_a_sentence_citing_the_wrong_source_is_recited_by_the_verifier() -> None:
    sources = {p.text: p.n for p in C.CompactPrompt(FakeEmbeddings()).build(
        request("Apa usulan para deputi?", [hit("a", RELEASE)]))[0]}
    budi = next(n for text, n in sources.items() if "Budi" in text)
    wrong = next(n for text, n in sources.items() if "Budi" not in text)
    _, answer = _stream(scripted(f"Deputi Budi mengusulkan pertukaran pelajar [{wrong}]."))
    assert answer.sentences[0].supported and answer.sentences[0].recited
    assert budi != wrong


def test_an_uncited_sentence_gets_the_source_that_supports_it() -> None:
    _, answer = _stream(scripted("Deputi Budi mengusulkan pertukaran pelajar dengan Guangxi."))
    assert answer.text.endswith("Guangxi. [1]") and answer.sentences[0].supported


def test_a_name_no_source_states_is_marked_unsupported() -> None:
    _, answer = _stream(scripted("Deputi Budi mengusulkan pertukaran pelajar [1]. "
                                 "Menteri Sutrisno menyetujuinya [1]."))
    assert [s.supported for s in answer.sentences] == [True, False]


@pytest.mark.parametrize("reply", ["NOT IN SOURCES", "NOT IN SOURCES.", "not in sources",
                                   REFUSALS["id"]])
def test_the_not_in_sources_phrase_is_a_refusal_and_never_streamed(reply: str) -> None:
    tokens, answer = _stream(scripted(reply), "Berapa anggaran pelatihan guru?")
    assert answer.refused and answer.text == REFUSALS["id"] and not answer.citations
    assert "".join(tokens) == ""


def test_the_phrase_beside_a_cited_claim_is_no_refusal() -> None:
    assert C.is_refusal("NOT IN SOURCES") and not C.is_refusal("Ada [1]. NOT IN SOURCES")


def test_weak_evidence_refuses_without_calling_the_model() -> None:
    tokens, answer = _stream(Failing(messages=iter([])), threshold=1.1)
    assert answer.refused and tokens == []


@pytest.mark.parametrize("model", [Failing(messages=iter([])), scripted("")],
                         ids=["error", "empty reply"])
def test_a_failing_model_falls_back_to_the_extractive_answer(model: Any) -> None:
    tokens, answer = _stream(model)
    assert not answer.refused and answer.citations and answer.notice
    assert answer.mode == "extractive"
    assert all(c.quote in RELEASE for c in answer.citations)
