"""Compact-context answers: the sources a small LLM reads, its markers, refusals, fallback.

A scripted LangChain chat model stands in for the LLM (the real one: test_local_llm.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from assistant import compact as C
from assistant.answer import REFUSALS
from assistant.sentences import candidates
from assistant.types import Answer
from tests.test_answer import hit, request

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


def _answerer(model: Any) -> C.CompactAnswerer:
    from assistant.embed import FakeEmbeddings
    return C.CompactAnswerer(model, FakeEmbeddings())


def _stream(model: Any, question: str = "Apa usulan para deputi?", threshold: float = 0.0
            ) -> tuple[list[str], Answer]:
    events = list(_answerer(model).stream(request(question, [hit("a", RELEASE)], threshold)))
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


def test_markers_are_renumbered_in_order_of_use_and_dangling_ones_dropped() -> None:
    tokens, answer = _stream(scripted(
        "Deputi Budi mengusulkan pertukaran pelajar [2][7]. Deputi Rina mengusulkan "
        "pelatihan guru. [1]"))
    assert "".join(tokens).startswith("Deputi Budi")
    assert answer.text == ("Deputi Budi mengusulkan pertukaran pelajar [1]. Deputi Rina "
                           "mengusulkan pelatihan guru [2].")
    assert not answer.refused
    assert [c.n for c in answer.citations] == [1, 2]
    assert "Budi" in answer.citations[0].quote and "Rina" in answer.citations[1].quote
    assert all(c.quote in " ".join(c.passage.split()) for c in answer.citations)


def test_an_uncited_sentence_gets_the_source_it_comes_from() -> None:
    _, answer = _stream(scripted("Deputi Budi mengusulkan pertukaran pelajar dengan Guangxi."))
    assert answer.text.endswith("Guangxi [1].")
    assert "Budi" in answer.citations[0].quote


@pytest.mark.parametrize("reply", ["NOT IN SOURCES", "NOT IN SOURCES.", "not in sources"])
def test_the_not_in_sources_phrase_is_a_refusal_and_never_streamed(reply: str) -> None:
    tokens, answer = _stream(scripted(reply), "Berapa anggaran pelatihan guru?")
    assert answer.refused and answer.text == REFUSALS["id"] and not answer.citations
    assert "".join(tokens) == ""


def test_weak_evidence_refuses_without_calling_the_model() -> None:
    tokens, answer = _stream(Failing(messages=iter([])), threshold=1.1)
    assert answer.refused and tokens == []


@pytest.mark.parametrize("model", [Failing(messages=iter([])), scripted("")],
                         ids=["error", "empty reply"])
def test_a_failing_model_falls_back_to_the_extractive_answer(model: Any) -> None:
    tokens, answer = _stream(model)
    assert not answer.refused and answer.citations and tokens == []
    assert all(c.quote in RELEASE for c in answer.citations)


def test_answer_is_the_last_event_of_the_stream() -> None:
    answer = _answerer(scripted("Deputi Rina mengusulkan pelatihan guru [1].")).answer(
        request("Apa usulan para deputi?", [hit("a", RELEASE)], 0.0))
    assert answer.text.endswith("[1].") and len(answer.citations) == 1
