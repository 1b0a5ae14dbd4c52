"""The REST API (FastAPI), served by the same process as the web chat.

POST /api/ask returns exactly the `assistant ask --json` object (its `mode` and `model` say
what wrote it; the request's `mode` chooses written or quoted); POST /api/ask/stream sends
the answer as server-sent events (`token` events while it is written, then one `answer`
event with that object, citations resolved and sentences verified); /api/releases lists,
shows (with the exact paragraphs), uploads and deletes releases as the page does (same
limits, one result row per file); /api/health says what this process serves. /docs
describes them (apidocs.py renders it from the OpenAPI schema). With a users file,
every route needs HTTP Basic credentials of a user in it, and repeated wrong passwords from
one address are answered 429 for a while (auth.LoginThrottle). The models are schema.py's.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, File, HTTPException, Request, UploadFile, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, Field

from assistant.answer.base import AnswerEvent
from assistant.errors import AssistantError, QuestionError
from assistant.index.uploadfolder import incoming_folder
from assistant.pipeline import Assistant
from assistant.schema import (
    AnswerOut,
    HealthOut,
    ReleaseDetail,
    ReleaseOut,
    UploadOut,
    release_detail,
    release_out,
    to_json,
)
from assistant.types import Answer
from assistant.web.apidocs import docs_html
from assistant.web.auth import LoginThrottle, LoginThrottled, Users
from assistant.web.uploads import Upload, delete_release, ingest_uploads

TITLE = "Kemenko PMK press release assistant API"  # the OpenAPI title /docs shows


class Turn(BaseModel):
    """One earlier message of the conversation."""

    role: Literal["user", "assistant"]
    content: str


class AskRequest(BaseModel):
    """A question, with optional filters and the conversation so far (for follow-ups)."""

    question: str = Field(min_length=1, examples=["what did the deputies propose to Guangxi?"])
    k: int | None = Field(None, ge=1, le=50, description="passages to read (default 5)")
    since: dt.date | None = Field(None, description="only releases on or after this date")
    until: dt.date | None = Field(None, description="only releases on or before this date")
    sources: list[str] | None = Field(None, description="only releases from these sources")
    history: list[Turn] = Field(default_factory=list,
                                description="earlier messages, oldest first; a follow-up "
                                            "question is retrieved in their context")
    mode: Literal["extractive", "reader", "llm"] | None = Field(
        None, description="how to answer: llm writes an answer with a language model, "
                          "extractive (or reader) quotes the releases' sentences; default: "
                          "the server's first mode. GET /api/health lists the modes it offers; "
                          "another is answered 400")


_BASIC = HTTPBasic(auto_error=False, realm="Asisten Siaran Pers")
Credentials = Annotated[HTTPBasicCredentials | None, Depends(_BASIC)]


def _auth_dependency(users: Users | None, throttle: LoginThrottle) -> Callable[..., str | None]:
    def current_user(request: Request, credentials: Credentials) -> str | None:
        if users is None:
            return None
        if credentials and verify(users, throttle, client_address(request),
                                  credentials.username, credentials.password):
            return credentials.username
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "login required: HTTP Basic "
                            "credentials of a user in ASSISTANT_USERS",
                            headers={"WWW-Authenticate": 'Basic realm="Asisten Siaran Pers"'})

    return current_user


def verify(users: Users, throttle: LoginThrottle, client: str, name: str, password: str
           ) -> bool:
    """Check a login through the throttle; a throttled client gets 429 with Retry-After."""
    try:
        return throttle.verify(users, client, name, password)
    except LoginThrottled as exc:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(exc),
                            headers={"Retry-After": str(exc.retry_after)}) from exc


def client_address(request: Request) -> str:
    """The address a request came from (the throttle's key)."""
    return request.client.host if request.client else "unknown"


def login_throttle(assistant: Assistant) -> LoginThrottle:
    """A login throttle with the configured limits."""
    settings = assistant.settings
    return LoginThrottle(settings.login_max_failures, settings.login_window_seconds)


def create_api(assistant: Assistant, users: Users | None = None,
               throttle: LoginThrottle | None = None) -> FastAPI:
    """The FastAPI app with /api/ask, /api/releases, /api/health, /openapi.json and /docs."""
    login = Depends(_auth_dependency(users, throttle or login_throttle(assistant)))
    app = FastAPI(title=TITLE, docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[login])
    app.add_exception_handler(RequestValidationError, invalid_request)
    _answer_routes(app, assistant)
    _release_routes(app, assistant)

    @app.get("/api/health", response_model=HealthOut)
    def health() -> HealthOut:
        """What this process serves: index size, embedder, threshold and index version."""
        return health_of(assistant)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi() -> dict[str, Any]:
        return app.openapi()

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs() -> str:
        return docs_html(app.openapi())

    return app


async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
    """422 with what is wrong; a NaN or Infinity that was sent is named, not echoed (JSON
    cannot carry it, and FastAPI's own handler answered 500 trying)."""
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse(status_code=422,
                        content={"detail": _finite(jsonable_encoder(errors))})


def _finite(value: Any) -> Any:
    """value with every NaN or infinite float replaced by its name (a string)."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _answer_routes(app: FastAPI, assistant: Assistant) -> None:
    @app.post("/api/ask", response_model=AnswerOut)
    def ask(request: AskRequest) -> dict[str, object]:
        """Answer a question from the indexed releases, citing every sentence, or refuse."""
        with _http_errors():
            answer = assistant.ask(request.question, **_ask_options(request))
        return to_json(answer)

    @app.post("/api/ask/stream", response_class=StreamingResponse,
              responses={200: {"content": {"text/event-stream": {}},
                               "description": "`event: token` with {\"text\": ...} as the "
                                              "answer is written, then `event: answer` with "
                                              "the /api/ask object (or `event: error`)"}})
    def ask_stream(request: AskRequest) -> StreamingResponse:
        """/api/ask as server-sent events: the text as it is written, then the answer."""
        events = assistant.ask_stream(request.question, **_ask_options(request))
        with _http_errors():  # a bad question fails with its status before the stream starts
            first = next(events)
        return StreamingResponse(_sse(chain([first], events)), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache"})


def _ask_options(request: AskRequest) -> dict[str, Any]:
    previous = [turn.content for turn in request.history if turn.role == "user"]
    return {"k": request.k, "since": request.since, "until": request.until,
            "history": previous, "sources": request.sources, "answer_mode": request.mode}


@contextmanager
def _http_errors() -> Iterator[None]:
    """AssistantError as an HTTP error (the API is an edge, like cli and ui)."""
    try:
        yield
    except QuestionError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, str(exc)) from exc
    except AssistantError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc


def _sse(events: Iterator[AnswerEvent]) -> Iterator[str]:
    """Server-sent events of an answer stream."""
    try:
        for event in events:
            if isinstance(event, Answer):
                yield _event("answer", to_json(event))
            else:
                yield _event("token", {"text": event})
    except AssistantError as exc:
        yield _event("error", {"detail": str(exc)})


def _event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def _release_routes(app: FastAPI, assistant: Assistant) -> None:
    @app.get("/api/releases", response_model=list[ReleaseOut])
    def releases() -> list[ReleaseOut]:
        """The indexed releases, newest first."""
        return [release_out(r) for r in assistant.index.releases()]

    @app.get("/api/releases/{release_id}", response_model=ReleaseDetail)
    def release(release_id: str) -> ReleaseDetail:
        """One release as stored: metadata and its exact paragraphs."""
        stored = assistant.index.release(release_id)
        if stored is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no release {release_id!r}; "
                                "GET /api/releases lists the indexed ones")
        return release_detail(stored.record, stored.paragraphs)

    @app.post("/api/releases", response_model=UploadOut)
    def upload(files: Annotated[list[UploadFile], File(description="release files")]
               ) -> UploadOut:
        """Upload and index release files (same limits as the page); one row per file."""
        # received into the upload folder's .incoming/ (doctor reports what a kill leaves)
        with incoming_folder(Path(assistant.settings.upload_dir)) as folder:
            uploads = [_save(f, folder, n) for n, f in enumerate(files)]
            try:
                return ingest_uploads(assistant.index, uploads)
            except AssistantError as exc:
                raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from exc

    @app.delete("/api/releases/{release_id}", status_code=status.HTTP_204_NO_CONTENT)
    def delete(release_id: str) -> None:
        """Remove a release from the index (and its uploaded file)."""
        if not delete_release(assistant.index, release_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no release {release_id!r}")


def _save(upload: UploadFile, folder: Path, n: int) -> Upload:
    """Write an uploaded file to a private temporary path (its own name is checked later)."""
    path = folder / f"{n}.upload"
    with path.open("wb") as out:
        shutil.copyfileobj(upload.file, out)
    return Upload(path, upload.filename or "berkas.txt")


def health_of(assistant: Assistant) -> HealthOut:
    """The health report of a serving assistant."""
    state = assistant.index.refresh()
    threshold, origin = assistant.index.refusal_threshold(assistant.settings.answerer)
    return HealthOut(status="ok", releases=len(state.catalog),
                     chunks=sum(r.n_chunks for r in state.catalog.values()),
                     embedder=assistant.embedder.name,
                     index_embedder=state.provenance.get("embedder"),
                     refusal_threshold=threshold, refusal_threshold_source=origin,
                     generation=state.generation, store=assistant.index.where,
                     llm=getattr(assistant.answerer, "model_name", None),
                     modes=assistant.modes)
