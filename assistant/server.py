"""Serving: the REST API (api.py) with the chat page (ui.py) mounted at /, run by uvicorn."""

from __future__ import annotations

from typing import Any

from assistant.auth import Users
from assistant.pipeline import Assistant

SHUTDOWN_GRACE_SECONDS = 5  # on SIGTERM, requests still running get this long to finish


def create_server(assistant: Assistant, users: Users | None = None) -> Any:
    """The FastAPI app: REST API (/api/..., /docs) with the chat page mounted at /."""
    import gradio as gr

    from assistant.api import create_api
    from assistant.ui import CSS, JS, THEME, create_app

    settings = assistant.settings
    api = create_api(assistant, users)
    return gr.mount_gradio_app(
        api, create_app(assistant), path="/",
        auth=users.verify if users else None,
        auth_message="Masuk dengan akun staf / Log in with your staff account",
        max_file_size=int(settings.upload_max_mb * 2**20),
        theme=THEME, css=CSS, js=JS,
    )


def serve(assistant: Assistant, host: str = "127.0.0.1", port: int = 7860,
          users: Users | None = None) -> None:
    """Serve the chat and the API on host:port until interrupted (no share link, no analytics)."""
    import uvicorn

    uvicorn.run(create_server(assistant, users), host=host, port=port, log_level="warning",
                timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS)
