"""Test sets: the JSONL format of eval/README.md, and SQuAD-style files as one-passage releases.

Loading validates every line and reports each problem with its line number, so a typo in a
hand-written set fails loudly instead of silently scoring zero.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError
from assistant.jsonl import numbered_lines, parse_line, records
from assistant.lexical import detect_language
from assistant.text import normalize, split_paragraphs
from assistant.types import Release

FIELDS = {"id": str, "question": str, "lang": str, "answerable": bool, "answers": list,
          "gold_release_ids": list, "evidence": list, "tags": list, "follows": str}
REQUIRED = ("id", "question", "lang", "answerable", "answers")


@dataclass(frozen=True)
class EvalQuestion:
    """One question of a test set with its gold answers and gold evidence."""

    id: str
    question: str
    lang: str
    answerable: bool
    answers: tuple[str, ...] = ()
    gold_release_ids: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()  # substrings of the release text that answer it
    tags: tuple[str, ...] = ()
    follows: str | None = None  # id of the question this one follows up

    @property
    def has_gold(self) -> bool:
        """Whether retrieval and citations can be judged for this question."""
        return self.answerable and bool(self.gold_release_ids or self.evidence)


def valid_half(question_id: str) -> str:
    """'fit' or 'report': the half of a valid split a question belongs to, by a fixed hash of
    its id. Weights and thresholds are chosen on the fit half and reported on the other."""
    return "fit" if hashlib.sha1(question_id.encode()).digest()[0] % 2 == 0 else "report"


# test sets --------------------------------------------------------------------------------


def load_set(path: Path) -> list[EvalQuestion]:
    """Read a JSONL test set; every malformed line is reported with its number."""
    questions: list[EvalQuestion] = []
    problems: list[str] = []
    seen: set[str] = set()
    for number, line in numbered_lines(path):
        try:
            question = _parse_question(line)
            if question.id in seen:
                raise ValueError(f"duplicate id {question.id!r}")
            if question.follows is not None and question.follows not in seen:
                raise ValueError(f"'follows' names {question.follows!r}, which is not the id "
                                 "of an earlier question")
        except ValueError as exc:
            problems.append(f"{path.name} line {number}: {exc}")
            continue
        seen.add(question.id)
        questions.append(question)
    if problems:
        more = f"\n... and {len(problems) - 20} more" if len(problems) > 20 else ""
        raise AssistantError("malformed test set:\n" + "\n".join(problems[:20]) + more)
    if not questions:
        raise AssistantError(f"{path}: the test set has no questions")
    return questions


def _parse_question(line: str) -> EvalQuestion:
    """One test-set line as an EvalQuestion; ValueError says what is wrong."""
    row = parse_line(line)
    if not isinstance(row, dict):
        raise ValueError("expected a JSON object")
    unknown = sorted(set(row) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(FIELDS)}")
    missing = [f for f in REQUIRED if f not in row]
    if missing:
        raise ValueError(f"missing field(s) {', '.join(missing)}")
    for name, kind in FIELDS.items():
        value = row.get(name)
        if name in row and not isinstance(value, kind):
            raise ValueError(f"{name!r} must be a {kind.__name__}, got {json.dumps(value)}")
        if kind is list and not all(isinstance(v, str) and v.strip() for v in value or []):
            raise ValueError(f"{name!r} must be a list of non-empty strings")
    if not row["question"].strip() or not row["id"].strip():
        raise ValueError("'id' and 'question' must not be empty")
    if row["lang"] not in ("id", "en"):
        raise ValueError(f"'lang' must be \"id\" or \"en\", got {json.dumps(row['lang'])}")
    gold = row.get("gold_release_ids") or row.get("evidence")
    if row["answerable"] and not (row["answers"] or gold):
        raise ValueError("an answerable question needs 'answers', 'evidence' or "
                         "'gold_release_ids'")
    if not row["answerable"] and (row["answers"] or gold):
        raise ValueError("an unanswerable question cannot have answers or gold evidence")
    lists = {k: tuple(row.get(k) or ()) for k in ("answers", "gold_release_ids", "evidence",
                                                  "tags")}
    return EvalQuestion(id=row["id"], question=row["question"], lang=row["lang"],
                        answerable=row["answerable"], follows=row.get("follows"), **lists)


def passage_release_id(passage: str) -> str:
    """Deterministic release id of a passage (its content hash)."""
    return "p" + hashlib.sha1(normalize(passage).encode()).hexdigest()[:15]


def passage_release(passage: str, source: str) -> Release:
    """A passage of a QA set as a one-passage release."""
    rid = passage_release_id(passage)
    paragraphs = tuple(split_paragraphs(passage)) or (normalize(passage),)
    return Release(id=rid, title="", paragraphs=paragraphs, source=source,
                   content_hash=hashlib.sha256("\n\n".join(paragraphs).encode()).hexdigest())


def load_squad(path: Path, question_field: str = "question", answers_field: str = "answers",
               context_field: str | None = None) -> tuple[list[EvalQuestion], list[Release]]:
    """Questions and the unique passages of a SQuAD-style JSONL file; gold = own passage."""
    questions: list[EvalQuestion] = []
    passages: dict[str, Release] = {}
    for number, row in _squad_rows(path):
        try:
            context = row[context_field or _context_field(row)]
            question, answers = row[question_field], row[answers_field] or []
        except KeyError as exc:
            raise AssistantError(
                f"{path.name} line {number}: no field {exc} (fields: {', '.join(row)}); "
                "choose others with --question-field/--answers-field") from exc
        release = passage_release(context, f"{path.name}#L{number}")
        passages.setdefault(release.id, release)
        answerable = not row.get("is_impossible", False)
        questions.append(EvalQuestion(
            id=str(row.get("id", number)), question=question, lang=detect_language(question),
            answerable=answerable, answers=tuple(answers) if answerable else (),
            gold_release_ids=(release.id,) if answerable else (),
        ))
    return questions, list(passages.values())


def squad_passages(path: Path) -> list[Release]:
    """The unique passages of a SQuAD-style file (distractors), whatever its question fields."""
    passages: dict[str, Release] = {}
    for number, row in _squad_rows(path):
        if _context_field(row) not in row:
            raise AssistantError(f"{path.name} line {number}: no passage (context or context_id)")
        release = passage_release(row[_context_field(row)], f"{path.name}#L{number}")
        passages.setdefault(release.id, release)
    return list(passages.values())


def _squad_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) of a JSONL file, skipping blank lines."""
    yield from records(path)


def _context_field(row: dict[str, Any]) -> str:
    return "context" if "context" in row else "context_id"

