"""Reading the Chroma store: the catalogue, provenance, chunks, sentence vectors and the
vector search (store.py adds the writes). Queries run concurrently under the read side of
the store's lock."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.index.lexindex import LexicalDoc
from assistant.index.locks import ReadWriteLock
from assistant.text import parse_iso_date
from assistant.types import Chunk, IndexedRelease, Person

PAGE = 2000  # rows per Chroma call

def date_num(date: dt.date | None) -> int:
    """A date as yyyymmdd (0: none), the number Chroma's range filters compare."""
    return date.year * 10000 + date.month * 100 + date.day if date else 0


class StoreReader:
    """The read side of the store: what queries, checks and evaluation read."""

    def __init__(self, client: Any, name: str = "releases", lock_file: Path | None = None
                 ) -> None:
        self._client = client
        self._lock = ReadWriteLock(lock_file)  # lock_file: writers in other processes flock it
        self._embedded = lock_file is not None
        self._seen: str | None = None  # the last generation this process's vector view holds
        self._open(name)

    def _open(self, name: str) -> None:
        self._chunks = self._client.get_or_create_collection(
            name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )
        self._catalog = self._client.get_or_create_collection(
            f"{name}__releases", embedding_function=None
        )
        self._sentences = self._client.get_or_create_collection(
            f"{name}__sentences", embedding_function=None
        )

    # provenance ---------------------------------------------------------------------------

    def _meta(self) -> dict[str, Any]:
        """The catalogue's collection metadata, read afresh (another process may write)."""
        with self._lock.read():
            collection = self._client.get_collection(self._catalog.name)
        return dict(collection.metadata or {})

    def provenance(self) -> dict[str, Any]:
        """The recorded embedder, chunking and calibration of this index ({} when new)."""
        return self.meta()[1]

    def generation(self) -> str:
        """A token that changes with every write to the index ("" for a new index)."""
        return str(self._meta().get("generation", ""))

    def meta(self) -> tuple[str, dict[str, Any]]:
        """The generation and the provenance, in one read."""
        meta = self._meta()
        provenance = json.loads(meta["provenance"]) if "provenance" in meta else {}
        return str(meta.get("generation", "")), provenance
    # catalog ------------------------------------------------------------------------------

    def releases(self) -> dict[str, IndexedRelease]:
        """Every release in the catalogue, by id (without paragraphs: see `paragraphs`)."""
        return {rid: _to_record(rid, meta)
                for rid, meta in self._paged(self._catalog, include=["metadatas"])}

    def release_hashes(self) -> dict[str, str]:
        """Content hash of every release in the catalogue, by id."""
        return {rid: str(meta["content_hash"])
                for rid, meta in self._paged(self._catalog, include=["metadatas"])}

    def paragraphs(self, release_id: str) -> tuple[str, ...] | None:
        """The exact paragraphs of a release as ingested (None when it is not indexed)."""
        with self._lock.read():
            page = self._catalog.get(ids=[release_id], include=["documents"])
        if not page["ids"]:
            return None
        return tuple(json.loads(page["documents"][0] or "[]"))
    # chunks -------------------------------------------------------------------------------

    def chunk_ids(self) -> dict[str, list[str]]:
        """Every stored chunk id, grouped by the release id it is stored under."""
        out: dict[str, list[str]] = {}
        for cid, meta in self._paged(self._chunks, include=["metadatas"]):
            out.setdefault(str(meta["release_id"]), []).append(cid)
        return out

    def vector_dim(self) -> int | None:
        """The length of a stored chunk vector (None when no chunk is stored)."""
        with self._lock.read():
            page = self._chunks.get(limit=1, include=["embeddings"])
        vectors = page.get("embeddings")
        return len(vectors[0]) if vectors is not None and len(vectors) else None

    def count(self) -> int:
        """Number of chunks stored."""
        with self._lock.read():
            return int(self._chunks.count())

    def search(
        self, vector: Sequence[float], k: int, since: dt.date | None = None,
        until: dt.date | None = None, sources: Collection[str] | None = None,
    ) -> list[tuple[Chunk, float]]:
        """The k nearest chunks with their cosine similarity, optionally within a date range
        and from the given sources only."""
        where = date_filter(since, until)
        if sources is not None:
            clause = {"source": {"$in": sorted(sources) or [""]}}
            where = {"$and": [where, clause]} if where else clause
        with self._lock.read():
            n = int(self._chunks.count())
            if n == 0:
                return []
            result = self._chunks.query(
                query_embeddings=[list(vector)], n_results=min(k, n), where=where,
                include=["documents", "metadatas", "distances"],
            )
        rows = zip(result["ids"][0], result["documents"][0], result["metadatas"][0],
                   result["distances"][0], strict=True)
        return [(_to_chunk(cid, doc, meta), 1.0 - float(dist)) for cid, doc, meta, dist in rows]

    def chunks(self) -> Iterator[Chunk]:
        """Every stored chunk, page by page (checks and evaluation, not the answer path)."""
        for cid, meta, doc in self._paged(self._chunks, include=["metadatas", "documents"]):
            yield _to_chunk(cid, doc, meta)

    def get_chunks(self, chunk_ids: Sequence[str]) -> dict[str, Chunk]:
        """The chunks with these ids, by id (missing ids are left out)."""
        if not chunk_ids:
            return {}
        with self._lock.read():
            page = self._chunks.get(ids=list(chunk_ids), include=["documents", "metadatas"])
        return {cid: _to_chunk(cid, doc, meta)
                for cid, doc, meta in zip(page["ids"], page["documents"], page["metadatas"],
                                          strict=True)}

    def sentence_vectors(self, chunk_ids: Sequence[str]) -> dict[str, dict[int, np.ndarray]]:
        """The stored sentence vectors of these chunks: chunk id -> sentence start -> vector
        (chunks stored without them, by an index of an older schema, are left out)."""
        if not chunk_ids:
            return {}
        with self._lock.read():
            page = self._sentences.get(ids=list(chunk_ids), include=["metadatas"])
        return {cid: _unpack_sentences(meta) for cid, meta in zip(page["ids"], page["metadatas"],
                                                                  strict=True)}

    def lexical_docs(self, release_ids: Collection[str]) -> Iterator[LexicalDoc]:
        """The stored terms of the chunks of these releases (to update the lexical index)."""
        ids = sorted(release_ids)
        for start in range(0, len(ids), 100):
            where = {"release_id": {"$in": ids[start:start + 100]}}
            for cid, meta in self._paged(self._chunks, include=["metadatas"], where=where):
                yield lexical_doc(cid, meta)

    def release_chunks(self, release_id: str) -> list[Chunk]:
        """The chunks of one release in reading order ([] when it is not indexed)."""
        with self._lock.read():
            page = self._chunks.get(where={"release_id": release_id},
                                    include=["documents", "metadatas"])
        rows = zip(page["ids"], page["documents"], page["metadatas"], strict=True)
        return sorted((_to_chunk(cid, doc, meta) for cid, doc, meta in rows),
                      key=lambda c: c.para_start)
    def _paged(self, collection: Any, include: list[str],
               where: dict[str, Any] | None = None) -> Iterator[Any]:
        offset = 0
        while True:
            with self._lock.read():
                page = collection.get(include=include, limit=PAGE, offset=offset, where=where)
            if not page["ids"]:
                return
            columns = [page[key] for key in include]
            yield from zip(page["ids"], *columns, strict=True)
            offset += len(page["ids"])


def date_filter(since: dt.date | None, until: dt.date | None) -> dict[str, Any] | None:
    """A Chroma `where` clause for a date range (releases without a date are excluded)."""
    clauses: list[dict[str, Any]] = []
    if since:
        clauses.append({"date_num": {"$gte": date_num(since)}})
    if until:
        clauses.append({"date_num": {"$lte": date_num(until)}})
    if since and not until:
        clauses.append({"date_num": {"$gt": 0}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _unpack_sentences(meta: dict[str, Any]) -> dict[int, np.ndarray]:
    starts = [int(s) for s in str(meta.get("starts", "")).split()]
    if not starts:
        return {}
    flat = np.frombuffer(base64.b64decode(str(meta["vectors"])), dtype="<f2")
    matrix = flat.reshape(len(starts), -1).astype(np.float32)
    return dict(zip(starts, matrix, strict=True))


def _to_record(rid: str, meta: dict[str, Any]) -> IndexedRelease:
    return IndexedRelease(
        id=rid, content_hash=str(meta["content_hash"]), source=str(meta["source"]),
        title=str(meta["title"]), date=parse_iso_date(str(meta.get("date", ""))),
        n_chunks=int(meta["n_chunks"]),
        people=tuple(Person(*p) for p in json.loads(str(meta.get("people", "[]")))),
        file=str(meta.get("file", "")), subtitle=str(meta.get("subtitle", "")),
        url=str(meta.get("url", "")),
    )


def lexical_doc(chunk_id: str, meta: dict[str, Any]) -> LexicalDoc:
    """The lexical view of a stored chunk (its terms were analysed at ingest)."""
    date = parse_iso_date(str(meta.get("date", "")))
    return LexicalDoc(chunk_id, str(meta["release_id"]), date.toordinal() if date else 0,
                      str(meta.get("source", "")), tuple(str(meta.get("lex", "")).split()))


def _to_chunk(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    return Chunk(
        id=chunk_id, release_id=str(meta["release_id"]), text=text,
        para_start=int(meta["para_start"]), para_end=int(meta["para_end"]),
        char_start=int(meta["char_start"]), char_end=int(meta["char_end"]),
        title=str(meta.get("title", "")), date=parse_iso_date(str(meta.get("date", ""))),
        source=str(meta.get("source", "")),
    )
