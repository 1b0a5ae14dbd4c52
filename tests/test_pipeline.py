"""Ingest behaviour through the pipeline: re-runs, edits, --sync, bad files, consistency."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.errors import IndexMismatchError
from assistant.index.indexer import SCHEMA_VERSION
from assistant.pipeline import Assistant, build
from assistant.retrieve import Filters
from tests.conftest import SAMPLE_RELEASE, VOCATIONAL_RELEASE, chroma_collection, write_release


def assert_consistent(assistant: Assistant) -> None:
    """Catalog and chunks agree: every release's chunk count matches what is stored."""
    catalog = assistant.index.store.releases()
    stored: dict[str, int] = {}
    for chunk in assistant.index.store.chunks():
        stored[chunk.release_id] = stored.get(chunk.release_id, 0) + 1
    assert stored == {rid: r.n_chunks for rid, r in catalog.items()}
    assert assistant.index.store.repair() == 0
    assert assistant.index.lexical.releases() == {
        rid: r.content_hash for rid, r in catalog.items()}
    assert len(assistant.index.lexical) == sum(stored.values())


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    write_release(corpus, "a.txt")
    write_release(corpus, "b.txt", SAMPLE_RELEASE.replace("stunting", "vaksinasi"))
    return corpus


def test_rerun_indexes_nothing_new(fake_settings: Settings, folder: Path) -> None:
    assistant = build(fake_settings)
    first = assistant.index.ingest([folder])
    assert len(first.added) == 2 and not first.failed
    second = build(fake_settings).index.ingest([folder])
    assert (second.added, second.updated, len(second.unchanged)) == ([], [], 2)
    assert_consistent(assistant)


def test_edited_file_replaces_its_chunks(fake_settings: Settings, folder: Path) -> None:
    assistant = build(fake_settings)
    assistant.index.ingest([folder])
    before = {c.id: c.text for c in assistant.index.store.chunks()}
    (folder / "a.txt").write_text(SAMPLE_RELEASE + "\nParagraf baru tentang imunisasi.\n",
                                  encoding="utf-8")
    report = assistant.index.ingest([folder])
    assert len(report.updated) == 1 and len(report.unchanged) == 1
    after = [c.text for c in assistant.index.store.chunks()]
    assert any("imunisasi" in t for t in after)
    assert len(after) >= len(before)
    assert_consistent(assistant)


def test_sync_removes_releases_of_deleted_files(fake_settings: Settings, folder: Path) -> None:
    assistant = build(fake_settings)
    assistant.index.ingest([folder])
    (folder / "b.txt").unlink()
    plain = assistant.index.ingest([folder])
    assert plain.removed == [] and len(assistant.index.releases()) == 2
    synced = assistant.index.ingest([folder], sync=True)
    assert len(synced.removed) == 1
    assert [r.file for r in assistant.index.releases()] == [f"{_src(folder)}/a.txt"]
    assert_consistent(assistant)


def test_ingest_relabels_releases_indexed_with_their_file_as_source(
    fake_settings: Settings, folder: Path,
) -> None:
    """Indexes built before sources named publishers held the file path under the same hash."""
    from dataclasses import replace

    from assistant.ingest.releases import load_file, source_for

    path = folder / "a.txt"
    (release,) = load_file(path)
    assistant = build(fake_settings)
    assistant.index.add_releases([replace(release, source=source_for(path))])
    report = assistant.index.ingest([folder])  # same content hash, only the source differs
    assert report.updated == [release.id] and len(report.added) == 1
    assert {r.source for r in assistant.index.releases()} == {""}  # no publisher known
    assert len(assistant.index.ingest([folder]).unchanged) == 2
    assert_consistent(assistant)


def _src(folder: Path) -> str:
    from assistant.ingest.releases import source_for

    return source_for(folder)


BAD_FILES = {
    "empty.txt": b"",
    "binary.txt": b"\x00\x01\x02\x03binary\x00",
    "corrupt.pdf": b"%PDF-1.4 this is not really a pdf",
    "corrupt.docx": b"PK\x03\x04 not a zip archive",
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_is_reported_and_others_still_indexed(
    fake_settings: Settings, folder: Path, name: str
) -> None:
    (folder / name).write_bytes(BAD_FILES[name])
    assistant = build(fake_settings)
    report = assistant.index.ingest([folder])
    assert len(report.added) == 2
    assert len(report.failed) == 1
    assert name in report.failed[0] and "\n" not in report.failed[0]
    assert report.files[_src(folder) + "/" + name] == "failed"
    assert_consistent(assistant)


def test_pdf_without_text_layer_is_reported(fake_settings: Settings, folder: Path) -> None:
    from reportlab.pdfgen import canvas

    pdf = canvas.Canvas(str(folder / "scan.pdf"))
    pdf.rect(100, 100, 200, 200, fill=1)
    pdf.save()
    report = build(fake_settings).index.ingest([folder])
    assert len(report.added) == 2
    assert any("scan.pdf" in r and "text layer" in r for r in report.failed)


def test_sync_keeps_releases_of_a_file_that_became_unreadable(
    fake_settings: Settings, folder: Path
) -> None:
    assistant = build(fake_settings)
    assistant.index.ingest([folder])
    (folder / "b.txt").write_bytes(b"")
    report = assistant.index.ingest([folder], sync=True)
    assert report.removed == [] and len(report.failed) == 1
    assert len(assistant.index.releases()) == 2


def test_jsonl_release_removed_from_file_is_synced(fake_settings: Settings, tmp_path: Path) -> None:
    import json

    corpus = tmp_path / "news"
    corpus.mkdir()
    lines = [{"id": f"n{i}", "title": f"Berita {i}", "date": "2023-01-0" + str(i + 1),
              "text": f"Isi berita nomor {i} tentang pendidikan.\n\nParagraf kedua."}
             for i in range(3)]
    path = corpus / "news.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    assistant = build(fake_settings)
    assert len(assistant.index.ingest([corpus]).added) == 3
    path.write_text("\n".join(json.dumps(x) for x in lines[:2]), encoding="utf-8")
    report = assistant.index.ingest([corpus], sync=True)
    assert report.removed == ["n2"] and len(report.unchanged) == 2
    assert_consistent(assistant)


def test_interrupted_write_is_repaired(fake_settings: Settings, folder: Path) -> None:
    assistant = build(fake_settings)
    assistant.index.ingest([folder])
    victim = assistant.index.releases()[0]
    # simulate a crash after the chunks were deleted but before the catalog was updated
    chroma_collection(fake_settings.index_dir, fake_settings.collection).delete(
        where={"release_id": victim.id})
    report = assistant.index.ingest([folder])
    assert victim.id in report.updated or victim.id in report.added
    assert_consistent(assistant)


def test_repair_from_an_older_snapshot_keeps_what_another_writer_stored(
        fake_settings: Settings, folder: Path, tmp_path: Path) -> None:
    # before: an ingest's repair compared the chunks with its own, older catalogue and
    # deleted every release another writer (upload thread, CLI ingest) had stored since
    assistant = build(fake_settings)
    assistant.index.ingest([folder])
    snapshot = dict(assistant.index.state.catalog)
    other = build(fake_settings)  # a second writer: another process, or another upload
    extra = write_release(tmp_path / "other", "vokasi.txt", VOCATIONAL_RELEASE)
    added = other.index.ingest([extra]).added
    assert assistant.index.store.repair(snapshot) == 0
    assert set(added) <= set(assistant.index.refresh(force=True).catalog)
    assert_consistent(assistant)


def test_crash_while_embedding_leaves_index_untouched(
    fake_settings: Settings, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assistant = build(fake_settings)
    assistant.index.ingest([folder])
    before = sorted(c.id for c in assistant.index.store.chunks())
    (folder / "a.txt").write_text(SAMPLE_RELEASE + "\nTambahan.\n", encoding="utf-8")

    def boom(texts: list[str]) -> list[list[float]]:
        raise RuntimeError("embedder crashed")

    monkeypatch.setattr(assistant.index.embedder, "embed_documents", boom)
    with pytest.raises(RuntimeError):
        assistant.index.ingest([folder])
    assert sorted(c.id for c in assistant.index.store.chunks()) == before
    assert_consistent(assistant)


def test_other_embedder_is_refused_with_rebuild_hint(fake_settings: Settings, folder: Path) -> None:
    build(fake_settings).index.ingest([folder])
    other = build(fake_settings.model_copy(update={"embedder": "e5"}))
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        other.index.ingest([folder])
    with pytest.raises(IndexMismatchError):
        other.ask("stunting")
    rebuilt = other.index.ingest([folder], rebuild=True)
    assert len(rebuilt.added) == 2


def test_date_filters(fake_settings: Settings, tmp_path: Path) -> None:
    import datetime as dt

    corpus = tmp_path / "c"
    write_release(corpus, "old.txt", SAMPLE_RELEASE.replace("(2/10/2023)", "(2/10/2021)"))
    write_release(corpus, "new.txt", SAMPLE_RELEASE)
    assistant = build(fake_settings)
    assistant.index.ingest([corpus])
    hits = assistant.retriever.search("rapat koordinasi stunting", k=5,
                                      filters=Filters(since=dt.date(2023, 1, 1)))
    assert hits and {h.chunk.date.year for h in hits if h.chunk.date} == {2023}
    hits = assistant.retriever.search("rapat koordinasi stunting", k=5,
                                      filters=Filters(until=dt.date(2022, 1, 1)), mode="bm25")
    assert hits and {h.chunk.date.year for h in hits if h.chunk.date} == {2021}


def test_manifest_mirrors_provenance_and_catalog(fake_settings: Settings, folder: Path) -> None:
    import json

    assistant = build(fake_settings)
    assistant.index.ingest([folder])
    manifest = json.loads((fake_settings.index_dir / "manifest.json").read_text())
    assert manifest["provenance"]["embedder"] == "fake:hashed-bow-64"
    assert manifest["provenance"]["schema"] == SCHEMA_VERSION
    assert {r["n_chunks"] for r in manifest["releases"].values()} == {
        r.n_chunks for r in assistant.index.releases()}


def test_legacy_encoding_is_indexed_with_a_note(fake_settings: Settings, folder: Path) -> None:
    (folder / "lama.txt").write_bytes("Rilis lama\n\nKegiatan di Bekasi \u2013 Jawa Barat, "
                                      "caf\xe9 rakyat.".encode("cp1252"))
    report = build(fake_settings).index.ingest([folder])
    assert len(report.added) == 3 and not report.failed
    assert any("lama.txt" in n and "Windows-1252" in n for n in report.notes)


def test_questions_embed_no_sentences_and_a_schema_2_index_still_answers(
        fake_settings: Settings, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = fake_settings.model_copy(update={"refusal_threshold": 0.0})
    assistant = build(settings)
    assistant.index.ingest([folder])
    store = assistant.index.store
    ids = [c.id for c in store.chunks()]
    assert sorted(store.sentence_vectors(ids)) == sorted(ids)
    embedded: list[str] = []
    sentence_embedder = assistant.answerer.sentence_embedder  # type: ignore[attr-defined]
    real = sentence_embedder.embed_documents
    monkeypatch.setattr(sentence_embedder, "embed_documents",
                        lambda texts: (embedded.extend(texts), real(texts))[1])
    question = "anggaran intervensi gizi di provinsi"
    stored = assistant.ask(question)
    assert not stored.refused and embedded == []

    # an index written before sentence vectors were stored (schema 2)
    chroma_collection(settings.index_dir, f"{settings.collection}__sentences").delete(ids=ids)
    provenance = store.provenance()
    store.set_provenance({**provenance, "schema": 2})
    old = build(settings)
    old.answerer.sentence_embedder = sentence_embedder  # type: ignore[attr-defined]
    answer = old.ask(question)
    assert embedded  # the fallback embeds the sentences per question...
    assert (answer.text, answer.refused) == (stored.text, stored.refused)  # ...same answer
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        old.index.ingest([folder])
    assert len(old.index.ingest([folder], rebuild=True).added) == 2


def test_ingest_embeds_the_next_release_while_the_previous_is_written(
        fake_settings: Settings, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    assistant = build(fake_settings)
    events: list[str] = []
    store, embedder = assistant.index.store, assistant.index.embedder
    real_put, real_embed = store.put_release, embedder.embed_documents

    def slow_put(*args: object, **kwargs: object) -> None:
        events.append("write")
        time.sleep(0.5)
        real_put(*args, **kwargs)  # type: ignore[arg-type]
        events.append("written")

    monkeypatch.setattr(store, "put_release", slow_put)
    monkeypatch.setattr(embedder, "embed_documents",
                        lambda texts: (events.append("embed"), real_embed(texts))[1])
    report = assistant.index.ingest([folder])
    assert len(report.added) == 2
    first_write, first_written = events.index("write"), events.index("written")
    assert "embed" in events[first_write:first_written]  # overlap
    assert_consistent(assistant)


def test_a_release_another_process_ingested_is_found_by_vector(
        fake_settings: Settings, folder: Path, tmp_path: Path) -> None:
    # before: embedded Chroma kept this process's HNSW index as it was, so the other
    # process's chunks were listed and found by BM25 but never by vector, until a restart
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    assistant = build(fake_settings)
    assistant.index.ingest([folder])
    assert assistant.index.store.search(assistant.embedder.embed_query("gizi"), k=3)
    extra = write_release(tmp_path / "other", "vokasi.txt", VOCATIONAL_RELEASE)
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(fake_settings.index_dir),
           "ASSISTANT_EMBEDDER": "fake"}
    done = subprocess.run([sys.executable, "-m", "assistant.cli", "ingest", "-q", str(extra)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    catalog = assistant.index.refresh(force=True).catalog
    new = next(r for r in catalog.values() if r.title.startswith("Kemenko PMK Dorong"))
    chunk = assistant.index.store.release_chunks(new.id)[0]
    vector = assistant.embedder.embed_documents([chunk.embed_text])[0]
    found = assistant.index.store.search(vector, k=1)
    assert [c.release_id for c, _ in found] == [new.id]
    assert found[0][1] > 0.99
