"""The /docs page renderer (web/apidocs.py): every operation, $refs resolved, text escaped."""

from __future__ import annotations

import json
import re
from typing import Any

from assistant.web.apidocs import docs_html

SCHEMA: dict[str, Any] = {
    "info": {"title": "Demo <API>"},
    "paths": {
        "/api/ask": {"post": {
            "summary": "Ask", "description": "Answer a question & cite it.",
            "requestBody": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/AskRequest"}}}},
            "responses": {"200": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Answer"}}}}},
        }},
        "/api/releases/{release_id}": {"delete": {"summary": "Delete a release"}},
    },
    "components": {"schemas": {
        "AskRequest": {"title": "AskRequest", "type": "object",
                       "properties": {"question": {"title": "Question", "type": "string"}}},
        "Answer": {"title": "Answer", "type": "object",
                   "properties": {"next": {"$ref": "#/components/schemas/Answer"}}},
    }},
}


def _blocks(page: str) -> list[Any]:
    import html

    return [json.loads(html.unescape(b)) for b in re.findall(r"<pre>(.*?)</pre>", page, re.S)]


def test_every_operation_is_listed_with_its_description() -> None:
    page = docs_html(SCHEMA)
    assert "<code>POST /api/ask</code>" in page
    assert "<code>DELETE /api/releases/{release_id}</code>" in page
    assert "Answer a question &amp; cite it." in page
    assert "<p>Delete a release</p>" in page  # no description: the summary


def test_title_comes_from_the_schema_and_is_escaped() -> None:
    page = docs_html(SCHEMA)
    assert "<title>Demo &lt;API&gt;</title>" in page and "<API>" not in page


def test_refs_are_resolved_and_titles_dropped() -> None:
    request, _reply = _blocks(docs_html(SCHEMA))
    assert request == {"type": "object", "properties": {"question": {"type": "string"}}}


def test_a_recursive_schema_stops_instead_of_looping() -> None:
    _request, reply = _blocks(docs_html(SCHEMA))
    depth, node = 0, reply
    while "properties" in node:
        node, depth = node["properties"]["next"], depth + 1
    assert node == {"$ref": "#/components/schemas/Answer"} and depth == 6
