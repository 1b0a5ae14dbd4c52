"""`assistant doctor`: do Chroma, the lexical index and the manifest agree?

The index lives in three places: Chroma's chunk collection and its catalogue (the truth),
the lexical log `lexical.jsonl` (BM25 terms, replayed at start-up) and `manifest.json` (a
copy of the provenance and catalogue for people). `gather` reads what each holds as it is
on disk - without the re-sync every start of the assistant performs - and `diagnose` turns
that into named checks, each with how to repair a failure. The upload folder is checked
too, for what an interrupted upload leaves: un-indexed files and temporary folders.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from assistant.index.indexer import SCHEMA_VERSION
from assistant.index.lexindex import LexicalIndex
from assistant.index.store import ChromaStore
from assistant.index.uploadfolder import INCOMING, stale_incoming, unindexed
from assistant.types import IndexedRelease

SHOWN = 5  # ids named per failure; the rest are counted

REPAIR = "`assistant doctor --repair`"
CHUNKS_REPAIR = (f"{REPAIR} drops the half-written releases, then `assistant ingest --sync "
                 "DIR` indexes them again (a plain ingest also repairs this before it writes)")
LEXICAL_REPAIR = (f"{REPAIR}, or any start of `assistant` (ask, serve, ingest): it re-syncs "
                  "the lexical index from Chroma")
MANIFEST_REPAIR = f"{REPAIR} rewrites it from Chroma (so does the next ingest)"
REBUILD = "`assistant ingest --rebuild DIR` re-embeds every release"


@dataclass(frozen=True)
class Check:
    """One named consistency check: passed or not, what was found, how to repair it."""

    name: str
    ok: bool
    detail: str
    repair: str = ""


@dataclass(frozen=True)
class Evidence:
    """What each part of the index holds, read as it is on disk."""

    embedder: str  # the configured embedder's name
    provenance: dict[str, Any]
    catalog: dict[str, IndexedRelease]
    chunks: dict[str, list[str]]  # Chroma chunk ids by release id
    vector_dim: int | None
    lexical: dict[str, str]  # lexical index: content hash by release id
    lexical_chunks: dict[str, list[str]]
    torn_lines: int
    manifest: dict[str, Any] | None  # None: not kept (Chroma server)
    manifest_error: str = ""
    upload_dir: str = ""  # "" when not checked
    unindexed_uploads: tuple[str, ...] = ()  # files in it no release comes from
    stale_incoming: tuple[str, ...] = ()  # temp folders of uploads whose process ended


def gather(store: ChromaStore, lexical: LexicalIndex, manifest: Path | None,
           embedder: str, upload_dir: Path | None = None) -> Evidence:
    """Read the three parts of an index (lexical: a LexicalIndex freshly replayed, unsynced)
    and, when given, the upload folder."""
    _, provenance = store.meta()
    loaded, error = _read_manifest(manifest)
    catalog = store.releases()
    evidence = Evidence(embedder, provenance, catalog, store.chunk_ids(), store.vector_dim(),
                        lexical.releases(), lexical.chunk_ids(), lexical.torn_lines, loaded,
                        error)
    if upload_dir is None:
        return evidence
    return replace(evidence, upload_dir=str(upload_dir),
                   unindexed_uploads=tuple(unindexed(upload_dir,
                                                     {r.file for r in catalog.values()})),
                   stale_incoming=tuple(p.name for p in stale_incoming(upload_dir)))


def _read_manifest(path: Path | None) -> tuple[dict[str, Any] | None, str]:
    if path is None:
        return None, ""
    try:
        return dict(json.loads(path.read_text(encoding="utf-8"))), ""
    except FileNotFoundError:
        return {}, f"{path} is missing"
    except (ValueError, TypeError) as exc:
        return {}, f"{path} is not valid JSON ({exc})"


def diagnose(evidence: Evidence) -> list[Check]:
    """Every check, in order: store provenance, Chroma, lexical index, manifest."""
    return [check(evidence) for check in CHECKS]


def healthy(checks: Iterable[Check]) -> bool:
    """True when every check passed."""
    return all(c.ok for c in checks)


def _named(ids: Iterable[str]) -> str:
    ids = sorted(ids)
    more = f" and {len(ids) - SHOWN} more" if len(ids) > SHOWN else ""
    return ", ".join(ids[:SHOWN]) + more


# store provenance -----------------------------------------------------------------------------


def check_embedder(e: Evidence) -> Check:
    """The store's vectors come from the configured embedder."""
    recorded = e.provenance.get("embedder")
    if not recorded or recorded == e.embedder:
        return Check("embedder", True, f"{e.embedder}" + ("" if recorded else " (empty index)"))
    return Check("embedder", False, f"the index was built with {recorded!r}, the configured "
                 f"embedder is {e.embedder!r}",
                 f"{REBUILD}, or set ASSISTANT_EMBEDDER back to the recorded one")


def check_schema(e: Evidence) -> Check:
    """The index's schema is the one this version reads."""
    schema = e.provenance.get("schema")
    if schema in (None, SCHEMA_VERSION) or not e.catalog:
        return Check("schema", True, f"version {SCHEMA_VERSION}")
    return Check("schema", False, f"the index has schema {schema}, this version needs "
                 f"{SCHEMA_VERSION}", REBUILD)


def check_vectors(e: Evidence) -> Check:
    """Stored vectors have the dimension the provenance records."""
    dim = e.provenance.get("dim")
    if e.vector_dim is None or dim is None or e.vector_dim == dim:
        return Check("vectors", True, f"dimension {e.vector_dim or dim or '-'}")
    return Check("vectors", False, f"stored vectors have {e.vector_dim} dimensions, the "
                 f"provenance records {dim}", REBUILD)


# Chroma: catalogue against chunks -----------------------------------------------------------


def check_catalogued_chunks(e: Evidence) -> Check:
    """Every catalogued release has exactly its recorded number of chunks."""
    wrong = {rid: len(e.chunks.get(rid, [])) for rid, r in e.catalog.items()
             if len(e.chunks.get(rid, [])) != r.n_chunks}
    if not wrong:
        total = sum(r.n_chunks for r in e.catalog.values())
        return Check("chunks", True, f"{len(e.catalog)} releases, {total} chunks as catalogued")
    shown = [f"{rid} ({n} of {e.catalog[rid].n_chunks})" for rid, n in wrong.items()]
    return Check("chunks", False, f"{len(wrong)} catalogued releases lack chunks or have "
                 f"extra ones: {_named(shown)}", CHUNKS_REPAIR)


def check_orphans(e: Evidence) -> Check:
    """No chunk belongs to a release the catalogue does not list."""
    orphans = {rid: len(ids) for rid, ids in e.chunks.items() if rid not in e.catalog}
    if not orphans:
        return Check("orphan chunks", True, "none")
    return Check("orphan chunks", False, f"{sum(orphans.values())} chunks of {len(orphans)} "
                 f"uncatalogued releases: {_named(orphans)}", CHUNKS_REPAIR)


def check_duplicates(e: Evidence) -> Check:
    """No release content is indexed under two ids, and chunk ids match their release."""
    by_hash = Counter(r.content_hash for r in e.catalog.values())
    twice = [f"{r.id} ({r.file or r.source})" for r in e.catalog.values()
             if by_hash[r.content_hash] > 1]
    misfiled = [cid for rid, ids in e.chunks.items() for cid in ids
                if not cid.startswith(f"{rid}#")]
    if not twice and not misfiled:
        return Check("duplicates", True, "none")
    found = [f"{len(twice)} releases share their content with another id: {_named(twice)}"
             ] if twice else []
    found += [f"{len(misfiled)} chunks stored under another release: "
              f"{_named(misfiled)}"] if misfiled else []
    return Check("duplicates", False, "; ".join(found),
                 "delete the duplicate files and run `assistant ingest --sync DIR`, or "
                 "`assistant ingest --rebuild DIR`")


# the lexical index ------------------------------------------------------------------------------


def check_lexical_log(e: Evidence) -> Check:
    """Every line of the lexical log is readable."""
    if not e.torn_lines:
        return Check("lexical log", True, "every line readable")
    return Check("lexical log", False, f"{e.torn_lines} unreadable lines (torn by a crash "
                 "or edited)", LEXICAL_REPAIR)


def check_lexical_releases(e: Evidence) -> Check:
    """The lexical index holds exactly the catalogued releases, with their content hashes."""
    truth = {rid: r.content_hash for rid, r in e.catalog.items()}
    missing = [rid for rid in truth if rid not in e.lexical]
    extra = [rid for rid in e.lexical if rid not in truth]
    stale = [rid for rid, h in e.lexical.items() if rid in truth and truth[rid] != h]
    if not (missing or extra or stale):
        return Check("lexical releases", True, f"{len(truth)} releases, hashes match")
    found = [f"{label}: {_named(ids)}" for label, ids in
             (("missing", missing), ("not catalogued", extra), ("other content", stale)) if ids]
    return Check("lexical releases", False, "; ".join(found), LEXICAL_REPAIR)


def check_lexical_chunks(e: Evidence) -> Check:
    """For every release in both, the lexical index holds exactly Chroma's chunks, once."""
    wrong = [rid for rid, ids in e.lexical_chunks.items() if rid in e.catalog
             and (len(ids) != len(set(ids)) or set(ids) != set(e.chunks.get(rid, [])))]
    if not wrong:
        return Check("lexical chunks", True, "the same chunks as Chroma")
    return Check("lexical chunks", False, f"{len(wrong)} releases with other chunks than in "
                 f"Chroma: {_named(wrong)}", LEXICAL_REPAIR)


# the manifest ---------------------------------------------------------------------------------


def check_manifest_file(e: Evidence) -> Check:
    """manifest.json exists and is readable (not kept when the index is a Chroma server)."""
    if e.manifest is None:
        return Check("manifest", True, "not kept for a Chroma server")
    if e.manifest_error:
        return Check("manifest", False, e.manifest_error, MANIFEST_REPAIR)
    return Check("manifest", True, "readable")


def check_manifest_provenance(e: Evidence) -> Check:
    """The manifest records the store's embedder, dimension, schema and chunking."""
    if not e.manifest:
        return Check("manifest provenance", True, "skipped: no manifest (see above)")
    recorded = e.manifest.get("provenance", {})
    differ = sorted(k for k in set(recorded) | set(e.provenance)
                    if recorded.get(k) != e.provenance.get(k))
    if not differ:
        return Check("manifest provenance", True, f"embedder {recorded.get('embedder', '-')}")
    shown = [f"{k}: manifest {recorded.get(k)!r}, store {e.provenance.get(k)!r}" for k in differ]
    return Check("manifest provenance", False, "; ".join(shown), MANIFEST_REPAIR)


def check_manifest_releases(e: Evidence) -> Check:
    """The manifest lists the catalogued releases with their hashes and chunk counts."""
    if not e.manifest:
        return Check("manifest releases", True, "skipped: no manifest (see above)")
    listed = e.manifest.get("releases", {})
    wrong = [rid for rid in set(listed) | set(e.catalog) if rid not in listed
             or rid not in e.catalog
             or listed[rid].get("content_hash") != e.catalog[rid].content_hash
             or listed[rid].get("n_chunks") != e.catalog[rid].n_chunks]
    if not wrong:
        return Check("manifest releases", True, f"{len(listed)} releases, hashes match")
    return Check("manifest releases", False, f"{len(wrong)} releases differ from the "
                 f"catalogue (missing, extra, other hash or chunk count): {_named(wrong)}",
                 MANIFEST_REPAIR)


# the upload folder --------------------------------------------------------------------------


def check_uploads(e: Evidence) -> Check:
    """Every file in the upload folder is a release's file (none left by a killed upload)."""
    if not e.upload_dir:
        return Check("uploads", True, "skipped: no upload folder given")
    if not e.unindexed_uploads:
        return Check("uploads", True, "every uploaded file is indexed")
    return Check("uploads", False, f"{len(e.unindexed_uploads)} files in {e.upload_dir} are "
                 f"not indexed (an upload interrupted?): {_named(e.unindexed_uploads)}",
                 f"upload them again (or `assistant ingest {e.upload_dir}`), or delete them")


def check_incoming(e: Evidence) -> Check:
    """No temporary folder of an upload whose process has ended is left behind."""
    if not e.stale_incoming:
        return Check("upload temp folders", True, "none left behind")
    return Check("upload temp folders", False, f"{len(e.stale_incoming)} temporary folders of "
                 f"interrupted uploads in {e.upload_dir}/{INCOMING}: "
                 f"{_named(e.stale_incoming)}",
                 f"{REPAIR} removes them (so does the next start of `assistant serve`)")


CHECKS: tuple[Callable[[Evidence], Check], ...] = (
    check_embedder, check_schema, check_vectors, check_catalogued_chunks, check_orphans,
    check_duplicates, check_lexical_log, check_lexical_releases, check_lexical_chunks,
    check_manifest_file, check_manifest_provenance, check_manifest_releases,
    check_uploads, check_incoming,
)
