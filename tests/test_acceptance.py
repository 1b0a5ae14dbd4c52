"""Acceptance on the ministry's sample release with the real e5 model and a real Chroma."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.answer.cite import REFUSALS
from assistant.config import Settings
from assistant.pipeline import Assistant, build
from tests.conftest import CORPUS


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    assistant = build(Settings(index_dir=tmp_path_factory.mktemp("index")))
    report = assistant.index.ingest([CORPUS])
    assert len(report.added) == 1 and not report.failed
    return assistant


def _cited_text(answer) -> str:  # type: ignore[no-untyped-def]
    return " ".join(c.quote for c in answer.citations)


def test_deputies_proposals_cite_nunung_and_warsito(sample: Assistant) -> None:
    answer = sample.ask("what did the deputies propose to Guangxi?")
    assert not answer.refused
    quotes = _cited_text(answer)
    assert "bertukar pengalaman dan praktik baik tentang perlindungan sosial yang adaptif" in quotes
    assert "CAHRSE" in quotes
    assert "Warsito" in quotes and "vokasi" in quotes
    for c in answer.citations:
        assert f"[{c.n}]" in answer.text
        assert c.quote in c.passage


def test_three_priorities_are_cited(sample: Assistant) -> None:
    answer = sample.ask("Apa tiga prioritas yang disampaikan Joko Kusnanto?")
    assert not answer.refused
    assert any("3 prioritas" in c.quote and "jaminan sosial" in c.quote for c in answer.citations)


def test_budget_question_is_refused_in_indonesian(sample: Assistant) -> None:
    answer = sample.ask("Berapa anggaran yang disiapkan untuk kerja sama ini?")
    assert answer.refused
    assert answer.text == REFUSALS["id"]
    assert answer.citations == ()


def test_unrelated_english_question_is_refused_in_english(sample: Assistant) -> None:
    answer = sample.ask("What is the price of rice in Jakarta markets?")
    assert answer.refused
    assert answer.text == REFUSALS["en"]


def test_citation_numbers_all_point_at_citations(sample: Assistant) -> None:
    import re

    answer = sample.ask("Kapan CAHRSE diselenggarakan?")
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", answer.text)}
    assert markers == {c.n for c in answer.citations}
    assert any("3-4 November 2023" in c.quote for c in answer.citations)


def test_metadata_of_the_sample_release(sample: Assistant) -> None:
    (release,) = sample.index.releases()
    assert release.title == "Kemenko PMK Terima Audiensi Daerah Otonomi Guangxi Zhuang RRT"
    assert release.date is not None and release.date.isoformat() == "2023-09-29"
    names = {p.name for p in release.people}
    assert {"Nunung Nuryanto", "Warsito", "Joko Kusnanto Anggoro"} <= names
    assert release.source == "Kemenko PMK" and Path(release.file).name.endswith(".txt")
