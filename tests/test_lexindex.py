"""The lexical index follows add, edit, delete and sync a release at a time, survives restarts
through its log, and never pages every chunk out of Chroma (fake embedder: logic only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assistant.config import Settings
from assistant.index.lexindex import LexicalDoc, LexicalIndex
from assistant.lexical import BM25, analyze
from assistant.pipeline import Assistant, build
from tests.conftest import SAMPLE_RELEASE, VOCATIONAL_RELEASE, write_release

QUERIES = ["rapat koordinasi stunting", "pendidikan vokasi SMK", "anggaran gizi provinsi",
           "imunisasi campak anak"]


def _full_rebuild_scores(assistant: Assistant, query: str) -> dict[str, float]:
    """What a BM25 built from scratch over every stored chunk scores (the old way)."""
    chunks = list(assistant.index.store.chunks())
    bm25 = BM25([analyze(c.embed_text) for c in chunks])
    scores = bm25.scores(analyze(query))
    return {c.id: float(s) for c, s in zip(chunks, scores, strict=True) if s > 0}


def _incremental_scores(assistant: Assistant, query: str) -> dict[str, float]:
    return dict(assistant.index.lexical.search(analyze(query), 1000))


def _assert_matches_full_rebuild(assistant: Assistant) -> None:
    for query in QUERIES:
        expected = _full_rebuild_scores(assistant, query)
        got = _incremental_scores(assistant, query)
        assert got.keys() == expected.keys(), query
        assert np.allclose([got[k] for k in expected], list(expected.values())), query


@pytest.fixture
def watched(fake_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Assistant:
    """An assistant whose store refuses to page every chunk out for the lexical side."""
    from assistant.index.store import ChromaStore

    def no_full_reload(self: ChromaStore) -> None:
        raise AssertionError("the lexical index paged every chunk out of Chroma")

    assistant = build(fake_settings)
    monkeypatch.setattr(ChromaStore, "chunks", no_full_reload)
    return assistant


def _allow_full_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()


def test_add_edit_delete_sync_stay_equal_to_a_full_rebuild(
        watched: Assistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "corpus"
    write_release(corpus, "a.txt")
    write_release(corpus, "b.txt", VOCATIONAL_RELEASE)
    watched.index.ingest([corpus])                                      # add
    (corpus / "a.txt").write_text(SAMPLE_RELEASE.replace("gizi", "imunisasi campak anak"),
                                  encoding="utf-8")
    watched.index.ingest([corpus])                                      # edit
    rid = next(r.id for r in watched.index.releases() if "Vokasi" in r.title)
    watched.index.delete_release(rid)                                   # delete
    write_release(corpus, "c.txt", SAMPLE_RELEASE.replace("Budi", "Sari"))
    (corpus / "a.txt").unlink()
    report = watched.index.ingest([corpus], sync=True)                  # sync
    assert report.removed and report.added
    _allow_full_reads(monkeypatch)
    catalog = watched.index.store.releases()
    assert watched.index.lexical.releases() == {r: c.content_hash for r, c in catalog.items()}
    _assert_matches_full_rebuild(watched)


@pytest.fixture
def fetched(monkeypatch: pytest.MonkeyPatch) -> list[set[str]]:
    """The release ids each lexical fetch from the store asked for."""
    from assistant.index.store import ChromaStore

    calls: list[set[str]] = []
    real = ChromaStore.lexical_docs
    monkeypatch.setattr(ChromaStore, "lexical_docs",
                        lambda self, ids: (calls.append(set(ids)), real(self, ids))[1])
    return calls


def _two_releases(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    write_release(corpus, "a.txt")
    write_release(corpus, "b.txt", VOCATIONAL_RELEASE)
    return corpus


def test_a_restart_loads_the_log_and_fetches_nothing(
        fake_settings: Settings, tmp_path: Path, fetched: list[set[str]]) -> None:
    build(fake_settings).index.ingest([_two_releases(tmp_path)])
    fetched.clear()
    restarted = build(fake_settings)
    assert len(restarted.index.lexical.releases()) == 2
    assert fetched == [set()]
    _assert_matches_full_rebuild(restarted)


def _torn_log(settings: Settings, tmp_path: Path) -> Path:
    """An index of two releases whose lexical log's last line a crash cut short."""
    build(settings).index.ingest([_two_releases(tmp_path)])
    log = Path(settings.index_dir) / "lexical.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines()
    log.write_text("\n".join(lines[:-1]) + "\n" + lines[-1][:40], encoding="utf-8")
    return log


def test_a_torn_log_is_repaired_by_fetching_only_what_it_lost(
        fake_settings: Settings, tmp_path: Path, fetched: list[set[str]]) -> None:
    _torn_log(fake_settings, tmp_path)
    fetched.clear()
    restarted = build(fake_settings)
    assert len(fetched) == 1 and len(fetched[0]) == 1  # one release re-read, not all
    _assert_matches_full_rebuild(restarted)


def test_the_next_start_drops_the_torn_lines_from_the_log(
        fake_settings: Settings, tmp_path: Path, fetched: list[set[str]]) -> None:
    log = _torn_log(fake_settings, tmp_path)
    assert LexicalIndex(log.parent).torn_lines == 1  # what `assistant doctor` reports
    build(fake_settings)
    assert LexicalIndex(log.parent).torn_lines == 0
    assert len(LexicalIndex(log.parent).releases()) == 2


def test_log_is_compacted_and_still_replays(tmp_path: Path) -> None:
    index = LexicalIndex(tmp_path)
    doc = LexicalDoc("r#0", "r", 0, "s", ("rapat", "gizi"))
    for n in range(400):
        index.put("r", f"h{n}", [doc])
    assert len((tmp_path / "lexical.jsonl").read_text().splitlines()) < 400
    again = LexicalIndex(tmp_path)
    assert again.releases() == {"r": "h399"} and len(again) == 1
    assert again.search(["gizi"], 5) == index.search(["gizi"], 5)


def test_filters_on_dates_and_sources(tmp_path: Path) -> None:
    import datetime as dt

    index = LexicalIndex()
    old, new = dt.date(2021, 1, 1).toordinal(), dt.date(2023, 1, 1).toordinal()
    index.put("a", "h", [LexicalDoc("a#0", "a", old, "x.txt", ("gizi",))])
    index.put("b", "h", [LexicalDoc("b#0", "b", new, "y.txt", ("gizi",))])
    index.put("c", "h", [LexicalDoc("c#0", "c", 0, "y.txt", ("gizi",))])
    assert {c for c, _ in index.search(["gizi"], 5, since=dt.date(2022, 1, 1))} == {"b#0"}
    assert {c for c, _ in index.search(["gizi"], 5, until=dt.date(2022, 1, 1))} == {"a#0"}
    assert {c for c, _ in index.search(["gizi"], 5, sources={"y.txt"})} == {"b#0", "c#0"}
    index.remove("b")
    assert {c for c, _ in index.search(["gizi"], 5, sources={"y.txt"})} == {"c#0"}


def test_the_log_counts_its_records_and_skips_torn_lines(tmp_path: Path) -> None:
    from assistant.index.lexindex import LexicalLog

    log = LexicalLog(tmp_path / "sub" / "lexical.jsonl")
    log.append({"put": "a", "hash": "1", "docs": []})
    log.append({"remove": "a"})
    with log.path.open("a", encoding="utf-8") as handle:
        handle.write('{"put": "b", "ha')  # a crash mid-line
    assert log.records == 2
    fresh = LexicalLog(log.path)
    assert fresh.replay() == ([{"put": "a", "hash": "1", "docs": []}, {"remove": "a"}], 1)
    assert fresh.records == 2
    fresh.rewrite(iter([{"put": "c", "hash": "3", "docs": []}]))
    assert fresh.records == 1 and LexicalLog(log.path).replay()[1] == 0
    assert not log.path.with_suffix(".jsonl.tmp").exists()


def test_filter_columns_keep_undated_chunks_out_of_any_date_range() -> None:
    import datetime as dt

    from assistant.index.lexindex import FilterColumns

    day = dt.date(2023, 5, 1).toordinal()
    docs = [LexicalDoc("a#0", "a", day, "pmk", ("x",)), None,
            LexicalDoc("b#0", "b", 0, "kemensos", ("x",))]
    columns = FilterColumns(docs)
    assert list(columns.apply(np.ones(3), None, None, None)) == [1, 1, 1]
    assert list(columns.apply(np.ones(3), None, dt.date(2024, 1, 1), None)) == [1, 0, 0]
    assert list(columns.apply(np.ones(3), dt.date(2023, 6, 1), None, None)) == [0, 0, 0]
    assert list(columns.apply(np.ones(3), None, None, {"kemensos"})) == [0, 0, 1]
