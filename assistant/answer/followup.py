"""Follow-up questions: rewrite the retrieval query from the recent turns, without an LLM.

"dan bagaimana dengan pendidikan vokasi?" after a question about the Guangxi audience means
"pendidikan vokasi *at the Guangxi audience*". A question that reads as a follow-up (it opens
with a connective such as "dan", "lalu", "what about", or leans on a pronoun such as
"tersebut", "mereka", "it" while naming little else) is prefixed with the effective query of
the turn before it, so retrieval stays in the same context; a standalone question is left as
it is. The answer itself is still scored against the question as asked.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from assistant.lexical import analyze, words

MAX_TURNS = 3  # how many earlier questions can carry context forward

# connectives that open a follow-up (matched at the start, on whole words)
_CUES = (
    "dan", "lalu", "kemudian", "terus", "trus", "bagaimana dengan", "gimana dengan",
    "bagaimana kalau", "kalau", "selain itu", "sedangkan", "serta", "juga", "adapun",
    "and", "what about", "how about", "also", "then", "but", "what else", "same for",
)
_CUE = re.compile(r"^\s*(?:" + "|".join(map(re.escape, _CUES)) + r")\b", re.IGNORECASE)
# words that point back at something said before
_ANAPHORA = frozenset("""
itu tersebut mereka dia beliau ia sana begitu demikian
it its they them their that those this these he she him his her there
""".split())
_DEFINITION = re.compile(r"^\s*(apa|apakah)\s+itu\b", re.IGNORECASE)  # "apa itu X?" stands alone
MAX_OWN_TERMS = 3  # a question naming more than this many terms carries its own context


def is_followup(question: str) -> bool:
    """Whether the question reads as continuing the previous turn."""
    if _CUE.match(question):
        return True
    if _DEFINITION.match(question):
        return False
    tokens = words(question)
    points_back = any(t in _ANAPHORA or t.endswith("nya") and len(t) > 5 for t in tokens)
    return points_back and len(set(analyze(question))) <= MAX_OWN_TERMS


class Rewriter(Protocol):
    """Turns a question and the earlier questions into the query retrieval searches with.

    standalone: the query is a whole question to answer (an LLM's condensation), not a
    context-prefixed search string (the rule rewrite: the answer reads the question as asked).
    """

    standalone: bool

    def rewrite(self, question: str, previous: Sequence[str] = ()) -> str:
        """The retrieval query (the question itself when it stands alone)."""
        ...


class RuleRewriter:
    """The rule-based rewrite below (no LLM); generate.LLMRewriter condenses with one."""

    standalone = False

    def rewrite(self, question: str, previous: Sequence[str] = ()) -> str:
        """The retrieval query for question given the earlier questions (oldest first)."""
        return rewrite(question, previous)


def rewrite(question: str, previous: Sequence[str] = ()) -> str:
    """The retrieval query for question given the earlier questions (oldest first)."""
    context = ""
    for earlier in previous[-MAX_TURNS:]:
        context = _with_context(earlier, context)
    return _with_context(question, context)


def _with_context(question: str, context: str) -> str:
    question = " ".join(question.split())
    if context and is_followup(question):
        return f"{context} {question}"
    return question
