"""The Indexer (index/indexer.py): releases built in code, one at a time or in bulk."""

from __future__ import annotations

import datetime as dt

from assistant.config import Settings
from assistant.pipeline import Assistant, build
from assistant.retrieve import Filters
from assistant.types import Release


def _releases(n: int) -> list[Release]:
    return [Release(f"r{i}", f"Rapat koordinasi ke-{i}",
                    (f"Rapat ke-{i} membahas anggaran gizi di provinsi {i}.",
                     f"Deputi menyampaikan {i} prioritas program stunting."),
                    "Kemenko PMK", f"hash-{i}", date=dt.date(2023, 10, 1 + i))
            for i in range(n)]


def _state(assistant: Assistant) -> tuple[object, ...]:
    store = assistant.index.store
    chunks = sorted(store.chunks(), key=lambda c: c.id)
    return (store.releases(), chunks, assistant.index.lexical.releases(),
            sorted(store.sentence_vectors([c.id for c in chunks])))


def test_bulk_add_indexes_exactly_what_one_at_a_time_does(fake_settings: Settings) -> None:
    one = build(fake_settings.model_copy(update={"index_dir": fake_settings.index_dir / "one"}))
    bulk = build(fake_settings.model_copy(update={"index_dir": fake_settings.index_dir / "bulk"}))
    assert one.index.add_releases(_releases(3)).added == ["r0", "r1", "r2"]
    steps: list[tuple[int, int]] = []
    report = bulk.index.add_releases(_releases(3), progress=lambda d, t: steps.append((d, t)),
                                     bulk=True)
    assert report.added == ["r0", "r1", "r2"] and steps[-1][0] == steps[-1][1]
    assert _state(bulk) == _state(one)
    hits = bulk.retrieve("anggaran gizi provinsi 2", 3, Filters(), "bm25").ranking
    assert hits and hits[0].chunk.release_id == "r2"  # the lexical side serves them too


def test_bulk_add_skips_what_is_indexed_and_rewrites_what_changed(fake_settings: Settings
                                                                  ) -> None:
    assistant = build(fake_settings)
    assistant.index.add_releases(_releases(2), bulk=True)
    changed = [*_releases(1), Release("r1", "Judul baru", ("Isi baru rilis satu.",),
                                      "Kemenko PMK", "hash-new")]
    report = assistant.index.add_releases(changed, bulk=True)
    assert (report.unchanged, report.updated) == (["r0"], ["r1"])
    assert assistant.index.release("r1") is not None
    assert assistant.index.store.releases()["r1"].title == "Judul baru"
    assert [c.text for c in assistant.index.store.release_chunks("r1")] == ["Isi baru rilis satu."]
