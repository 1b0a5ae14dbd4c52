"""Shared fixtures: the network guard, the sample corpus, real and fake assistants."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ["ANONYMIZED_TELEMETRY"] = "False"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
# a worktree beside the clone can point here with SHARED_DATA=/path/to/shared/data
SHARED_DATA = Path(os.environ.get("SHARED_DATA") or ROOT.parent / "shared" / "data")


def _is_loopback(address: object) -> bool:
    if isinstance(address, tuple):
        host = str(address[0])
    elif isinstance(address, str | bytes):  # AF_UNIX path
        return True
    else:
        return False
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True, scope="session")
def no_network() -> Iterator[None]:
    """Refuse every non-loopback connection: government data must not leave the machine.

    Session-scoped so it is in place before module-scoped fixtures (indexes, servers) start.
    """
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guard(address: object) -> None:
        if not _is_loopback(address):
            raise ConnectionRefusedError(f"test tried to reach {address!r}: network is off")

    def connect(self: socket.socket, address: object) -> None:
        guard(address)
        return real_connect(self, address)  # type: ignore[arg-type]

    def connect_ex(self: socket.socket, address: object) -> int:
        guard(address)
        return real_connect_ex(self, address)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", connect)
        patch.setattr(socket.socket, "connect_ex", connect_ex)
        yield


def shared_file(*parts: str) -> Path:
    """A file of ../shared/data, or skip the test with a message when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} not found: tests that need ../shared/data skip in a plain clone")
    return path


@pytest.fixture
def fake_settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Settings for a fresh index with the fast fake embedder (logic tests, not quality)."""
    from assistant.config import Settings

    return Settings(index_dir=tmp_path / "index", embedder="fake")


SAMPLE_RELEASE = """Kemenko PMK Gelar Rapat Koordinasi Stunting

Jakarta, Senin (2/10/2023) - Deputi Bidang Koordinasi Peningkatan Kualitas Kesehatan, Budi Santoso, memimpin rapat koordinasi percepatan penurunan stunting.

Rapat membahas anggaran sebesar Rp 3,5 triliun untuk intervensi gizi di 12 provinsi.
"""


def write_release(folder: Path, name: str, text: str = SAMPLE_RELEASE) -> Path:
    """Write a small release file into folder and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def write_three_releases(folder: Path) -> Path:
    """The sample release (Guangxi 2023-09-29), stunting (2023-10-02) and vocational
    (2023-08-10) release files in folder; returns folder."""
    write_release(folder, "guangxi.txt", next(CORPUS.glob("*.txt")).read_text(encoding="utf-8"))
    write_release(folder, "stunting.txt", SAMPLE_RELEASE)
    write_release(folder, "vokasi.txt", VOCATIONAL_RELEASE)
    return folder


def chroma_collection(index_dir: Path, name: str) -> Any:
    """A collection of an embedded index opened through chromadb itself, to leave the index
    in a state only a crash or another program could (the store offers no such write)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    client = chromadb.PersistentClient(
        path=str(index_dir), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=True))
    return client.get_collection(name)


def free_port() -> int:
    """A free TCP port on loopback."""
    import socket as _socket

    with _socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_serve(url: str, proc: object, log: Path, auth: tuple[str, str] | None = None,
                   seconds: float = 180) -> None:
    """Wait until an `assistant serve` subprocess answers /api/health; fail with its log."""
    import subprocess
    import time

    import httpx

    assert isinstance(proc, subprocess.Popen)
    deadline = time.monotonic() + seconds
    with httpx.Client(trust_env=False, timeout=5, auth=auth) as client:
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            try:
                if client.get(f"{url}/api/health").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.5)
    raise RuntimeError(f"assistant serve did not start: {log.read_text()[-3000:]}")


def run_server(app: object) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port in a thread; yield its URL."""
    import threading
    import time

    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,  # type: ignore[arg-type]
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


VOCATIONAL_RELEASE = """Kemenko PMK Dorong Revitalisasi Pendidikan Vokasi di Jawa Tengah

Semarang, Kamis (10/8/2023) - Kemenko PMK mendorong revitalisasi pendidikan vokasi di sekolah menengah kejuruan (SMK) Jawa Tengah agar lulusan siap bekerja.

Asisten Deputi Pendidikan Vokasi menyampaikan bahwa pendidikan vokasi harus terhubung dengan dunia usaha dan dunia industri melalui program magang dan sertifikasi kompetensi.

Pemerintah Provinsi Jawa Tengah menyiapkan 50 SMK percontohan untuk pendidikan vokasi berbasis industri pada tahun 2024.
"""


NEWS = SHARED_DATA / "corpus" / "indosum_dev_news_gov.jsonl"


def news_articles(n: int, skip: int = 0) -> list[dict]:
    """The first n government news articles of ../shared/data (after skipping some)."""
    import json

    path = shared_file("corpus", NEWS.name)
    with path.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for _, line in zip(range(skip + n), lines, strict=False)]
    return rows[skip:]


def write_news(folder: Path, articles: list[dict]) -> list[Path]:
    """Each article as a Markdown release file with front matter; returns the paths."""
    paths = []
    for article in articles:
        front = "\n".join(f"{key}: {article[key]}" for key in ("title", "date", "url", "source"))
        name = article["id"].removeprefix("indosum-")[:60] + ".md"
        paths.append(write_release(folder, name, f"---\n{front}\n---\n\n{article['text']}\n"))
    return paths


@pytest.fixture(scope="session")
def llm_server() -> Iterator[object]:
    """A real local OpenAI-compatible chat server with scripted replies (tests/llm_server.py)."""
    from tests.llm_server import ScriptedLLM

    server = ScriptedLLM()
    yield server
    server.close()


@pytest.fixture
def llm(llm_server):  # type: ignore[no-untyped-def]
    """The scripted LLM server, emptied for this test."""
    llm_server.reset()
    yield llm_server
    llm_server.reset()
