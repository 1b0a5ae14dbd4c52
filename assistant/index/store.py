"""Chroma, embedded or a server: the only module that imports chromadb (the reads are in
storeread.py, which works on the collections this module opens).

Three collections: `<name>` holds chunk vectors (our own embeddings, cosine space) with each
chunk's analysed terms; `<name>__sentences` holds, per chunk, the vectors of its quotable
sentences (float16, base64 in the metadata: the answer stage reads them with the hits
instead of embedding sentences at question time); and `<name>__releases` is the catalogue:
one record per release (metadata, content hash, chunk count; its document is the release's
exact paragraphs as JSON), whose collection metadata records the index provenance and a
`generation` token that every write replaces, so other processes can tell the index
changed. A release is written as: delete its old chunks, add the new ones (and their
sentence vectors), then update its catalogue record, so the catalogue never claims chunks
that are not there; `repair()` removes chunks left by an interrupted write.

Thread safety: the web app answers several questions at once while staff upload or delete
releases. Queries run concurrently; every write (and `reset`) holds an exclusive lock, so a
query never sees a release between "old chunks deleted" and "new chunks added"; an embedded
store's writes also flock `write.lock`, so writers in other processes take turns (locks.py).

Other processes: an embedded (PersistentClient) Chroma keeps each collection's HNSW index in
memory and never reads it again, so a server would not find by vector what an `assistant
ingest` beside it stored (the catalogue and `get` read SQLite and do see it). `follow()`,
called when the indexer sees a new generation, restarts the embedded client when the
generation was written by another process.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from assistant.errors import StoreError
from assistant.index.storeread import PAGE, StoreReader, date_num
from assistant.types import Chunk, IndexedRelease

WRITE_LOCK = "write.lock"  # flocked by every write to an embedded store (locks.py)
SentenceRows = Sequence[tuple[Sequence[int], Any]]  # per chunk: sentence starts, their vectors


@dataclass(frozen=True)
class ReleaseWrite:
    """One release as the store writes it: its catalogue record and exact paragraphs, its
    chunks with their vectors and analysed terms, and its chunks' sentence vectors."""

    record: IndexedRelease
    paragraphs: Sequence[str]
    chunks: Sequence[Chunk]
    vectors: Sequence[Sequence[float]]
    lexical: Sequence[str]  # each chunk's analysed terms, space-separated
    sentences: SentenceRows = ()


class ChromaStore(StoreReader):
    """Chunk vectors and the release catalogue in one Chroma database: the reads of
    StoreReader, and every write (each under the exclusive side of the lock)."""

    @classmethod
    def open(cls, index_dir: str, chroma_url: str | None, name: str = "releases") -> ChromaStore:
        """Open a persistent store under index_dir, or a Chroma server when chroma_url is set."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
        if chroma_url:
            url = urlparse(chroma_url)
            if not url.hostname or not url.port:
                raise StoreError(f"ASSISTANT_CHROMA_URL={chroma_url!r}: use http://host:port")
            try:
                client = chromadb.HttpClient(
                    host=url.hostname, port=url.port, ssl=url.scheme == "https", settings=settings
                )
                client.heartbeat()
            except Exception as exc:
                raise StoreError(
                    f"cannot reach the Chroma server at {chroma_url} ({exc.__class__.__name__}): "
                    "start it with `chroma run --path DIR --port PORT` "
                    "or unset ASSISTANT_CHROMA_URL"
                ) from exc
        else:
            client = chromadb.PersistentClient(path=str(index_dir), settings=settings)
            return cls(client, name, Path(index_dir) / WRITE_LOCK)
        return cls(client, name)
    # writes -----------------------------------------------------------------------------

    def follow(self, generation: str) -> None:
        """Make queries see what another process wrote (see the module docstring): an
        embedded client keeps its vector index in memory, so reopen it when the generation
        moved on and not by a write of this process."""
        if generation == self._seen:
            return
        if self._seen is not None and self._embedded:
            with self._lock.write():
                _restart_embedded(self._client)
                self._open(self._chunks.name)
        self._seen = generation

    def set_provenance(self, provenance: dict[str, Any]) -> None:
        """Record the index provenance (replaces the previous record)."""
        with self._lock.write():
            self._set_meta(provenance)

    def _set_meta(self, provenance: dict[str, Any] | None = None) -> None:
        """Write provenance (or keep it) with a new generation; call with the write lock."""
        if provenance is None:
            current = self._client.get_collection(self._catalog.name).metadata or {}
            text = str(current.get("provenance", "{}"))
        else:
            text = json.dumps(provenance, sort_keys=True)
        generation = uuid.uuid4().hex
        self._catalog.modify(metadata={"provenance": text, "generation": generation})
        self._seen = generation  # this process's own write: its vector view holds it
    def put_release(
        self, record: IndexedRelease, paragraphs: Sequence[str], chunks: Sequence[Chunk],
        vectors: Sequence[Sequence[float]], lexical: Sequence[str],
        sentences: SentenceRows = (),
    ) -> None:
        """Replace a release's chunks, sentence vectors and catalogue record (catalogue last)."""
        self.put_releases([ReleaseWrite(record, paragraphs, chunks, vectors, lexical, sentences)])

    def put_releases(self, writes: Sequence[ReleaseWrite]) -> None:
        """Replace several releases in a few Chroma calls (a bulk load): every old chunk
        deleted, then the new chunks and sentence vectors added, then the catalogue."""
        if not writes:
            return
        ids = [w.record.id for w in writes]
        with self._lock.write():
            self._chunks.delete(where={"release_id": {"$in": ids}})
            self._sentences.delete(where={"release_id": {"$in": ids}})
            self._add_chunks(writes)
            self._add_sentences(writes)
            self._catalog.upsert(
                ids=ids, embeddings=[[1.0]] * len(writes),
                metadatas=[_release_meta(w.record) for w in writes],
                documents=[json.dumps(list(w.paragraphs), ensure_ascii=False) for w in writes],
            )
            self._set_meta()

    def _add_chunks(self, writes: Sequence[ReleaseWrite]) -> None:
        chunks = [c for w in writes for c in w.chunks]
        vectors = [list(v) for w in writes for v in w.vectors]
        metas = [_chunk_meta(c, lex) for w in writes
                 for c, lex in zip(w.chunks, w.lexical, strict=True)]
        for start in range(0, len(chunks), PAGE):
            end = start + PAGE
            self._chunks.add(ids=[c.id for c in chunks[start:end]],
                             embeddings=vectors[start:end],
                             documents=[c.text for c in chunks[start:end]],
                             metadatas=metas[start:end])

    def _add_sentences(self, writes: Sequence[ReleaseWrite]) -> None:
        rows = [(c.id, _sentence_meta(w.record.id, starts, matrix))
                for w in writes if w.sentences
                for c, (starts, matrix) in zip(w.chunks, w.sentences, strict=True)]
        for start in range(0, len(rows), PAGE):
            page = rows[start:start + PAGE]
            self._sentences.add(ids=[i for i, _ in page], embeddings=[[1.0]] * len(page),
                                metadatas=[m for _, m in page])

    def delete_release(self, release_id: str) -> None:
        """Remove a release: catalogue record first, so it never points at missing chunks."""
        with self._lock.write():
            self._catalog.delete(ids=[release_id])
            self._chunks.delete(where={"release_id": release_id})
            self._sentences.delete(where={"release_id": release_id})
            self._set_meta()

    def repair(self, catalog: dict[str, IndexedRelease] | None = None) -> int:
        """Drop releases whose stored chunks disagree with the catalog (an interrupted write).

        They are then missing from the catalog, so the next ingest indexes them again. The
        catalog passed (a snapshot) only decides whether to look; what is dropped is decided
        under the write lock from the catalogue as it is then, so a release another writer
        stored after the snapshot is never taken for a broken one.
        """
        if catalog is not None and self._consistent(catalog):
            return 0
        with self._lock.write():
            catalog = self.releases()
            if self._consistent(catalog):
                return 0
            counts = {rid: len(ids) for rid, ids in self.chunk_ids().items()}
            broken = {rid for rid, n in counts.items()
                      if rid not in catalog or catalog[rid].n_chunks != n}
            broken |= {rid for rid, record in catalog.items()
                       if counts.get(rid, 0) != record.n_chunks}
            for rid in broken:
                self._chunks.delete(where={"release_id": rid})
                self._sentences.delete(where={"release_id": rid})
                if rid in catalog:
                    self._catalog.delete(ids=[rid])
            if broken:
                self._set_meta()
        return len(broken)

    def _consistent(self, catalog: dict[str, IndexedRelease]) -> bool:
        # every interrupted write leaves the totals apart (chunks deleted and not yet
        # added, or added and not yet catalogued), so equal totals skip the full scan
        return self.count() == sum(r.n_chunks for r in catalog.values())
    def reset(self) -> None:
        """Delete everything (used by `assistant ingest --rebuild`)."""
        with self._lock.write():
            name = self._chunks.name
            for collection in (self._chunks, self._catalog, self._sentences):
                self._client.delete_collection(collection.name)
            self._open(name)
            self._set_meta({})


def _restart_embedded(client: Any) -> None:
    """Start an embedded client's Rust core afresh: its cached HNSW indexes are dropped and
    read again from disk at the next query (chromadb 1.5 has no public call for this;
    RustBindingsAPI.start() builds a new core, and replacing the old one frees it)."""
    server = getattr(client, "_server", None)
    if server is not None and hasattr(server, "bindings"):
        server.start()


def _chunk_meta(chunk: Chunk, lexical: str) -> dict[str, Any]:
    return {
        "release_id": chunk.release_id, "para_start": chunk.para_start,
        "para_end": chunk.para_end, "char_start": chunk.char_start, "char_end": chunk.char_end,
        "title": chunk.title, "date": chunk.date.isoformat() if chunk.date else "",
        "date_num": date_num(chunk.date), "source": chunk.source, "lex": lexical,
    }


def _sentence_meta(release_id: str, starts: Sequence[int], matrix: Any) -> dict[str, Any]:
    packed = np.asarray(matrix, dtype="<f2").tobytes()
    return {"release_id": release_id, "starts": " ".join(str(s) for s in starts),
            "vectors": base64.b64encode(packed).decode("ascii")}


def _release_meta(record: IndexedRelease) -> dict[str, Any]:
    return {
        "content_hash": record.content_hash, "source": record.source, "title": record.title,
        "date": record.date.isoformat() if record.date else "", "n_chunks": record.n_chunks,
        "people": json.dumps([[p.name, p.role] for p in record.people], ensure_ascii=False),
        "file": record.file, "subtitle": record.subtitle, "url": record.url,
    }


