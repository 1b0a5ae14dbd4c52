"""Request body limits over HTTP: a body over its limit is refused with 413 before it is
read (declared size) or as soon as it passes the limit (chunked), on the API and the page."""

from __future__ import annotations

import selectors
import socket
import time
from collections.abc import Iterator
from itertools import chain
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from assistant.config import Settings
from assistant.pipeline import build
from assistant.web.server import create_server
from tests.conftest import SAMPLE_RELEASE, run_server, write_release

MB = 2**20


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("limits")
    settings = Settings(index_dir=root / "index", embedder="fake", upload_dir=root / "up",
                        upload_max_request_mb=2, max_json_kb=16)
    built = build(settings)
    built.index.ingest([write_release(root / "corpus", "stunting.txt")])
    yield from run_server(create_server(built))


def _send(url: str, head: str, chunks: Iterator[bytes]) -> tuple[str, int]:
    """Send a request's head, then its body chunk by chunk until the server answers;
    (the answer's status line and body, bytes of body sent)."""
    parts = urlsplit(url)
    sent = 0
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head.encode())
        answered = selectors.DefaultSelector()  # epoll: fds past 1024 (a long suite) are fine
        answered.register(sock, selectors.EVENT_READ)
        for chunk in chunks:
            if answered.select(0):
                break  # the server answered before the body ended
            try:
                sock.sendall(chunk)
            except OSError:
                break
            sent += len(chunk)
        sock.settimeout(10)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += sock.recv(65536) or b"\r\n\r\n"
        return answer.decode(errors="replace"), sent


def _zeros(total: int, size: int = 64 * 1024, chunked: bool = False) -> Iterator[bytes]:
    for _ in range(total // size):
        yield f"{size:x}\r\n".encode() + b"0" * size + b"\r\n" if chunked else b"0" * size
        time.sleep(0.002)


@pytest.mark.parametrize("path", ["/api/releases", "/gradio_api/upload", "/api/ask",
                                  "/gradio_api/queue/join"])
def test_a_declared_oversize_body_is_refused_before_it_is_read(url: str, path: str) -> None:
    # before: a 500 MB upload was received in full, then refused
    head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
            f"boundary=b\r\nContent-Length: {500 * MB}\r\n\r\n")
    start = time.monotonic()
    answer, sent = _send(url, head, _zeros(500 * MB))
    assert answer.startswith("HTTP/1.1 413"), answer
    assert sent < 3 * MB and time.monotonic() - start < 10
    assert "ASSISTANT_" in answer  # names the setting that raises the limit


@pytest.mark.parametrize(("path", "kind", "limit"), [
    ("/api/releases", "multipart/form-data; boundary=b", 2 * MB),
    ("/api/ask", "application/json", 16 * 1024)])
def test_an_undeclared_oversize_body_is_cut_off_at_the_limit(url: str, path: str, kind: str,
                                                             limit: int) -> None:
    head = (f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {kind}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n")
    part = (b'--b\r\nContent-Disposition: form-data; name="files"; filename="a.txt"\r\n\r\n'
            if "multipart" in kind else b'{"question": "')
    first = f"{len(part):x}\r\n".encode() + part + b"\r\n"
    answer, sent = _send(url, head, chain([first], _zeros(50 * MB, chunked=True)))
    assert answer.startswith("HTTP/1.1 413"), answer
    assert sent < limit + 2 * MB


def test_a_large_json_body_is_refused_and_a_normal_one_answered(url: str) -> None:
    # before: a 10 MB JSON body was parsed (about 190 MB of memory)
    big = httpx.post(f"{url}/api/ask", json={"question": "x" * (10 * MB)}, timeout=60)
    assert big.status_code == 413 and "ASSISTANT_MAX_JSON_KB" in big.json()["detail"]
    ok = httpx.post(f"{url}/api/ask", json={"question": "Berapa anggaran stunting?"},
                    timeout=60)
    assert ok.status_code == 200, ok.text


def test_uploads_under_the_limit_still_work(url: str, tmp_path: Path) -> None:
    text = SAMPLE_RELEASE.replace("Stunting", "Gizi Lansia").encode()
    response = httpx.post(f"{url}/api/releases", files=[("files", ("lansia.txt", text))],
                          timeout=120)
    assert response.status_code == 200, response.text
    page = httpx.post(f"{url}/gradio_api/upload", files={"files": ("a.txt", b"x" * MB)},
                      timeout=60)
    assert page.status_code == 200, page.text
