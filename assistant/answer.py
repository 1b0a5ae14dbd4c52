"""Compose the cited answer: pick the sentences that best answer the question, or refuse.

Extractive: candidate sentences come from the retrieved chunks; each is scored by its own
dense similarity to the question, the share of the question's terms it contains and the rank
of its chunk. The best few (within a margin of the best) are kept in reading order, each
followed by `[n]`; numbers are assigned here and point at the citations list. When the
evidence score is below the refusal threshold the answer is a refusal in the question's
language.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.lexical import analyze, detect_language, words
from assistant.text import split_sentences
from assistant.types import Answer, Citation, Hit, Person

REFUSALS = {
    "id": "Informasi tersebut tidak ditemukan dalam siaran pers yang tersedia.",
    "en": "The releases available do not contain that information.",
}
# Refusal-F1 is highest when nearly everything is refused (IDK-MRC is 59% unanswerable), which
# would fail staff on most real questions; this threshold keeps wrong refusals of answerable
# questions at ~15% (CV on IDK-MRC + cross-lingual: refusal precision 0.80, recall 0.40).
DEFAULT_REFUSAL_THRESHOLD = 0.32

# weights of the sentence score (tuned on the sample set and IDK-MRC, see eval/README.md)
W_DENSE, W_OVERLAP, W_ENTITY, W_RANK = 1.0, 0.35, 0.3, 0.15
DENSE_FLOOR = 0.75  # e5 cosine similarities live in ~0.7..0.95; rescale from here
KEEP_RATIO = 0.6  # sentences scoring at least this share of the best one join the answer
# a person the question asks about by role ("the deputies") gets their best sentence in, if
# it scores at least this share of the best one (measured on eval/sets/sample.jsonl)
PERSON_KEEP_RATIO = 0.45

# Role words a question may use (English or Indonesian) -> how the role starts in a release.
ROLE_ALIASES: dict[str, tuple[str, ...]] = {
    "deputi": ("deputy", "deputies", "deputi", "deputi-deputi"),
    "menteri": ("minister", "ministers", "menteri"),
    "menko": ("menko", "coordinating"),
    "presiden": ("president", "presiden"),
    "wakil presiden": ("vice-president",),
    "staf khusus": ("staff", "adviser", "advisor", "staf", "stafsus"),
    "direktur": ("director", "directors", "direktur", "dirjen"),
    "kepala": ("head", "kepala", "chief"),
    "sekretaris": ("secretary", "sekretaris", "sesmenko"),
    "gubernur": ("governor", "gubernur"),
    "bupati": ("regent", "bupati"),
    "wali kota": ("mayor", "walikota"),
    "asisten deputi": ("asdep",),
    "asdep": ("asdep",),
    "tenaga ahli": ("expert", "experts", "ahli"),
}


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


def candidates(hits: Sequence[Hit], min_words: int = 4) -> list[Sentence]:
    """Unique sentences of the hits, first occurrence kept (chunks overlap by a paragraph)."""
    seen: set[str] = set()
    out = []
    for rank, hit in enumerate(hits):
        for start, end in split_sentences(hit.chunk.text):
            text = hit.chunk.text[start:end].strip()
            key = re.sub(r"\W+", " ", text.lower()).strip()
            if len(text.split()) < min_words or key in seen:
                continue
            seen.add(key)
            out.append(Sentence(text, hit, rank, start))
    return out


def term_overlap(question_terms: Sequence[str], sentence_terms: Sequence[str],
                 idf: Callable[[str], float]) -> float:
    """Idf-weighted share of the question's terms found in the sentence (0..1)."""
    terms = set(question_terms)
    if not terms:
        return 0.0
    weights = {t: max(idf(t), 0.5) for t in terms}
    found = set(sentence_terms)
    return sum(w for t, w in weights.items() if t in found) / sum(weights.values())


def asked_people(question: str, people: Iterable[Person]) -> list[Person]:
    """People holding a role the question asks about, unless it names them itself.

    "what did the deputies propose?" asks about every Deputi of the release, in English.
    A question that names a person is already matched on the name by the term overlap.
    """
    q_words = set(words(question))
    roles = [role for role, aliases in ROLE_ALIASES.items() if q_words & set(aliases)]
    out = []
    for person in people:
        named = {w for w in words(person.name) if len(w) >= 4} & q_words
        if not named and any(person.role.lower().startswith(r) for r in roles):
            out.append(person)
    return out


def mentioned(sentence: str, people: Sequence[Person]) -> tuple[str, ...]:
    """Names of the people the sentence names (by any part of the name of 4+ letters)."""
    found = set(words(sentence))
    return tuple(p.name for p in people
                 if any(w in found for w in words(p.name) if len(w) >= 4))


def score_sentences(
    question: str, query_vector: Sequence[float], sentences: Sequence[Sentence],
    embedder: Embeddings, idf: Callable[[str], float],
    people: Mapping[str, Sequence[Person]] | None = None,
) -> list[Sentence]:
    """Score every candidate sentence; returns them best first."""
    if not sentences:
        return []
    vectors = np.asarray(embedder.embed_documents([s.text for s in sentences]))
    dense = vectors @ np.asarray(query_vector)
    q_terms = analyze(question)
    top_hit = max(s.hit.score for s in sentences) or 1.0
    asked = {rid: asked_people(question, ps) for rid, ps in (people or {}).items()}
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


_EXPECTS_NUMBER = re.compile(r"^(berapa|berapakah|how (many|much)|what (number|percentage))\b")
_EXPECTS_TIME = re.compile(r"^(kapan|kapankah|tahun berapa|pada tahun|when|what year)\b")
_HAS_NUMBER = re.compile(r"\d|\b(satu|dua|tiga|empat|lima|enam|tujuh|delapan|sembilan|sepuluh|"
                         r"puluh|ratus|ribu|juta|miliar|triliun|setengah)\b", re.IGNORECASE)
_HAS_TIME = re.compile(r"\b(1[0-9]{3}|20[0-9]{2})\b|\b(januari|februari|maret|april|mei|juni|"
                       r"juli|agustus|september|oktober|november|desember|abad|tahun|hari|"
                       r"minggu|bulan|senin|selasa|rabu|kamis|jumat|sabtu)\b", re.IGNORECASE)


def answer_type_ok(question: str, sentence: str) -> bool:
    """False when the question wants a number or a time and the sentence has none."""
    q = question.strip().lower()
    if _EXPECTS_TIME.search(q):
        return bool(_HAS_TIME.search(sentence))
    if _EXPECTS_NUMBER.search(q):
        return bool(_HAS_NUMBER.search(sentence))
    return True


# Words that frame what kind of answer is wanted ("di kota mana", "tahun berapa"): the answer
# rarely repeats them, so they do not count as terms the passage must contain.
QUESTION_FRAME = frozenset(analyze(
    "kota negara provinsi tahun tanggal nama jumlah tempat lokasi hari bulan orang julukan "
    "city country province year date name number place location day month people"))


def evidence(question: str, scored: Sequence[Sentence], idf: Callable[[str], float]
             ) -> dict[str, float]:
    """Features of how well the best sentence and its passage answer the question.

    They do not depend on the size of the corpus (counts, not idf), so weights fitted on
    an evaluation set carry over to the ministry's index. English questions get no lexical
    features: their words are not expected in Indonesian text.
    """
    if not scored:
        return {}
    best = scored[0]
    lang_en = detect_language(question) == "en"
    terms = set(analyze(question)) - QUESTION_FRAME
    passage_terms = set(analyze(best.hit.chunk.embed_text))
    covered = len(terms & passage_terms) / len(terms) if terms else 1.0
    unknown = sum(idf(t) == 0.0 for t in terms) / len(terms) if terms else 0.0
    return {
        "score": best.score,
        "dense": (best.dense - DENSE_FLOOR) / (1.0 - DENSE_FLOOR),
        "overlap": best.overlap,
        "passage_coverage": 0.0 if lang_en else covered,
        "unknown_terms": 0.0 if lang_en else unknown,
        "type_ok": float(answer_type_ok(question, best.text)),
        "lang_en": float(lang_en),
    }


# Logistic weights over evidence(); fitted by `eval/calibrate_refusal.py` on IDK-MRC valid
# (Indonesian) and the English questions of the cross-lingual set (844 questions, 5-fold CV).
CONFIDENCE_WEIGHTS: dict[str, float] = {
    "score": 1.829, "dense": 1.7799, "overlap": -0.0683, "passage_coverage": 1.3641,
    "unknown_terms": -0.515, "type_ok": 0.5935, "lang_en": 2.0054,
}
CONFIDENCE_BIAS = -4.4021


def confidence(features: Mapping[str, float]) -> float:
    """Probability-like evidence strength (what the refusal threshold is compared to)."""
    if not features:
        return 0.0
    z = CONFIDENCE_BIAS + sum(w * features.get(k, 0.0) for k, w in CONFIDENCE_WEIGHTS.items())
    return float(1.0 / (1.0 + np.exp(-z)))


def compose(
    question: str, selected: Sequence[Sentence], confidence_score: float, threshold: float,
) -> Answer:
    """The answer text with [n] markers and its citations, or a refusal."""
    lang = detect_language(question)
    if not selected or confidence_score < threshold:
        return Answer(question, REFUSALS[lang], True, (), confidence_score)
    citations = []
    parts = []
    for n, s in enumerate(selected, start=1):
        c = s.hit.chunk
        citations.append(Citation(n=n, release_id=c.release_id, title=c.title, date=c.date,
                                  source=c.source, quote=s.text, passage=c.text,
                                  score=round(s.score, 4)))
        parts.append(f"{s.text} [{n}]")
    return Answer(question, " ".join(parts), False, tuple(citations), confidence_score)


def to_json(answer: Answer) -> dict[str, object]:
    """The `assistant ask --json` object (also the API's response)."""
    return {
        "question": answer.question,
        "answer": answer.text,
        "refused": answer.refused,
        "citations": [
            {"n": c.n, "release_id": c.release_id, "title": c.title,
             "date": c.date.isoformat() if c.date else None, "source": c.source,
             "quote": c.quote, "passage": c.passage, "score": c.score}
            for c in answer.citations
        ],
        "timings_ms": dict(answer.timings_ms),
    }
