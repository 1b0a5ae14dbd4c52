"""Serving: the REST API (api.py) with the chat page (ui.py) mounted at /, run by uvicorn.

Every response carries the security headers below; logins on the page's form (/login) and
the API's HTTP Basic go through one throttle, keyed on the client's address. In front of
both: request body limits (limits.py) and the guard of the mounted page (guard.py: only
files Gradio received are opened, only /ask and /chat are API endpoints, every Gradio route
needs the login).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from assistant.index.uploadfolder import clean_incoming
from assistant.pipeline import Assistant
from assistant.web.auth import LoginThrottle, Users
from assistant.web.guard import GradioGuard
from assistant.web.limits import BodyLimit

SHUTDOWN_GRACE_SECONDS = 5  # on SIGTERM, requests still running get this long, then are cut off

# Gradio's page needs inline scripts (its config, our ui.js run through `new Function`) and
# inline styles; everything else is this origin only, so nothing on the page can load from
# or send to another host, and no other site may frame it (clickjacking).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "media-src 'self' data: blob:; worker-src 'self' blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
_CLIENT: ContextVar[str] = ContextVar("client", default="unknown")  # for Gradio's /login


def create_server(assistant: Assistant, users: Users | None = None) -> Any:
    """The FastAPI app: REST API (/api/..., /docs) with the chat page mounted at /."""
    import gradio as gr
    from starlette.routing import Mount

    from assistant.web.api import create_api, login_throttle
    from assistant.web.ui import CSS, I18N, JS, THEME, create_app

    settings = assistant.settings
    clean_incoming(settings.upload_dir)  # temporary folders of uploads a kill interrupted
    throttle = login_throttle(assistant)
    api = create_api(assistant, users, throttle)
    blocks = create_app(assistant)
    app = gr.mount_gradio_app(
        api, blocks, path="/",
        auth=page_login(users, throttle) if users else None,
        auth_message="Masuk dengan akun staf / Log in with your staff account",
        max_file_size=int(settings.upload_max_mb * 2**20),
        theme=THEME, css=CSS, js=JS, i18n=I18N,
    )
    # Gradio checks that a file named in a request was uploaded only once it has "launched";
    # mounted, it never does. The guard checks first; this turns Gradio's own check on too.
    blocks.has_launched = True
    page = next(route.app for route in app.routes if isinstance(route, Mount))
    app.add_middleware(GradioGuard, page=page, blocks=blocks, login=users is not None)
    app.add_middleware(BodyLimit, settings=settings)
    app.add_middleware(SecurityHeaders)
    return app


def page_login(users: Users, throttle: LoginThrottle
               ) -> Callable[[str, str], Awaitable[bool]]:
    """The page's login check: the API's, keyed on the address SecurityHeaders recorded, run
    in a worker thread (Gradio awaits it; scrypt on the event loop would stall every route)."""
    from starlette.concurrency import run_in_threadpool

    from assistant.web.api import verify

    async def login(name: str, password: str) -> bool:
        return await run_in_threadpool(verify, users, throttle, _CLIENT.get(), name, password)

    return login


class SecurityHeaders:
    """ASGI middleware: SECURITY_HEADERS on every HTTP response; notes the client address."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        _CLIENT.set(scope["client"][0] if scope.get("client") else "unknown")

        async def send_with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                message["headers"] = [*headers, *(
                    (k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()
                    if k.encode() not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def serve(assistant: Assistant, host: str = "127.0.0.1", port: int = 7860,
          users: Users | None = None) -> None:
    """Serve the chat and the API on host:port until interrupted (no share link, no analytics)."""
    import uvicorn

    uvicorn.run(create_server(assistant, users), host=host, port=port, log_level="warning",
                timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS)
