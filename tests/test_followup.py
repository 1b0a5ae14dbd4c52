"""Follow-up questions: the rewriting rules, and retrieval staying in the conversation's context
(real e5 model, the sample release plus a vocational-education distractor)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answer.followup import is_followup, rewrite
from assistant.config import Settings
from assistant.pipeline import Assistant, build
from tests.conftest import CORPUS, VOCATIONAL_RELEASE, write_release

GUANGXI = "what did the deputies propose to Guangxi?"
FOLLOW_UP = "dan bagaimana dengan pendidikan vokasi?"


@pytest.mark.parametrize(("question", "expected"), [
    ("dan bagaimana dengan pendidikan vokasi?", True),
    ("Bagaimana dengan jaminan sosial?", True),
    ("Lalu siapa yang hadir?", True),
    ("what about vocational training?", True),
    ("And the budget?", True),
    ("Siapa yang menyampaikannya?", True),
    ("Kapan acara tersebut diadakan?", True),
    ("When was it held?", True),
    ("Apa tiga prioritas yang disampaikan Joko Kusnanto?", False),
    ("what did the deputies propose to Guangxi?", False),
    ("Apa itu CAHRSE?", False),
    ("Kapan CAHRSE diselenggarakan di Nanning tahun 2023 oleh pemerintah Guangxi?", False),
    ("Berapa anggaran stunting tersebut untuk 12 provinsi di Indonesia tahun ini?", False),
])
def test_is_followup(question: str, expected: bool) -> None:
    assert is_followup(question) is expected


def test_standalone_question_is_left_alone() -> None:
    question = "Apa tiga prioritas yang disampaikan Joko Kusnanto?"
    assert rewrite(question, [GUANGXI]) == question
    assert rewrite(FOLLOW_UP) == FOLLOW_UP  # nothing to follow


def test_followup_carries_the_previous_question() -> None:
    assert rewrite(FOLLOW_UP, [GUANGXI]) == f"{GUANGXI} {FOLLOW_UP}"


def test_chained_followups_keep_the_first_context_and_stop_at_a_new_topic() -> None:
    chain = rewrite("Siapa yang menyampaikannya?", [GUANGXI, FOLLOW_UP])
    assert chain.startswith(GUANGXI) and FOLLOW_UP in chain
    new_topic = "Berapa anggaran penurunan stunting di 12 provinsi?"
    assert rewrite("dan kapan?", [GUANGXI, new_topic]) == f"{new_topic} dan kapan?"


def test_only_recent_turns_count() -> None:
    old = [GUANGXI, *["Kapan CAHRSE diselenggarakan di Nanning Guangxi?"] * 3]
    assert GUANGXI not in rewrite(FOLLOW_UP, old)


@pytest.fixture(scope="module")
def two_releases(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    folder = tmp_path_factory.mktemp("corpus")
    (folder / "guangxi.txt").write_text(
        next(CORPUS.glob("*.txt")).read_text(encoding="utf-8"), encoding="utf-8")
    write_release(folder, "vokasi.txt", VOCATIONAL_RELEASE)
    assistant = build(Settings(index_dir=tmp_path_factory.mktemp("index")))
    report = assistant.index.ingest([Path(folder)])
    assert len(report.added) == 2 and not report.failed
    return assistant


def _release_of(assistant: Assistant, word: str) -> str:
    return next(r.id for r in assistant.index.releases() if word in r.title)


def test_followup_retrieves_from_the_same_context(two_releases: Assistant) -> None:
    guangxi = _release_of(two_releases, "Guangxi")
    vokasi = _release_of(two_releases, "Vokasi")
    alone = two_releases.ask(FOLLOW_UP)
    assert not alone.refused and alone.citations[0].release_id == vokasi  # the distractor
    followed = two_releases.ask(FOLLOW_UP, history=[GUANGXI])
    assert not followed.refused
    assert followed.question == FOLLOW_UP
    assert followed.citations[0].release_id == guangxi
    guangxi_quotes = " ".join(c.quote for c in followed.citations if c.release_id == guangxi)
    assert "vokasi" in guangxi_quotes
    hits = two_releases.retriever.search(rewrite(FOLLOW_UP, [GUANGXI]), k=2)
    assert hits[0].chunk.release_id == guangxi
