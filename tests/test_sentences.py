"""Candidate sentences: collected, scored, selected; people asked about by role; sentence
vectors made at ingest and read at question time (hand-made hits, fake embedder)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from assistant.answer import sentences as S
from assistant.answer.base import AnswerRequest, IndexEvidence
from assistant.answer.extractive import ExtractiveAnswerer, fixed
from assistant.answer.question import Question
from assistant.index.embed import FakeEmbeddings
from assistant.types import Chunk, Hit, IndexedRelease, Person


def hit(rid: str, text: str, score: float = 1.0) -> Hit:
    chunk = Chunk(id=f"{rid}#0", release_id=rid, text=text, para_start=0, para_end=1,
                  char_start=0, char_end=len(text), title=f"Judul {rid}", source=f"{rid}.txt")
    return Hit(chunk, score)


def request(question: str, hits: Sequence[Hit] = (), stored: S.StoredVectors | None = None
            ) -> AnswerRequest:
    """A request as the pipeline makes it (fake vectors, every term known)."""
    fake = FakeEmbeddings()
    releases = {h.chunk.release_id: IndexedRelease(h.chunk.release_id, "h", h.chunk.source,
                                                   h.chunk.title, None, 1,
                                                   url=f"https://x.go.id/{h.chunk.release_id}")
                for h in hits}
    evidence = IndexEvidence(fake.embed_query(question), lambda t: 1.0, stored or {})
    return AnswerRequest(Question(question), tuple(hits), releases, evidence)


def test_candidates_skip_repeats_and_fragments() -> None:
    hits = [hit("a", "Rapat membahas gizi anak sekolah. Oke."),
            hit("b", "Rapat membahas gizi anak sekolah. Vaksin diberikan kepada lansia.")]
    texts = [s.text for s in S.candidates(hits)]
    assert texts == ["Rapat membahas gizi anak sekolah.", "Vaksin diberikan kepada lansia."]


def test_select_leads_with_the_best_then_reading_order() -> None:
    text = ("Menteri membuka acara vokasi. Cuaca cerah sekali hari itu. Vokasi dibahas lagi nanti."
            " Peserta vokasi pulang sore.")
    h = hit("a", text)
    scored = [S.Sentence("Vokasi dibahas lagi nanti.", h, 0, text.index("Vokasi d"), 1.0),
              S.Sentence("Peserta vokasi pulang sore.", h, 0, text.index("Peserta"), 0.95),
              S.Sentence("Menteri membuka acara vokasi.", h, 0, 0, 0.9)]
    assert [s.text for s in S.select(scored, 5)] == [
        "Vokasi dibahas lagi nanti.", "Menteri membuka acara vokasi.",
        "Peserta vokasi pulang sore."]


def test_select_adds_the_best_sentence_of_each_person_asked_about() -> None:
    h = hit("a", "x")
    scored = [S.Sentence("Nunung berharap.", h, 0, 0, 1.0, people=("Nunung",)),
              S.Sentence("Rapat dibuka.", h, 0, 10, 0.5),
              S.Sentence("Warsito berharap.", h, 0, 20, 0.48, people=("Warsito",)),
              S.Sentence("Warsito dan Nunung hadir.", h, 0, 30, 0.47, people=("Warsito", "Nunung")),
              S.Sentence("Sari juga hadir.", h, 0, 40, 0.3, people=("Sari",))]
    assert [s.text for s in S.select(scored, 5)] == ["Nunung berharap.", "Warsito berharap."]


def test_select_respects_ratio_and_limit() -> None:
    h = hit("a", "x")
    scored = [S.Sentence(f"s{i}", h, 0, i, score) for i, score in
              enumerate([1.0, 0.9, 0.6, 0.5, 0.49, 0.2])]
    assert len(S.select(scored, 5)) == 3
    assert len(S.select(scored, 2)) == 2


def test_role_questions_find_people_by_role_in_english() -> None:
    people = [Person("Nunung Nuryanto", "Deputi Bidang Koordinasi"),
              Person("Warsito", "Deputi Bidang Pendidikan"),
              Person("Muhadjir Effendy", "Menko PMK")]
    asked = S.asked_people("what did the deputies propose?", people)
    assert [p.name for p in asked] == ["Nunung Nuryanto", "Warsito"]
    assert S.mentioned("Selanjutnya, Deputi Warsito berharap.", asked) == ("Warsito",)
    # a question that names the person is matched by term overlap instead
    assert S.asked_people("Apa kata Deputi Warsito?", people) == [people[0]]


def test_role_words_the_table_lacks_match_by_spelling() -> None:
    """commissioner/Komisioner, coordinator/Koordinator: cognates, found without a table."""
    people = [Person("Ai Maryati", "Komisioner KPAI"), Person("Budi", "Koordinator Lapangan"),
              Person("Warsito", "Deputi Bidang Pendidikan")]
    assert S.asked_people("What did the commissioners say?", people) == [people[0]]
    assert S.asked_people("who was the coordinator?", people) == [people[1]]
    assert S.asked_people("What did the delegation propose?", people) == []
    assert S.cognate("secretary", "sekretaris") and not S.cognate("minister", "menteri")


class CountingFake(FakeEmbeddings):
    """The fake embedder, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.embedded.extend(texts)
        return super().embed_documents(texts)


def test_stored_sentence_vectors_are_used_and_only_missing_ones_embedded() -> None:
    hits = [hit("a", "Rapat membahas gizi anak sekolah di Jakarta. Vaksin diberikan kepada "
                     "lansia di desa."),
            hit("b", "Gizi anak sekolah menjadi prioritas pemerintah tahun ini.", 0.9)]
    question = "gizi anak sekolah"
    rows = S.embed_sentences([h.chunk for h in hits], FakeEmbeddings())  # as at ingest
    stored = {h.chunk.id: dict(zip(starts, matrix, strict=True))
              for h, (starts, matrix) in zip(hits, rows, strict=True)}
    plain = ExtractiveAnswerer(CountingFake(), threshold=fixed(0.0)).answer(
        request(question, hits))
    counting = CountingFake()
    with_all = ExtractiveAnswerer(counting, threshold=fixed(0.0)).answer(
        request(question, hits, stored))
    assert counting.embedded == []  # nothing embedded at question time
    assert with_all.text == plain.text and with_all.confidence == pytest.approx(plain.confidence)
    partial = {hits[0].chunk.id: stored[hits[0].chunk.id]}  # b from an older index
    ExtractiveAnswerer(counting, threshold=fixed(0.0)).answer(request(question, hits, partial))
    assert counting.embedded == ["Gizi anak sekolah menjadi prioritas pemerintah tahun ini."]


def test_embed_sentences_embeds_a_shared_sentence_once() -> None:
    shared = "Rapat membahas gizi anak sekolah di Jakarta."
    chunks = [hit("a", f"Menteri membuka acara vokasi nasional. {shared}").chunk,
              hit("b", f"{shared} Peserta vokasi pulang sore hari.").chunk]
    counting = CountingFake()
    rows = S.embed_sentences(chunks, counting)
    assert sorted(counting.embedded) == sorted(
        ["Menteri membuka acara vokasi nasional.", shared, "Peserta vokasi pulang sore hari."])
    assert [starts for starts, _ in rows] == [[0, 39], [0, 45]]
    assert [m.shape for _, m in rows] == [(2, 64), (2, 64)]
