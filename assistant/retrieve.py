"""Hybrid retrieval: dense (Chroma) + BM25, fused so the lexical side only helps when it can.

Fusion: both score lists are scaled to 0..1 over the candidate pool (dense by min-max, BM25 by
its maximum) and added, the BM25 part weighted by `lexical_weight * coverage`, where coverage
is the share of the question's idf mass the corpus vocabulary knows. An English question over
Indonesian releases has coverage near zero, so it is ranked by the dense side alone; naive RRF
was measured to rank *below* dense alone (see README, Retrieval quality).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Collection, Sequence
from typing import Any, Literal

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever

from assistant.lexical import BM25, analyze
from assistant.store import ChromaStore
from assistant.types import Chunk, Hit

Mode = Literal["hybrid", "dense", "bm25", "rrf"]
MODES: tuple[Mode, ...] = ("hybrid", "dense", "bm25", "rrf")


class LexicalIndex:
    """BM25 over every stored chunk, rebuilt from the store's analysed text on refresh."""

    def __init__(self, chunks: Sequence[Chunk], terms: Sequence[Sequence[str]]) -> None:
        self.chunks = list(chunks)
        self.bm25 = BM25(terms)
        self._dates = np.array([c.date.toordinal() if c.date else 0 for c in self.chunks])

    @classmethod
    def from_store(cls, store: ChromaStore) -> LexicalIndex:
        """Load every chunk and its stored terms from the store."""
        rows = list(store.chunks())
        return cls([c for c, _ in rows], [lex.split() for _, lex in rows])

    def search(
        self, terms: Sequence[str], k: int, since: dt.date | None, until: dt.date | None,
        sources: Collection[str] | None = None,
    ) -> list[tuple[Chunk, float]]:
        """The k best chunks by BM25 within the date range and sources (zero scores dropped)."""
        scores = self.bm25.scores(terms)
        if sources is not None:
            scores[np.array([c.source not in sources for c in self.chunks], dtype=bool)] = 0.0
        if since:
            scores[self._dates < since.toordinal()] = 0.0
        if until:
            scores[(self._dates > until.toordinal()) | (self._dates == 0)] = 0.0
        top = np.argsort(-scores)[:k]
        return [(self.chunks[i], float(scores[i])) for i in top if scores[i] > 0]


class Retriever:
    """Dense + BM25 retrieval over a ChromaStore, with date filters."""

    def __init__(
        self, store: ChromaStore, embedder: Embeddings, lexical_weight: float = 0.5,
        pool: int = 50,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.lexical_weight = lexical_weight
        self.pool = pool
        self._lexical: LexicalIndex | None = None
        self._lock = threading.Lock()

    def refresh(self) -> None:
        """Forget the BM25 index; it is rebuilt from the store on the next search."""
        with self._lock:
            self._lexical = None

    def lexical(self) -> LexicalIndex:
        """The BM25 index, built on first use."""
        with self._lock:
            if self._lexical is None:
                self._lexical = LexicalIndex.from_store(self.store)
            return self._lexical

    def search(
        self, question: str, k: int = 5, since: dt.date | None = None,
        until: dt.date | None = None, mode: Mode = "hybrid",
        query_vector: Sequence[float] | None = None, sources: Collection[str] | None = None,
    ) -> list[Hit]:
        """The k best chunks for the question (sources: only chunks of releases from these)."""
        pool = max(self.pool, k)
        dense: list[tuple[Chunk, float]] = []
        if mode != "bm25":
            vector = query_vector
            if vector is None:
                vector = self.embedder.embed_query(question)
            dense = self.store.search(vector, pool, since, until, sources)
        if mode == "dense":
            return [Hit(c, s, dense=s) for c, s in dense[:k]]
        terms = analyze(question)
        lexical_index = self.lexical()
        lexical = lexical_index.search(terms, pool, since, until, sources)
        if mode == "bm25":
            return [Hit(c, s, lexical=s) for c, s in lexical[:k]]
        if mode == "rrf":
            return rrf(dense, lexical)[:k]
        weight = self.lexical_weight * lexical_index.bm25.coverage(terms)
        return fuse(dense, lexical, weight)[:k]


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
    """Our retriever as a LangChain BaseRetriever: Documents with provenance and scores."""

    retriever: Any
    k: int = 5

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [to_document(hit) for hit in self.retriever.search(query, k=self.k)]


def to_document(hit: Hit) -> Document:
    """A LangChain Document for a hit (text = chunk text; provenance in metadata)."""
    c = hit.chunk
    return Document(
        page_content=c.text, id=c.id,
        metadata={"chunk_id": c.id, "release_id": c.release_id, "title": c.title,
                  "date": c.date.isoformat() if c.date else "", "source": c.source,
                  "score": hit.score, "dense": hit.dense, "lexical": hit.lexical},
    )
