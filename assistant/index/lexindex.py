"""The lexical index: BM25 over every stored chunk, kept per release and saved beside Chroma.

Chroma stays the source of truth (each chunk's analysed terms are stored with it, and the
catalogue holds each release's content hash). This index keeps the same terms in memory,
updated a release at a time when the indexer writes, and in `lexical.jsonl` beside the
Chroma data: an append-only log of `put`/`remove` records, replayed at start-up and
compacted when mostly dead. `sync()` compares it with the catalogue and fetches only the
releases that differ, so neither an upload nor a start-up pages every chunk out of Chroma.
Several processes may share one log: appends and compaction hold an exclusive `flock`.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assistant.lexical import BM25

LOG_NAME = "lexical.jsonl"
COMPACT_FACTOR = 3  # rewrite the log when it holds this many times the live records


@dataclass(frozen=True)
class LexicalDoc:
    """One chunk as BM25 sees it: its terms, and what the filters need."""

    chunk_id: str
    release_id: str
    date: int  # proleptic ordinal of the release date, 0 when unknown
    source: str
    terms: tuple[str, ...]


FetchDocs = Callable[[Collection[str]], Iterable[LexicalDoc]]  # release ids -> stored docs


class LexicalIndex:
    """BM25 over chunks, updated a release at a time, optionally logged to a file."""

    def __init__(self, folder: Path | None = None) -> None:
        self._log = LexicalLog(Path(folder) / LOG_NAME) if folder else None
        self._lock = threading.RLock()
        self.torn_lines = 0  # log lines a crash left unreadable, at the last replay
        self._reset()
        if self._log and self._log.path.exists():
            self._replay()

    def _reset(self) -> None:
        self.bm25 = BM25()
        self._docs: list[LexicalDoc | None] = []
        self._releases: dict[str, tuple[str, list[int]]] = {}  # id -> (hash, slots)
        self._filters: FilterColumns | None = None  # built at the first search after a write

    # reading ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.bm25.n_docs

    def releases(self) -> dict[str, str]:
        """Content hash of every release indexed here, by id."""
        with self._lock:
            return {rid: h for rid, (h, _) in self._releases.items()}

    def chunk_ids(self) -> dict[str, list[str]]:
        """The chunk ids indexed here, by release id (for consistency checks)."""
        with self._lock:
            return {rid: [d.chunk_id for d in (self._docs[s] for s in slots) if d]
                    for rid, (_, slots) in self._releases.items()}

    def idf(self, term: str) -> float:
        """BM25 idf of a term over the live chunks (0 for unknown terms)."""
        return self.bm25.idf(term)

    def coverage(self, terms: Sequence[str]) -> float:
        """Share of the terms' idf mass the corpus knows (see BM25.coverage)."""
        with self._lock:
            return self.bm25.coverage(terms)

    def search(self, terms: Sequence[str], k: int, since: dt.date | None = None,
               until: dt.date | None = None, sources: Collection[str] | None = None,
               ) -> list[tuple[str, float]]:
        """The k best chunk ids by BM25 within the date range and sources (zeros dropped)."""
        with self._lock:
            if self._filters is None:
                self._filters = FilterColumns(self._docs)
            scores = self._filters.apply(self.bm25.scores(terms), since, until, sources)
            top = np.argsort(-scores)[:k]
            return [(self._chunk_id(i), float(scores[i])) for i in top if scores[i] > 0]

    def _chunk_id(self, slot: int) -> str:
        doc = self._docs[slot]
        assert doc is not None  # a removed slot scores 0 and is never returned
        return doc.chunk_id

    # writing ------------------------------------------------------------------------------

    def put(self, release_id: str, content_hash: str, docs: Sequence[LexicalDoc]) -> None:
        """Replace a release's chunks (and log it)."""
        with self._lock:
            self._put(release_id, content_hash, docs)
            self._append({"put": release_id, "hash": content_hash,
                          "docs": [_doc_row(d) for d in docs]})

    def remove(self, release_id: str) -> None:
        """Forget a release's chunks (and log it); unknown ids are ignored."""
        with self._lock:
            if release_id in self._releases:
                self._remove(release_id)
                self._append({"remove": release_id})

    def clear(self) -> None:
        """Forget everything (the store was reset)."""
        with self._lock:
            self._reset()
            self._rewrite()

    def sync(self, truth: Mapping[str, str], fetch: FetchDocs) -> tuple[int, int]:
        """Bring this index in line with the catalogue (content hash by release id), fetching
        the terms of releases it lacks; returns (fetched, removed) release counts."""
        with self._lock:
            mine = self.releases()
            if self.torn_lines:  # drop the unreadable lines: what they held is fetched below
                self._rewrite()
                self.torn_lines = 0
        stale = [rid for rid in mine if truth.get(rid) != mine[rid]]
        missing = [rid for rid, h in truth.items() if mine.get(rid) != h]
        for rid in stale:
            self.remove(rid)
        for rid, docs in _by_release(fetch(missing)).items():
            self.put(rid, truth[rid], docs)
        for rid in missing:
            if rid not in self._releases:
                self.put(rid, truth[rid], [])  # a release with no chunks
        return len(missing), len(stale)

    def _put(self, release_id: str, content_hash: str, docs: Sequence[LexicalDoc]) -> None:
        if release_id in self._releases:
            self._remove(release_id)
        slots = self.bm25.add([d.terms for d in docs])
        self._docs.extend(docs)
        self._releases[release_id] = (content_hash, slots)
        self._filters = None

    def _remove(self, release_id: str) -> None:
        _, slots = self._releases.pop(release_id)
        for slot in slots:
            doc = self._docs[slot]
            if doc is not None:
                self.bm25.remove(slot, doc.terms)
                self._docs[slot] = None
        self._filters = None
        if self.bm25.n_slots > 1000 and self.bm25.n_docs * 2 < self.bm25.n_slots:
            self._repack()

    def _repack(self) -> None:
        """Rebuild BM25 from the live docs once most slots are dead (memory stays bounded)."""
        live = {rid: (h, [self._docs[s] for s in slots]) for rid, (h, slots)
                in self._releases.items()}
        self._reset()
        for rid, (h, docs) in live.items():
            self._put(rid, h, [d for d in docs if d is not None])

    # the log ------------------------------------------------------------------------------

    def _append(self, record: Mapping[str, Any]) -> None:
        if self._log is None:
            return
        self._log.append(record)
        if self._log.records > COMPACT_FACTOR * max(len(self._releases), 100):
            self._rewrite()

    def _rewrite(self) -> None:
        """Write the live releases as a fresh log."""
        if self._log is not None:
            self._log.rewrite(
                {"put": rid, "hash": h,
                 "docs": [_doc_row(d) for d in (self._docs[s] for s in slots) if d]}
                for rid, (h, slots) in self._releases.items())

    def _replay(self) -> None:
        assert self._log is not None
        records, self.torn_lines = self._log.replay()
        for record in records:
            if "put" in record:
                self._put(record["put"], record["hash"], [_row_doc(record["put"], r)
                                                          for r in record["docs"]])
            elif record.get("remove") in self._releases:
                self._remove(record["remove"])


class FilterColumns:
    """Each slot's release date and source as arrays, so a filter zeroes scores in one step."""

    def __init__(self, docs: Sequence[LexicalDoc | None]) -> None:
        names: dict[str, int] = {}
        codes = [names.setdefault(d.source, len(names)) if d else -1 for d in docs]
        self.source_names = list(names)
        self.dates = np.array([d.date if d else 0 for d in docs], dtype=np.int64)
        self.sources = np.array(codes, dtype=np.int64)

    def apply(self, scores: np.ndarray, since: dt.date | None, until: dt.date | None,
              sources: Collection[str] | None) -> np.ndarray:
        """The scores with every slot outside the dates (undated: outside any range) or the
        sources set to 0."""
        if sources is not None:
            wanted = [i for i, s in enumerate(self.source_names) if s in sources]
            scores[~np.isin(self.sources, wanted)] = 0.0
        if since:
            scores[self.dates < since.toordinal()] = 0.0
        if until:
            scores[(self.dates > until.toordinal()) | (self.dates == 0)] = 0.0
        return scores


class LexicalLog:
    """The lexical index's file: an append-only log of JSON `put`/`remove` records, each
    write under an exclusive `flock` (several processes may share it), replayed at start-up
    and rewritten whole from the live releases when compacted."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records = 0  # records in the file, live or dead (what compaction is decided on)

    @contextmanager
    def _locked(self, mode: str) -> Iterator[Any]:
        with self.path.open(mode, encoding="utf-8") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield handle
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def append(self, record: Mapping[str, Any]) -> None:
        """Add one record at the end of the log."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._locked("a") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.records += 1

    def rewrite(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Replace the log by these records (a tmp file, then an atomic rename)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".jsonl.tmp")
        written = 0
        with self._locked("a"):
            with tmp.open("w", encoding="utf-8") as out:
                for record in records:
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                    written += 1
            tmp.replace(self.path)
        self.records = written

    def replay(self) -> tuple[list[dict[str, Any]], int]:
        """Every readable record in order, and how many lines a crash left torn (what they
        held is fetched again by `LexicalIndex.sync`)."""
        with self._locked("r") as handle:
            lines = handle.read().splitlines()
        records, torn = [], 0
        for line in lines:
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                torn += 1
        self.records += len(records)
        return records, torn


def _doc_row(doc: LexicalDoc) -> list[Any]:
    return [doc.chunk_id, doc.date, doc.source, " ".join(doc.terms)]


def _row_doc(release_id: str, row: Sequence[Any]) -> LexicalDoc:
    return LexicalDoc(str(row[0]), release_id, int(row[1]), str(row[2]), tuple(row[3].split()))


def _by_release(docs: Iterable[LexicalDoc]) -> dict[str, list[LexicalDoc]]:
    out: dict[str, list[LexicalDoc]] = {}
    for doc in docs:
        out.setdefault(doc.release_id, []).append(doc)
    return out

