"""The guard in front of the mounted Gradio page, over HTTP with login: a file named in a
request is opened only when Gradio itself received it (refused at once otherwise, and the
server keeps answering), `/gradio_api/file=` serves only uploads, the page's own handlers
cannot be called by name, and Gradio's routes all need a login."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gradio.processing_utils import hash_file

from assistant.config import Settings
from assistant.pipeline import Assistant, build
from assistant.web.auth import Users
from assistant.web.guard import named_paths, received_file
from assistant.web.server import create_server
from tests.conftest import run_server, write_release

LOGIN = ("budi", "kata-sandi-1")
SECRET = "Kata sandi server adalah merah-putih-45."


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Assistant]]:
    root = tmp_path_factory.mktemp("guard")
    users = Users(root / "users")
    users.add(*LOGIN)
    settings = Settings(index_dir=root / "index", embedder="fake", upload_dir=root / "up",
                        login_max_failures=100)
    built = build(settings)
    built.index.ingest([write_release(root / "corpus", "stunting.txt")])
    for url in run_server(create_server(built, users)):
        yield url, built


@pytest.fixture
def page(served: tuple[str, Assistant]) -> Iterator[httpx.Client]:
    """A client logged in on the page (Gradio's cookie)."""
    with httpx.Client(base_url=served[0], timeout=30) as client:
        assert client.post("/login", data=dict(zip(("username", "password"), LOGIN,
                                                     strict=True))).status_code == 200
        yield client


def _upload_fn(client: httpx.Client) -> tuple[int, int]:
    """(fn_index, trigger id) of the page's ingest button."""
    config = client.get("/config").json()
    button = next(c["id"] for c in config["components"]
                  if c.get("props", {}).get("elem_id") == "ingest")
    dependency = next(d for d in config["dependencies"] if [button, "click"] in d["targets"])
    return dependency["id"], button


def _file(path: str) -> dict[str, object]:
    return {"path": path, "meta": {"_type": "gradio.FileData"}}


def _hostile(client: httpx.Client, route: str, path: str) -> httpx.Response:
    """The probe's request: the page's upload handler called with a FileData naming path."""
    data = [[_file(path)], "id", ""]
    if route == "run":
        return client.post("/gradio_api/run/upload", json={"data": data}, timeout=10)
    fn_index, trigger = _upload_fn(client)
    return client.post("/gradio_api/queue/join", timeout=10, json={
        "data": data, "fn_index": fn_index, "trigger_id": trigger,
        "session_hash": "probe123", "event_data": None})


def _watch_health(url: str, stop: threading.Event, times: list[float]) -> None:
    """Append the seconds each /api/health takes until stop is set (a failure counts 99)."""
    with httpx.Client(timeout=5, auth=LOGIN) as client:
        while not stop.is_set():
            start = time.monotonic()
            try:
                client.get(f"{url}/api/health").raise_for_status()
                times.append(time.monotonic() - start)
            except httpx.HTTPError:
                times.append(99.0)
            time.sleep(0.05)


@pytest.mark.parametrize("route", ["run", "queue"])
@pytest.mark.parametrize("target", ["/dev/zero", "/etc/passwd", "outside", "link"])
def test_a_file_not_uploaded_through_the_page_is_refused_at_once(
        served: tuple[str, Assistant], page: httpx.Client, tmp_path: Path, route: str,
        target: str) -> None:
    # before: /dev/zero was hashed on the event loop for ever (every route timed out), and
    # any readable file was copied into Gradio's cache and served from there
    url, assistant = served
    secret = write_release(tmp_path, "rahasia.txt", f"Dokumen Rahasia\n\n{SECRET}\n")
    path = {"outside": str(secret), "link": "link"}.get(target, target)
    if target == "link":  # a link inside Gradio's folder pointing out of it
        link = Path(_gradio_folder(page)) / f"link-{os.getpid()}.txt"
        link.unlink(missing_ok=True)
        link.symlink_to(secret)
        path = str(link)
    copy = Path(_gradio_folder(page)) / hash_file(path) / Path(path).name \
        if target in ("/etc/passwd", "outside") else None
    if copy is not None:
        copy.unlink(missing_ok=True)  # a copy an earlier, unguarded server left
    stop = threading.Event()
    times: list[float] = []
    watcher = threading.Thread(target=_watch_health, args=(url, stop, times))
    watcher.start()
    try:
        start = time.monotonic()
        response = _hostile(page, route, path)
        took = time.monotonic() - start
        while len(times) < 3:  # the server keeps answering after it, too
            time.sleep(0.1)
    finally:
        stop.set()
        watcher.join()
    assert response.status_code in (400, 404), response.text
    assert took < 2, took
    # a stalled event loop times every one out (5 s, counted 99); on an idle machine each
    # takes ~0.1 s, on a loaded shared test machine up to ~2 s (each checks a scrypt password)
    assert max(times) < 3, times
    assert "merah-putih" not in response.text
    if copy is not None:  # no copy in Gradio's cache, none served
        assert not copy.exists()
        served_copy = page.get(f"/gradio_api/file={copy}")
        assert served_copy.status_code == 403 and "root:" not in served_copy.text
    assert [r.title for r in assistant.index.releases()] == [
        "Kemenko PMK Gelar Rapat Koordinasi Stunting"]


def _gradio_folder(client: httpx.Client) -> str:
    """Gradio's upload folder, found by uploading a small file."""
    uploaded = client.post("/gradio_api/upload", files={"files": ("x.txt", b"x")}).json()
    return str(Path(uploaded[0]).parent.parent)


def test_file_route_serves_only_what_the_page_received(page: httpx.Client,
                                                        tmp_path: Path) -> None:
    outside = write_release(tmp_path, "luar.txt", SECRET)
    for path in ("/etc/passwd", str(outside), "/dev/zero", "https://example.com/x"):
        response = page.get(f"/gradio_api/file={path}")
        assert response.status_code == 403, path
        assert "merah-putih" not in response.text and "root:" not in response.text
    uploaded = page.post("/gradio_api/upload",
                         files={"files": ("rilis.txt", b"Rilis yang diunggah")}).json()[0]
    assert page.get(f"/gradio_api/file={uploaded}").text == "Rilis yang diunggah"


def test_the_page_upload_still_indexes_what_it_received(
        served: tuple[str, Assistant], page: httpx.Client) -> None:
    text = b"Rilis Unggahan Halaman\n\nKemenko PMK membahas gizi lansia di Bantul.\n"
    uploaded = page.post("/gradio_api/upload", files={"files": ("lansia.txt", text)}).json()[0]
    fn_index, trigger = _upload_fn(page)
    joined = page.post("/gradio_api/queue/join", json={
        "data": [[_file(uploaded)], "id", ""], "fn_index": fn_index, "trigger_id": trigger,
        "session_hash": "page123", "event_data": None})
    assert joined.status_code == 200, joined.text
    with page.stream("GET", "/gradio_api/queue/data", params={"session_hash": "page123"},
                     timeout=60) as stream:
        for line in stream.iter_lines():
            if "process_completed" in line:
                break
    titles = {r.title for r in served[1].index.releases()}
    assert "Rilis Unggahan Halaman" in titles


def test_only_public_endpoints_can_be_called_by_name(page: httpx.Client) -> None:
    uploaded = page.post("/gradio_api/upload", files={"files": ("a.txt", b"Rilis A")}).json()
    by_name = page.post("/gradio_api/run/upload", json={"data": [[_file(uploaded[0])],
                                                                 "id", ""]})
    assert by_name.status_code == 404 and "ask" in by_name.json()["detail"]
    fn_index, _ = _upload_fn(page)
    by_index = page.post("/gradio_api/run/ask", json={"data": [[_file(uploaded[0])], "id", ""],
                                                      "fn_index": fn_index})
    assert by_index.status_code == 400
    ask = page.post("/gradio_api/run/ask", json={"data": ["Berapa anggaran stunting?", "", "", ""]},
                    timeout=60)
    assert ask.status_code == 200, ask.text


GRADIO_ROUTES = [("POST", "/gradio_api/reset", {"event_id": "x"}),
                 ("POST", "/gradio_api/cancel", {"session_hash": "x", "fn_index": 0,
                                                 "event_id": "x"}),
                 ("GET", "/gradio_api/heartbeat/abc", None), ("GET", "/gradio_api/token", None),
                 ("GET", "/gradio_api/app_id", None), ("GET", "/manifest.json", None),
                 ("GET", "/gradio_api/startup-events", None)]


@pytest.mark.parametrize(("method", "path", "body"), GRADIO_ROUTES)
def test_gradio_routes_need_a_login(served: tuple[str, Assistant], page: httpx.Client,
                                    method: str, path: str, body: dict | None) -> None:
    # before: these answered 200 to anyone
    with httpx.stream(method, f"{served[0]}{path}", json=body, timeout=30) as anonymous:
        assert anonymous.status_code == 401
    with page.stream(method, path, json=body) as logged_in:  # heartbeat streams for ever
        assert logged_in.status_code == 200


@pytest.mark.parametrize(("path", "inside"), [
    ("up/a.txt", True), ("up/sub/b.txt", True), ("a.txt", False), ("up/../a.txt", False),
    ("up/dir", False), ("up/out", False), ("up/missing.txt", False), ("\x00", False)])
def test_received_file_is_a_regular_file_inside_the_folder(tmp_path: Path, path: str,
                                                           inside: bool) -> None:
    (tmp_path / "up" / "sub").mkdir(parents=True)
    (tmp_path / "up" / "dir").mkdir()
    for name in ("a.txt", "up/a.txt", "up/sub/b.txt"):
        (tmp_path / name).write_text("x")
    (tmp_path / "up" / "out").symlink_to(tmp_path / "a.txt")
    folder = Path(os.path.realpath(tmp_path / "up"))
    assert received_file(str(tmp_path / path), folder) is inside


def test_named_paths_finds_every_file_object() -> None:
    body = {"data": [[{"path": "a"}, {"path": "b", "meta": {}}], "x", {"v": [{"path": "c"}]}],
            "path": 3}
    assert list(named_paths(body)) == ["a", "b", "c"]
