"""BM25 over Indonesian text: tokenise, drop stopwords, stem with Sastrawi (memoised)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

from assistant.lexicon import NUMBER_WORDS

_WORD = re.compile(r"[0-9a-zA-Z\u00c0-\u024f]+(?:[-'][0-9a-zA-Z\u00c0-\u024f]+)*")

# English function words, so English questions are not matched on "the", "what", "did".
ENGLISH_STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing down during each few for from further
had has have having he her here hers herself him himself his how i if in into is it its itself
just me more most my myself no nor not now of off on once only or other our ours ourselves out
over own same she should so some such than that the their theirs them themselves then there
these they this those through to too under until up very was we were what when where which
while who whom why will with would you your yours yourself yourselves tell please many much
""".split())

# Words that mark a question as Indonesian (frequent, and rare in English).
_INDONESIAN_MARKERS = frozenset("""
apa apakah siapa siapakah kapan dimana di mana bagaimana berapa mengapa kenapa yang dan dengan
untuk dari pada dalam ini itu tersebut adalah akan oleh ke juga tidak sudah telah bisa dapat
para serta atau karena bahwa saja lebih kami kita mereka ia nya
""".split())



@lru_cache(maxsize=1)
def _indonesian_stopwords() -> frozenset[str]:
    from Sastrawi.StopWordRemover.StopWordRemoverFactory import StopWordRemoverFactory

    return frozenset(StopWordRemoverFactory().get_stop_words())


@lru_cache(maxsize=1)
def _stem_function() -> Callable[[str], str]:
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    stemmer = StemmerFactory().create_stemmer()
    return lru_cache(maxsize=200_000)(stemmer.stem)


def words(text: str) -> list[str]:
    """Lower-cased word tokens (hyphenated words such as `kerja-sama` stay whole)."""
    return _WORD.findall(text.lower())


def detect_language(text: str) -> str:
    """'en' when the text reads as English, else 'id' (the ministry's language)."""
    tokens = words(text)
    english = sum(t in ENGLISH_STOPWORDS for t in tokens)
    indonesian = sum(t in _INDONESIAN_MARKERS for t in tokens)
    return "en" if english > indonesian else "id"


def analyze(text: str) -> list[str]:
    """Index terms of a text: words minus Indonesian/English stopwords, stemmed."""
    stop = _indonesian_stopwords()
    stem = _stem_function()
    terms = []
    for word in words(text):
        word = NUMBER_WORDS.get(word, word)
        if not word.isdigit() and (word in stop or word in ENGLISH_STOPWORDS or len(word) < 2):
            continue
        terms.append(word if word.isdigit() else stem(word))
    return terms


class BM25:
    """Okapi BM25 over pre-analysed documents (lists of terms), updated document by document.

    Each document gets a slot; removing one frees its postings, so statistics (document
    count, lengths, document frequencies) always describe the live documents only.
    """

    def __init__(self, documents: Sequence[Sequence[str]] = (), k1: float = 1.2,
                 b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self._postings: dict[str, dict[int, int]] = {}
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._lengths: list[int] = []
        self._length_array: np.ndarray | None = None
        self.n_docs = 0
        self._total_length = 0
        self.add(documents)

    @property
    def n_slots(self) -> int:
        """Slots ever given out (live and removed documents)."""
        return len(self._lengths)

    def add(self, documents: Sequence[Sequence[str]]) -> list[int]:
        """Add documents; returns their slots."""
        slots = []
        for doc in documents:
            slot = len(self._lengths)
            self._lengths.append(len(doc))
            for term, tf in Counter(doc).items():
                self._postings.setdefault(term, {})[slot] = tf
                self._arrays.pop(term, None)
            self.n_docs += 1
            self._total_length += len(doc)
            slots.append(slot)
        self._length_array = None
        return slots

    def remove(self, slot: int, terms: Sequence[str]) -> None:
        """Remove the document in slot (terms: the terms it was added with)."""
        for term in set(terms):
            postings = self._postings.get(term)
            if postings is not None and postings.pop(slot, None) is not None:
                self._arrays.pop(term, None)
                if not postings:
                    del self._postings[term]
        self.n_docs -= 1
        self._total_length -= self._lengths[slot]
        self._lengths[slot] = 0
        self._length_array = None

    def idf(self, term: str) -> float:
        """Robertson-Sparck Jones idf, floored at zero (0 for unknown terms)."""
        df = len(self._postings.get(term, ()))
        if df == 0:
            return 0.0
        return max(0.0, math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5)))

    def _term_arrays(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        arrays = self._arrays.get(term)
        if arrays is None:
            postings = self._postings[term]
            arrays = (np.fromiter(postings.keys(), dtype=np.int64, count=len(postings)),
                      np.fromiter(postings.values(), dtype=np.float64, count=len(postings)))
            self._arrays[term] = arrays
        return arrays

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every slot for the query terms (removed slots score 0)."""
        scores = np.zeros(self.n_slots)
        if not self.n_docs:
            return scores
        if self._length_array is None:
            self._length_array = np.asarray(self._lengths, dtype=np.float64)
        average = max(self._total_length / self.n_docs, 1e-9)
        norm = self.k1 * (1.0 - self.b + self.b * self._length_array / average)
        for term in set(query_terms):
            if term not in self._postings:
                continue
            docs, tfs = self._term_arrays(term)
            scores[docs] += self.idf(term) * tfs * (self.k1 + 1.0) / (tfs + norm[docs])
        return scores

    def coverage(self, query_terms: Sequence[str]) -> float:
        """Share of the query's idf mass that the corpus vocabulary knows (0..1).

        English questions over Indonesian text score low: their content words are absent.
        Unknown terms get the idf of a term seen once.
        """
        terms = set(query_terms)
        if not terms or not self.n_docs:
            return 0.0
        unseen = math.log(1.0 + (self.n_docs - 0.5) / 1.5)
        known = sum(self.idf(t) for t in terms if t in self._postings)
        total = known + unseen * sum(t not in self._postings for t in terms)
        return known / total if total else 0.0
