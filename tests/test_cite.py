"""Citations and refusals are made one way for every answerer."""

from __future__ import annotations

import datetime as dt

from assistant.answer.cite import REFUSALS, cite, refuse
from assistant.answer.question import Question
from assistant.types import Chunk, Hit, IndexedRelease

CHUNK = Chunk("r1#2", "r1", "Paragraf satu. Kalimat kutipan.", 2, 3, 40, 70, "Judul",
              dt.date(2023, 9, 29), "Kemenko PMK")


def test_cite_carries_the_release_and_the_exact_quote() -> None:
    record = IndexedRelease("r1", "h", "Kemenko PMK", "Judul", dt.date(2023, 9, 29), 3,
                            url="https://kemenkopmk.go.id/r1")
    c = cite(3, CHUNK, "Kalimat kutipan.", 0.123456, {"r1": record})
    assert (c.n, c.release_id, c.chunk_id, c.quote) == (3, "r1", "r1#2", "Kalimat kutipan.")
    assert c.passage == CHUNK.text and c.quote in c.passage and c.score == 0.1235
    assert (c.title, c.date, c.source, c.url) == ("Judul", dt.date(2023, 9, 29),
                                                  "Kemenko PMK", "https://kemenkopmk.go.id/r1")
    assert cite(1, CHUNK, "Kalimat kutipan.", 0.5, {}).url == ""  # release unknown: no url


def test_refusal_speaks_the_question_language_and_cites_nothing() -> None:
    hits = (Hit(CHUNK, 0.9),)
    for text, language in (("Berapa anggaran expo?", "id"), ("How large is the budget?", "en")):
        answer = refuse(Question(text), 0.2, "reader", hits, {"answerable": -1.0})
        assert answer.refused and answer.text == REFUSALS[language] and answer.citations == ()
        assert answer.mode == "reader" and answer.hits == hits and answer.confidence == 0.2
        assert answer.evidence == {"answerable": -1.0} and answer.question == text
