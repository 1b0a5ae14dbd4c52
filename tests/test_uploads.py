"""Uploaded files: safe distinct names, limits, and only files the page itself received
(a request naming any other server path is refused), through a real served app."""

from __future__ import annotations

from collections.abc import Iterator
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
