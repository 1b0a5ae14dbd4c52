"""Indonesian text helpers: normalisation, paragraphs, sentences, dates and people with roles."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator

from assistant.lexicon import (
    DATE_MONTHS,
    HONORIFICS,
    NAME_STOPS,
    PLACE_INTRO,
    ROLE_HEAD_PAIRS,
    ROLE_HEAD_PREFIXES,
    ROLE_HEADS,
    ROLE_WORDS,
)
from assistant.types import Person

# Typographic variants are folded so that search, hashing and quoting see one form.
_TRANSLATE = str.maketrans(
    {
        **dict.fromkeys("\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008", " "),
        **dict.fromkeys("\u2009\u200a\u202f\u205f\u3000", " "),
        **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad", None),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033", '"'),
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032", "'"),
    }
)
_BOILERPLATE = re.compile(
    r"^(Kontributor Foto|Reporter|Editor|Fotografer|Penulis|Sumber Foto|Foto)\s*:\s*$",
    re.IGNORECASE,
)
# Words that end with a period but do not end a sentence (compared lower-cased).
_ABBREVIATIONS = frozenset(
    """
    dr. drs. dra. drg. prof. h. hj. ir. k.h. kh. st. no. nomor. jl. jln. kab. kec. kel. prov.
    ds. rt. rw. bpk. bp. sdr. sdri. yth. tgl. hlm. rp. mr. mrs. ms. vs. dll. dsb. dst. dkk.
    a.n. u.p. s.pd. m.pd. s.si. m.si. s.h. m.h. s.e. m.m. s.sos. m.sos. s.kom. m.kom. s.t.
    m.t. s.ag. m.ag. s.kep. m.kes. s.ked. sp.a. sp.og. ph.d. m.a. m.sc. b.sc. s.ip. m.ap.
    moh. muh. mhd. jend. kol. letjen. mayjen. brigjen. pol. plt. plh. e.g. i.e. etc. cf.
    """.split()
)
_INITIALS = re.compile(r"(?:[A-Z]\.)+")
_TERMINATOR = re.compile(r"[.!?]+[\"'\u201d\u2019)\]]*")
_OPENERS = "\"'([\u201c\u2018"
_SPACES = re.compile(r"\s*")


def normalize(text: str) -> str:
    """Fold typographic variants (NBSP, dashes, curly quotes) and tidy whitespace."""
    text = unicodedata.normalize("NFC", text).translate(_TRANSLATE)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[ \t\f\v]+", " ", text)
    return re.sub(r" +\n", "\n", text).rstrip(" ")


def split_paragraphs(text: str) -> list[str]:
    """Normalised paragraphs separated by blank lines, without empty boilerplate labels."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", normalize(text)):
        lines = [line.strip() for line in block.split("\n")]
        kept = [line for line in lines if line and not _BOILERPLATE.match(line)]
        if kept:
            paragraphs.append("\n".join(kept))
    return paragraphs


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans (start, end) of the sentences of text, whitespace excluded."""
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        spans.extend(_line_sentences(text, line.start(), line.end()))
    return spans


def sentences(text: str) -> list[str]:
    """The sentences of text as strings."""
    return [text[start:end] for start, end in split_sentences(text)]


def _line_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    spans, cursor = [], start
    for match in _TERMINATOR.finditer(text, start, end):
        if _ends_sentence(text, match, end):
            spans.append(_strip_span(text, cursor, match.end()))
            cursor = match.end()
    spans.append(_strip_span(text, cursor, end))
    return [(s, e) for s, e in spans if s < e]


def _ends_sentence(text: str, match: re.Match[str], end: int) -> bool:
    # look only at the next character: slicing the rest of a long line made this quadratic
    gap = _SPACES.match(text, match.end(), end)
    if gap is None or gap.end() == end:
        return True
    if gap.end() == match.end():
        return False  # "3.5", "1.000.000", "S.Pd", "kata.Kata"
    following = text[gap.end()]
    if not (following.isupper() or following.isdigit() or following in _OPENERS):
        return False
    return match.group().rstrip("\"')]\u201d\u2019") != "." or not _is_abbreviation(text, match)


def _is_abbreviation(text: str, match: re.Match[str]) -> bool:
    begin = match.start()
    while begin > 0 and (text[begin - 1].isalnum() or text[begin - 1] in "._"):
        begin -= 1
    token = text[begin : match.start() + 1]
    return token.lower() in _ABBREVIATIONS or bool(_INITIALS.fullmatch(token))


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


_MONTH = "|".join(sorted(DATE_MONTHS, key=len, reverse=True))
# Each pattern yields (year, month, day) group names; the earliest valid match wins.
_DATE_PATTERNS = (
    re.compile(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?!\d)"),
    re.compile(r"\b(?P<d>\d{1,2})([/.-])(?P<m>\d{1,2})\2(?P<y>\d{4})\b"),
    re.compile(rf"\b(?P<d>\d{{1,2}})\s+(?P<mn>{_MONTH})\.?,?\s+(?P<y>\d{{4}})\b", re.I),
    re.compile(rf"\b(?P<mn>{_MONTH})\.?\s+(?P<d>\d{{1,2}}),?\s+(?P<y>\d{{4}})\b", re.I),
)


def find_date(text: str) -> dt.date | None:
    """The first valid date written in text (Indonesian, English, numeric or ISO forms)."""
    found = [hit for pattern in _DATE_PATTERNS for hit in _valid_dates(pattern, text)]
    return min(found)[1] if found else None


def parse_date(text: str) -> dt.date | None:
    """Parse a date value such as "2023-09-29", "Jumat (29/9/2023)" or "29 Sept 2023"."""
    return find_date(text.strip()) if text else None


def _valid_dates(pattern: re.Pattern[str], text: str) -> list[tuple[int, dt.date]]:
    dates = []
    for match in pattern.finditer(text):
        parts = match.groupdict()
        month = DATE_MONTHS[parts["mn"].lower()] if parts.get("mn") else int(parts["m"])
        try:
            dates.append((match.start(), dt.date(int(parts["y"]), month, int(parts["d"]))))
        except ValueError:
            continue  # 31/2/2023 and friends are not dates
    return dates


# People: a role starts at a head word, runs over capitalised role words, and is followed
# (after an optional comma) by 1-4 capitalised name words that are not role words (the word
# lists are in lexicon.py).
_TOKEN = re.compile(r"\w+(?:['-]\w+)*|[^\w\s]")
_INSTITUTION_NOUN = re.compile(r"(?:Pe|Ke)[a-z]{4,}an")  # Pendidikan, Kesejahteraan, ...


def extract_people(paragraphs: Iterable[str]) -> tuple[Person, ...]:
    """People named after a government role ("Menko PMK Muhadjir Effendy"); a heuristic."""
    found: dict[str, str] = {}
    for paragraph in paragraphs:
        for name, role in _people_in(_TOKEN.findall(paragraph.replace("Plt.", "Plt"))):
            if len(role) > len(found.get(name, "")):
                found[name] = role
    return tuple(Person(name, found[name]) for name in _longest_names(found))


def _longest_names(names: Iterable[str]) -> list[str]:
    """Names whose words are not a strict subset of another name's ("Muhadjir" of
    "Muhadjir Effendy"). A name has at most 4 words, so its subsets are few: listing
    them keeps this linear where comparing every pair was quadratic."""
    shorter: set[frozenset[str]] = set()
    for name in names:
        words = list(dict.fromkeys(name.split()))
        for size in range(1, len(words)):
            shorter.update(map(frozenset, itertools.combinations(words, size)))
    return [name for name in names if frozenset(name.split()) not in shorter]


def _people_in(tokens: list[str]) -> Iterator[tuple[str, str]]:
    i = 0
    while i < len(tokens):
        head, prefixes_end = _head_at(tokens, i)
        if not head:
            i = prefixes_end + 1  # no token up to there starts a role either
            continue
        role_end, has_place = _role_end(tokens, i)
        name_start, name_end = _name_span(tokens, role_end)
        words = tokens[name_start:name_end]
        # after a place ("Kota Surabaya") one word is more likely the place's tail than a name
        if len(words) > has_place:
            yield " ".join(words), " ".join(tokens[i:role_end])
        i = max(name_end, role_end)


def _head_at(tokens: list[str], i: int) -> tuple[bool, int]:
    """Whether a role starts at i ("Wakil", "Plt", "Plh" start one when a head follows),
    and where that run of prefixes ends; a loop, so thousands of them stay cheap."""
    while (not _is_plain_head(tokens, i) and tokens[i] in ROLE_HEAD_PREFIXES
           and i + 1 < len(tokens)):
        i += 1
    return _is_plain_head(tokens, i), i


def _is_plain_head(tokens: list[str], i: int) -> bool:
    return tuple(tokens[i : i + 2]) in ROLE_HEAD_PAIRS or tokens[i] in ROLE_HEADS


def _is_role_word(token: str) -> bool:
    acronym = len(token) > 1 and token.isupper() and token.isalpha()
    return token in ROLE_WORDS or acronym or bool(_INSTITUTION_NOUN.fullmatch(token))


def _role_end(tokens: list[str], i: int) -> tuple[int, bool]:
    end, has_place = i + 1, False
    while end < len(tokens):
        token, following = tokens[end], tokens[end + 1] if end + 1 < len(tokens) else ""
        if token == "dan" and _is_role_word(following) and following not in ROLE_HEADS:
            end += 2
        elif _is_role_word(token):
            end += 1
        elif tokens[end - 1] in PLACE_INTRO and _is_name_word(token):
            end, has_place = end + 1, True  # "Kota Surabaya": the place belongs to the role
        else:
            break
    return end, has_place


def _name_span(tokens: list[str], start: int) -> tuple[int, int]:
    start += start < len(tokens) and tokens[start] == ","
    while start + 1 < len(tokens) and tokens[start] in HONORIFICS and tokens[start + 1] == ".":
        start += 2
    end = start
    while end < len(tokens) and end - start < 4 and _is_name_word(tokens[end]):
        end += 1
    return start, end


def _is_name_word(token: str) -> bool:
    plain = token.replace("'", "").replace("-", "")
    if not (plain.isalpha() and token[0].isupper() and len(plain) > 1) or token in NAME_STOPS:
        return False
    return not _is_role_word(token)


def parse_iso_date(value: str | None) -> dt.date | None:
    """A YYYY-MM-DD date (None for an empty value); ValueError says the format to use."""
    if value is None or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value.strip()!r} is not a date; use YYYY-MM-DD") from None
