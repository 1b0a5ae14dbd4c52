"""A real local HTTP server speaking the OpenAI chat-completions protocol, with scripted replies.

POST /v1/chat/completions answers with the next scripted `Reply` (or the default one):
plain JSON, or server-sent events (`data: {chunk}` ... `data: [DONE]`) when the request
asks for `stream: true`. A reply can be an HTTP error, arrive late (timeouts) or be empty.
Every request is recorded (headers and JSON body) so tests can assert what the model saw.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One scripted answer of the server."""

    content: str = ""
    status: int = 200
    delay: float = 0.0  # seconds before the server answers at all
    chunk_delay: float = 0.0  # seconds between streamed chunks


@dataclass(frozen=True)
class Received:
    """One request the server received."""

    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    def message(self, role: str) -> str:
        """The content of the (last) message with this role."""
        found = [m["content"] for m in self.body["messages"] if m["role"] == role]
        return found[-1] if found else ""


class ScriptedLLM:
    """The server: `script(...)` queues replies, `received` lists the requests."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.default: Reply | None = None
        self.received: list[Received] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The base URL clients are given (ASSISTANT_LLM_BASE_URL)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def script(self, *replies: Reply | str) -> None:
        """Queue replies (a string is a plain successful reply)."""
        self.replies.extend(Reply(r) if isinstance(r, str) else r for r in replies)

    def reset(self) -> None:
        """Forget the queue, the default and the requests."""
        self.replies.clear()
        self.received.clear()
        self.default = None

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def next_reply(self) -> Reply:
        """The next scripted reply (the default, else a 500, once the script is used up)."""
        if self.replies:
            return self.replies.popleft()
        return self.default or Reply("no scripted reply", status=500)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        llm = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                llm.received.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
                reply = llm.next_reply()
                time.sleep(reply.delay)
                try:
                    if reply.status != 200:
                        self._json(reply.status, {"error": {"message": reply.content,
                                                            "type": "server_error"}})
                    elif body.get("stream"):
                        self._stream(reply, body.get("model", ""))
                    else:
                        self._json(200, completion(reply.content, body.get("model", "")))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def _json(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, reply: Reply, model: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True
                pieces = re.findall(r"\S+\s*", reply.content) or [""]
                for i, piece in enumerate(pieces):
                    self._event(chunk(piece, model, role=i == 0))
                    time.sleep(reply.chunk_delay)
                self._event(chunk("", model, finish="stop"))
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _event(self, payload: dict[str, Any]) -> None:
                self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
                self.wfile.flush()

        return Handler


def completion(content: str, model: str) -> dict[str, Any]:
    """A chat.completion object."""
    return {"id": "chatcmpl-test", "object": "chat.completion", "created": int(time.time()),
            "model": model, "choices": [{"index": 0, "finish_reason": "stop",
                                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}


def chunk(piece: str, model: str, role: bool = False, finish: str | None = None
          ) -> dict[str, Any]:
    """A chat.completion.chunk object."""
    delta: dict[str, Any] = {"content": piece} if piece or not finish else {}
    if role:
        delta["role"] = "assistant"
    return {"id": "chatcmpl-test", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
