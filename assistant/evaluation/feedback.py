"""Staff feedback on answers: append to index/feedback.jsonl, export as test-set lines.

Each thumbs up/down (and each comment sent after it) appends one JSON line with the question,
the answer and its citations; the last line of an answer wins. `export` turns the ratings
into lines of the evaluation test-set format (eval/README.md, assistant/testset.py) for
evaluators to review:

- a thumbs up on an answer: answerable, gold = the cited releases, evidence = the quotes;
- a thumbs up on a refusal: unanswerable;
- a thumbs down on an answer: answerable, gold = the cited releases, tagged `needs-review`
  (the staff member said the answer is wrong: evaluators correct the gold or make it
  unanswerable);
- a thumbs down on a refusal has no gold to offer and is listed for review, not exported.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from assistant.errors import AssistantError
from assistant.jsonl import records
from assistant.lexical import detect_language

Rating = Literal["up", "down"]
_write_lock = threading.Lock()  # appends from concurrent requests stay whole lines


def feedback_path(index_dir: Path) -> Path:
    """Where feedback is kept: index/feedback.jsonl."""
    return Path(index_dir) / "feedback.jsonl"


def record(path: Path, answer_id: str, rating: Rating, answer: Mapping[str, Any],
           comment: str = "", user: str | None = None, history: Sequence[str] = ()) -> dict:
    """Append one feedback line; answer is the `assistant ask --json` object."""
    if rating not in ("up", "down"):
        raise AssistantError(f"rating {rating!r}: use 'up' or 'down'")
    row = {
        "answer_id": answer_id, "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "user": user, "rating": rating, "comment": comment.strip(),
        "question": answer["question"], "history": list(history),
        "answer": answer["answer"], "refused": answer["refused"],
        "citations": list(answer["citations"]),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(row, ensure_ascii=False) + "\n"
    with _write_lock, path.open("a", encoding="utf-8") as out:
        out.write(line)
    return row


def read(path: Path) -> list[dict[str, Any]]:
    """The latest feedback per answer, in the order answers were first rated."""
    if not path.exists():
        raise AssistantError(f"{path}: no feedback yet; staff add it with the thumbs in the "
                             "web chat")
    latest: dict[str, dict[str, Any]] = {}
    for number, row in records(path):
        try:
            latest[row["answer_id"]] = {**latest.get(row["answer_id"], {}), **row}
        except (KeyError, TypeError) as exc:
            raise AssistantError(f"{path.name} line {number}: not a feedback record ({exc}); "
                                 "fix or delete that line") from exc
    return list(latest.values())


@dataclass
class Export:
    """Test-set lines made from feedback, and the rated answers that need a person."""

    lines: list[dict[str, Any]] = field(default_factory=list)
    review: list[str] = field(default_factory=list)  # one line each


def to_testset(rows: Iterable[Mapping[str, Any]]) -> Export:
    """Test-set lines (id, question, lang, answerable, answers, gold, evidence, tags)."""
    out = Export()
    for row in rows:
        comment = f" ({row['comment']})" if row.get("comment") else ""
        if row["rating"] == "down" and row["refused"]:
            out.review.append(f"refused but rated wrong: {row['question']!r}{comment}")
            continue
        tags = ["feedback", f"feedback:{row['rating']}"]
        if row.get("history"):
            tags.append("follow-up")
        if row["rating"] == "down":
            tags.append("needs-review")
            out.review.append(f"answer rated wrong: {row['question']!r}{comment}")
        citations = row.get("citations") or []
        answered = not row["refused"]
        out.lines.append({
            "id": f"fb-{row['answer_id']}", "question": row["question"],
            "lang": detect_language(row["question"]), "answerable": answered, "answers": [],
            "gold_release_ids": list(dict.fromkeys(c["release_id"] for c in citations))
            if answered else [],
            "evidence": list(dict.fromkeys(c["quote"] for c in citations
                                           if row["rating"] == "up")) if answered else [],
            "tags": tags,
        })
    return out


def export(path: Path, out_path: Path) -> Export:
    """Write the feedback in path as test-set JSONL to out_path."""
    result = to_testset(read(path))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n"
                                for line in result.lines), encoding="utf-8")
    return result
