"""The language lists: consistent with each other, documented, and the only copy."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from assistant import lexicon
from assistant.answer.question import Question
from assistant.answer.verify import facts_of
from assistant.text import extract_people, find_date
from assistant.types import Person

PACKAGE = Path(lexicon.__file__).parent


def test_month_names_are_in_calendar_order_in_both_languages() -> None:
    assert len(lexicon.MONTH_NAMES_ID) == len(lexicon.MONTH_NAMES_EN) == 12
    assert lexicon.MONTHS["januari"] == lexicon.MONTHS["january"] == 1
    assert lexicon.MONTHS["agustus"] == lexicon.MONTHS["august"] == 8
    assert lexicon.MONTHS["desember"] == lexicon.MONTHS["december"] == 12


@pytest.mark.parametrize("table", [lexicon.MONTH_ABBREVIATIONS, lexicon.DATE_MONTH_VARIANTS])
def test_every_month_abbreviation_or_variant_belongs_to_its_month(table: dict[str, int]) -> None:
    for form, month in table.items():
        names = (lexicon.MONTH_NAMES_ID[month - 1], lexicon.MONTH_NAMES_EN[month - 1])
        # an abbreviation keeps letters of its month's name in order ("agt": agustus); an
        # old spelling writes p for f and v ("pebruari", "nopember")
        spellings = {n.replace("f", "p").replace("v", "p") for n in names} | set(names)
        assert any(_keeps_letters(form, s) for s in spellings), form


def _keeps_letters(form: str, name: str) -> bool:
    letters = iter(name)
    return form[0] == name[0] and all(c in letters for c in form)


def test_date_months_extend_months_without_changing_any() -> None:
    assert lexicon.MONTHS.items() <= lexicon.DATE_MONTHS.items()
    assert not lexicon.MONTHS.keys() & lexicon.DATE_MONTH_VARIANTS.keys()


@pytest.mark.parametrize(("text", "month"), [
    ("Jakarta, 5 Nopember 2023", 11), ("3 Mar 2023", 3), ("Sept 5, 2023", 9), ("12 Okt 2023", 10),
])
def test_date_parser_reads_every_month_form(text: str, month: int) -> None:
    found = find_date(text)
    assert found is not None and found.month == month


def test_verify_reads_months_but_not_the_short_date_forms() -> None:
    assert facts_of("Dibuka pada 5 Oktober 2023.").months == {10}
    assert facts_of("Dibuka pada 5 Jul 2023.").months == frozenset()  # a date-only form


def test_number_words_cover_one_to_ten_in_both_languages() -> None:
    for n, (indonesian, english) in enumerate(
            zip(lexicon.CARDINALS_ID, lexicon.CARDINALS_EN, strict=True), start=1):
        assert lexicon.NUMBER_WORDS[indonesian] == lexicon.NUMBER_WORDS[english] == str(n)
    assert set(lexicon.ORDINALS.values()) <= set(lexicon.NUMBER_WORDS.values())


def test_scales_agree_across_languages() -> None:
    english = {"thousand": "ribu", "million": "juta", "billion": "miliar", "trillion": "triliun"}
    for en, id_ in english.items():
        assert lexicon.SCALES[en] == lexicon.SCALES[id_] == lexicon.SCALES_ID[id_]
    assert set(lexicon.SCALES.values()) == {1e3, 1e6, 1e9, 1e12}


@pytest.mark.parametrize("word", lexicon.NUMERAL_WORDS_ID)
def test_every_indonesian_numeral_answers_a_number_question(word: str) -> None:
    question = Question("berapa orang yang hadir?")
    assert question.type_ok(f"yang hadir {word} orang")
    assert not question.type_ok("yang hadir banyak orang")


def test_amounts_use_the_scales_and_currencies() -> None:
    assert ("idr", 3.5e12) in facts_of("Anggaran Rp 3,5 triliun disiapkan.").amounts
    assert ("usd", 2e6) in facts_of("The fund holds USD 2 million now.").amounts


def test_every_role_alias_names_a_role_the_people_reader_starts() -> None:
    starts = {h.lower() for h in lexicon.ROLE_HEADS}
    starts |= {f"{a} {b}".lower() for a, b in lexicon.ROLE_HEAD_PAIRS}
    prefixes = {p.lower() for p in lexicon.ROLE_HEAD_PREFIXES}
    for role in lexicon.ROLE_ALIASES:
        first, _, rest = role.partition(" ")
        assert role in starts or (first in prefixes and rest in starts), role


def test_name_words_and_role_words_do_not_overlap() -> None:
    assert not lexicon.NAME_STOPS & lexicon.ROLE_HEADS
    assert not lexicon.HONORIFICS & lexicon.ROLE_WORDS
    assert lexicon.ROLE_HEADS <= lexicon.ROLE_WORDS


def test_the_gazetteer_ends_a_role_at_the_name() -> None:
    text = ("Hadir pula Gubernur Kalimantan Timur Isran Noor serta Kapolda Jawa Barat "
            "Irjen Pol Budi Santoso.")
    assert extract_people([text]) == (
        Person("Isran Noor", "Gubernur Kalimantan Timur"),
        Person("Budi Santoso", "Kapolda Jawa Barat Irjen Pol"),
    )


def test_every_list_says_where_it_comes_from() -> None:
    """Each group of assignments opens with a comment (its origin)."""
    source = (PACKAGE / "lexicon.py").read_text(encoding="utf-8")
    lines = source.splitlines()
    previous_end = 0
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            above = lines[node.lineno - 2].strip()
            follows_assignment = previous_end == node.lineno - 1
            assert above.startswith("#") or follows_assignment, f"line {node.lineno}"
            previous_end = node.end_lineno or node.lineno
        else:
            previous_end = 0


@pytest.mark.parametrize("word", ["januari", "agustus", "sembilan", "triliun", "gubernur",
                                  "kalimantan", "stafsus"])
def test_language_lists_live_only_in_the_lexicon(word: str) -> None:
    pattern = re.compile(rf"\b{word}\b", re.IGNORECASE)
    holders = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        strings = [n.value for n in ast.walk(tree)
                   if isinstance(n, ast.Constant) and isinstance(n.value, str)]
        docstrings = {ast.get_docstring(n, clean=False) for n in ast.walk(tree)
                      if isinstance(n, ast.Module | ast.ClassDef | ast.FunctionDef)}
        if any(pattern.search(s) for s in strings if s not in docstrings):
            holders.append(path.relative_to(PACKAGE).as_posix())
    assert holders == ["lexicon.py"]
