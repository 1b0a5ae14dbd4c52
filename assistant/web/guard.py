"""The guard in front of the mounted Gradio page (ASGI middleware).

Gradio trusts a request more when it is mounted (`mount_gradio_app`) than when it is launched:
it copies any file a request names into its cache (hashing it on the way, so `/dev/zero`
never ends) and then serves the copy, and it answers some routes without a login. So, before
Gradio sees a request:

- a file named in a request body (any object with a string `path`, Gradio's FileData) must be
  a regular file inside Gradio's upload folder, where its upload route writes what it
  received; anything else (a server path, a device, a FIFO, a link out of the folder, a URL)
  is refused with 400 and nothing is opened;
- `/gradio_api/file=...` serves only regular files inside that folder (403 otherwise);
- only the public endpoints (`/ask`, `/chat`) can be called by name or index through
  `/gradio_api/run|api|call/...`: the page's own handlers (upload, delete...) run only
  through the page's queue, as the page calls them;
- with login on, every `/gradio_api/` route but `login_check` and `user`, and
  `/manifest.json`, answer 401 without a login (Gradio leaves reset, cancel, heartbeat,
  token, app_id, stream and startup-events open).
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

API = "/gradio_api"
_CALL = re.compile(r"^/gradio_api/(?:run|api|call|call/v2)/([^/]+)/?$")
_FILE = re.compile(r"^/gradio_api/file(?:=|/)(.*)$", re.S)
OPEN_ROUTES = frozenset({f"{API}/login_check", f"{API}/login_check/", f"{API}/user",
                         f"{API}/user/"})  # part of the login flow; they reveal nothing
UPLOAD_ROUTE = f"{API}/upload"  # multipart: Gradio writes what it receives into its folder
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def received_file(path: str, folder: Path) -> bool:
    """Whether path is a regular file inside folder (links resolved first; opens nothing)."""
    try:
        real = Path(os.path.realpath(path))
        return real.is_relative_to(folder) and stat.S_ISREG(real.stat().st_mode)
    except (OSError, ValueError):
        return False


def named_paths(data: Any) -> Iterator[str]:
    """Every `path` string of an object in a JSON document (where Gradio looks for files)."""
    if isinstance(data, dict):
        if isinstance(data.get("path"), str):
            yield data["path"]
        for value in data.values():
            yield from named_paths(value)
    elif isinstance(data, list):
        for value in data:
            yield from named_paths(value)


class GradioGuard:
    """ASGI middleware: the checks above, in front of the app with the page mounted at /."""

    def __init__(self, app: Any, page: Any, blocks: Any, login: bool) -> None:
        self.app, self.page, self.login = app, page, login
        self.folder = Path(os.path.realpath(page.uploaded_file_dir))
        self.public = {fn_id: fn.api_name for fn_id, fn in blocks.fns.items()
                       if fn.api_visibility == "public"}

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path.startswith(API) or path == "/manifest.json"):
            await self.app(scope, receive, send)
            return
        if self.login and path not in OPEN_ROUTES and not self._logged_in(scope):
            await refuse(send, 401, "login required: log in on the page first")
            return
        if (file := _FILE.match(path)) and not received_file(file.group(1), self.folder):
            await refuse(send, 403, "file not allowed: only files uploaded to this page")
            return
        if (call := _CALL.match(path)) and call.group(1) not in self.public.values():
            await refuse(send, 404, f"no API endpoint {call.group(1)!r}; the endpoints are "
                                     f"{', '.join(sorted(self.public.values()))}")
            return
        if scope["method"] != "POST" or path.rstrip("/") == UPLOAD_ROUTE:
            await self.app(scope, receive, send)
            return
        body = await _read(receive)
        reason = self._refusal(body, bool(call))
        if reason:
            await refuse(send, 400, reason)
            return
        await self.app(scope, _replay(body, receive), send)

    def _logged_in(self, scope: Message) -> bool:
        from starlette.requests import HTTPConnection

        cookies = HTTPConnection(scope).cookies
        token = cookies.get(f"access-token-{self.page.cookie_id}") or cookies.get(
            f"access-token-unsecure-{self.page.cookie_id}")
        return token is not None and self.page.tokens.get(token) is not None

    def _refusal(self, body: bytes, by_name: bool) -> str:
        """Why a request body is refused ("" when it may go on to Gradio)."""
        try:
            data = json.loads(body) if body else None
        except ValueError:
            return ""  # Gradio cannot read it either, and answers 422
        if by_name and isinstance(data, dict) and data.get("fn_index") is not None \
                and data["fn_index"] not in self.public:
            return "fn_index: only the public endpoints can be called through the API"
        for path in named_paths(data):
            if not received_file(path, self.folder):
                name = Path(path.replace("\\", "/")).name or "the file"
                return (f"`{name}`: was not uploaded through this page; only files the page "
                        "received can be used; upload the file again")
        return ""


async def _read(receive: Receive) -> bytes:
    """The whole request body (its size is capped by limits.BodyLimit in front of this)."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that gives the body read already, then waits on the client as usual."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


async def refuse(send: Send, status: int, detail: str) -> None:
    """Answer status with {"detail": detail}, the shape of FastAPI's errors."""
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
