"""Chaos: a real `assistant serve` with login under everything at once (issue 21's acceptance).

20 client threads ask and list; two threads upload (new releases, and one copy of content
already indexed); another process runs `assistant ingest`; a logged-in client sends the
hostile Gradio request (`/gradio_api/run/upload` naming /dev/zero). Expected: no 5xx, the
health route answering within 1 s throughout, the release the other process ingested
answered within 5 s of its ingest, and `assistant doctor` clean at the end.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from assistant.web.auth import Users
from tests.conftest import ROOT, free_port, news_articles, wait_for_serve, write_news

AUTH = ("budi", "kata-sandi-chaos")
CLIENTS = 20
SECONDS = 30  # of load; the whole test is about 90 s on an idle 2-core machine
ARTICLES = 3
NEW_QUESTION = "Siapa anggota Komisi V DPR dari fraksi PAN yang ditahan KPK?"
QUESTIONS = ["Apa yang dibahas dalam rapat koordinasi?", "Siapa yang ditahan KPK?",
             "Kapan kegiatan itu diselenggarakan?", "What did the minister say?"]


@dataclass
class Record:
    """Every response's status, every transport error, and the health route's latencies."""

    statuses: list[tuple[str, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    health: list[float] = field(default_factory=list)
    uploads: list[list[str]] = field(default_factory=list)  # per upload: the file statuses
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, what: str, request: Callable[[], httpx.Response]) -> httpx.Response | None:
        try:
            response = request()
        except httpx.HTTPError as exc:
            with self.lock:
                self.errors.append(f"{what}: {exc.__class__.__name__} {exc}")
            return None
        with self.lock:
            self.statuses.append((what, response.status_code))
        return response


def _env(root: Path) -> dict[str, str]:
    users = Users(root / "users")
    users.add(*AUTH)
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(root / "index"),
           "ASSISTANT_UPLOAD_DIR": str(root / "uploads"), "ASSISTANT_USERS": str(root / "users")}
    return env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)


def _asker(url: str, record: Record, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    with httpx.Client(auth=AUTH, timeout=120, trust_env=False) as client:
        while not stop.is_set():
            if rng.random() < 0.5:
                question = rng.choice(QUESTIONS)
                record.call("ask", lambda q=question: client.post(  # type: ignore[misc]
                    f"{url}/api/ask", json={"question": q}))
            else:
                record.call("list", lambda: client.get(f"{url}/api/releases"))


def _uploader(url: str, record: Record, first: int) -> None:
    with httpx.Client(auth=AUTH, timeout=300, trust_env=False) as client:
        for n in range(first, first + 3):
            body = (f"Rilis Unggahan Kacau {n}\n\nKemenko PMK membahas program daerah "
                    f"nomor {n} bersama pemerintah provinsi.\n").encode()
            files = [("files", (f"kacau-{n}.txt", body)), ("files", (f"salinan-{n}.txt", body))]
            response = record.call("upload", lambda f=files: client.post(  # type: ignore[misc]
                f"{url}/api/releases", files=f))
            if response is not None and response.status_code == 200:
                record.uploads.append([r["status"] for r in response.json()["files"]])


def _health(url: str, record: Record, stop: threading.Event) -> None:
    with httpx.Client(auth=AUTH, timeout=30, trust_env=False) as client:
        while not stop.is_set():
            start = time.monotonic()
            if record.call("health", lambda: client.get(f"{url}/api/health")) is not None:
                record.health.append(time.monotonic() - start)
            time.sleep(0.25)


def _hostile_gradio(url: str, record: Record) -> None:
    """Defect 1's request, logged in: Gradio's upload handler naming /dev/zero."""
    with httpx.Client(timeout=20, trust_env=False) as client:
        record.call("login", lambda: client.post(
            f"{url}/login", data={"username": AUTH[0], "password": AUTH[1]}))
        body = {"data": [[{"path": "/dev/zero", "meta": {"_type": "gradio.FileData"}}],
                         "id", ""]}
        record.call("hostile", lambda: client.post(f"{url}/gradio_api/run/upload", json=body))


def _ask_until_cited(url: str, title: str, ingested: float) -> tuple[float, dict]:
    """Ask about the other process's release until an answer cites it, starting asks for
    5 s after its ingest ended; (seconds after the ingest the citing ask started, answer)."""
    answer: dict = {}
    with httpx.Client(auth=AUTH, timeout=120, trust_env=False) as client:
        while time.monotonic() - ingested < 5:
            started = time.monotonic() - ingested
            answer = client.post(f"{url}/api/ask", json={"question": NEW_QUESTION}).json()
            if any(c["title"] == title for c in answer["citations"]):
                return started, answer
    return float("inf"), answer


@pytest.mark.slow
def test_chaos_against_a_served_assistant_with_login(tmp_path: Path) -> None:
    env = _env(tmp_path)
    write_news(tmp_path / "corpus", news_articles(ARTICLES))
    assert _cli(env, "ingest", "-q", str(tmp_path / "corpus")).returncode == 0
    article = news_articles(1, skip=22)[0]
    [later] = write_news(tmp_path / "later", [article])
    port = free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--port",
                                   str(port)], cwd=ROOT, env=env, stderr=out, stdout=out)
    url = f"http://127.0.0.1:{port}"
    record, stop = Record(), threading.Event()
    try:
        wait_for_serve(url, server, log, auth=AUTH)
        threads = [threading.Thread(target=_asker, args=(url, record, stop, n), daemon=True)
                   for n in range(CLIENTS)]
        threads += [threading.Thread(target=target, args=args, daemon=True)
                    for target, args in ((_health, (url, record, stop)),
                                         (_uploader, (url, record, 100)),
                                         (_uploader, (url, record, 200)),
                                         (_hostile_gradio, (url, record)))]
        for thread in threads:
            thread.start()
        time.sleep(3)
        done = _cli(env, "ingest", "-q", str(later))
        assert done.returncode == 0, done.stderr
        waited, answer = _ask_until_cited(url, article["title"], time.monotonic())
        time.sleep(max(0.0, SECONDS - 3 - waited))
        stop.set()
        for thread in threads:
            thread.join(timeout=300)
        doctor = _cli(env, "doctor", "--json")
    finally:
        stop.set()  # a failure above must not leave the client threads running
        server.kill()
        server.wait()
    failures = [s for s in record.statuses if s[1] >= 500]
    print(f"{len(record.statuses)} responses, {len(failures)} 5xx, errors {record.errors[:3]}; "
          f"health max {max(record.health, default=0):.2f} s over {len(record.health)}; "
          f"other process's release answered by an ask started {waited:.1f} s after its ingest")
    assert not failures and not record.errors, (failures, record.errors)
    assert record.health and max(record.health) < 1.0, sorted(record.health)[-5:]
    assert waited < 5 and not answer["refused"], answer
    checks = json.loads(doctor.stdout.strip().splitlines()[-1])["checks"]
    assert doctor.returncode == 0, [c for c in checks if not c["ok"]]
    # every upload indexed its release and refused its copy, naming the release
    assert record.uploads == [["added", "failed"]] * 6, record.uploads
