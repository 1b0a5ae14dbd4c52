"""The question, analysed once: its language, its index terms, the terms an answer could
be found on, and the type of answer it asks for (a number, a time, or anything).

Every answerer reads the same `Question`, so they agree on what was asked: the extractive
answerer's refusal features, the reader's span types and the LLM prompt's language all
come from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from assistant.lexical import analyze, detect_language
from assistant.lexicon import (
    DAYS_ID,
    MONTH_NAMES_EN,
    MONTH_NAMES_ID,
    NUMERAL_WORDS_ID,
    TIME_UNITS_ID,
)

Asked = Literal["number", "time", "any"]

_EXPECTS_NUMBER = re.compile(r"^(berapa|berapakah|seberapa|how (many|much|large|big|high|far|old)|"
                             r"what (number|percentage|amount|share))\b")
_EXPECTS_TIME = re.compile(r"^(kapan|kapankah|tahun berapa|pada tahun|when|what year)\b")
_HAS_NUMBER = re.compile(r"\d|\b(" + "|".join(NUMERAL_WORDS_ID) + r")\b", re.IGNORECASE)
_HAS_TIME = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b|\b("
                       + "|".join(dict.fromkeys((*MONTH_NAMES_ID, *TIME_UNITS_ID, *DAYS_ID)))
                       + r")\b", re.IGNORECASE)
# dates and years: in a short answer to "how many/how much" they are not the quantity asked
_DATE = re.compile(r"\b\d{1,2}\s*(?:[-–]\s*\d{1,2}\s*)?(?:"
                   + "|".join(dict.fromkeys((*MONTH_NAMES_ID, *MONTH_NAMES_EN)))
                   + r")\b(?:\s+\d{4})?|\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b(?:1[5-9]|20)\d{2}\b",
                   re.IGNORECASE)

# Words that frame what kind of answer is wanted ("di kota mana", "tahun berapa"): the answer
# rarely repeats them, so they do not count as terms the passage must contain.
QUESTION_FRAME = frozenset(analyze(
    "kota negara provinsi tahun tanggal nama jumlah tempat lokasi hari bulan orang julukan "
    "city country province year date name number place location day month people"))


@dataclass(frozen=True)
class Question:
    """A question as asked, with what every answerer needs to know about it."""

    text: str

    @cached_property
    def language(self) -> str:
        """'en' or 'id': the language the answer is written in."""
        return detect_language(self.text)

    @cached_property
    def terms(self) -> tuple[str, ...]:
        """Index terms (stopwords removed, stemmed), in order."""
        return tuple(analyze(self.text))

    @cached_property
    def content(self) -> frozenset[str]:
        """The terms a passage could answer on: question frames removed. None at all ("a",
        "the the the", "???", an emoji): there is nothing to look for, and it is refused."""
        return frozenset(self.terms) - QUESTION_FRAME

    @cached_property
    def asks(self) -> Asked:
        """The type of answer asked for."""
        q = self.text.strip().lower()
        if _EXPECTS_TIME.search(q):
            return "time"
        return "number" if _EXPECTS_NUMBER.search(q) else "any"

    def type_ok(self, sentence: str) -> bool:
        """False when a number or a time is asked for and the sentence holds none."""
        if self.asks == "time":
            return bool(_HAS_TIME.search(sentence))
        if self.asks == "number":
            return bool(_HAS_NUMBER.search(sentence))
        return True

    def span_type_ok(self, span: str) -> bool:
        """type_ok for a short answer: a number asked for is not a date or a year."""
        if self.asks == "number":
            return bool(_HAS_NUMBER.search(_DATE.sub(" ", span)))
        return self.type_ok(span)
