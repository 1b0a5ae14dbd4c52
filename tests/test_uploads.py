"""Uploaded files: safe distinct names, limits, and only files the page itself received
(a request naming any other server path is refused), through a real served app."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from assistant.config import Settings
from assistant.pipeline import Assistant, build
from assistant.web.server import create_server
from assistant.web.uploads import Upload, ingest_uploads, safe_name
from tests.conftest import run_server, write_release


@pytest.mark.parametrize(("name", "safe"), [
    ("laporan akhir.pdf", "laporan_akhir.pdf"), ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\boot.ini.txt", "boot.ini.txt"), (".hidden.md", "hidden.md"), ("", "berkas.txt"),
])
def test_safe_name_keeps_uploads_inside_the_folder(name: str, safe: str) -> None:
    assert safe_name(name) == safe


def test_names_that_clean_alike_never_replace_each_other(tmp_path: Path) -> None:
    assistant = build(Settings(index_dir=tmp_path / "index", embedder="fake",
                               upload_dir=tmp_path / "up"))
    a = write_release(tmp_path / "in", "a", "Rilis A\n\nIsi tentang gizi anak.\n")
    b = write_release(tmp_path / "in", "b", "Rilis B\n\nIsi tentang vaksin lansia.\n")
    result = ingest_uploads(assistant.index, [Upload(a, "evil 11.txt"),
                                              Upload(b, "evil_11.txt")])
    assert [r.status for r in result.files] == ["added", "added"]
    assert sorted(p.name for p in (tmp_path / "up").iterdir()) == ["evil_11-2.txt",
                                                                   "evil_11.txt"]
    assert {r.title for r in assistant.index.releases()} == {"Rilis A", "Rilis B"}
    again = ingest_uploads(assistant.index, [Upload(a, "evil 11.txt")])  # same content
    assert [r.status for r in again.files] == ["unchanged"]
    assert len(list((tmp_path / "up").iterdir())) == 2


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Assistant]]:
    settings = Settings(index_dir=tmp_path / "index", embedder="fake",
                        upload_dir=tmp_path / "uploads")
    assistant = build(settings)
    for url in run_server(create_server(assistant)):
        yield url, assistant


def _upload_event(url: str) -> tuple[int, int]:
    """(fn_index, trigger id) of the page's ingest button."""
    config = httpx.get(f"{url}/config", timeout=30).json()
    button = next(c["id"] for c in config["components"]
                  if c.get("props", {}).get("elem_id") == "ingest")
    dependency = next(d for d in config["dependencies"] if [button, "click"] in d["targets"])
    return dependency["id"], button


def _call_upload(url: str, path: str) -> httpx.Response:
    """Join the queue for the ingest button with a FileData naming path."""
    fn_index, trigger = _upload_event(url)
    body = {"data": [[{"path": path, "meta": {"_type": "gradio.FileData"}}], "id", ""],
            "fn_index": fn_index, "trigger_id": trigger, "session_hash": "probe123",
            "event_data": None}
    return httpx.post(f"{url}/gradio_api/queue/join", json=body, timeout=30)


@pytest.mark.parametrize("relative", [False, True])
def test_a_server_file_named_in_a_request_is_not_indexed(
        served: tuple[str, Assistant], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        relative: bool) -> None:
    url, assistant = served
    secret = write_release(tmp_path / "private", "rahasia.txt",
                           "Dokumen Rahasia\n\nKata sandi server adalah merah-putih-45.\n")
    monkeypatch.chdir(tmp_path / "private")
    path = "../private/rahasia.txt" if relative else str(secret)
    joined = _call_upload(url, path)  # refused before Gradio opens it (web/guard.py)
    assert joined.status_code == 400 and "was not uploaded through this page" in joined.text
    assert assistant.index.refresh(force=True).catalog == {}
    uploads = Path(assistant.settings.upload_dir)
    assert not uploads.exists() or not any(uploads.iterdir())
    answer = httpx.post(f"{url}/api/ask", json={"question": "kata sandi server"}, timeout=60)
    assert "merah-putih" not in answer.text


def _news_release(n: int) -> bytes:
    return (f"Rilis Nomor {n} tentang Program Daerah {n}\n\nKemenko PMK membahas program "
            f"daerah nomor {n} bersama pemerintah provinsi ke-{n}.\n").encode()


def test_concurrent_uploads_all_succeed_and_the_manifest_keeps_every_release(
        served: tuple[str, Assistant]) -> None:
    # before: 1-2 of 6-24 parallel uploads answered 500 (every writer renamed the one
    # manifest.json.tmp), and a writer holding an older catalogue could write last
    url, assistant = served
    n = 16

    def upload(i: int) -> httpx.Response:
        files = {"files": (f"rilis-{i}.txt", _news_release(i), "text/plain")}
        return httpx.post(f"{url}/api/releases", files=files, timeout=120)

    with ThreadPoolExecutor(n) as pool:
        responses = list(pool.map(upload, range(n)))
    assert [r.status_code for r in responses] == [200] * n, [r.text for r in responses]
    catalog = assistant.index.refresh(force=True).catalog
    assert len(catalog) == n
    index_dir = Path(assistant.settings.index_dir)
    manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["releases"]) == set(catalog)
    assert not [p.name for p in index_dir.iterdir() if p.name.endswith(".tmp")]


def _jsonl(*rows: dict) -> bytes:
    return "\n".join(json.dumps(row, ensure_ascii=False) for row in rows).encode()


CORPUS_ROW = {"id": "kemenko-001", "title": "Rilis Resmi Vaksinasi Lansia",
              "text": "Kemenko PMK memulai vaksinasi lansia di 34 provinsi."}


def test_an_upload_cannot_replace_a_release_from_the_corpus(
        served: tuple[str, Assistant], tmp_path: Path) -> None:
    # before: the upload answered "1 updated" and the corpus release was gone
    url, assistant = served
    corpus = tmp_path / "corpus" / "rilis.jsonl"
    corpus.parent.mkdir()
    corpus.write_bytes(_jsonl(CORPUS_ROW))
    assert assistant.index.ingest([corpus]).added == ["kemenko-001"]
    hostile = _jsonl({**CORPUS_ROW, "title": "Palsu", "text": "Isi yang dipalsukan."},
                     {"id": "baru-1", "title": "Rilis Baru", "text": "Isi rilis baru."})
    response = httpx.post(f"{url}/api/releases", timeout=60,
                          files={"files": ("ganti.jsonl", hostile, "application/json")})
    assert response.status_code == 200, response.text
    row = response.json()["files"][0]
    assert row["status"] == "failed"
    assert ("id kemenko-001 already belongs to release 'Rilis Resmi Vaksinasi Lansia' from "
            f"{corpus.resolve().as_posix()}; uploads may only add releases or update their own"
            ) in row["reason"]
    catalog = assistant.index.refresh(force=True).catalog
    assert catalog["kemenko-001"].title == "Rilis Resmi Vaksinasi Lansia"
    assert catalog["kemenko-001"].file == corpus.resolve().as_posix()
    assert catalog["baru-1"].title == "Rilis Baru"  # the rest of the file is indexed
    stored = assistant.index.release("kemenko-001")
    assert stored and stored.paragraphs == (CORPUS_ROW["text"],)


def test_an_upload_may_update_its_own_release(served: tuple[str, Assistant]) -> None:
    url, assistant = served
    first = {"id": "unggah-1", "title": "Rilis Unggahan", "text": "Versi pertama."}
    for row, status in ((first, "added"), ({**first, "text": "Versi kedua."}, "updated")):
        response = httpx.post(f"{url}/api/releases", timeout=60,
                              files={"files": ("unggah.jsonl", _jsonl(row), "text/plain")})
        assert response.json()["files"][0]["status"] == status, response.text
    stored = assistant.index.release("unggah-1")
    assert stored and stored.paragraphs == ("Versi kedua.",)
    # the first version's file went with the release it no longer holds
    folder = Path(assistant.settings.upload_dir)
    assert [p.name for p in folder.iterdir()] == [Path(stored.record.file).name]


def test_the_same_content_under_another_name_is_refused_naming_its_release(
        served: tuple[str, Assistant]) -> None:
    # before: the same bytes under 9 names became 9 releases, and doctor failed "duplicates"
    from assistant.index.doctor import diagnose
    from assistant.pipeline import examine

    url, assistant = served
    data = _news_release(7)
    first = httpx.post(f"{url}/api/releases", timeout=60,
                       files=[("files", ("asli.txt", data)), ("files", ("salinan.txt", data))])
    again = httpx.post(f"{url}/api/releases", timeout=60,
                       files=[("files", ("salinan-lagi.txt", data))])
    rows = [*first.json()["files"], *again.json()["files"]]
    assert [r["status"] for r in rows] == ["added", "failed", "failed"], rows
    [release] = assistant.index.refresh(force=True).catalog.values()
    assert "the same content is already indexed as release" in rows[1]["reason"]
    assert f"'{release.title}' (id {release.id}, from " in rows[2]["reason"]
    assert [p.name for p in Path(assistant.settings.upload_dir).iterdir()] == ["asli.txt"]
    checks = {c.name: c for c in diagnose(examine(assistant.settings))}
    assert checks["duplicates"].ok, checks["duplicates"].detail


@pytest.mark.parametrize("length", [201, 251, 252, 254, 300])
def test_a_too_long_file_name_is_a_clear_400_and_leaves_nothing(
        served: tuple[str, Assistant], length: int) -> None:
    # before: 252+ characters gave a 500 with a traceback; 251-254 left an un-indexed file
    url, assistant = served
    name = "r" * (length - 4) + ".txt"
    response = httpx.post(f"{url}/api/releases", timeout=60,
                          files=[("files", ("pendek.txt", _news_release(1))),
                                 ("files", (name, _news_release(2)))])
    assert response.status_code == 400, response.text
    assert f"the file name is {length} bytes long, over the limit of 200" in response.text
    assert "rename the file" in response.text
    uploads = Path(assistant.settings.upload_dir)
    assert not uploads.exists() or not any(uploads.iterdir())
    assert assistant.index.refresh(force=True).catalog == {}


def test_the_summary_counts_files_refused_for_size_and_no_temp_folder_stays(
        tmp_path: Path) -> None:
    # before: "1 added, ..., 0 failed" with a file refused for its size in the rows
    settings = Settings(index_dir=tmp_path / "index", embedder="fake",
                        upload_dir=tmp_path / "uploads", upload_max_mb=0.001)
    assistant = build(settings)
    for url in run_server(create_server(assistant)):
        response = httpx.post(f"{url}/api/releases", timeout=60, files=[
            ("files", ("kecil.txt", _news_release(1))),
            ("files", ("besar.txt", _news_release(2) + b"x" * 4096))])
    out = response.json()
    assert [r["status"] for r in out["files"]] == ["added", "failed"], out
    assert "over the upload limit" in out["files"][1]["reason"]
    assert out["summary"] == "1 added, 0 updated, 0 unchanged, 0 removed, 1 failed"
    assert not (tmp_path / "uploads" / ".incoming").exists()  # nor its parent, once empty
    assert [p.name for p in (tmp_path / "uploads").iterdir() if p.is_file()] == ["kecil.txt"]
