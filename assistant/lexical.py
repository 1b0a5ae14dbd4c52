"""BM25 over Indonesian text: tokenise, drop stopwords, stem with Sastrawi (memoised)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

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


# Number words become digits, so "tiga prioritas" matches "3 prioritas".
NUMBER_WORDS = {
    w: str(n) for n, ws in enumerate([
        (), ("satu", "one", "first", "pertama"), ("dua", "two", "second", "kedua"),
        ("tiga", "three", "third", "ketiga"), ("empat", "four", "keempat"),
        ("lima", "five", "kelima"), ("enam", "six"), ("tujuh", "seven"),
        ("delapan", "eight"), ("sembilan", "nine"), ("sepuluh", "ten"),
    ]) for w in ws
}


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
    """Okapi BM25 over pre-analysed documents (lists of terms)."""

    def __init__(self, documents: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75):
        self.k1, self.b = k1, b
        self.n_docs = len(documents)
        self.lengths = np.array([len(d) for d in documents], dtype=np.float64)
        self.avg_length = float(self.lengths.mean()) if self.n_docs else 0.0
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for index, doc in enumerate(documents):
            for term, tf in Counter(doc).items():
                docs, tfs = postings.setdefault(term, ([], []))
                docs.append(index)
                tfs.append(tf)
        self._postings = {t: (np.array(d), np.array(f, dtype=np.float64))
                          for t, (d, f) in postings.items()}

    def idf(self, term: str) -> float:
        """Robertson-Sparck Jones idf, floored at zero (0 for unknown terms)."""
        df = len(self._postings[term][0]) if term in self._postings else 0
        if df == 0:
            return 0.0
        return max(0.0, math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5)))

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for the query terms."""
        scores = np.zeros(self.n_docs)
        if not self.n_docs:
            return scores
        norm = self.k1 * (1.0 - self.b + self.b * self.lengths / max(self.avg_length, 1e-9))
        for term in set(query_terms):
            if term not in self._postings:
                continue
            docs, tfs = self._postings[term]
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
