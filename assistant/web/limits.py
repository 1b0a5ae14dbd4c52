"""Request body limits (ASGI middleware), enforced before and while a body is received.

A request that declares a body over its limit (Content-Length) is answered 413 at once,
without reading it; one that sends more than its limit without declaring it (chunked) is
cut off with 413 at the limit. Uploads (`POST /api/releases`, Gradio's `/gradio_api/upload`)
may carry up to ASSISTANT_UPLOAD_MAX_REQUEST_MB; every other request (JSON questions,
Gradio's queue) up to ASSISTANT_MAX_JSON_KB.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException

from assistant.config import Settings
from assistant.web.guard import Message, Receive, Send, refuse

UPLOAD_ROUTES = ("/api/releases", "/gradio_api/upload")


class BodyTooLarge(HTTPException):
    """A request body over its limit: 413 with the setting that raises it."""

    def __init__(self, limit: int, setting: str) -> None:
        size = f"{limit / 2**20:g} MB" if limit >= 2**20 else f"{limit / 2**10:g} KB"
        super().__init__(413, f"request body over the limit of {size} ({setting})")


class BodyLimit:
    """ASGI middleware: 413 for a request body over its limit, before or while it arrives."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app = app
        self.upload = (int(settings.upload_max_request_mb * 2**20),
                       "ASSISTANT_UPLOAD_MAX_REQUEST_MB")
        self.other = (int(settings.max_json_kb * 2**10), "ASSISTANT_MAX_JSON_KB")

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "").rstrip("/")
        limit, setting = self.upload if path in UPLOAD_ROUTES else self.other
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await refuse(send, 413, BodyTooLarge(limit, setting).detail)
            return
        received, started = 0, False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit, setting)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge as exc:  # raised where no handler turned it into a response
            if started:
                raise
            await refuse(send, 413, exc.detail)


