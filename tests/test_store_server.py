"""The Chroma server path against a real `chroma run` on a loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.errors import StoreError
from assistant.pipeline import build
from tests.conftest import CORPUS

pytestmark = pytest.mark.server

CHROMA = Path(sys.executable).parent / "chroma"
STARTUP_SECONDS = 60


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _heartbeat(url: str) -> bool:
    # no proxy: an http_proxy in the environment must not swallow a loopback request
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{url}/api/v2/heartbeat", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def _log_tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A `chroma run` server on a free loopback port, stopped after the module."""
    if not CHROMA.exists():
        pytest.skip(f"{CHROMA} not found: install chromadb into this environment")
    root = tmp_path_factory.mktemp("chroma-server")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = root / "chroma.log"
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
    command = [str(CHROMA), "run", "--path", str(root / "data"),
               "--host", "127.0.0.1", "--port", str(port)]
    with log.open("wb") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _heartbeat(url):
            if server.poll() is not None:
                pytest.fail(f"chroma run exited with {server.returncode}:\n{_log_tail(log)}")
            if time.monotonic() > deadline:
                pytest.fail(f"chroma run gave no heartbeat in {STARTUP_SECONDS}s:\n"
                            f"{_log_tail(log)}")
            time.sleep(0.25)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_ingest_and_ask_through_the_server(chroma_url: str, tmp_path: Path) -> None:
    assistant = build(Settings(index_dir=tmp_path / "local", chroma_url=chroma_url))
    report = assistant.index.ingest([CORPUS])
    assert len(report.added) == 1 and not report.failed
    answer = assistant.ask("Apa tiga prioritas yang disampaikan Joko Kusnanto?")
    assert not answer.refused
    assert any("jaminan sosial" in c.quote for c in answer.citations)


def test_a_second_client_sees_the_server_data(chroma_url: str, tmp_path: Path) -> None:
    first = build(Settings(index_dir=tmp_path / "first", chroma_url=chroma_url))
    first.index.ingest([CORPUS])  # unchanged if the previous test already put it there
    local = tmp_path / "second"
    second = build(Settings(index_dir=local, chroma_url=chroma_url))
    assert len(second.index.releases()) == 1
    report = second.index.ingest([CORPUS])
    assert len(report.unchanged) == 1 and not report.added and not report.updated
    assert not (local / "chroma.sqlite3").exists()
    assert not (tmp_path / "first" / "chroma.sqlite3").exists()


def test_unreachable_server_says_how_to_start_one(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(StoreError, match="chroma run"):
        build(Settings(index_dir=tmp_path / "local", chroma_url=url))


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "assistant"), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def test_a_serving_process_sees_another_process_ingest_edit_and_sync(
        chroma_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two processes, one Chroma server: the lexical side follows without a full reload."""
    from assistant.index.indexer import REFRESH_SECONDS
    from tests.conftest import write_release

    settings = Settings(index_dir=tmp_path / "serving", chroma_url=chroma_url,
                        collection="twoproc", embedder="fake", refusal_threshold=0.0)
    serving = build(settings)
    corpus = tmp_path / "corpus"
    write_release(corpus, "banjir.txt", "Banjir Bandang di Kabupaten Lumajang\n\nKemenko PMK "
                  "mengirim bantuan logistik untuk korban banjir bandang Lumajang.\n")
    env = {**os.environ, "ASSISTANT_CHROMA_URL": chroma_url, "ASSISTANT_COLLECTION": "twoproc",
           "ASSISTANT_EMBEDDER": "fake", "ASSISTANT_INDEX_DIR": str(tmp_path / "writer")}
    fetched: list[set[str]] = []
    real = serving.index.store.lexical_docs
    monkeypatch.setattr(serving.index.store, "lexical_docs",
                        lambda ids: (fetched.append(set(ids)), real(ids))[1])
    before = serving.index.state.generation

    assert _cli(env, "ingest", "-q", str(corpus)).returncode == 0
    time.sleep(REFRESH_SECONDS + 0.1)
    answer = serving.ask("bantuan logistik banjir bandang Lumajang")
    assert not answer.refused and "Lumajang" in answer.citations[0].title
    assert serving.index.state.generation != before
    (rid,) = serving.index.lexical.releases()
    assert fetched == [{rid}]  # only the new release was read, not every chunk

    (corpus / "banjir.txt").write_text("Banjir Bandang di Kabupaten Lumajang\n\nKemenko PMK "
                                       "mendirikan dapur umum di Lumajang.\n", encoding="utf-8")
    assert _cli(env, "ingest", "-q", str(corpus)).returncode == 0
    time.sleep(REFRESH_SECONDS + 0.1)
    hits = serving.retrieve("dapur umum", mode="bm25").ranking
    assert hits and "dapur umum" in hits[0].chunk.text

    (corpus / "banjir.txt").unlink()
    write_release(corpus, "lain.txt")
    assert _cli(env, "ingest", "-q", "--sync", str(corpus)).returncode == 0
    time.sleep(REFRESH_SECONDS + 0.1)
    assert [r.title for r in serving.index.releases()] == [
        "Kemenko PMK Gelar Rapat Koordinasi Stunting"]
    assert not serving.retrieve("dapur umum Lumajang", mode="bm25").ranking


def test_doctor_checks_an_index_on_the_server(chroma_url: str, tmp_path: Path) -> None:
    """`assistant doctor` against a Chroma server: no manifest there, the rest is checked."""
    env = {**os.environ, "ASSISTANT_CHROMA_URL": chroma_url, "ASSISTANT_COLLECTION": "doctor",
           "ASSISTANT_EMBEDDER": "fake", "ASSISTANT_INDEX_DIR": str(tmp_path / "local")}
    assert _cli(env, "ingest", "-q", str(CORPUS)).returncode == 0
    done = _cli(env, "doctor")
    assert done.returncode == 0, done.stdout
    assert "not kept for a Chroma server" in done.stdout and "1 releases, hashes match" in done.stdout
    log = tmp_path / "local" / f"lexical-{chroma_url.split('//')[1].replace(':', '-')}-doctor"
    (log / "lexical.jsonl").write_text("", encoding="utf-8")  # a lost lexical log
    lost = _cli(env, "doctor")
    assert lost.returncode == 1 and "FAIL  lexical releases" in lost.stdout


def _http(url: str, payload: dict[str, object] | None = None) -> dict[str, object]:
    import json

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data,
                                     headers={"Content-Type": "application/json"})
    with opener.open(request, timeout=120) as response:
        return dict(json.loads(response.read()))


def _wait_for(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS * 2
    while True:
        try:
            _http(f"{url}/api/health")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            if process.poll() is not None:
                pytest.fail(f"assistant serve exited with {process.returncode}:\n"
                            f"{_log_tail(log)}")
            if time.monotonic() > deadline:
                pytest.fail(f"assistant serve did not start:\n{_log_tail(log)}")
            time.sleep(0.5)


def test_two_assistant_processes_one_server_ingest_in_one_answer_in_the_other(
        chroma_url: str, tmp_path: Path) -> None:
    """`assistant serve` (real e5) answers a release another process just ingested."""
    from assistant.index.indexer import REFRESH_SECONDS

    common = {**os.environ, "ASSISTANT_CHROMA_URL": chroma_url, "ASSISTANT_EMBEDDER": "e5",
              "ASSISTANT_COLLECTION": "twoserve", "GRADIO_ANALYTICS_ENABLED": "False",
              "ANONYMIZED_TELEMETRY": "False"}
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        serving = subprocess.Popen(
            [str(Path(sys.executable).parent / "assistant"), "serve", "--port", str(port)],
            env={**common, "ASSISTANT_INDEX_DIR": str(tmp_path / "serving")},
            stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for(url, serving, log)
        before = _http(f"{url}/api/health")
        assert before["releases"] == 0

        ingest = _cli({**common, "ASSISTANT_INDEX_DIR": str(tmp_path / "writer")},
                      "ingest", "-q", str(CORPUS))
        assert ingest.returncode == 0, ingest.stderr[-2000:]
        time.sleep(REFRESH_SECONDS + 0.1)

        answer = _http(f"{url}/api/ask",
                       {"question": "Apa tiga prioritas yang disampaikan Joko Kusnanto?"})
        assert not answer["refused"]
        citations = answer["citations"]
        assert isinstance(citations, list)
        assert any("jaminan sosial" in c["quote"] for c in citations)
        after = _http(f"{url}/api/health")
        assert after["releases"] == 1 and after["generation"] != before["generation"]
        reader = build(Settings(index_dir=tmp_path / "reader", chroma_url=chroma_url,
                                collection="twoserve"))
        assert after["generation"] == reader.index.state.generation  # the version it serves
        assert "generation" in log.read_text(errors="replace")  # and its log says so
    finally:
        serving.terminate()
        serving.wait(timeout=30)
