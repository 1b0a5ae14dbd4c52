"""verify.py: answer sentences and their markers, the facts a sentence states, and the
verdicts (dropped numbers, re-citation, unsupported) with the real multilingual e5 model."""

from __future__ import annotations

import pytest

from assistant.answer.verify import Passage, Verifier, facts_of, parse

PASSAGES = [
    Passage(1, "Kemenko PMK Terima Audiensi Guangxi (2023-09-29)\nStaf Khusus Joko Kusnanto "
               "menyambut baik inisiatif pertemuan tersebut. Ada 3 prioritas yang dibahas."),
    Passage(2, "Rapat Stunting (2023-10-02)\nRapat membahas anggaran sebesar Rp 3,5 triliun "
               "untuk intervensi gizi di 12 provinsi pada Senin (2/10/2023)."),
]


@pytest.mark.parametrize(("answer", "expected"), [
    ("Satu [1]. Dua [2].", [("Satu.", (1,)), ("Dua.", (2,))]),
    ("Satu. [1] Dua. [2]", [("Satu.", (1,)), ("Dua.", (2,))]),  # marker after the period
    ("Gabungan [1, 2][3].", [("Gabungan.", (1, 2, 3))]),
    ("Tanpa sumber.", [("Tanpa sumber.", ())]),
    ("Anggaran Rp 3,5 triliun [2].", [("Anggaran Rp 3,5 triliun.", (2,))]),
    ("Usulan: [1]\n1. Pelatihan guru. [2]\n2. Pertukaran pelajar. [2]",  # a numbered list
     [("Usulan:", (1,)), ("Pelatihan guru.", (2,)), ("Pertukaran pelajar.", (2,))]),
])
def test_parse_splits_sentences_and_their_markers(answer: str,
                                                  expected: list[tuple[str, tuple[int, ...]]]
                                                  ) -> None:
    assert parse(answer) == expected


@pytest.mark.parametrize(("sentence", "passage_n", "missing"), [
    ("The budget was IDR 3.5 trillion for 12 provinces.", 2, []),
    ("The budget was Rp 3.5 billion.", 2, ["idr 3.5e+09"]),
    ("The meeting was on 2 October 2023.", 2, []),
    ("The meeting was on 2 November 2023.", 2, ["month 11"]),
    ("There were three priorities, 3 in all.", 1, []),  # "tiga"/"3" in the passage
    ("There were 4 priorities.", 1, ["4"]),
    ("Joko Kusnanto welcomed the meeting.", 1, []),
    ("The meeting was welcomed by Budi Santoso.", 1, ["budi", "santoso"]),
    ("It may help in March.", 1, []),  # a verb, not a month: no day or year beside it
])
def test_facts_a_sentence_states_must_be_in_the_passage(sentence: str, passage_n: int,
                                                        missing: list[str]) -> None:
    passage = facts_of(PASSAGES[passage_n - 1].text, passage=True)
    assert sorted(facts_of(sentence).missing_from(passage)) == sorted(missing)


def test_names_the_index_does_not_know_are_not_held_against_a_sentence() -> None:
    passage = facts_of(PASSAGES[0].text, passage=True)
    claim = facts_of("The Coordinating Ministry welcomed Budi.", known=lambda w: w == "budi")
    assert claim.missing_from(passage) == ["budi"]


@pytest.fixture(scope="module")
def verifier() -> Verifier:
    from assistant.index.embed import make_embedder

    return Verifier(make_embedder("e5"))


def test_verdicts_drop_recite_and_mark(verifier: Verifier) -> None:
    verdicts = verifier.verify(
        "Joko Kusnanto welcomed the meeting initiative [1][7]. "
        "The meeting discussed a budget of IDR 3.5 trillion for nutrition in 12 provinces [1]. "
        "The meeting discussed a budget of IDR 9 trillion for nutrition in 12 provinces [2].",
        PASSAGES)
    welcome, budget, wrong = verdicts
    assert welcome.supported and welcome.cited == (1,) and welcome.dropped == (7,)
    assert budget.supported and budget.recited and budget.cited == (2,)
    assert "3,5 triliun" in budget.quotes[2]
    assert not wrong.supported and wrong.cited == (2,) and "idr 9e+12" in wrong.missing


def test_an_off_topic_sentence_is_unsupported(verifier: Verifier) -> None:
    (verdict,) = verifier.verify("A volcanic eruption forced residents to evacuate [1].",
                                 PASSAGES)
    assert not verdict.supported and verdict.cited == (1,)


GUANGXI = [
    Passage(1, "Joko Kusnanto didampingi oleh Deputi Bidang Koordinasi Peningkatan "
               "Kesejahteraan Sosial, Nunung Nuryanto, dan Deputi Warsito."),
    Passage(2, "Dalam hal ini, perlindungan sosial memiliki peran penting. Oleh karena itu, "
               "Nunung menyampaikan harapan agar Indonesia dan Guangxi Zhuang dapat saling "
               "bertukar pengalaman dan praktik baik tentang perlindungan sosial yang adaptif."),
]


@pytest.mark.parametrize("markers", ["[2]", ""])
def test_a_sentence_joining_two_passages_is_cited_to_both(verifier: Verifier,
                                                          markers: str) -> None:
    (verdict,) = verifier.verify(
        "Deputy Nunung Nuryanto hoped that Indonesia and Guangxi Zhuang would exchange "
        f"experiences and good practices on adaptive social protection {markers}.", GUANGXI)
    assert verdict.supported and verdict.cited == (2, 1)
    assert verdict.recited == bool(markers)


def test_a_name_no_passage_states_stays_unsupported(verifier: Verifier) -> None:
    (verdict,) = verifier.verify(
        "Deputy Nunung Santoso hoped that Indonesia and Guangxi Zhuang would exchange "
        "experiences and good practices on adaptive social protection [2].", GUANGXI)
    assert not verdict.supported and "santoso" in verdict.missing
