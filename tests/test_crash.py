"""Crash safety: SIGKILL `assistant ingest` at seeded points, then `assistant doctor`.

A real subprocess ingests 40 real news articles (../shared/data) into a real Chroma folder
and is killed with SIGKILL a seeded random delay after its progress bar appears (so while
releases are being written). After every kill the catalogue must not claim chunks that are
not stored, nothing may be duplicated, and every other failed check must name its repair;
half the time `assistant doctor --repair` is then run and must leave the index consistent.
Ingest is re-run after each kill (it repairs before it writes), and after the last one is
left to finish: doctor must pass and every release be indexed exactly once, with exactly
the chunks a clean ingest gives it.

The fake embedder is used on purpose: with it, writing to Chroma and the lexical log is
most of the run, so the kills land in the writes (with the real model most would land
while embedding, which leaves the index untouched).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT, news_articles, write_news

ARTICLES = 40
KILLS = 3
SEED = 12
# must hold right after a crash: the repairs of these need a rebuild, not a re-run
INVARIANT = {"embedder", "schema", "vectors", "chunks", "duplicates"}


def start(env: dict[str, str], *args: str) -> subprocess.Popen:
    """`assistant ARGS` as a running subprocess (stderr piped, to watch the progress bar)."""
    return subprocess.Popen([sys.executable, "-m", "assistant.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """`assistant ARGS` run to the end."""
    return subprocess.run([sys.executable, "-m", "assistant.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def wait_for_progress(proc: subprocess.Popen, timeout: float = 60) -> bool:
    """Block until the process printed its progress bar (writing starts right after);
    False when it ended first (nothing left to embed: an earlier run stored everything)."""
    assert proc.stderr is not None
    deadline, seen = time.monotonic() + timeout, b""
    while b"embedding" not in seen:
        assert time.monotonic() < deadline, seen.decode()
        read = os.read(proc.stderr.fileno(), 4096)
        if not read and proc.poll() is not None:
            assert proc.returncode == 0, seen.decode()
            return False
        seen += read
    return True


def doctor(env: dict[str, str], *args: str) -> tuple[int, dict]:
    done = run(env, "doctor", "--json", *args)
    payload = json.loads(done.stdout.strip().splitlines()[-1])
    return done.returncode, {c["name"]: c for c in payload["checks"]}


def expected_chunks(corpus: Path) -> dict[str, int]:
    """Release id -> chunk count, as a clean ingest of the folder gives them."""
    from assistant.config import Settings
    from assistant.ingest.chunk import chunk_release
    from assistant.ingest.formats import Limits
    from assistant.ingest.releases import discover, read_file

    settings = Settings()
    releases = [r for path in discover([corpus])
                for r in read_file(path, Limits.from_settings(settings)).releases]
    return {r.id: len(chunk_release(r, max_words=settings.chunk_words,
                                    max_paragraphs=settings.chunk_max_paragraphs))
            for r in releases}


def kill_ingest(env: dict[str, str], corpus: Path, delay: float) -> int | None:
    """Start an ingest, SIGKILL it `delay` seconds into its writes; its exit status."""
    proc = start(env, "ingest", str(corpus))
    if not wait_for_progress(proc):
        return proc.wait(timeout=30)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    return proc.wait(timeout=30)


def check_after_crash(env: dict[str, str]) -> int:
    """Doctor right after a kill: invariants hold, failures name a repair; releases held."""
    _, checks = doctor(env)
    broken = {name for name, c in checks.items() if not c["ok"]}
    print("after kill:", checks["chunks"]["detail"], "| failed:", sorted(broken))
    assert not broken & INVARIANT, checks
    for name in broken:
        assert "doctor --repair" in checks[name]["repair"], checks[name]
    return int(checks["chunks"]["detail"].split()[0])


@pytest.mark.slow
def test_sigkill_during_ingest_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_news(corpus, news_articles(ARTICLES))
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(tmp_path / "index"),
           "ASSISTANT_EMBEDDER": "fake", "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    rng = random.Random(SEED)
    held = []
    for kill in range(KILLS):
        status = kill_ingest(env, corpus, rng.uniform(0.1, 1.0))
        if status != -signal.SIGKILL:
            break  # it finished before the kill
        held.append(check_after_crash(env))
        if kill % 2:
            assert doctor(env, "--repair")[0] == 0
    assert any(0 < n < ARTICLES for n in held), f"no kill landed mid-ingest: {held}"
    final = run(env, "ingest", "-q", str(corpus))
    assert final.returncode == 0, final.stderr
    status, checks = doctor(env)
    assert status == 0, checks
    # doctor passed, so the manifest lists exactly the catalogue and its chunk counts
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text(encoding="utf-8"))
    indexed = {rid: r["n_chunks"] for rid, r in manifest["releases"].items()}
    assert indexed == expected_chunks(corpus) and len(indexed) == ARTICLES
