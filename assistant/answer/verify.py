"""Per-sentence verification of a written answer against the numbered passages it came from.

Every sentence of an answer is checked against the passages it cites:
- meaning: the multilingual e5 similarity between the sentence and the passage's best
  sentence must reach the support threshold (an English sentence is compared with the
  Indonesian passage directly; e5 embeds both languages in one space);
- facts: every number, month, amount (a number with a scale word or a currency: "Rp 3,5
  triliun" = "IDR 3.5 trillion") and name the sentence states must occur in the cited
  passages (titles and dates included). A name is a capitalised word the index knows
  (term statistics): a translated title word ("Ministry") is in no Indonesian release, so
  it is not held against the sentence, while a person or place the corpus names must be in
  the cited passage.
A citation number that points at no passage is dropped. A sentence its own citations do not
support but another passage does is re-cited to that passage (or to two passages when it
joins a fact of one to what the other says); one that no passage supports is unsupported.
Shared by every answerer that writes text (generate.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.evaluation.metrics import answer_tokens
from assistant.lexical import analyze, detect_language, words
from assistant.lexicon import CURRENCIES, DAYS, MONTHS, NUMBER_WORDS, SCALES, ZERO_WORDS
from assistant.text import split_sentences
from assistant.types import Chunk

# cosine similarity (e5, "passage: " on both sides) above which a passage sentence supports
# an answer sentence, by the sentence's language: an English sentence scores lower against
# the Indonesian passage it translates. Chosen by eval/calibrate_support.py (eval/README.md).
SUPPORT_THRESHOLDS = {"id": 0.88, "en": 0.815}

MARKERS = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+")
_NUMBER = re.compile(r"^\d+(?:\.\d+)?$")
_LIST_NUMBER = re.compile(r"^\(?\d{1,2}[.)]$")  # a list item's number split off as a sentence
_CAPITALISED = re.compile(r"(?<![\w'])[A-Z][\w'’-]*")
_DATE = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{2,4})\b")


@dataclass(frozen=True)
class Facts:
    """What a text states that can be checked by matching: numbers, months, amounts, names."""

    numbers: frozenset[str] = frozenset()
    months: frozenset[int] = frozenset()
    amounts: frozenset[tuple[str, float]] = frozenset()  # (currency or "", value)
    names: frozenset[str] = frozenset()  # casefolded

    def missing_from(self, other: Facts) -> list[str]:
        """What this text states that other does not (empty: all found)."""
        missing = [n for n in self.numbers if n not in other.numbers]
        missing += [f"month {m}" for m in self.months if m not in other.months]
        missing += [f"{c} {v:g}".strip() for c, v in self.amounts if not _has_amount(other, c, v)]
        return missing + [n for n in self.names if not _has_name(other, n)]


def _has_amount(facts: Facts, currency: str, value: float) -> bool:
    return any(abs(v - value) <= 1e-9 * max(v, value) and (not currency or c in ("", currency))
               for c, v in facts.amounts)


def _has_name(facts: Facts, name: str) -> bool:
    # "Indonesian" is stated by "Indonesia", "Chinese" by "China": a shared 4-letter start
    return name in facts.names or any(n[:4] == name[:4] for n in facts.names if len(n) >= 4)


def tokens(text: str) -> list[str]:
    """Matching tokens of text: lower case, numbers in one spelling (metrics.answer_tokens)."""
    return answer_tokens(text)


def amounts(toks: Sequence[str]) -> frozenset[tuple[str, float]]:
    """Numbers with a scale word after them or a currency before or after them."""
    found = set()
    for i, tok in enumerate(toks):
        if not _NUMBER.match(tok):
            continue
        value, currency = float(tok), ""
        after = toks[i + 1] if i + 1 < len(toks) else ""
        if after in SCALES:
            value *= SCALES[after]
            after = toks[i + 2] if i + 2 < len(toks) else ""
        before = toks[i - 1] if i else ""
        currency = CURRENCIES.get(before) or CURRENCIES.get(after) or ""
        if currency or value != float(tok):
            found.add((currency, value))
    return frozenset(found)


def facts_of(text: str, known: Callable[[str], bool] | None = None,
             passage: bool = False) -> Facts:
    """The checkable facts of a text. known(word): whether a capitalised word is a name the
    index knows (None: every capitalised word). passage: read spelled-out numbers ("tiga")
    and d/m/y dates, which a passage states and an answer may render otherwise."""
    toks = tokens(text)
    numbers = {t for t in toks if _NUMBER.match(t)}
    if passage:  # every word a passage has counts for the names it states
        numbers |= {_SPELLED[t] for t in toks if t in _SPELLED}
        dates = {int(m.group(2)) for m in _DATE.finditer(text) if 1 <= int(m.group(2)) <= 12}
        months = {MONTHS[t] for t in toks if t in MONTHS} | dates
        names = {part for w in words(text) for part in {w, *re.split(r"[-']", w)}}
        return Facts(frozenset(numbers), frozenset(months), amounts(toks), frozenset(names))
    return Facts(frozenset(numbers), frozenset(_months(toks)), amounts(toks),
                 frozenset(_names(text, known)))


_SPELLED = {**NUMBER_WORDS, **ZERO_WORDS}


def _months(toks: Sequence[str]) -> set[int]:
    """Months an answer names next to a day or year ("may" and "march" are also verbs)."""
    return {MONTHS[t] for i, t in enumerate(toks) if t in MONTHS and any(
        _NUMBER.match(n) for n in [*toks[max(0, i - 1):i], *toks[i + 1:i + 2]])}


def _names(text: str, known: Callable[[str], bool] | None) -> set[str]:
    names = set()
    for match in _CAPITALISED.finditer(text):
        word = match.group(0).rstrip("'’-").casefold()
        first = not text[:match.start()].strip()  # a sentence's first word is capitalised anyway
        if word in MONTHS or word in DAYS or word in CURRENCIES or word in SCALES or first:
            continue
        if known is None or known(word):
            names.add(word)
    return names


@dataclass(frozen=True)
class Passage:
    """A numbered passage of the prompt: the text the model saw under [n]."""

    n: int
    text: str  # title, date and body as given to the model
    chunk: Chunk | None = None  # the chunk it comes from (what its citation points at)

    @property
    def sentences(self) -> list[str]:
        """Its sentences (of three words or more)."""
        spans = split_sentences(self.text)
        found = [self.text[s:e] for s, e in spans]
        return [s for s in found if len(s.split()) >= 3] or [self.text]


@dataclass(frozen=True)
class Verdict:
    """One answer sentence after verification."""

    text: str  # without its [n] markers
    cited: tuple[int, ...]  # passage numbers that support it (or that it cited, unsupported)
    supported: bool
    recited: bool = False
    dropped: tuple[int, ...] = ()  # markers that pointed at no passage
    quotes: dict[int, str] = field(default_factory=dict)  # passage n -> its best sentence
    similarity: dict[int, float] = field(default_factory=dict)  # passage n -> that sentence's
    missing: tuple[str, ...] = ()  # facts no cited passage states (why unsupported)


def parse(answer: str) -> list[tuple[str, tuple[int, ...]]]:
    """The answer's sentences without markers, each with the numbers it cited.

    A marker opening a sentence ("... Jakarta. [1] Then") belongs to the sentence before;
    a list item's number ("1.") is no sentence.
    """
    out: list[tuple[str, tuple[int, ...]]] = []
    for start, end in split_sentences(answer):
        piece = answer[start:end]
        lead = _LEADING_MARKERS.match(piece)
        if lead and out:
            text, numbers = out[-1]
            out[-1] = (text, numbers + _numbers(lead.group(0)))
            piece = piece[lead.end():]
        numbers = _numbers(piece)
        text = " ".join(MARKERS.sub(" ", piece).split())
        text = re.sub(r"\s+([.,;:!?])", r"\1", text)
        if _LIST_NUMBER.match(text) and out and numbers:  # "1." of a list: no claim
            out[-1] = (out[-1][0], out[-1][1] + numbers)
        elif text.strip(" .,;:!?") and not _LIST_NUMBER.match(text):
            out.append((text, numbers))
    return out


def _numbers(text: str) -> tuple[int, ...]:
    found = (int(n) for m in MARKERS.finditer(text) for n in re.split(r"[,;]", m.group(1)))
    return tuple(dict.fromkeys(found))


class Verifier:
    """Checks an answer's sentences against the passages of its prompt (see module doc)."""

    def __init__(self, embedder: Embeddings, threshold: float | None = None,
                 known: Callable[[str], bool] | None = None) -> None:
        self.embedder = embedder
        # one threshold for every language, or None: the calibrated one per language
        self.thresholds = ({lang: threshold for lang in SUPPORT_THRESHOLDS}
                           if threshold is not None else dict(SUPPORT_THRESHOLDS))
        self.known = known  # whether a word is a name the index knows (None: all are)

    def verify(self, answer: str, passages: Sequence[Passage],
               known: Callable[[str], bool] | None = None) -> list[Verdict]:
        """A verdict per sentence of the answer, in order."""
        parsed = parse(answer)
        if not parsed or not passages:
            return [Verdict(text, (), False, dropped=cited) for text, cited in parsed]
        similarity, best = self.similarities([t for t, _ in parsed], passages)
        facts = {p.n: facts_of(p.text, passage=True) for p in passages}
        known = known or self.known
        verdicts = []
        for i, (text, cited) in enumerate(parsed):
            quotes = {p.n: best[i][j] for j, p in enumerate(passages)}
            sims = {p.n: float(similarity[i][j]) for j, p in enumerate(passages)}
            verdicts.append(self._judge(text, cited, sims, quotes, facts,
                                        facts_of(text, known)))
        return verdicts

    def similarities(self, sentences: Sequence[str], passages: Sequence[Passage]
                      ) -> tuple[np.ndarray, list[list[str]]]:
        """Best similarity of each answer sentence to each passage, and that passage sentence."""
        own = [p.sentences for p in passages]
        flat = [s for group in own for s in group]
        vectors = np.asarray(self.embedder.embed_documents([*sentences, *flat]))
        answer_vectors, passage_vectors = vectors[:len(sentences)], vectors[len(sentences):]
        scores = answer_vectors @ passage_vectors.T
        similarity = np.zeros((len(sentences), len(passages)))
        best: list[list[str]] = [[""] * len(passages) for _ in sentences]
        start = 0
        for j, group in enumerate(own):
            block = scores[:, start:start + len(group)]
            for i in range(len(sentences)):
                k = int(np.argmax(block[i]))
                similarity[i, j], best[i][j] = block[i, k], group[k]
            start += len(group)
        return similarity, best

    def _judge(self, text: str, cited: tuple[int, ...], sims: dict[int, float],
               quotes: dict[int, str], facts: dict[int, Facts], claim: Facts) -> Verdict:
        threshold = self.thresholds[detect_language(text)]
        valid = tuple(n for n in cited if n in sims)
        dropped = tuple(n for n in cited if n not in sims)
        if valid and self._supports(valid, sims, facts, claim, threshold):
            kept = tuple(n for n in valid if sims[n] >= threshold) or valid
            return Verdict(text, kept, True, False, dropped, {n: quotes[n] for n in kept},
                           {n: sims[n] for n in kept})
        others = [n for n in sorted(sims, key=lambda n: -sims[n])
                  if n not in valid and self._supports((n,), sims, facts, claim, threshold)]
        if others:
            n = others[0]
            return Verdict(text, (n,), True, bool(valid), dropped, {n: quotes[n]},
                           {n: sims[n]})
        pair = self._pair(sims, facts, claim, threshold)
        if pair:
            return Verdict(text, pair, True, bool(valid), dropped,
                           {n: quotes[n] for n in pair}, {n: sims[n] for n in pair})
        union = _union([facts[n] for n in valid])
        return Verdict(text, valid, False, False, dropped, {n: quotes[n] for n in valid},
                       {n: sims[n] for n in valid}, tuple(claim.missing_from(union)))

    def _pair(self, sims: dict[int, float], facts: dict[int, Facts], claim: Facts,
              threshold: float) -> tuple[int, int] | None:
        """Two passages that together support a sentence joining facts from both ("Deputy
        Nunung Nuryanto proposed X": the name from one, the proposal from another): one
        close in meaning, the other stating what the first lacks."""
        ranked = sorted(sims, key=lambda n: -sims[n])
        for n in (n for n in ranked if sims[n] >= threshold):
            for m in (m for m in ranked if m != n):
                if self._supports((n, m), sims, facts, claim, threshold):
                    return n, m
        return None

    def _supports(self, cited: Sequence[int], sims: dict[int, float],
                  facts: dict[int, Facts], claim: Facts, threshold: float) -> bool:
        close = max(sims[n] for n in cited) >= threshold
        return close and not claim.missing_from(_union([facts[n] for n in cited]))


def _union(all_facts: Sequence[Facts]) -> Facts:
    return Facts(frozenset().union(*(f.numbers for f in all_facts)),
                 frozenset().union(*(f.months for f in all_facts)),
                 frozenset().union(*(f.amounts for f in all_facts)),
                 frozenset().union(*(f.names for f in all_facts)))


def index_knows(idf: Callable[[str], float]) -> Callable[[str], bool]:
    """known(word) for Verifier: the word (as the index analyses it) occurs in the index."""
    def known(word: str) -> bool:
        terms = analyze(word)
        return bool(terms) and all(idf(t) > 0 for t in terms)
    return known
