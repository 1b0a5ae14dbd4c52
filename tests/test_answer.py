"""Sentence selection, citation numbering and refusal, on hand-made hits (fake embedder)."""

from __future__ import annotations

import re

from assistant import answer as A
from assistant.embed import FakeEmbeddings
from assistant.types import Chunk, Hit, Person


def hit(rid: str, text: str, score: float = 1.0) -> Hit:
    chunk = Chunk(id=f"{rid}#0", release_id=rid, text=text, para_start=0, para_end=1,
                  char_start=0, char_end=len(text), title=f"Judul {rid}", source=f"{rid}.txt")
    return Hit(chunk, score)


def test_candidates_skip_repeats_and_fragments() -> None:
    hits = [hit("a", "Rapat membahas gizi anak sekolah. Oke."),
            hit("b", "Rapat membahas gizi anak sekolah. Vaksin diberikan kepada lansia.")]
    texts = [s.text for s in A.candidates(hits)]
    assert texts == ["Rapat membahas gizi anak sekolah.", "Vaksin diberikan kepada lansia."]


def test_compose_numbers_every_sentence_and_every_marker_resolves() -> None:
    fake = FakeEmbeddings()
    hits = [hit("a", "Rapat membahas gizi anak sekolah di Jakarta."),
            hit("b", "Gizi anak sekolah menjadi prioritas pemerintah tahun ini.", 0.9)]
    question = "gizi anak sekolah"
    scored = A.score_sentences(question, fake.embed_query(question), A.candidates(hits), fake,
                               idf=lambda t: 1.0)
    chosen = A.select(scored, max_sentences=5)
    answer = A.compose(question, chosen, A.confidence(A.evidence(question, scored, lambda t: 1.0)),
                       threshold=0.0)
    markers = [int(m) for m in re.findall(r"\[(\d+)\]", answer.text)]
    assert markers == [c.n for c in answer.citations] == list(range(1, len(chosen) + 1))
    for c in answer.citations:
        assert c.quote in c.passage and c.title.startswith("Judul")


def test_select_leads_with_the_best_then_reading_order() -> None:
    text = ("Menteri membuka acara vokasi. Cuaca cerah sekali hari itu. Vokasi dibahas lagi nanti."
            " Peserta vokasi pulang sore.")
    h = hit("a", text)
    scored = [A.Sentence("Vokasi dibahas lagi nanti.", h, 0, text.index("Vokasi d"), 1.0),
              A.Sentence("Peserta vokasi pulang sore.", h, 0, text.index("Peserta"), 0.95),
              A.Sentence("Menteri membuka acara vokasi.", h, 0, 0, 0.9)]
    assert [s.text for s in A.select(scored, 5)] == [
        "Vokasi dibahas lagi nanti.", "Menteri membuka acara vokasi.",
        "Peserta vokasi pulang sore."]


def test_select_adds_the_best_sentence_of_each_person_asked_about() -> None:
    h = hit("a", "x")
    scored = [A.Sentence("Nunung berharap.", h, 0, 0, 1.0, people=("Nunung",)),
              A.Sentence("Rapat dibuka.", h, 0, 10, 0.5),
              A.Sentence("Warsito berharap.", h, 0, 20, 0.48, people=("Warsito",)),
              A.Sentence("Warsito dan Nunung hadir.", h, 0, 30, 0.47, people=("Warsito", "Nunung")),
              A.Sentence("Sari juga hadir.", h, 0, 40, 0.3, people=("Sari",))]
    assert [s.text for s in A.select(scored, 5)] == ["Nunung berharap.", "Warsito berharap."]


def test_select_respects_ratio_and_limit() -> None:
    h = hit("a", "x")
    scored = [A.Sentence(f"s{i}", h, 0, i, score) for i, score in
              enumerate([1.0, 0.9, 0.6, 0.5, 0.49, 0.2])]
    assert len(A.select(scored, 5)) == 3
    assert len(A.select(scored, 2)) == 2


def test_refusal_in_the_question_language() -> None:
    refusal_id = A.compose("Berapa anggaran untuk kegiatan ini?", [], 0.0, 0.5)
    refusal_en = A.compose("How much is the budget?", [], 0.0, 0.5)
    assert refusal_id.refused and refusal_id.text == A.REFUSALS["id"]
    assert refusal_en.refused and refusal_en.text == A.REFUSALS["en"]


def test_low_confidence_refuses_even_with_sentences() -> None:
    h = hit("a", "Rapat membahas gizi.")
    result = A.compose("Siapa yang hadir?", [A.Sentence("Rapat membahas gizi.", h, 0, 0, 0.2)],
                       0.2, 0.5)
    assert result.refused and result.citations == ()


def test_role_questions_find_people_by_role_in_english() -> None:
    people = [Person("Nunung Nuryanto", "Deputi Bidang Koordinasi"),
              Person("Warsito", "Deputi Bidang Pendidikan"),
              Person("Muhadjir Effendy", "Menko PMK")]
    asked = A.asked_people("what did the deputies propose?", people)
    assert [p.name for p in asked] == ["Nunung Nuryanto", "Warsito"]
    assert A.mentioned("Selanjutnya, Deputi Warsito berharap.", asked) == ("Warsito",)
    # a question that names the person is matched by term overlap instead
    assert A.asked_people("Apa kata Deputi Warsito?", people) == [people[0]]
