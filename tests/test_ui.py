"""The Gradio app served for real on loopback and called with gradio_client; rendering units."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from collections.abc import Iterator

import pytest

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

from gradio_client import Client  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

from assistant.config import Settings  # noqa: E402
from assistant.pipeline import Assistant, build  # noqa: E402
from assistant.schema import citation_out, to_json  # noqa: E402
from assistant.types import Answer, Citation  # noqa: E402
from assistant.web.render import answer_markdown, release_markdown  # noqa: E402
from assistant.web.ui import create_app  # noqa: E402
from tests.conftest import CORPUS, write_release  # noqa: E402

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
    report = assistant.index.ingest([CORPUS])
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
    assert sources.strip().startswith("- [1] ") and f"**{TITLE}** · 2023-09-29 ·" in sources
    assert sources.count(TITLE) == 1  # one release: its title once, its quotes beneath
    assert "> [1] " in sources and "jaminan sosial" in sources


def test_endpoints_take_the_answer_mode_and_say_it(sample_client: Client) -> None:
    quoted = sample_client.predict(QUESTION, "", "", "extractive", api_name="/ask")
    assert (quoted["mode"], quoted["model"]) == ("extractive", None) and quoted["citations"]
    assert sample_client.predict(QUESTION, api_name="/chat").endswith("_Mode: kutipan kalimat_")
    with pytest.raises(AppError, match="need a language model.*ASSISTANT_LLM"):
        sample_client.predict(QUESTION, "", "", "llm", api_name="/ask")


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


def render_citation(citation: Citation) -> str:
    return release_markdown([citation_out(citation).model_dump(mode="json")], "id", quotes=True)


def render_answer(answer: Answer) -> str:
    return answer_markdown(to_json(answer))


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
                        "<table", "<ol") if t in page}
    assert not tags, page
    assert page.count("<strong>") == 1  # the title's own bold
    assert page.count("<li>") == 1 and page.count("<blockquote>") == 1  # the list is ours
    assert page.count("<ul>") == 1


def test_answer_keeps_markers_and_lists_sources() -> None:
    citations = (_citation(title=SCRIPT, date=dt.date(2023, 9, 29)),
                 _citation(n=2, release_id="r2"), _citation(n=3, quote="Kutipan ketiga."))
    answer = Answer("q", f"Satu {SCRIPT}. [1] Dua *x*. [2] Tiga. [3]", False, citations)
    rendered = render_answer(answer)
    assert "[1]" in rendered and "[2]" in rendered and "<script>" not in rendered
    assert "Dua \\*x\\*." in rendered
    # citations of one release are grouped under its title, in order of first citation
    assert "- [1] [3] **&lt;script&gt;alert(1)&lt;/script&gt;** · 2023-09-29 ·" in rendered
    assert "> [3] Kutipan ketiga." in rendered
    assert "- [2] **Judul** · tanpa tanggal · corpus/r1.txt" in rendered
    assert rendered.index("[1] [3]") < rendered.index("- [2]")


# the staff page: evidence panel, briefing text, export, uploads, languages ------------------

from pathlib import Path  # noqa: E402

from assistant.index.indexer import IngestReport  # noqa: E402
from assistant.pipeline import build as build_assistant  # noqa: E402
from assistant.web.evidence import evidence_html, highlight  # noqa: E402
from assistant.web.handlers import ChatHandlers, ConversationHandlers  # noqa: E402
from assistant.web.i18n import GRADIO, TEXT  # noqa: E402
from assistant.web.release_admin import ReleaseHandlers  # noqa: E402
from assistant.web.render import (  # noqa: E402
    chat_messages,
    conversation_markdown,
    plain_text,
    reply_markdown,
)
from assistant.web.ui import _labels  # noqa: E402
from assistant.web.uploads import file_results  # noqa: E402

PASSAGE = f"Paragraf satu {SCRIPT}.\n\nKalimat kutipan <b>tebal</b>. Kalimat lain."
ANSWER_JSON = {"question": f"Tanya {SCRIPT}?", "answer": "Kalimat kutipan <b>tebal</b>. [1]",
               "refused": False, "timings_ms": {},
               "citations": [{"n": 1, "release_id": "r1", "title": f"Judul {SCRIPT}",
                              "date": "2023-09-29", "source": "corpus/<i>r1</i>.txt",
                              "quote": "Kalimat kutipan <b>tebal</b>.", "passage": PASSAGE,
                              "score": 1.0}]}


def test_highlight_marks_the_quote_inside_its_escaped_passage() -> None:
    html = highlight(PASSAGE, "Kalimat kutipan <b>tebal</b>.")
    assert html == ("<p>Paragraf satu &lt;script&gt;alert(1)&lt;/script&gt;.</p>"
                    "<p><mark>Kalimat kutipan &lt;b&gt;tebal&lt;/b&gt;.</mark> Kalimat lain.</p>")
    assert "<mark>" not in highlight(PASSAGE, "tidak ada")


def test_evidence_panel_escapes_everything_and_shows_the_latest_answer() -> None:
    older = {**ANSWER_JSON, "question": "lama"}
    page = evidence_html([older, None, ANSWER_JSON], "id", {"r1": ["Seluruh", PASSAGE]})
    assert "<script" not in page and "<b>" not in page and "<i>" not in page
    assert "Judul &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "id='ev-2-1'" in page and "id='ev-0-1'" in page
    assert "data-turn='0' hidden" in page and "data-turn='2'>" in page
    assert "Buka siaran pers lengkap" in page and "<p>Seluruh</p>" in page
    assert page.count("<mark>") == 4  # passage and whole release, in both answers
    assert "2023-09-29" in page and "corpus/&lt;i&gt;r1&lt;/i&gt;.txt" in page
    assert "Open the whole release" in evidence_html([ANSWER_JSON], "en", {"r1": ["x"]})
    assert "Sumber jawaban terakhir" in evidence_html([], "id", {})


def test_plain_text_for_a_briefing_note() -> None:
    text = plain_text(ANSWER_JSON, "id")
    assert text.splitlines() == [
        f"Pertanyaan: Tanya {SCRIPT}?", "Jawaban: Kalimat kutipan <b>tebal</b>. [1]", "",
        "Sumber:", f"[1] Judul {SCRIPT} (2023-09-29), corpus/<i>r1</i>.txt",
        '    "Kalimat kutipan <b>tebal</b>."']
    assert plain_text(ANSWER_JSON, "en").startswith("Question: ")


def _turn(question: str = "q", answer: dict | None = None, **fields: object) -> dict:
    return {"id": question, "question": question, "answer": answer, "history": [],
            "filters": {"since": "", "until": "", "sources": []}, **fields}


def test_conversation_markdown_export_is_inert_and_reads_as_written() -> None:
    markdown_it = pytest.importorskip("markdown_it")
    amp = {**ANSWER_JSON, "answer": "Kemenko PMK & BNPB: R&D &amp; <b>tebal</b>. [1]"}
    document = conversation_markdown([
        _turn(ANSWER_JSON["question"], amp),
        _turn("kedua", error="index gone & <b>x</b>"),
        _turn("ketiga", problem={"key": "bad_date", "field": "since", "value": "29/9"})], "id")
    assert document.startswith("# Asisten Siaran Pers Kemenko PMK")
    assert "## 1. Tanya \\<script\\>" in document and "## 2. kedua" in document
    assert "[1]" in document and "> [1] Kalimat kutipan" in document
    assert "&amp;" not in document.replace("\\&amp;", "")  # no HTML entities of ours
    assert "Kemenko PMK & BNPB: R&D \\&amp; \\<b\\>tebal\\</b\\>. [1]" in document
    assert "⚠️ index gone & \\<b\\>x\\</b\\>" in document
    assert "kolom Sejak tidak terbaca: “29/9”" in document
    page = markdown_it.MarkdownIt("commonmark").render(document)
    assert "<script" not in page and "<b>" not in page
    assert "R&amp;D &amp;amp; &lt;b&gt;tebal" in page  # a viewer shows the text as written


def test_a_reply_is_rendered_in_the_language_asked_for() -> None:
    turns = [_turn("q", ANSWER_JSON), _turn("r", problem={"key": "empty_index"}),
             _turn("s", problem={"key": "bad_date", "field": "until", "value": "<b>x"})]
    indonesian, english = chat_messages(turns, "id"), chat_messages(turns, "en")
    assert [m["role"] for m in english] == ["user", "assistant"] * 3
    assert "**Sumber**" in indonesian[1]["content"] and "**Sources**" in english[1]["content"]
    assert "Belum ada siaran pers" in indonesian[3]["content"]
    assert "There are no press releases" in english[3]["content"]
    assert "kolom Sampai tidak terbaca: “&lt;b&gt;x”" in indonesian[5]["content"]
    assert english[5]["content"] == ("⚠️ The Until date cannot be read: “&lt;b&gt;x”. Write it "
                                     "as YYYY-MM-DD, for example 2023-09-29, or leave it empty.")
    assert "since" not in indonesian[5]["content"]


REFUSAL = {"question": "Apa anggaran 2031?", "answer": "Maaf, tidak ditemukan.", "refused": True,
           "citations": [], "timings_ms": {}}


def test_a_refusal_under_filters_says_they_may_be_why() -> None:
    filtered = _turn("q", REFUSAL, filters={"since": "2024-01-01", "until": "",
                                            "sources": ["Kemenko PMK", "<b>BNPB</b>"]})
    shown = reply_markdown(filtered, "id")
    assert shown.startswith("Maaf, tidak ditemukan.\n\n_ℹ️ Saringan aktif: sejak 2024-01-01; "
                            "sumber Kemenko PMK, &lt;b&gt;BNPB&lt;/b&gt;.")
    assert "kosongkan **Saring**" in shown
    assert "Filters on: since 2024-01-01" in reply_markdown(filtered, "en")
    assert "Saringan" not in reply_markdown(_turn("q", REFUSAL), "id")  # no filter, no note
    answered = _turn("q", ANSWER_JSON, filters=filtered["filters"])
    assert "Saringan" not in reply_markdown(answered, "id")  # an answer needs no excuse


def test_english_questions_hear_why_the_quotes_are_indonesian() -> None:
    english = {**ANSWER_JSON, "question": "what did the deputies propose?", "mode": "extractive"}
    note = reply_markdown(_turn("q", english), "id").split("\n\n")[0]
    assert note == "_ℹ️ Kutipan berbahasa Indonesia, bahasa siaran pers._"
    with_llm = reply_markdown(_turn("q", english), "en", llm=True).split("\n\n")[0]
    assert with_llm == ("_ℹ️ The quotes are in Indonesian, the language of the releases. For an "
                        "answer written in English, choose the written answer (language model)._")
    failed = {**english, "notice": "The model failed"}  # the LLM just failed: no pointer to it
    assert "choose the written answer" not in reply_markdown(_turn("q", failed), "en", llm=True)
    for quiet in ({**english, "mode": "llm"}, {**english, "question": "apa usulan deputi?"},
                  {**REFUSAL, "question": "what is the 2031 budget?"}):
        assert "ℹ️" not in reply_markdown(_turn("q", quiet), "en", llm=True)


def test_each_reply_says_which_mode_and_model_produced_it() -> None:
    written = {**ANSWER_JSON, "mode": "llm", "model": f"qwen_2.5 {SCRIPT}"}
    shown = reply_markdown(_turn("q", written), "en")
    assert shown.endswith("\n\n_Mode: written answer · model qwen\\_2.5 "
                          "&lt;script&gt;alert(1)&lt;/script&gt;_")
    assert reply_markdown(_turn("q", ANSWER_JSON), "id").endswith("_Mode: kutipan kalimat_")
    refused = reply_markdown(_turn("q", {**REFUSAL, "mode": "reader"}), "en")
    assert refused.endswith("_Mode: quoted sentences (trained reader)_")
    document = conversation_markdown([_turn("q", written)], "id")
    assert "_Mode: jawaban tertulis · model qwen\\_2.5 \\<script\\>" in document
    assert "Mode" not in reply_markdown(_turn("r", problem={"key": "empty_index"}), "en")


def test_an_unknown_publisher_is_left_out_not_shown_empty() -> None:
    unknown = {**ANSWER_JSON, "citations": [{**ANSWER_JSON["citations"][0], "source": ""}]}
    assert "· 2023-09-29\n" in answer_markdown(unknown, "id", quotes=True) + "\n"
    assert "(2023-09-29)\n" in plain_text(unknown, "id")
    assert "ev-source" not in evidence_html([unknown], "id", {})


def test_chat_message_lists_sources_without_quotes() -> None:
    compact = answer_markdown(ANSWER_JSON, "id", quotes=False)
    assert "**Sumber**" in compact and "- [1] **Judul" in compact and "> " not in compact


def test_language_labels_cover_every_key_and_component() -> None:
    assert set(TEXT["id"]) == set(TEXT["en"]) and set(GRADIO["id"]) == set(GRADIO["en"])
    assert len(_labels("en", "x")) == len(_labels("id", "x")) == 31
    switch = _labels("en", "x", modes=("llm", "extractive"))[-1]
    assert switch["label"] == "Answer mode" and switch["choices"] == [
        ("Written answer (language model)", "llm"), ("Quoted sentences", "extractive")]


def _assistant(tmp_path: Path, **limits: object) -> Assistant:
    """A real (fake-embedder) assistant."""
    settings = Settings(index_dir=tmp_path / "index", embedder="fake",
                        upload_dir=tmp_path / "uploads", **limits)  # type: ignore[arg-type]
    return build_assistant(settings)


def _upload_handlers(tmp_path: Path, **limits: object) -> tuple[ReleaseHandlers, Assistant]:
    """The Releases tab's handlers over a real (fake-embedder) assistant."""
    assistant = _assistant(tmp_path, **limits)
    return ReleaseHandlers(assistant), assistant


def test_upload_refuses_too_many_files_with_a_clear_message(tmp_path: Path) -> None:
    import gradio as gr

    handlers, assistant = _upload_handlers(tmp_path, upload_max_files=2)
    files = [str(write_release(tmp_path / "in", f"r{i}.txt")) for i in range(3)]
    with pytest.raises(gr.Error, match="3 dipilih, paling banyak 2"):
        handlers.upload(files, "id", "", progress=lambda *a, **k: None)  # type: ignore[arg-type]
    assert assistant.index.releases() == []


def test_upload_skips_files_over_the_size_limit(tmp_path: Path) -> None:
    handlers, assistant = _upload_handlers(tmp_path, upload_max_mb=0.001)
    small = write_release(tmp_path / "in", "kecil.txt", "Judul\n\nIsi.\n")
    large = write_release(tmp_path / "in", "besar laporan.txt", "x" * 5000)
    results, _, _, summary = handlers.upload([str(small), str(large)], "en", "",
                                             progress=lambda *a, **k: None)  # type: ignore[arg-type]
    assert [Path(r.file).name for r in assistant.index.releases()] == ["kecil.txt"]
    assert sorted(p.name for p in (tmp_path / "uploads").iterdir()) == ["kecil.txt"]
    assert results["visible"] and summary == "1 added, 0 updated, 0 unchanged, 1 failed."
    (row,) = [r for r in results["value"]["data"] if r[0] == "besar_laporan.txt"]
    assert row[1] == "failed" and "upload limit of 0.001 MB" in row[2]
    assert "ASSISTANT_UPLOAD_MAX_MB" in row[2]


def test_file_rows_give_status_and_reason_per_file(tmp_path: Path) -> None:
    from assistant.ingest.releases import source_for

    good, bad = tmp_path / "up/a.txt", tmp_path / "up/b.pdf"
    report = IngestReport(files={source_for(good): "updated", source_for(bad): "failed"},
                          failed=["`b.pdf`: no text layer (scanned image?); run OCR"])
    rows = file_results(report, [("a.txt", good), ("b b.pdf", bad)])
    assert [(r.file, r.status, r.reason) for r in rows] == [
        ("a.txt", "updated", ""),
        ("b b.pdf → b.pdf", "failed", "`b.pdf`: no text layer (scanned image?); run OCR")]


def test_thumbs_and_comment_append_feedback(tmp_path: Path) -> None:
    import gradio as gr

    handlers = ConversationHandlers(_assistant(tmp_path))
    turns = [{"id": "t0", "question": ANSWER_JSON["question"], "answer": ANSWER_JSON,
              "history": []}]
    liked = gr.LikeData(None, {"index": 1, "value": "x", "liked": False})
    pending, row, status = handlers.like(turns, "id", liked, None)  # type: ignore[arg-type]
    assert pending == {"turn": 0, "id": "t0", "rating": "down"}
    assert status.startswith("Terima kasih")
    handlers.comment("sumber salah", pending, turns, "id", None)  # type: ignore[arg-type]
    rows = [json.loads(line) for line in handlers.feedback_file.read_text().splitlines()]
    assert [r["rating"] for r in rows] == ["down", "down"] and rows[1]["comment"] == "sumber salah"
    assert rows[0]["question"] == ANSWER_JSON["question"]
    assert rows[0]["citations"] == ANSWER_JSON["citations"]
    assert handlers.feedback_file == tmp_path / "index" / "feedback.jsonl"
    # after the chat was cleared, a comment left open is not filed under another question
    later = [{"id": "t1", "question": "lain", "answer": ANSWER_JSON, "history": []}]
    assert handlers.comment("basi", pending, later, "id", None)[1]["visible"] is False  # type: ignore[arg-type]
    assert len(handlers.feedback_file.read_text().splitlines()) == 2


def test_copy_and_export_give_plain_text_and_markdown(tmp_path: Path) -> None:
    import gradio as gr

    handlers = ConversationHandlers(_assistant(tmp_path))
    turns = [_turn("q", ANSWER_JSON), _turn("r", error="broken")]
    assert handlers.copy_text(turns, "id")["value"] == plain_text(ANSWER_JSON, "id")
    with pytest.raises(gr.Error):
        handlers.copy_text([], "en")
    exported = Path(handlers.export(turns, "id")["value"])
    assert exported.suffix == ".md" and "## 1. q" in exported.read_text()
    assert "## 2. r\n\n⚠️ broken" in exported.read_text()


class _StreamingIndex:
    def releases(self) -> list[str]:
        return ["r1"]

    def release(self, release_id: str):  # type: ignore[no-untyped-def]
        from assistant.types import IndexedRelease, StoredRelease

        return StoredRelease(IndexedRelease("r1", "h", "s", "Judul", None, 1), ("Seluruh isi.",))


class _StreamingAssistant:
    """An assistant whose answer stage streams word by word, recording the history given."""

    modes = ["llm", "extractive"]

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.index = _StreamingIndex()
        self.histories: list[list[str]] = []
        self.answer_modes: list[str | None] = []

    def ask_stream(self, question, since=None, until=None, history=(), sources=None,  # type: ignore[no-untyped-def]
                   answer_mode=None):
        self.histories.append(list(history))
        self.answer_modes.append(answer_mode)
        words = [f"kata{i} " for i in range(20)]
        yield from words
        yield Answer(question, f"{''.join(words)}[1]", False,
                     (_citation(passage="".join(words)),))


def test_respond_streams_what_the_answer_stage_yields(tmp_path: Path) -> None:
    settings = Settings(index_dir=tmp_path / "index", embedder="fake")
    fake = _StreamingAssistant(settings)
    handlers = ChatHandlers(fake)  # type: ignore[arg-type]
    steps = list(handlers.respond("pertama?", [], "id", "", "", None))
    contents = [messages[-1]["content"] for messages, *_ in steps]
    assert contents[0] == "Mencari di siaran pers…"
    partial = contents[1:-1]
    assert len(partial) == 20 and all(c.endswith("…") for c in partial)
    assert all(len(a) < len(b) for a, b in zip(partial, partial[1:], strict=False))
    messages, box, evidence, turns = steps[-1]
    assert "[1]" in contents[-1] and "**Sumber**" in contents[-1] and box == ""
    assert "ev-card" in evidence and "Seluruh isi." in evidence
    *_, (_, _, _, turns) = handlers.respond("dan bagaimana?", turns, "id", "", "", None,
                                            "extractive")
    assert fake.histories == [[], ["pertama?"]]
    assert fake.answer_modes == [None, "extractive"]  # the switch's choice, per question
    assert [turn["mode"] for turn in turns] == [None, "extractive"]


def test_extractive_answer_arrives_whole_without_replay(tmp_path: Path) -> None:
    assistant = _assistant(tmp_path, refusal_threshold=0.0)
    handlers = ChatHandlers(assistant)
    assistant.index.ingest([write_release(tmp_path / "in", "a.txt")])
    steps = list(handlers.respond("rapat koordinasi stunting", [], "id", "", "", None))
    assert len(steps) == 2  # "searching…", then the finished answer: nothing replayed
    assert "[1]" in steps[-1][0][-1]["content"]


def test_unsupported_sentences_are_marked_and_stay_inert() -> None:
    answer = {**ANSWER_JSON, "mode": "llm", "model": "m", "notice": None,
              "answer": f"Didukung. [1] Tidak {SCRIPT}. [1]",
              "sentences": [{"text": "Didukung.", "citations": [1], "supported": True},
                            {"text": f"Tidak {SCRIPT} *x*.", "citations": [1],
                             "supported": False}]}
    rendered = answer_markdown(answer, "en", quotes=False)
    assert rendered.startswith("Didukung. [1] <span class='unsupported'")
    assert "⚠ not supported by the sources</span></span>" in rendered
    assert "<script>" not in rendered and "Tidak &lt;script&gt;" in rendered
    assert "\\*x\\*" in rendered
    assert "Tidak <script>alert(1)</script> *x*. [1] (⚠ tidak didukung sumber)" in \
        plain_text(answer, "id")
    fallback = {**ANSWER_JSON, "notice": f"The model failed {SCRIPT}"}
    shown = answer_markdown(fallback, "en")
    assert shown.startswith("_ℹ️ The model failed &lt;script&gt;") and "<script>" not in shown


def test_a_bad_date_becomes_a_message_in_the_pages_language(tmp_path: Path) -> None:
    assistant = _assistant(tmp_path)
    assistant.index.ingest([write_release(tmp_path / "in", "a.txt")])
    handlers = ChatHandlers(assistant)
    *_, (messages, box, _, turns) = handlers.respond("rapat?", [], "id", "29/9/2023", "", None)
    assert messages[-1]["content"].startswith("⚠️ Tanggal di kolom Sejak tidak terbaca: "
                                              "“29/9/2023”. Tulis dengan format YYYY-MM-DD")
    assert turns[0]["problem"] == {"key": "bad_date", "field": "since", "value": "29/9/2023"}
    english, _ = handlers.relabel(turns, "en")
    assert english[-1]["content"].startswith("⚠️ The Since date cannot be read")
