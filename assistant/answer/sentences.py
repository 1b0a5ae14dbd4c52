"""Candidate answer sentences: collect them from the passages, score them, pick the best.

Each sentence of the retrieved passages is scored by its own dense similarity to the
question, the idf-weighted share of the question's terms it contains, whether it names a
person the question asks about by role, and the rank of its passage. The best one and
those within a margin of it are kept, in reading order.

Sentence vectors are made at ingest (`embed_sentences`, stored with the chunks) and handed
in with the hits as `StoredVectors`; a sentence without one (an index built before they
were stored) is embedded at question time, with the same embedder, so answers agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.answer.base import StoredVectors
from assistant.answer.question import Question
from assistant.lexical import analyze, words
from assistant.lexicon import ROLE_ALIASES
from assistant.text import split_sentences
from assistant.types import Chunk, Hit, Person

MIN_WORDS = 4  # shorter sentences are never quoted

# weights of the sentence score (tuned on the sample set and IDK-MRC, see eval/README.md)
W_DENSE, W_OVERLAP, W_ENTITY, W_RANK = 1.0, 0.35, 0.3, 0.15
DENSE_FLOOR = 0.75  # e5 cosine similarities live in ~0.7..0.95; rescale from here
KEEP_RATIO = 0.6  # sentences scoring at least this share of the best one join the answer
# a person the question asks about by role ("the deputies") gets their best sentence in, if
# it scores at least this share of the best one (measured on eval/sets/sample.jsonl)
PERSON_KEEP_RATIO = 0.45

# A role word the table lacks matches the head word of a person's role when the two spell
# alike once English and Indonesian spelling is folded (deputy/deputi, director/direktur,
# commissioner/komisioner). The table stays for translations no spelling rule finds
# (minister/menteri, Coordinating Minister/Menko): measured in eval/README.md.
_SPELLING = (("ph", "f"), ("c", "k"), ("y", "i"), ("q", "k"), ("x", "ks"))
COGNATE_PREFIX = 5  # letters two folded words must share (shorter words: all of them)



@dataclass(frozen=True)
class Sentence:
    """A candidate answer sentence with where it came from and how it scored."""

    text: str
    hit: Hit
    rank: int  # rank of its chunk among the hits
    start: int  # offset inside the chunk text
    score: float = 0.0
    dense: float = 0.0
    overlap: float = 0.0
    entity: float = 0.0
    people: tuple[str, ...] = ()  # names of asked-about people the sentence mentions


def sentence_spans(text: str, min_words: int = MIN_WORDS) -> list[tuple[int, str]]:
    """(start offset, sentence) of each quotable sentence of a chunk's text."""
    out = []
    for start, end in split_sentences(text):
        sentence = text[start:end].strip()
        if len(sentence.split()) >= min_words:
            out.append((start, sentence))
    return out


def candidates(hits: Sequence[Hit], min_words: int = MIN_WORDS) -> list[Sentence]:
    """Unique sentences of the hits, first occurrence kept (chunks overlap by a paragraph)."""
    seen: set[str] = set()
    out = []
    for rank, hit in enumerate(hits):
        for start, text in sentence_spans(hit.chunk.text, min_words):
            key = re.sub(r"\W+", " ", text.lower()).strip()
            if key in seen:
                continue
            seen.add(key)
            out.append(Sentence(text, hit, rank, start))
    return out


def embed_sentences(chunks: Sequence[Chunk], embedder: Embeddings
                    ) -> list[tuple[list[int], np.ndarray]]:
    """Per chunk: the start offsets of its quotable sentences and their vectors (ingest).

    A sentence shared by overlapping chunks is embedded once.
    """
    spans = [sentence_spans(c.text) for c in chunks]
    unique = list(dict.fromkeys(text for per_chunk in spans for _, text in per_chunk))
    vectors = embedder.embed_documents(unique) if unique else []
    by_text = dict(zip(unique, vectors, strict=True))
    dim = len(vectors[0]) if vectors else 0
    return [([start for start, _ in per_chunk],
             np.asarray([by_text[text] for _, text in per_chunk], dtype=np.float32)
             .reshape(len(per_chunk), dim))
            for per_chunk in spans]


def sentence_vectors(sentences: Sequence[Sentence], stored: StoredVectors,
                     embedder: Embeddings) -> np.ndarray:
    """The sentences' vectors: stored ones where the index has them, the rest embedded now."""
    found = [stored.get(s.hit.chunk.id, {}).get(s.start) for s in sentences]
    missing = [i for i, v in enumerate(found) if v is None]
    if missing:
        fresh = embedder.embed_documents([sentences[i].text for i in missing])
        for i, vector in zip(missing, fresh, strict=True):
            found[i] = vector
    return np.asarray(found, dtype=np.float64)


def term_overlap(question_terms: Sequence[str], sentence_terms: Sequence[str],
                 idf: Callable[[str], float]) -> float:
    """Idf-weighted share of the question's terms found in the sentence (0..1)."""
    terms = set(question_terms)
    if not terms:
        return 0.0
    weights = {t: max(idf(t), 0.5) for t in terms}
    found = set(sentence_terms)
    return sum(w for t, w in weights.items() if t in found) / sum(weights.values())


def fold(word: str) -> str:
    """A word spelt one way across English and Indonesian (for cognates)."""
    word = word.lower()
    for a, b in _SPELLING:
        word = word.replace(a, b)
    return re.sub(r"(.)\1", r"\1", word)  # doubled letters: commission/komisi


def cognate(a: str, b: str) -> bool:
    """Whether two words are one word in two spellings: their folded forms share the first
    COGNATE_PREFIX letters (or are equal, when shorter)."""
    a, b = fold(a), fold(b)
    if min(len(a), len(b)) < COGNATE_PREFIX:
        return a == b
    return a[:COGNATE_PREFIX] == b[:COGNATE_PREFIX]


def asked_people(question: str, people: Iterable[Person]) -> list[Person]:
    """People the question asks about by their role, unless it names them itself.

    "what did the deputies propose?" asks about every Deputi of the release, in English: a
    question word is a cognate of the head word of their role, or the table says it names
    that role. A question that names a person is already matched on the name by the term
    overlap.
    """
    q_words = set(words(question))
    roles = [role for role, aliases in ROLE_ALIASES.items() if q_words & set(aliases)]
    out = []
    for person in people:
        role, head = person.role.lower(), words(person.role)[:1]
        named = {w for w in words(person.name) if len(w) >= 4} & q_words
        by_table = any(role.startswith(r) for r in roles)
        by_spelling = bool(head) and any(cognate(w, head[0]) for w in q_words if len(w) >= 4)
        if not named and (by_table or by_spelling):
            out.append(person)
    return out


def mentioned(sentence: str, people: Sequence[Person]) -> tuple[str, ...]:
    """Names of the people the sentence names (by any part of the name of 4+ letters)."""
    found = set(words(sentence))
    return tuple(p.name for p in people
                 if any(w in found for w in words(p.name) if len(w) >= 4))


def score_sentences(
    question: Question, query_vector: Sequence[float], sentences: Sequence[Sentence],
    embedder: Embeddings, idf: Callable[[str], float],
    people: Mapping[str, Sequence[Person]] | None = None, stored: StoredVectors | None = None,
) -> list[Sentence]:
    """Score every candidate sentence; returns them best first."""
    if not sentences:
        return []
    vectors = sentence_vectors(sentences, stored or {}, embedder)
    dense = vectors @ np.asarray(query_vector)
    q_terms = question.terms
    top_hit = max(s.hit.score for s in sentences) or 1.0
    asked = {rid: asked_people(question.text, ps) for rid, ps in (people or {}).items()}
    scored = []
    for s, d in zip(sentences, dense, strict=True):
        overlap = term_overlap(q_terms, analyze(s.text), idf)
        names = mentioned(s.text, asked.get(s.hit.chunk.release_id, []))
        entity = float(bool(names))
        rescaled = max(0.0, (float(d) - DENSE_FLOOR) / (1.0 - DENSE_FLOOR))
        prior = max(0.0, s.hit.score / top_hit)
        score = W_DENSE * rescaled + W_OVERLAP * overlap + W_ENTITY * entity + W_RANK * prior
        scored.append(Sentence(s.text, s.hit, s.rank, s.start, score, float(d), overlap, entity,
                               names))
    return sorted(scored, key=lambda s: -s.score)


def select(scored: Sequence[Sentence], max_sentences: int) -> list[Sentence]:
    """The best sentence, those scoring KEEP_RATIO of it, and the best sentence on each person
    asked about by role (at most max_sentences); best sentence first, the rest in reading order.
    """
    if not scored:
        return []
    best = scored[0].score
    chosen = [s for s in scored if s.score >= best * KEEP_RATIO][:max_sentences]
    for s in scored:  # best first, so each person's best sentence comes first
        covered = {name for c in chosen for name in c.people}
        if len(chosen) < max_sentences and s not in chosen and s.score >= best * PERSON_KEEP_RATIO \
                and set(s.people) - covered:
            chosen.append(s)
    lead, rest = chosen[0], chosen[1:]
    first_rank: dict[str, int] = {}
    for s in rest:
        first_rank.setdefault(s.hit.chunk.release_id, s.rank)
    return [lead] + sorted(rest, key=lambda s: (first_rank[s.hit.chunk.release_id],
                                                s.hit.chunk.release_id,
                                                s.hit.chunk.char_start + s.start))
