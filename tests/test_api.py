"""The REST API served with the chat page: /api/ask is the `assistant ask --json` object,
filters and follow-ups are honoured, login is enforced when enabled, ten users at once each
get their own answer (real e5 model, a real uvicorn server on loopback)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from assistant.config import Settings
from assistant.pipeline import Assistant, build
from assistant.schema import to_json
from assistant.web.auth import Users
from assistant.web.server import create_server
from tests.conftest import (
    run_server,
    write_release,
    write_three_releases,
)

GUANGXI = "what did the deputies propose to Guangxi?"
KEYS = {"question", "answer", "refused", "short_answer", "citations", "timings_ms", "mode",
        "model", "sentences", "notice"}
CITATION_KEYS = {"n", "release_id", "title", "date", "source", "url", "quote", "passage", "score"}


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Assistant:
    """Three releases (Guangxi 2023-09-29, stunting 2023-10-02, vocational 2023-08-10)."""
    folder = write_three_releases(tmp_path_factory.mktemp("corpus"))
    (folder / ".meta.json").write_text('{"source": "Kemenko PMK"}', encoding="utf-8")
    (folder / "vokasi.txt.meta.json").write_text('{"source": "Pemprov Jawa Tengah"}',
                                                 encoding="utf-8")
    root = tmp_path_factory.mktemp("state")
    settings = Settings(index_dir=root / "index", upload_dir=root / "uploads")
    built = build(settings)
    assert len(built.index.ingest([folder]).added) == 3
    return built


@pytest.fixture(scope="module")
def url(assistant: Assistant) -> Iterator[str]:
    yield from run_server(create_server(assistant))


def _ask(url: str, **body: object) -> dict:
    response = httpx.post(f"{url}/api/ask", json=body, timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def test_ask_returns_exactly_the_cli_json(url: str, assistant: Assistant) -> None:
    result = _ask(url, question=GUANGXI)
    assert set(result) == KEYS
    assert result["question"] == GUANGXI and not result["refused"]
    assert all(set(c) == CITATION_KEYS for c in result["citations"])
    expected = to_json(assistant.ask(GUANGXI))
    strip = lambda r: {k: v for k, v in r.items() if k != "timings_ms"}  # noqa: E731
    assert strip(result) == strip(expected)
    quotes = " ".join(c["quote"] for c in result["citations"])
    assert "Nunung" in quotes and "Warsito" in quotes


def test_date_filters_are_honoured(url: str) -> None:
    question = "Berapa anggaran untuk intervensi gizi stunting?"
    assert any("3,5 triliun" in c["quote"] for c in _ask(url, question=question)["citations"])
    before = _ask(url, question=question, until="2023-09-30")
    assert all(c["date"] <= "2023-09-30" for c in before["citations"])
    assert not any("3,5 triliun" in c["quote"] for c in before["citations"])
    after = _ask(url, question=GUANGXI, since="2023-10-01")
    assert all(c["date"] >= "2023-10-01" for c in after["citations"])


def test_source_filter_and_k_are_honoured(url: str, assistant: Assistant) -> None:
    vokasi = next(r.source for r in assistant.index.releases() if "Vokasi" in r.title)
    assert vokasi == "Pemprov Jawa Tengah"
    result = _ask(url, question="pendidikan vokasi", sources=[vokasi], k=1)
    assert result["citations"] and {c["source"] for c in result["citations"]} == {vokasi}
    assert len({c["passage"] for c in result["citations"]}) == 1


def test_history_makes_a_followup_stay_in_context(url: str, assistant: Assistant) -> None:
    guangxi = next(r.id for r in assistant.index.releases() if "Guangxi" in r.title)
    followup = "dan bagaimana dengan pendidikan vokasi?"
    alone = _ask(url, question=followup)
    assert alone["citations"][0]["release_id"] != guangxi
    history = [{"role": "user", "content": GUANGXI}, {"role": "assistant", "content": "..."}]
    result = _ask(url, question=followup, history=history)
    assert result["question"] == followup and result["citations"][0]["release_id"] == guangxi


@pytest.mark.parametrize(("body", "status"), [
    ({}, 422), ({"question": ""}, 422), ({"question": "x", "k": 0}, 422),
    ({"question": "x", "since": "29/9/2023"}, 422),
    ({"question": "x", "history": [{"role": "system", "content": "x"}]}, 422),
    ({"question": "   \n\t"}, 422), ({"question": "kata " * 20_000}, 422),
    ({"question": "x", "history": [{"role": "user", "content": "y" * 5000}]}, 422),
])
def test_invalid_requests_say_what_is_wrong(url: str, body: dict, status: int) -> None:
    response = httpx.post(f"{url}/api/ask", json=body, timeout=30)
    assert response.status_code == status and response.json()["detail"]


def test_without_a_model_written_answers_are_refused_with_how_to_get_one(url: str) -> None:
    for path in ("/api/ask", "/api/ask/stream"):
        response = httpx.post(f"{url}{path}", json={"question": GUANGXI, "mode": "llm"},
                              timeout=60)
        assert response.status_code == 400, response.text
        detail = response.json()["detail"]
        assert "need a language model" in detail and "ASSISTANT_LLM" in detail
        assert "ask in mode extractive" in detail
    quoted = _ask(url, question=GUANGXI, mode="extractive")
    assert quoted["mode"] == "extractive" and quoted["model"] is None and quoted["citations"]
    assert httpx.get(f"{url}/api/health", timeout=30).json()["modes"] == ["extractive"]


@pytest.mark.parametrize(("body", "field"), [
    ('{"question": "x", "k": NaN}', "k"), ('{"question": "x", "k": Infinity}', "k"),
    ('{"question": "x", "k": -Infinity}', "k"), ('{"question": NaN}', "question"),
    ('{"question": "x", "k": 1e400}', "k"), ('{"question": "x", "since": NaN}', "since"),
    ('{"question": "x", "history": [NaN]}', "history")])
def test_a_nan_or_infinity_is_refused_not_a_crash(url: str, body: str, field: str) -> None:
    # before: 500 (the validation error echoed the NaN, which JSON cannot carry)
    response = httpx.post(f"{url}/api/ask", content=body, timeout=30,
                          headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][:2] == ["body", field]


def test_releases_lists_the_index(url: str) -> None:
    releases = httpx.get(f"{url}/api/releases", timeout=30).json()
    assert [r["date"] for r in releases] == ["2023-10-02", "2023-09-29", "2023-08-10"]
    assert set(releases[0]) == {"id", "title", "date", "chunks", "source", "file"}
    assert all(r["chunks"] >= 1 for r in releases)
    # the source is the publisher; the file is named for administrators only
    assert [r["source"] for r in releases] == ["Kemenko PMK", "Kemenko PMK",
                                               "Pemprov Jawa Tengah"]
    assert [Path(r["file"]).name for r in releases] == ["stunting.txt", "guangxi.txt",
                                                        "vokasi.txt"]


def test_openapi_docs_describe_the_api(url: str) -> None:
    schema = httpx.get(f"{url}/openapi.json", timeout=30).json()
    assert {"/api/ask", "/api/releases"} <= set(schema["paths"])
    page = httpx.get(f"{url}/docs", timeout=30)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "POST /api/ask" in page.text and "history" in page.text
    assert "cdn" not in page.text.lower()  # works offline


def test_the_chat_page_is_served_at_the_root(url: str) -> None:
    page = httpx.get(f"{url}/", timeout=30)
    assert page.status_code == 200 and "<html" in page.text.lower()


QUESTIONS = {
    "Apa tiga prioritas yang disampaikan Joko Kusnanto?": "jaminan sosial",
    "Kapan CAHRSE diselenggarakan?": "3-4 November 2023",
    GUANGXI: "Warsito",
    "Berapa anggaran untuk intervensi gizi stunting?": "3,5 triliun",
    "Siapa yang memimpin rapat koordinasi percepatan penurunan stunting?": "Budi Santoso",
    "Berapa SMK percontohan yang disiapkan Jawa Tengah?": "50 SMK",
    "Di kota mana CAHRSE akan diselenggarakan?": "Nanning",
    "Pendidikan vokasi harus terhubung dengan apa?": "dunia usaha",
    "Apa harapan Nunung tentang perlindungan sosial?": "perlindungan sosial yang adaptif",
    "Undangan apa yang disampaikan Guangxi kepada Menko PMK?": "sambutan pembuka",
}


def test_ten_concurrent_users_each_get_their_own_answer(url: str) -> None:
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = dict(zip(QUESTIONS, pool.map(lambda q: _ask(url, question=q), QUESTIONS),
                           strict=True))
    for question, expected in QUESTIONS.items():
        result = results[question]
        assert result["question"] == question
        assert not result["refused"], question
        assert expected in result["answer"], (question, result["answer"])


@pytest.fixture(scope="module")
def login_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("login")
    users = Users(root / "users")
    users.add("budi", "kata-sandi-1")
    # these tests send wrong passwords on purpose; test_server.py tests the throttle
    settings = Settings(index_dir=root / "index", embedder="fake", upload_dir=root / "up",
                        login_max_failures=100)
    built = build(settings)
    built.index.ingest([write_release(root / "corpus", "stunting.txt")])
    yield from run_server(create_server(built, users))


@pytest.mark.parametrize("path", ["/api/releases", "/docs", "/openapi.json"])
def test_login_is_enforced_on_the_api(login_url: str, path: str) -> None:
    assert httpx.get(f"{login_url}{path}", timeout=30).status_code == 401
    wrong = httpx.get(f"{login_url}{path}", auth=("budi", "salah-sandi"), timeout=30)
    assert wrong.status_code == 401 and "Basic" in wrong.headers["www-authenticate"]
    assert httpx.get(f"{login_url}{path}", auth=("budi", "kata-sandi-1"),
                     timeout=30).status_code == 200


def test_login_is_enforced_on_ask(login_url: str) -> None:
    body = {"question": "Berapa anggaran stunting?"}
    assert httpx.post(f"{login_url}/api/ask", json=body, timeout=30).status_code == 401
    ok = httpx.post(f"{login_url}/api/ask", json=body, auth=("budi", "kata-sandi-1"),
                    timeout=60)
    assert ok.status_code == 200 and set(ok.json()) == KEYS


def test_login_is_enforced_on_the_chat_page(login_url: str) -> None:
    config = httpx.get(f"{login_url}/config", timeout=30)
    assert config.status_code == 401
    with httpx.Client(base_url=login_url, timeout=30) as client:
        bad = client.post("/login", data={"username": "budi", "password": "salah"})
        assert bad.status_code >= 400
        good = client.post("/login", data={"username": "budi", "password": "kata-sandi-1"})
        assert good.status_code == 200, good.text
        assert client.get("/config").status_code == 200


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/api/releases/x"), ("DELETE", "/api/releases/x"), ("GET", "/api/health"),
    ("POST", "/api/releases"),
])
def test_login_is_enforced_on_the_release_routes(login_url: str, method: str, path: str) -> None:
    assert httpx.request(method, f"{login_url}{path}", timeout=30).status_code == 401
    wrong = httpx.request(method, f"{login_url}{path}", auth=("budi", "salah"), timeout=30)
    assert wrong.status_code == 401
    right = httpx.request(method, f"{login_url}{path}", auth=("budi", "kata-sandi-1"),
                          timeout=30)
    assert right.status_code != 401


# release routes: detail with the exact text, upload, delete, health ---------------------------

LONG_PARAGRAPH = " ".join(
    f"Kalimat nomor {i} menjelaskan program perlindungan sosial adaptif di daerah {i}."
    for i in range(60))  # 600+ words: chunking cuts it at sentences
FRONT_MATTER = f"""---
title: Siaran Pers Perlindungan Sosial Adaptif
subtitle: Rapat koordinasi lintas kementerian
date: 2023-11-02
url: https://www.kemenkopmk.go.id/siaran-pers/perlinsos-adaptif
---

Jakarta (2/11/2023) - Kemenko PMK menggelar rapat koordinasi perlindungan sosial adaptif.

{LONG_PARAGRAPH}

Rapat ditutup dengan kesepakatan membentuk tim kerja bersama.
"""


@pytest.fixture(scope="module")
def writable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Assistant]]:
    root = tmp_path_factory.mktemp("writable")
    settings = Settings(index_dir=root / "index", embedder="fake", upload_dir=root / "up",
                        refusal_threshold=0.0)
    built = build(settings)
    built.index.ingest([write_release(root / "corpus", "stunting.txt")])
    for url in run_server(create_server(built)):
        yield url, built


def _upload(url: str, *files: tuple[str, bytes]) -> httpx.Response:
    return httpx.post(f"{url}/api/releases", timeout=60,
                      files=[("files", (name, data)) for name, data in files])


def test_upload_then_detail_returns_the_exact_long_paragraph(
        writable: tuple[str, Assistant]) -> None:
    url, _ = writable
    response = _upload(url, ("perlinsos.md", FRONT_MATTER.encode()), ("rusak.pdf", b"%PDF-x"))
    assert response.status_code == 200, response.text
    rows = {r["file"]: r for r in response.json()["files"]}
    assert rows["perlinsos.md"]["status"] == "added"
    assert rows["rusak.pdf"]["status"] == "failed" and rows["rusak.pdf"]["reason"]
    listed = httpx.get(f"{url}/api/releases", timeout=30).json()
    rid = next(r["id"] for r in listed if r["title"].startswith("Siaran Pers Perlindungan"))
    detail = httpx.get(f"{url}/api/releases/{rid}", timeout=30).json()
    assert detail["url"] == "https://www.kemenkopmk.go.id/siaran-pers/perlinsos-adaptif"
    assert detail["subtitle"] == "Rapat koordinasi lintas kementerian"
    assert detail["date"] == "2023-11-02"
    assert LONG_PARAGRAPH in detail["paragraphs"]  # nothing cut: 600+ words come back whole
    assert len(LONG_PARAGRAPH.split()) > 500
    answer = _ask(url, question="perlindungan sosial adaptif daerah 42")
    cited = [c for c in answer["citations"] if c["release_id"] == rid]
    assert cited and all(c["url"] == detail["url"] for c in cited)


def test_citation_url_is_null_when_the_release_has_none(writable: tuple[str, Assistant]) -> None:
    url, _ = writable
    answer = _ask(url, question="rapat koordinasi percepatan penurunan stunting")
    stunting = [c for c in answer["citations"] if "Stunting" in c["title"]]
    assert stunting and all(c["url"] is None for c in stunting)


def test_upload_limits_and_names_match_the_page(writable: tuple[str, Assistant]) -> None:
    url, assistant = writable
    too_many = _upload(url, *[(f"r{i}.txt", b"Judul\n\nIsi.") for i in range(
        assistant.settings.upload_max_files + 1)])
    assert too_many.status_code == 400 and "ASSISTANT_UPLOAD_MAX_FILES" in too_many.text
    odd = _upload(url, ("../../etc/evil 11.txt", b"Judul A\n\nIsi rilis A tentang gizi."),
                  ("evil_11.txt", b"Judul B\n\nIsi rilis B tentang vaksin."),
                  ("catatan.exe", b"MZ"))
    rows = odd.json()["files"]
    assert [r["status"] for r in rows] == ["added", "added", "failed"]
    saved = sorted(p.name for p in Path(assistant.settings.upload_dir).iterdir())
    assert "evil_11.txt" in saved and "evil_11-2.txt" in saved  # never a silent replace
    assert "unsupported file type" in rows[2]["reason"]


def test_delete_removes_the_release_and_its_upload(writable: tuple[str, Assistant]) -> None:
    url, assistant = writable
    _upload(url, ("hapus.txt", b"Rilis yang akan dihapus\n\nIsi tentang banjir bandang."))
    rid = next(r.id for r in assistant.index.releases() if r.title.startswith("Rilis yang"))
    assert httpx.delete(f"{url}/api/releases/{rid}", timeout=30).status_code == 204
    assert httpx.get(f"{url}/api/releases/{rid}", timeout=30).status_code == 404
    assert httpx.delete(f"{url}/api/releases/{rid}", timeout=30).status_code == 404
    assert not (Path(assistant.settings.upload_dir) / "hapus.txt").exists()


def test_health_says_what_this_process_serves(writable: tuple[str, Assistant]) -> None:
    url, assistant = writable
    health = httpx.get(f"{url}/api/health", timeout=30).json()
    state = assistant.index.refresh(force=True)
    assert health["status"] == "ok" and health["releases"] == len(state.catalog)
    assert health["embedder"] == "fake:hashed-bow-64" == health["index_embedder"]
    assert health["refusal_threshold"] == 0.0
    assert health["refusal_threshold_source"] == "ASSISTANT_REFUSAL_THRESHOLD"
    assert health["generation"] == state.generation and health["chunks"] >= 1
