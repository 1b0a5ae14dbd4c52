"""The question, analysed once: language, terms, content terms, the type of answer asked."""

from __future__ import annotations

import pytest

from assistant.answer.question import Question


@pytest.mark.parametrize("text,language", [
    ("What did the deputies propose to Guangxi?", "en"),
    ("Apa tiga prioritas yang disampaikan Joko Kusnanto?", "id"),
    ("Siapa Deputi Bidang Koordinasi Peningkatan Kesejahteraan Sosial?", "id"),
    ("When was the audience held?", "en"),
])
def test_language(text: str, language: str) -> None:
    assert Question(text).language == language


@pytest.mark.parametrize("text,asks", [
    ("Berapa anggaran untuk kerja sama vokasi?", "number"),
    ("How many provinces joined?", "number"),
    ("What percentage of children are stunted?", "number"),
    ("Kapan audiensi berlangsung?", "time"),
    ("Tahun berapa expo itu digelar?", "time"),  # 'berapa' here asks for a year
    ("When did the audience take place?", "time"),
    ("Siapa yang memimpin delegasi?", "any"),
    ("What did the deputies propose?", "any"),
])
def test_asked_type(text: str, asks: str) -> None:
    assert Question(text).asks == asks


def test_type_checks_number_time_and_dates() -> None:
    number, time = Question("Berapa anggaran expo?"), Question("Kapan expo digelar?")
    assert number.type_ok("Anggarannya Rp 2 miliar.") and not number.type_ok("Expo digelar.")
    assert time.type_ok("Expo digelar pada September.") and not time.type_ok("Expo digelar.")
    # a date is not the quantity a 'how much' question asks for, but answers a 'when'
    assert not number.span_type_ok("29 September 2023") and number.span_type_ok("Rp 2 miliar")
    assert time.span_type_ok("29 September 2023")
    assert Question("Siapa ketua delegasi?").span_type_ok("Wakil Gubernur")


def test_content_terms_drop_question_frames_and_stopwords() -> None:
    q = Question("Di kota mana expo ASEAN digelar?")
    assert "kota" not in q.content and {"expo", "asean"} <= q.content
    assert Question("the the the ???").content == frozenset()
    assert Question("").terms == ()
