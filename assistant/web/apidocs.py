"""The API's /docs page: a self-contained HTML description of every operation, rendered
from the OpenAPI schema. The usual Swagger page loads its scripts from a CDN, and the
ministry's machines have no internet."""

from __future__ import annotations

import html
import json
from typing import Any


def docs_html(schema: dict[str, Any]) -> str:
    """A self-contained page describing every operation of an OpenAPI schema."""
    title = schema.get("info", {}).get("title", "API")
    sections = [_operation(method, path, op, schema)
                for path, operations in schema.get("paths", {}).items()
                for method, op in operations.items()]
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            "</title><style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;"
            "padding:0 1rem}pre{background:#f4f4f5;padding:.8rem;overflow:auto}</style></head>"
            f"<body><h1>{html.escape(title)}</h1><p>Machine-readable schema: "
            "<a href='/openapi.json'>/openapi.json</a>. Example: <code>curl -s -X POST "
            "http://127.0.0.1:7860/api/ask -H 'Content-Type: application/json' -d "
            "'{\"question\": \"Kapan CAHRSE diselenggarakan?\"}'</code></p>"
            f"{''.join(sections)}</body></html>")


def _operation(method: str, path: str, op: dict[str, Any], schema: dict[str, Any]) -> str:
    """One operation: its method and path, its description, its request and reply bodies."""
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    reply = op.get("responses", {}).get("200", {}).get("content", {})
    parts = [f"<h2><code>{method.upper()} {html.escape(path)}</code></h2>"
             f"<p>{html.escape(op.get('description') or op.get('summary', ''))}</p>"]
    if body:
        parts.append(_schema_block("Request body", body.get("schema", {}), schema))
    if reply:
        parts.append(_schema_block("Response", reply.get("application/json", {})
                                   .get("schema", {}), schema))
    return "".join(parts)


def _schema_block(label: str, node: dict[str, Any], schema: dict[str, Any]) -> str:
    resolved = _resolve(node, schema)
    text = json.dumps(resolved, indent=2, ensure_ascii=False)
    return f"<h3>{label}</h3><pre>{html.escape(text)}</pre>"


def _resolve(node: Any, schema: dict[str, Any], depth: int = 0) -> Any:
    """The schema node with $refs replaced by their definitions (titles dropped)."""
    if isinstance(node, list):
        return [_resolve(item, schema, depth) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node and depth < 6:
        name = node["$ref"].rsplit("/", 1)[-1]
        return _resolve(schema["components"]["schemas"][name], schema, depth + 1)
    return {k: _resolve(v, schema, depth) for k, v in node.items() if k != "title"}
