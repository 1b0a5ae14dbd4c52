"""The reader's input windows: a question and a stretch of passage tokens, as token ids.

`<s> query: QUESTION </s> passage: PASSAGE-TOKENS </s>`, the way e5 reads a query and a
passage. A passage longer than one window is read in windows `stride` tokens apart, so every
token is seen with some context on both sides. Shared by training (tools/train_reader.py)
and reading (reader.py), so both cut windows alike. No PyTorch here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

BOS, PAD, EOS = 0, 1, 2


Tokenizer = Any  # a `tokenizers.Tokenizer` (encode -> .ids, .offsets)


@dataclass(frozen=True)
class Shape:
    """Window sizes (the reader's ReaderConfig carries the same fields)."""

    max_tokens: int = 256
    max_question_tokens: int = 48
    max_answer_tokens: int = 32
    stride: int = 128


@dataclass(frozen=True)
class PassageTokens:
    """A passage's tokens (no special tokens) and each token's character span in it."""

    ids: tuple[int, ...]
    offsets: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Window:
    """One reader input: token ids, and where the passage tokens sit in it."""

    ids: tuple[int, ...]
    passage_start: int  # index in ids of the first passage token
    token_start: int  # index in PassageTokens of that token
    n_passage: int  # passage tokens in this window


def question_ids(tokenizer: Tokenizer, question: str, shape: Shape) -> list[int]:
    """`query: QUESTION` as token ids (no special tokens), cut to the question budget."""
    ids = tokenizer.encode(f"query: {question.strip()}", add_special_tokens=False).ids
    return list(ids[: shape.max_question_tokens])


def passage_tokens(tokenizer: Tokenizer, passage: str) -> PassageTokens:
    """The passage's token ids and character offsets."""
    enc = tokenizer.encode(passage, add_special_tokens=False)
    return PassageTokens(tuple(enc.ids), tuple((a, b) for a, b in enc.offsets))


def passage_prefix(tokenizer: Tokenizer) -> list[int]:
    """Token ids of `passage:`, put before the passage tokens as e5 expects."""
    return list(tokenizer.encode("passage:", add_special_tokens=False).ids)


def window(q_ids: Sequence[int], prefix: Sequence[int], tokens: PassageTokens, start: int,
           n: int) -> Window:
    """The window of n passage tokens from `start`, after the question."""
    head = [BOS, *q_ids, EOS, *prefix]
    body = tokens.ids[start: start + n]
    return Window(tuple([*head, *body, EOS]), len(head), start, len(body))


def passage_budget(q_ids: Sequence[int], prefix: Sequence[int], max_tokens: int) -> int:
    """How many passage tokens fit in a window after the question."""
    return max_tokens - len(q_ids) - len(prefix) - 3


def window_starts(n_tokens: int, budget: int, stride: int) -> list[int]:
    """Where the windows of a passage of n_tokens start: every `stride` tokens, the last one
    ending at the passage's end."""
    if n_tokens <= budget:
        return [0]
    starts = list(range(0, n_tokens - budget, stride))
    return [*starts, n_tokens - budget]


def windows(q_ids: Sequence[int], prefix: Sequence[int], tokens: PassageTokens,
            shape: Shape) -> list[Window]:
    """Windows covering the whole passage."""
    budget = passage_budget(q_ids, prefix, shape.max_tokens)
    return [window(q_ids, prefix, tokens, s, budget)
            for s in window_starts(len(tokens.ids), budget, shape.stride)]
