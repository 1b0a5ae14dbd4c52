"""The `assistant` command through click's CliRunner (fake embedder: wiring, not quality)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main
from tests.conftest import write_release


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ASSISTANT_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("ASSISTANT_EMBEDDER", "fake")
    monkeypatch.setenv("ASSISTANT_REFUSAL_THRESHOLD", "0")
    corpus = tmp_path / "corpus"
    write_release(corpus, "rapat.txt")
    return corpus


def test_help_lists_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("ingest", "ask", "serve"):
        assert command in result.output


def test_ingest_summary_and_rerun(env: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["ingest", "-q", str(env)])
    assert first.exit_code == 0, first.output
    assert "1 added, 0 updated, 0 unchanged, 0 removed, 0 failed" in first.output
    second = runner.invoke(main, ["ingest", "-q", str(env)])
    assert "0 added, 0 updated, 1 unchanged" in second.output


def test_ingest_failure_sets_exit_status_and_names_the_file(env: Path) -> None:
    (env / "kosong.txt").write_text("", encoding="utf-8")
    result = CliRunner().invoke(main, ["ingest", "-q", str(env)])
    assert result.exit_code == 1
    assert "kosong.txt" in result.output and "1 added" in result.output


def test_ask_json_has_exactly_the_documented_fields(env: Path) -> None:
    runner = CliRunner()
    runner.invoke(main, ["ingest", "-q", str(env)])
    result = runner.invoke(main, ["ask", "--json", "-k", "3", "anggaran intervensi gizi stunting"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert set(payload) == {"question", "answer", "refused", "short_answer", "citations",
                            "timings_ms", "mode", "model", "sentences", "notice"}
    assert payload["mode"] == "extractive" and payload["model"] is None
    assert [s["citations"] for s in payload["sentences"]] == [[c["n"]] for c in payload["citations"]]
    assert payload["short_answer"] is None  # the extractive answerer gives no short answer
    assert payload["citations"], payload
    for c in payload["citations"]:
        assert set(c) == {"n", "release_id", "title", "date", "source", "url", "quote",
                          "passage", "score"}
        assert c["url"] is None  # the release has no url
        assert c["quote"] in c["passage"] and f"[{c['n']}]" in payload["answer"]
    assert payload["citations"][0]["date"] == "2023-10-02"


def test_front_matter_url_reaches_the_citation_in_ask_json(env: Path) -> None:
    url = "https://www.kemenkopmk.go.id/siaran-pers/rapat-stunting"
    (env / "rapat.txt").unlink()
    write_release(env, "rapat.md", f"---\ntitle: Rapat Stunting\nurl: {url}\n---\n\n"
                  "Rapat membahas anggaran intervensi gizi stunting di 12 provinsi.\n")
    runner = CliRunner()
    assert runner.invoke(main, ["ingest", "-q", str(env)]).exit_code == 0
    result = runner.invoke(main, ["ask", "--json", "anggaran intervensi gizi stunting"])
    payload = json.loads(result.output)
    assert payload["citations"] and {c["url"] for c in payload["citations"]} == {url}


def test_ask_plain_prints_numbered_sources(env: Path) -> None:
    runner = CliRunner()
    runner.invoke(main, ["ingest", "-q", str(env)])
    result = runner.invoke(main, ["ask", "anggaran intervensi gizi stunting"])
    assert "[1] Kemenko PMK Gelar Rapat Koordinasi Stunting (2023-10-02)" in result.output


def test_date_filter_excludes_everything_and_refuses(env: Path) -> None:
    runner = CliRunner()
    runner.invoke(main, ["ingest", "-q", str(env)])
    result = runner.invoke(main, ["ask", "--json", "--since", "2024-01-01", "stunting"])
    payload = json.loads(result.output)
    assert payload["refused"] and payload["citations"] == []


def test_bad_date_is_a_usage_error(env: Path) -> None:
    result = CliRunner().invoke(main, ["ask", "--since", "kemarin", "stunting"])
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output


def test_releases_json_is_what_the_api_lists(env: Path) -> None:
    from assistant.schema import ReleaseOut

    runner = CliRunner()
    runner.invoke(main, ["ingest", "-q", str(env)])
    result = runner.invoke(main, ["releases", "--json"])
    assert result.exit_code == 0, result.output
    rows = [ReleaseOut.model_validate(r) for r in json.loads(result.output)]
    assert [(r.title, r.date, r.chunks) for r in rows] == [
        ("Kemenko PMK Gelar Rapat Koordinasi Stunting", "2023-10-02", 1)]
    assert rows[0].file.endswith("/rapat.txt")


def test_releases_table_has_one_line_per_release_and_a_total(env: Path) -> None:
    write_release(env, "kedua.txt", "Judul Kedua Yang Sangat Panjang " * 4 + "\n\nIsi rilis kedua.\n")
    runner = CliRunner()
    runner.invoke(main, ["ingest", "-q", str(env)])
    lines = runner.invoke(main, ["releases"]).output.splitlines()
    assert lines[0].split() == ["ID", "DATE", "CHUNKS", "TITLE", "SOURCE", "FILE"]
    assert "2023-10-02" in lines[1] and "Rapat Koordinasi Stunting" in lines[1]
    assert lines[1].endswith("/rapat.txt")  # no publisher given: source "-", then the file
    assert lines[2].split()[1] == "-" and "…" in lines[2]  # no date; title cut
    assert lines[-1] == "2 releases, 2 chunks"


def test_releases_and_doctor_help_say_what_they_do() -> None:
    runner = CliRunner()
    assert "GET /api/releases" in runner.invoke(main, ["releases", "--help"]).output
    help_text = runner.invoke(main, ["doctor", "--help"]).output
    assert "exit 1" in help_text and "--repair" in help_text


@pytest.mark.parametrize("args", [
    ["doctor"],  # a folder that holds no index
    ["feedback", "export", "--out", "set.jsonl"],  # a nested group: no feedback yet
    ["eval", "-q"],  # neither a set nor --squad
])
def test_an_assistant_error_is_one_clean_message_from_any_command(env: Path, args: list[str]
                                                                  ) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)  # click reported it; nothing escaped


def test_ask_plain_is_the_shared_plain_rendering(env: Path) -> None:
    from assistant.web.render import terminal_text

    runner = CliRunner()
    runner.invoke(main, ["ingest", "-q", str(env)])
    question = "anggaran intervensi gizi stunting"
    payload = json.loads(runner.invoke(main, ["ask", "--json", question]).output)
    result = runner.invoke(main, ["ask", question])
    plain = result.stdout
    assert plain == terminal_text(payload, "id") + "\n"
    assert result.stderr == "answered by: extractive\n"  # stdout stays the answer alone
    assert '    "' in plain  # each source's quote, indented under it
