"""Hybrid retrieval: dense (Chroma) + BM25, fused so the lexical side only helps when it can.

Fusion: both score lists are scaled to 0..1 over the candidate pool (dense by min-max, BM25 by
its maximum) and added, the BM25 part weighted by `lexical_weight * coverage`, where coverage
is the share of the question's idf mass the corpus vocabulary knows. An English question over
Indonesian releases has coverage near zero, so it is ranked by the dense side alone; naive RRF
was measured to rank *below* dense alone (see README, Retrieval quality).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever

from assistant.index.lexindex import LexicalIndex
from assistant.index.store import ChromaStore
from assistant.lexical import analyze
from assistant.types import Chunk, Hit

Mode = Literal["hybrid", "dense", "bm25", "rrf"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "bm25", "rrf")


@dataclass(frozen=True)
class Filters:
    """What a search is restricted to: a date range and a set of sources (None: all)."""

    since: dt.date | None = None
    until: dt.date | None = None
    sources: frozenset[str] | None = None

    @classmethod
    def of(cls, since: dt.date | None = None, until: dt.date | None = None,
           sources: Collection[str] | None = None) -> Filters:
        """Filters from optional values (an empty source list means all sources)."""
        return cls(since, until, frozenset(sources) if sources else None)


class Retriever:
    """Dense (Chroma) + BM25 (the lexical index) retrieval, with filters."""

    def __init__(
        self, store: ChromaStore, lexical: LexicalIndex, embedder: Embeddings,
        lexical_weight: float = 0.5, pool: int = 50,
    ) -> None:
        self.store = store
        self.lexical = lexical
        self.embedder = embedder
        self.lexical_weight = lexical_weight
        self.pool = pool

    def search(
        self, question: str, k: int = 5, filters: Filters = Filters(),  # noqa: B008
        mode: Mode = "hybrid", query_vector: Sequence[float] | None = None,
    ) -> list[Hit]:
        """The k best chunks for the question within the filters."""
        pool = max(self.pool, k)
        dense: list[tuple[Chunk, float]] = []
        if mode != "bm25":
            vector = query_vector
            if vector is None:
                vector = self.embedder.embed_query(question)
            dense = self.store.search(vector, pool, filters.since, filters.until,
                                      filters.sources)
        if mode == "dense":
            return [Hit(c, s, dense=s) for c, s in dense[:k]]
        terms = analyze(question)
        lexical = self._lexical(terms, pool, filters, dense)
        if mode == "bm25":
            return [Hit(c, s, lexical=s) for c, s in lexical[:k]]
        if mode == "rrf":
            return rrf(dense, lexical)[:k]
        weight = self.lexical_weight * self.lexical.coverage(terms)
        return fuse(dense, lexical, weight)[:k]

    def _lexical(self, terms: Sequence[str], pool: int, filters: Filters,
                 dense: Sequence[tuple[Chunk, float]]) -> list[tuple[Chunk, float]]:
        """BM25 hits as chunks: those the dense side did not return are read from the store."""
        ranked = self.lexical.search(terms, pool, filters.since, filters.until, filters.sources)
        known = {c.id: c for c, _ in dense}
        fetched = self.store.get_chunks([cid for cid, _ in ranked if cid not in known])
        known.update(fetched)
        return [(known[cid], score) for cid, score in ranked if cid in known]


def fuse(
    dense: Sequence[tuple[Chunk, float]], lexical: Sequence[tuple[Chunk, float]], weight: float
) -> list[Hit]:
    """Add min-max scaled dense scores and max-scaled BM25 scores times `weight`."""
    dense_scores = {c.id: s for c, s in dense}
    lexical_scores = {c.id: s for c, s in lexical}
    chunks = {c.id: c for c, _ in [*dense, *lexical]}
    low = min(dense_scores.values(), default=0.0)
    high = max(dense_scores.values(), default=1.0)
    top_lexical = max(lexical_scores.values(), default=0.0) or 1.0
    hits = []
    for cid, chunk in chunks.items():
        d = dense_scores.get(cid)
        scaled_dense = (d - low) / (high - low) if d is not None and high > low else 0.0
        scaled_lexical = lexical_scores.get(cid, 0.0) / top_lexical
        score = scaled_dense + weight * scaled_lexical
        hits.append(Hit(chunk, score, dense=d, lexical=lexical_scores.get(cid)))
    return sorted(hits, key=lambda h: -h.score)


def rrf(
    dense: Sequence[tuple[Chunk, float]], lexical: Sequence[tuple[Chunk, float]], k: int = 60
) -> list[Hit]:
    """Reciprocal rank fusion (kept as a measured baseline, not the default)."""
    scores: dict[str, float] = {}
    chunks = {c.id: c for c, _ in [*dense, *lexical]}
    for ranking in (dense, lexical):
        for rank, (chunk, _) in enumerate(ranking):
            scores[chunk.id] = scores.get(chunk.id, 0.0) + 1.0 / (k + rank + 1)
    return [Hit(chunks[cid], s) for cid, s in sorted(scores.items(), key=lambda kv: -kv[1])]


class LangChainRetriever(BaseRetriever):
    """Our retriever as a LangChain BaseRetriever: Documents with provenance and scores.

    `Assistant.as_retriever()` builds one, so a LangChain chain can retrieve from the
    releases with the same fusion and filters as `ask`.
    """

    retriever: Any
    k: int = 5
    mode: str = "hybrid"
    filters: Filters = Filters()

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        hits = self.retriever.search(query, k=self.k, filters=self.filters, mode=self.mode)
        return [to_document(hit) for hit in hits]


def to_document(hit: Hit) -> Document:
    """A LangChain Document for a hit (text = chunk text; provenance in metadata)."""
    c = hit.chunk
    return Document(
        page_content=c.text, id=c.id,
        metadata={"chunk_id": c.id, "release_id": c.release_id, "title": c.title,
                  "date": c.date.isoformat() if c.date else "", "source": c.source,
                  "score": hit.score, "dense": hit.dense, "lexical": hit.lexical},
    )
