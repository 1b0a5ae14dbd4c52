"""Feedback on answers: appended to index/feedback.jsonl, exported as test-set lines that the
evaluation loader (assistant.testset) accepts."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.cli import main
from assistant.errors import AssistantError
from assistant.evaluation import feedback
from assistant.evaluation.testset import load_set

CITATION = {"n": 1, "release_id": "06502a2a286a5647", "title": "Guangxi",
            "date": "2023-09-29", "source": "corpus/guangxi.txt",
            "quote": "Deputi Warsito juga berharap kerja sama vokasi (TVET).",
            "passage": "Selanjutnya, Deputi Warsito juga berharap kerja sama vokasi (TVET).",
            "score": 1.2}
ANSWER = {"question": "what did the deputies propose to Guangxi?",
          "answer": "Deputi Warsito juga berharap kerja sama vokasi (TVET). [1]",
          "refused": False, "citations": [CITATION], "timings_ms": {"total": 1.0}}
REFUSAL = {"question": "Berapa anggaran kerja sama ini?",
           "answer": "Informasi tersebut tidak ditemukan dalam siaran pers yang tersedia.",
           "refused": True, "citations": [], "timings_ms": {}}


def test_record_appends_question_answer_and_citations(tmp_path: Path) -> None:
    path = feedback.feedback_path(tmp_path / "index")
    feedback.record(path, "a1", "up", ANSWER, user="budi")
    feedback.record(path, "a2", "down", REFUSAL, comment="  ada di siaran pers Oktober ",
                    history=["pertanyaan sebelumnya"])
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert path == tmp_path / "index" / "feedback.jsonl"
    assert [r["rating"] for r in rows] == ["up", "down"]
    assert rows[0]["question"] == ANSWER["question"] and rows[0]["answer"] == ANSWER["answer"]
    assert rows[0]["citations"] == [CITATION] and rows[0]["user"] == "budi"
    assert rows[1]["comment"] == "ada di siaran pers Oktober"
    assert rows[1]["history"] == ["pertanyaan sebelumnya"]


def test_a_later_line_for_the_same_answer_wins(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    feedback.record(path, "a1", "up", ANSWER)
    feedback.record(path, "a1", "down", ANSWER, comment="sumber kurang")
    (row,) = feedback.read(path)
    assert row["rating"] == "down" and row["comment"] == "sumber kurang"


def test_bad_rating_and_bad_lines_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    with pytest.raises(AssistantError, match="rating"):
        feedback.record(path, "a1", "meh", ANSWER)  # type: ignore[arg-type]
    with pytest.raises(AssistantError, match="no feedback yet"):
        feedback.read(path)
    path.write_text('{"answer_id": "a1"}\nnot json\n')
    with pytest.raises(AssistantError, match="line 2"):
        feedback.read(path)


def test_concurrent_appends_stay_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    threads = [threading.Thread(target=feedback.record, args=(path, f"a{i}", "up", ANSWER))
               for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(feedback.read(path)) == 20


def test_export_makes_lines_the_evaluation_loader_accepts(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    feedback.record(path, "up-answer", "up", ANSWER)
    feedback.record(path, "up-refusal", "up", REFUSAL)
    feedback.record(path, "down-answer", "down", ANSWER, comment="salah deputi",
                    history=["sebelumnya"])
    feedback.record(path, "down-refusal", "down", REFUSAL, comment="ada jawabannya")
    out = tmp_path / "eval" / "feedback.jsonl"
    result = feedback.export(path, out)
    questions = {q.id: q for q in load_set(out)}
    assert set(questions) == {"fb-up-answer", "fb-up-refusal", "fb-down-answer"}
    good = questions["fb-up-answer"]
    assert good.answerable and good.lang == "en" and good.question == ANSWER["question"]
    assert good.gold_release_ids == ("06502a2a286a5647",)
    assert good.evidence == (CITATION["quote"],)
    assert "feedback:up" in good.tags
    refusal = questions["fb-up-refusal"]
    assert not refusal.answerable and refusal.lang == "id" and not refusal.gold_release_ids
    wrong = questions["fb-down-answer"]
    assert {"needs-review", "follow-up", "feedback:down"} <= set(wrong.tags)
    assert wrong.evidence == ()  # quotes of a wrong answer are not gold evidence
    assert len(result.review) == 2
    assert any("ada jawabannya" in line for line in result.review)


def test_cli_feedback_export(tmp_path: Path) -> None:
    index = tmp_path / "index"
    feedback.record(feedback.feedback_path(index), "a1", "up", ANSWER)
    out = tmp_path / "set.jsonl"
    result = CliRunner().invoke(main, ["feedback", "export", "--out", str(out)],
                                env={"ASSISTANT_INDEX_DIR": str(index)})
    assert result.exit_code == 0, result.output
    assert "1 test-set lines written" in result.output
    assert [q.id for q in load_set(out)] == ["fb-a1"]
    empty = CliRunner().invoke(main, ["feedback", "export", "--out", str(out)],
                               env={"ASSISTANT_INDEX_DIR": str(tmp_path / "none")})
    assert empty.exit_code != 0 and "no feedback yet" in empty.output
