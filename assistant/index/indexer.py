"""The indexer: ingest, sync and remove releases; the catalogue, provenance and manifest.

Writes go to Chroma (store.py) and then to the lexical index (lexindex.py). What the index
*is* - its provenance (embedder, chunking, schema, calibrated threshold), its catalogue of
releases and its lexical side - is read once into an `IndexState` and read again only when
the store's generation token changes: after this process writes, or when another process
(`assistant ingest` beside a running server, a second server on one Chroma) has written.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.answer.refusal import DEFAULT_REFUSAL_THRESHOLD
from assistant.config import Settings
from assistant.errors import IndexMismatchError
from assistant.index.embed import Embedder
from assistant.index.lexindex import LexicalIndex
from assistant.index.manifest import MANIFEST_NAME, manifest_lock, write_json_atomically
from assistant.index.store import ChromaStore
from assistant.index.writer import Progress, ReleaseWriter
from assistant.ingest.formats import Limits
from assistant.ingest.releases import discover, read_file, source_for
from assistant.types import IndexedRelease, Release, StoredRelease

# 2: the catalogue stores paragraphs, url and subtitle; 3: sentence vectors stored at ingest
SCHEMA_VERSION = 3
# schemas this version can answer from (2 lacks sentence vectors: they are embedded per
# question, slower, same answers); writing needs SCHEMA_VERSION
READABLE_SCHEMAS = (2, 3)
log = logging.getLogger(__name__)
REFRESH_SECONDS = 1.0  # how often a reader checks whether another process changed the index
# why a release read from a file may not be indexed ("" when it may): release, file, catalogue
Admit = Callable[[Release, str, Mapping[str, IndexedRelease]], str]


@dataclass
class IngestReport:
    """What one ingest run did, per release and per failed file."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # one-line reasons
    notes: list[str] = field(default_factory=list)  # warnings (e.g. the encoding assumed)
    files: dict[str, str] = field(default_factory=dict)  # file -> added/updated/unchanged/failed

    def summary(self) -> str:
        """One line: the counts."""
        return (f"{len(self.added)} added, {len(self.updated)} updated, "
                f"{len(self.unchanged)} unchanged, {len(self.removed)} removed, "
                f"{len(self.failed)} failed")


@dataclass(frozen=True)
class IndexState:
    """A snapshot of what the index holds, as of one generation."""

    generation: str
    provenance: dict[str, Any]
    catalog: dict[str, IndexedRelease]


class IndexReader:
    """The index as the answer path reads it: the catalogue snapshot (re-read when another
    process wrote), the lexical index kept in step with it, thresholds and checks."""

    def __init__(self, settings: Settings, store: ChromaStore, embedder: Embedder,
                 lexical: LexicalIndex) -> None:
        self.settings = settings
        self.store = store
        self.embedder = embedder
        self.lexical = lexical
        self._lock = threading.Lock()
        self._checked = 0.0
        self._state = self._load()

    # reading ------------------------------------------------------------------------------

    def _load(self) -> IndexState:
        # generation and provenance first: a write after them is seen at the next check
        generation, provenance = self.store.meta()
        self.store.follow(generation)  # another process wrote: query what it stored too
        catalog = self.store.releases()
        schema = provenance.get("schema")
        if catalog and schema in READABLE_SCHEMAS and schema != SCHEMA_VERSION:
            log.warning("the index in %s has schema %s (no stored sentence vectors): answers "
                        "embed sentences per question; `assistant ingest --rebuild corpus/` "
                        "makes them faster", self.where, schema)
        self.lexical.sync({rid: r.content_hash for rid, r in catalog.items()},
                          self.store.lexical_docs)
        log.info("index %s: serving generation %s (%d releases, %d chunks; lexical %d "
                 "releases)", self.where, generation or "(new)", len(catalog),
                 sum(r.n_chunks for r in catalog.values()), len(self.lexical.releases()))
        return IndexState(generation, provenance, catalog)

    def refresh(self, force: bool = False) -> IndexState:
        """The current snapshot, re-read if another process changed the index."""
        now = time.monotonic()
        if force or now - self._checked >= REFRESH_SECONDS:
            self._checked = now
            if force or self.store.generation() != self._state.generation:
                with self._lock:
                    self._state = self._load()
        return self._state

    @property
    def state(self) -> IndexState:
        """The snapshot as last read (no store round trip)."""
        return self._state

    def releases(self) -> list[IndexedRelease]:
        """Indexed releases, newest first."""
        return sorted(self.refresh().catalog.values(),
                      key=lambda r: (r.date or dt.date.min, r.title), reverse=True)

    def release(self, release_id: str) -> StoredRelease | None:
        """One release with its exact paragraphs (None when it is not indexed)."""
        record = self.refresh().catalog.get(release_id)
        paragraphs = self.store.paragraphs(release_id) if record else None
        return StoredRelease(record, paragraphs) if record and paragraphs is not None else None

    def refusal_threshold(self, answerer: str = "extractive") -> tuple[float | None, str]:
        """An answerer's threshold and where it comes from (setting, index, default)."""
        return threshold_of(self.settings, self._state.provenance, answerer)

    def answerer_threshold(self, answerer: str) -> float | None:
        """An answerer's threshold override: set or calibrated (None: its own default)."""
        value, origin = self.refusal_threshold(answerer)
        return None if origin == "built-in default" else value

    @property
    def where(self) -> str:
        """The index's location, for messages."""
        return self.settings.chroma_url or str(self.settings.index_dir)

    def check_embedder(self, write: bool = False) -> None:
        """Refuse to mix vectors of another embedder or schema into (or query) this index."""
        recorded = self._state.provenance.get("embedder")
        if recorded and recorded != self.embedder.name:
            raise IndexMismatchError(
                f"the index in {self.where} was built with embedder {recorded!r}, but "
                f"{self.embedder.name!r} is configured; rebuild it with "
                f"`assistant ingest --rebuild corpus/` or set ASSISTANT_EMBEDDER back")
        schema = self._state.provenance.get("schema")
        if schema is None or schema == SCHEMA_VERSION or not self._state.catalog:
            return
        if write or schema not in READABLE_SCHEMAS:
            raise IndexMismatchError(
                f"the index in {self.where} has schema {schema}, this version needs "
                f"{SCHEMA_VERSION}; rebuild it with `assistant ingest --rebuild corpus/`")

    def sentence_vectors(self, chunk_ids: Sequence[str]) -> dict[str, Any]:
        """The sentence vectors stored for these chunks (see sentences.StoredVectors)."""
        return self.store.sentence_vectors(chunk_ids)

    @property
    def catalog(self) -> dict[str, IndexedRelease]:
        """The releases of the snapshot as last read, by id (no store round trip)."""
        return self._state.catalog

    def idf(self, term: str) -> float:
        """A term's BM25 idf over the indexed chunks (0 for a term the index lacks)."""
        return self.lexical.idf(term)


class Indexer(IndexReader):
    """Writes releases, keeping the store, the lexical index and the catalogue snapshot in
    step (reading: IndexReader; embedding and storing a batch: ReleaseWriter)."""

    def __init__(self, settings: Settings, store: ChromaStore, embedder: Embedder,
                 lexical: LexicalIndex) -> None:
        super().__init__(settings, store, embedder, lexical)
        self.writer = ReleaseWriter(settings, store, embedder, lexical)

    def use_embedder(self, embedder: Embedder) -> None:
        """Embed with another embedder from now on, for reads and writes alike (a bench's
        synthetic vectors, a test's slowed embedder)."""
        self.embedder = self.writer.embedder = embedder

    # writing ------------------------------------------------------------------------------

    def ingest(self, paths: Sequence[Path], sync: bool = False, rebuild: bool = False,
               progress: Progress | None = None, admit: Admit | None = None) -> IngestReport:
        """Index the release files under paths; with sync, drop releases whose files are gone;
        admit may refuse releases (uploads: web/admission.py), which fail their file."""
        if rebuild:
            self.store.reset()
            self.lexical.clear()
            self.refresh(force=True)
        indexed = self._prepare()
        report = IngestReport()
        seen_files: set[str] = set()
        seen_ids: set[str] = set()
        todo: list[tuple[Release, str]] = []
        for path in discover(paths):
            file = source_for(path)
            seen_files.add(file)
            for release in self._read(path, file, report):
                if _refused(admit, release, file, indexed, report):
                    continue
                seen_ids.add(release.id)
                if _unchanged(indexed.get(release.id), release):
                    report.unchanged.append(release.id)
                else:
                    todo.append((release, file))
        self.writer.write(todo, indexed, report, progress)
        if sync:
            self._remove_missing(paths, indexed, seen_files, seen_ids, report)
        self._changed()
        return report

    def add_releases(self, releases: Sequence[Release], progress: Progress | None = None,
                     bulk: bool = False) -> IngestReport:
        """Index releases built in code (evaluation sets, tests); unchanged ones are skipped.
        bulk: embed them all, then write them in a few store calls (loading a large archive)."""
        indexed = self._prepare()
        report = IngestReport()
        todo = []
        for release in releases:
            if _unchanged(indexed.get(release.id), release):
                report.unchanged.append(release.id)
            else:
                todo.append((release, release.source))
        self.writer.write(todo, indexed, report, progress, bulk=bulk)
        self._changed()
        return report

    def delete_release(self, release_id: str) -> None:
        """Remove one release from the index."""
        self.store.delete_release(release_id)
        self.lexical.remove(release_id)
        self._changed()

    def repair(self) -> int:
        """Drop half-written releases, re-sync the lexical index and rewrite the manifest;
        returns how many releases were dropped (the next ingest indexes them again)."""
        state = self.refresh(force=True)  # reading syncs the lexical side with the catalogue
        dropped = self.store.repair(state.catalog)
        self._changed()
        return dropped

    def set_refusal_threshold(self, threshold: float, answerer: str = "extractive") -> None:
        """Store an answerer's calibrated refusal threshold in the index."""
        provenance = self.store.provenance()
        provenance.setdefault("refusal_thresholds", {})[answerer] = threshold
        self.store.set_provenance(provenance)
        self._changed()

    def _prepare(self) -> dict[str, IndexedRelease]:
        """Check and repair the index before a write; returns the catalogue to diff against."""
        state = self.refresh(force=True)
        self.check_embedder(write=True)
        if self.store.repair(state.catalog):
            state = self.refresh(force=True)  # the lexical side drops what repair dropped
        provenance = dict(state.provenance)
        provenance.update({
            "embedder": self.embedder.name, "dim": self.embedder.dim, "schema": SCHEMA_VERSION,
            "chunk_words": self.settings.chunk_words,
            "chunk_max_paragraphs": self.settings.chunk_max_paragraphs,
        })
        if provenance != state.provenance:
            self.store.set_provenance(provenance)
        return dict(state.catalog)

    def _read(self, path: Path, file: str, report: IngestReport) -> list[Release]:
        loaded = read_file(path, Limits.from_settings(self.settings))
        report.failed.extend(loaded.problems)
        report.notes.extend(loaded.notes)
        report.files[file] = "failed" if loaded.problems else "unchanged"
        return list(loaded.releases)

    def _remove_missing(self, paths: Iterable[Path], indexed: dict[str, IndexedRelease],
                        seen_files: set[str], seen_ids: set[str], report: IngestReport) -> None:
        roots = [source_for(Path(p)) for p in paths]
        for rid, record in indexed.items():
            under = any(record.file == r or record.file.startswith(r.rstrip("/") + "/")
                        for r in roots)
            if not under or rid in seen_ids:
                continue
            # a failed file keeps its releases: it is broken, not gone
            if record.file in seen_files and report.files.get(record.file) == "failed":
                continue
            self.store.delete_release(rid)
            self.lexical.remove(rid)
            report.removed.append(rid)

    def _changed(self) -> None:
        if self.settings.chroma_url:
            self.refresh(force=True)
            return
        index_dir = Path(self.settings.index_dir)
        with manifest_lock(index_dir):  # read the newest catalogue and write it, in one step
            write_manifest(index_dir, self.refresh(force=True))


# the setting that overrides each answerer's refusal threshold
THRESHOLD_SETTINGS = {"extractive": "refusal_threshold", "reader": "reader_threshold"}


def threshold_of(settings: Settings, provenance: dict[str, Any], answerer: str = "extractive"
                 ) -> tuple[float | None, str]:
    """An answerer's refusal threshold and its origin: its setting, else the one calibrated
    into the index for it, else its built-in default (None: the reader's own decision)."""
    setting = THRESHOLD_SETTINGS.get(answerer, "")
    value = getattr(settings, setting, None) if setting else None
    if value is not None:
        return float(value), f"ASSISTANT_{setting.upper()}"
    stored = (provenance.get("refusal_thresholds") or {}).get(answerer)
    if stored is None and answerer == "extractive":  # an index calibrated before per-answerer
        stored = provenance.get("refusal_threshold")
    if stored is not None:
        return float(stored), f"calibrated in {settings.chroma_url or settings.index_dir}"
    if answerer == "extractive":
        return DEFAULT_REFUSAL_THRESHOLD, "built-in default"
    return None, "built-in default"


def write_manifest(index_dir: Path, state: IndexState) -> None:
    """Mirror the provenance and catalogue into index/manifest.json (for people; the
    authoritative copy lives in Chroma so a shared server carries it too)."""
    manifest = {
        "provenance": state.provenance,
        "generation": state.generation,
        "releases": {r.id: {"content_hash": r.content_hash, "source": r.source,
                            "file": r.file, "n_chunks": r.n_chunks}
                     for r in state.catalog.values()},
    }
    write_json_atomically(index_dir / MANIFEST_NAME, manifest)


def _refused(admit: Admit | None, release: Release, file: str,
             indexed: Mapping[str, IndexedRelease], report: IngestReport) -> bool:
    """Ask admit about a release; a refusal fails its file with the reason."""
    reason = admit(release, file, indexed) if admit else ""
    if reason:
        report.failed.append(reason)
        report.files[file] = "failed"
    return bool(reason)


def _unchanged(known: IndexedRelease | None, release: Release) -> bool:
    """Already indexed as read now. The source is compared too: releases indexed before
    sources named publishers kept their file path as source under the same content hash."""
    return (known is not None and known.content_hash == release.content_hash
            and known.source == release.source)
