"""The Gradio app served for real on loopback and called with gradio_client; rendering units."""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections.abc import Iterator

import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

from gradio_client import Client  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from assistant.config import Settings  # noqa: E402
from assistant.pipeline import Assistant, build  # noqa: E402
from assistant.types import Answer, Citation  # noqa: E402
from assistant.ui import create_app, render_answer, render_citation  # noqa: E402
from tests.conftest import CORPUS  # noqa: E402

QUESTION = "Apa tiga prioritas yang disampaikan Joko Kusnanto?"
TITLE = "Kemenko PMK Terima Audiensi Daerah Otonomi Guangxi Zhuang RRT"
SCRIPT = "<script>alert(1)</script>"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(assistant: Assistant) -> Iterator[Client]:
    """Serve the app on a free loopback port; yield a client connected to it."""
    port = _free_port()
    app = create_app(assistant)
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        yield Client(f"http://127.0.0.1:{port}/", verbose=False)
    finally:
        app.close()


@pytest.fixture(scope="module")
def sample_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """The app over an index of the sample release, built once with the real e5 model."""
    assistant = build(Settings(index_dir=tmp_path_factory.mktemp("index")))
    report = assistant.ingest([CORPUS])
    assert len(report.added) == 1 and not report.failed
    yield from _serve(assistant)


@pytest.fixture(scope="module")
def empty_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    """The app over an index with no releases in it."""
    yield from _serve(build(Settings(index_dir=tmp_path_factory.mktemp("empty"),
                                     embedder="fake")))


def test_ask_endpoint_returns_cited_json(sample_client: Client) -> None:
    result = sample_client.predict(QUESTION, api_name="/ask")
    assert not result["refused"]
    assert "[1]" in result["answer"]
    assert result["citations"][0]["n"] == 1
    assert any("jaminan sosial" in c["quote"] for c in result["citations"])
    assert {c["title"] for c in result["citations"]} == {TITLE}


def test_chat_endpoint_renders_answer_and_sources(sample_client: Client) -> None:
    rendered = sample_client.predict(QUESTION, api_name="/chat")
    answer, sources = rendered.split("**Sumber**")
    assert "[1]" in answer and "jaminan sosial" in answer
    assert f"1. **{TITLE}** · 2023-09-29 ·" in sources
    assert "> " in sources and "jaminan sosial" in sources


def test_date_filter_excludes_the_release(sample_client: Client) -> None:
    result = sample_client.predict(QUESTION, "2024-01-01", "", api_name="/ask")
    assert result["refused"] and result["citations"] == []


def test_bad_date_is_an_error_saying_the_format(sample_client: Client) -> None:
    with pytest.raises(AppError, match="YYYY-MM-DD"):
        sample_client.predict(QUESTION, "29/9/2023", "", api_name="/ask")


def test_empty_index_chat_says_how_to_add_releases(empty_client: Client) -> None:
    rendered = empty_client.predict(QUESTION, api_name="/chat")
    assert "corpus/" in rendered and "assistant ingest corpus/" in rendered


def test_empty_index_ask_is_an_error_saying_how_to_add_releases(empty_client: Client) -> None:
    with pytest.raises(AppError, match="assistant ingest corpus/"):
        empty_client.predict(QUESTION, api_name="/ask")


def _citation(**fields: object) -> Citation:
    base: dict[str, object] = dict(n=1, release_id="r1", title="Judul", date=None,
                                   source="corpus/r1.txt", quote="Kalimat kutipan.",
                                   passage="Kalimat kutipan.", score=1.0)
    return Citation(**{**base, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["title", "quote", "source"])
def test_release_html_is_escaped(field: str) -> None:
    rendered = render_citation(_citation(**{field: f"Awas {SCRIPT} di sini"}))
    assert "<script>" not in rendered and "</script>" not in rendered
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered


@pytest.mark.parametrize("field", ["title", "quote", "source"])
@pytest.mark.parametrize("text", [
    "**tebal** dan _miring_", "[klik](http://contoh.test)", "# Judul palsu", "`kode`",
    "- butir", "2023. angka", "a | b", "~~coret~~", f"{SCRIPT} <b>x</b>", "<!-- komentar -->",
])
def test_release_markdown_renders_as_plain_text(field: str, text: str) -> None:
    markdown_it = pytest.importorskip("markdown_it")
    rendered = render_citation(_citation(**{field: text}))
    page = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(
        rendered)
    tags = {t for t in ("<a", "<h1", "<code", "<em", "<s>", "<del", "<script", "<b>", "<!--",
                        "<table", "<ul") if t in page}
    assert not tags, page
    assert page.count("<strong>") == 1  # the title's own bold
    assert page.count("<li>") == 1 and page.count("<blockquote>") == 1


def test_answer_keeps_markers_and_lists_sources() -> None:
    citations = (_citation(title=SCRIPT, date=dt.date(2023, 9, 29)), _citation(n=2))
    answer = Answer("q", f"Satu {SCRIPT}. [1] Dua *x*. [2]", False, citations)
    rendered = render_answer(answer)
    assert "[1]" in rendered and "[2]" in rendered and "<script>" not in rendered
    assert "Dua \\*x\\*." in rendered
    assert "1. **&lt;script&gt;alert(1)&lt;/script&gt;** · 2023-09-29 ·" in rendered
    assert "2. **Judul** · tanpa tanggal · corpus/r1.txt" in rendered
