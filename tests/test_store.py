"""ChromaStore (index/store.py) on a real embedded Chroma in tmp_path: writes, reads, repair."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import StoreError
from assistant.index.store import ChromaStore, ReleaseWrite
from assistant.index.storeread import date_filter
from assistant.types import Chunk, IndexedRelease, Person
from tests.conftest import chroma_collection

DAY = dt.date(2023, 10, 2)


def _write(release_id: str, n_chunks: int, date: dt.date | None = DAY, source: str = "pmk",
           sentences: bool = False) -> ReleaseWrite:
    """A release of n_chunks one-paragraph chunks; chunk i's vector points along axis i % 4."""
    paragraphs = tuple(f"Paragraf {i} dari {release_id}." for i in range(n_chunks))
    chunks, offset = [], 0
    for i, text in enumerate(paragraphs):
        chunks.append(Chunk(f"{release_id}#{i}", release_id, text, i, i + 1, offset,
                            offset + len(text), f"Judul {release_id}", date, source))
        offset += len(text) + 2
    vectors = [[1.0 if axis == i % 4 else 0.0 for axis in range(4)] for i in range(n_chunks)]
    rows = [([0], np.full((1, 4), 0.5, dtype=np.float32)) for _ in chunks] if sentences else []
    record = IndexedRelease(release_id, f"hash-{release_id}", source, f"Judul {release_id}",
                            date, n_chunks, (Person("Budi Santoso", "Deputi"),),
                            f"corpus/{release_id}.txt", "Sub", "https://example.go.id/a")
    return ReleaseWrite(record, paragraphs, chunks, vectors,
                        [f"paragraf {release_id}"] * n_chunks, rows)


def _put(store: ChromaStore, write: ReleaseWrite) -> None:
    store.put_release(write.record, write.paragraphs, write.chunks, write.vectors, write.lexical,
                      write.sentences)


@pytest.fixture
def store(tmp_path: Path) -> ChromaStore:
    return ChromaStore.open(str(tmp_path / "index"), None)


def test_a_written_release_reads_back_whole(store: ChromaStore) -> None:
    write = _write("r1", 3, sentences=True)
    _put(store, write)
    assert store.releases() == {"r1": write.record}
    assert store.paragraphs("r1") == write.paragraphs
    assert store.release_chunks("r1") == list(write.chunks)
    assert store.get_chunks(["r1#2", "nope"]) == {"r1#2": write.chunks[2]}
    assert store.count() == 3 and store.vector_dim() == 4
    vectors = store.sentence_vectors(["r1#0"])["r1#0"]
    assert list(vectors) == [0] and np.allclose(vectors[0], 0.5, atol=1e-3)
    assert [d.terms for d in store.lexical_docs({"r1"})] == [("paragraf", "r1")] * 3


def test_rewriting_a_release_replaces_its_chunks(store: ChromaStore) -> None:
    _put(store, _write("r1", 3))
    _put(store, _write("r1", 1))
    assert store.chunk_ids() == {"r1": ["r1#0"]} and store.releases()["r1"].n_chunks == 1


def test_every_write_changes_the_generation_and_keeps_the_provenance(store: ChromaStore) -> None:
    assert store.meta() == ("", {})
    store.set_provenance({"embedder": "fake", "dim": 4})
    first = store.generation()
    _put(store, _write("r1", 1))
    assert store.generation() not in ("", first)
    assert store.provenance() == {"embedder": "fake", "dim": 4}


def test_bulk_write_equals_writing_one_release_at_a_time(tmp_path: Path) -> None:
    writes = [_write("a", 2, sentences=True), _write("b", 3), _write("c", 1, date=None)]
    one, bulk = (ChromaStore.open(str(tmp_path / name), None) for name in ("one", "bulk"))
    for write in writes:
        _put(one, write)
    bulk.put_releases(writes)
    assert bulk.releases() == one.releases()
    assert sorted(bulk.chunks(), key=lambda c: c.id) == sorted(one.chunks(), key=lambda c: c.id)
    ids = [c.id for w in writes for c in w.chunks]
    assert bulk.sentence_vectors(ids).keys() == one.sentence_vectors(ids).keys() == {"a#0", "a#1"}
    bulk.put_releases([_write("b", 1)])  # a rewrite in bulk replaces the old chunks too
    assert bulk.chunk_ids()["b"] == ["b#0"]


def test_bulk_write_pages_past_one_chroma_call(store: ChromaStore) -> None:
    store.put_releases([_write("big", 2100)])  # more chunks than one add() carries (2000)
    assert store.count() == 2100 and store.releases()["big"].n_chunks == 2100


def test_delete_removes_the_release_everywhere(store: ChromaStore) -> None:
    _put(store, _write("r1", 2, sentences=True))
    _put(store, _write("r2", 1))
    store.delete_release("r1")
    assert set(store.releases()) == {"r2"} and store.chunk_ids() == {"r2": ["r2#0"]}
    assert store.paragraphs("r1") is None and store.sentence_vectors(["r1#0"]) == {}


def test_repair_drops_a_half_written_release(store: ChromaStore, tmp_path: Path) -> None:
    _put(store, _write("r1", 2))
    _put(store, _write("r2", 2))
    assert store.repair() == 0
    chroma_collection(tmp_path / "index", "releases").delete(ids=["r1#1"])  # a crash mid-write
    assert store.repair() == 1
    assert set(store.releases()) == {"r2"} and set(store.chunk_ids()) == {"r2"}


def test_search_ranks_by_cosine_within_dates_and_sources(store: ChromaStore) -> None:
    _put(store, _write("old", 2, date=dt.date(2020, 1, 1)))
    _put(store, _write("new", 2, date=DAY, source="kemensos"))
    hits = store.search([1.0, 0.0, 0.0, 0.0], k=2)
    assert [round(score, 4) for _, score in hits] == [1.0, 1.0]
    assert {c.id for c, _ in hits} == {"old#0", "new#0"}
    assert [c.id for c, _ in store.search([1.0, 0, 0, 0], 5, since=dt.date(2023, 1, 1))
            ][:1] == ["new#0"]
    assert {c.release_id for c, _ in store.search([1.0, 0, 0, 0], 5, sources={"pmk"})} == {"old"}
    assert store.search([1.0, 0, 0, 0], 5, sources=set()) == []


def test_date_filter_bounds_are_inclusive() -> None:
    assert date_filter(None, None) is None
    both = date_filter(dt.date(2023, 1, 1), dt.date(2023, 12, 31))
    assert both == {"$and": [{"date_num": {"$gte": 20230101}}, {"date_num": {"$lte": 20231231}}]}
    since = date_filter(dt.date(2023, 1, 1), None)
    assert since is not None and {"date_num": {"$gt": 0}} in since["$and"]  # undated: out


def test_reset_empties_the_index(store: ChromaStore) -> None:
    _put(store, _write("r1", 2))
    store.reset()
    assert store.count() == 0 and store.releases() == {} and store.provenance() == {}


@pytest.mark.parametrize("url", ["localhost:8000", "http://localhost"])
def test_a_chroma_url_without_host_and_port_says_how_to_write_it(tmp_path: Path, url: str
                                                                 ) -> None:
    with pytest.raises(StoreError, match="use http://host:port"):
        ChromaStore.open(str(tmp_path), url)


def test_an_unreachable_chroma_server_says_how_to_start_one(tmp_path: Path) -> None:
    from tests.conftest import free_port

    with pytest.raises(StoreError, match="chroma run --path"):
        ChromaStore.open(str(tmp_path), f"http://127.0.0.1:{free_port()}")
