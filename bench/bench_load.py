"""Load test of a real `assistant serve` with locust (headless): 10 and 50 staff at once.

    python bench/bench_load.py --clients 10,50 --duration 60

Unless --url names a running server, it indexes the sample corpus and --news real articles
(../shared/data) into a temporary folder with `assistant ingest`, starts `assistant serve`
there with a users file (login on, as deployed) and loads it. Each simulated staff member
logs in with HTTP Basic and, with 1-3 s of thought between requests, asks a question (eval
set questions with known answers, and news questions), lists releases, uploads a small
release, or sends a 100 KB question (which must be refused at once with 422). Before the
load, the known-answer questions are asked once each, one at a time: the baseline of the
same run. Prints a markdown table (throughput, p50/p95/p99 per request type, errors,
correct answers) and writes JSON to bench/results/. It asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

# locust patches the standard library with gevent when imported: nothing above holds a
# socket or a thread yet, and requests is imported inside the functions that use it
import gevent
from locust import HttpUser, between, task
from locust.env import Environment

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from bench_pipeline import pick_questions, read_jsonl  # noqa: E402

DATA = Path(os.environ.get("SHARED_DATA") or ROOT.parent / "shared" / "data")
EVAL_SET = ROOT / "eval" / "sets" / "sample.jsonl"
LOGIN = ("beban", "sandi-bench-beban")
LONG_QUESTION = "Apa program Kemenko PMK tentang stunting? " * 2400  # ~100 KB
UPLOAD = ("Kemenko PMK Tinjau Posko Banjir {tag}\n\nJakarta, Jumat (1/12/2023) - Kemenko PMK "
          "meninjau posko banjir {tag} dan memastikan logistik, layanan kesehatan serta "
          "sekolah darurat tersedia bagi warga terdampak.\n")


class Staff(HttpUser):
    """One staff member: mostly questions, sometimes the release list or an upload."""

    wait_time = between(1, 3)
    questions: list[tuple[str, list[str]]] = []  # (question, accepted answers; [] = unknown)
    tally: dict[str, int] = {"known": 0, "correct": 0}

    def on_start(self) -> None:
        self.client.auth = LOGIN

    @task(16)
    def ask(self) -> None:
        question, answers = random.choice(self.questions)
        with self.client.post("/api/ask", json={"question": question}, name="ask",
                              catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
            elif answers:
                self.tally["known"] += 1
                text = response.json()["answer"]
                self.tally["correct"] += any(a.lower() in text.lower() for a in answers)

    @task(4)
    def list_releases(self) -> None:
        self.client.get("/api/releases", name="list releases")

    @task(2)
    def upload(self) -> None:
        tag = uuid.uuid4().hex[:8]
        body = UPLOAD.format(tag=tag).encode()
        self.client.post("/api/releases", name="upload",
                         files=[("files", (f"posko-{tag}.txt", body))])

    @task(1)
    def long_question(self) -> None:
        with self.client.post("/api/ask", json={"question": LONG_QUESTION},
                              name="ask 100 KB (422)", catch_response=True) as response:
            if response.status_code == 422:
                response.success()
            else:
                response.failure(f"HTTP {response.status_code}, expected 422")


# --- data and server ---------------------------------------------------------------------------


def eval_questions() -> list[tuple[str, list[str]]]:
    """The sample set's answerable questions with their answers."""
    rows = read_jsonl(EVAL_SET)
    return [(r["question"], list(r["answers"])) for r in rows if r.get("answerable")]


def news_questions(records: list[dict[str, Any]], limit: int) -> list[tuple[str, list[str]]]:
    """Known-item questions about the indexed news (their gold summaries' first sentences)."""
    queries = DATA / "qa" / "indosum_dev_summary2doc.jsonl"
    if not queries.exists():
        return []
    picked = pick_questions(queries, [str(r["id"]) for r in records], limit)
    return [(question, []) for question, _ in picked]


def build_index(folder: Path, env: dict[str, str], records: list[dict[str, Any]]) -> None:
    """The sample corpus and the news, indexed by `assistant ingest` with the real model."""
    news = folder / "news.jsonl"
    news.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")
    command = [sys.executable, "-m", "assistant.cli", "ingest", str(ROOT / "corpus"), str(news)]
    subprocess.run(command, cwd=ROOT, env=env, check=True)


def start_server(folder: Path, records: list[dict[str, Any]], port: int) -> subprocess.Popen:
    """`assistant serve` on a fresh index in folder, with login; returns the process."""
    from assistant.web.auth import Users

    Users(folder / "users").add(*LOGIN)
    env = {**os.environ, "ASSISTANT_INDEX_DIR": str(folder / "index"),
           "ASSISTANT_UPLOAD_DIR": str(folder / "uploads"),
           "ASSISTANT_USERS": str(folder / "users"),
           "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
           "GRADIO_ANALYTICS_ENABLED": "False"}
    build_index(folder, env, records)
    log = (folder / "serve.log").open("wb")
    return subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=log)


def wait_until_up(url: str, timeout: float = 300) -> None:
    """Poll /api/health, then ask once so the model is loaded before the clock starts."""
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/api/health", auth=LOGIN, timeout=5).status_code == 200:
                requests.post(f"{url}/api/ask", json={"question": "Apa itu CAHRSE?"},
                              auth=LOGIN, timeout=300)
                return
        except requests.ConnectionError:
            pass
        time.sleep(1)
    sys.exit(f"the server at {url} did not answer /api/health within {timeout:.0f} s")


# --- the run -----------------------------------------------------------------------------------


def baseline(url: str, questions: list[tuple[str, list[str]]]) -> dict[str, Any]:
    """Each known-answer question, one at a time, before the load: the baseline the loaded
    figures are compared with, measured in the same run on the same server. The second of
    two passes is timed: the first fills the sentence-vector cache, as the loaded runs,
    which repeat questions, mostly find it."""
    import requests

    known = [(q, a) for q, a in questions if a]
    for question, _ in known:
        requests.post(f"{url}/api/ask", json={"question": question}, auth=LOGIN, timeout=300)
    times, correct, failures = [], 0, 0
    for question, answers in known:
        start = time.perf_counter()
        response = requests.post(f"{url}/api/ask", json={"question": question}, auth=LOGIN,
                                 timeout=300)
        times.append((time.perf_counter() - start) * 1000)
        failures += response.status_code != 200
        text = response.json().get("answer", "").lower() if response.ok else ""
        correct += any(a.lower() in text for a in answers)
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    result = {"name": "ask, one client (baseline)", "requests": len(times), "failures": failures,
              "rps": round(len(times) / (sum(times) / 1000), 2), "p50_ms": cuts[49],
              "p95_ms": cuts[94], "p99_ms": cuts[98]}
    return {"clients": 1, "requests": [result], "total": None, "errors": {},
            "answers_checked": len(times), "answers_correct": correct}



def run_load(url: str, clients: int, duration: float) -> dict[str, Any]:
    """Run `clients` staff for `duration` seconds; per request type figures."""
    Staff.tally = {"known": 0, "correct": 0}
    env = Environment(user_classes=[Staff], host=url)
    runner = env.create_local_runner()
    runner.start(clients, spawn_rate=max(1.0, clients / 5))
    start = time.monotonic()
    gevent.spawn_later(duration, runner.quit)
    runner.greenlet.join()
    elapsed = time.monotonic() - start
    rows = [row(entry, elapsed) for entry in env.stats.entries.values()]
    total = row(env.stats.total, elapsed)
    errors = {f"{e.method} {e.name}: {e.error}": e.occurrences for e in env.stats.errors.values()}
    return {"clients": clients, "duration_s": round(elapsed, 1), "requests": rows,
            "total": total, "errors": errors, "answers_checked": Staff.tally["known"],
            "answers_correct": Staff.tally["correct"]}


def row(entry: Any, elapsed: float) -> dict[str, Any]:
    """One request type's figures (locust rounds latencies to 2 significant digits)."""
    pct = entry.get_response_time_percentile
    return {"name": entry.name, "requests": entry.num_requests, "failures": entry.num_failures,
            "rps": round(entry.num_requests / elapsed, 2),
            "p50_ms": pct(0.5), "p95_ms": pct(0.95), "p99_ms": pct(0.99)}


def table(runs: list[dict[str, Any]]) -> str:
    """The runs as one markdown table."""
    lines = ["| clients | request | count | req/s | p50 ms | p95 ms | p99 ms | errors |",
             "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for run in runs:
        totals = [run["total"]] if run["total"] else []
        for r in sorted(run["requests"], key=lambda r: r["name"]) + totals:
            lines.append(f"| {run['clients']} | {r['name']} | {r['requests']} | {r['rps']} | "
                         f"{r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['p99_ms']:.0f} | "
                         f"{r['failures']} |")
    checked = [f"{run['clients']} client{'s' if run['clients'] > 1 else ''}: "
               f"{run['answers_correct']}/{run['answers_checked']}" for run in runs]
    return ("\n".join(lines) + "\n\nknown-answer questions (eval/sets/sample.jsonl) answered "
            "right: " + "; ".join(checked))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="10,50",
                        help="comma-separated numbers of concurrent staff, one run each")
    parser.add_argument("--duration", type=float, default=60, help="seconds per run")
    parser.add_argument("--news", type=int, default=50,
                        help="real news articles indexed besides the sample corpus")
    parser.add_argument("--url", help="load this running server instead (login: the bench "
                                      f"user {LOGIN[0]!r} must exist there, or run without "
                                      "users)")
    parser.add_argument("--port", type=int, default=7871, help="port of the server started")
    parser.add_argument("--out", type=Path, help="JSON file (default bench/results/load-*.json)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    records = read_jsonl(DATA / "corpus" / "indosum_dev_news_gov.jsonl", args.news)
    Staff.questions = eval_questions() + news_questions(records, args.news)
    with tempfile.TemporaryDirectory(prefix="assistant-load-") as tmp:
        server = None if args.url else start_server(Path(tmp), records, args.port)
        url = args.url or f"http://127.0.0.1:{args.port}"
        try:
            wait_until_up(url)
            runs = [baseline(url, Staff.questions)]
            runs += [run_load(url, int(n), args.duration) for n in args.clients.split(",")]
        finally:
            if server:
                server.terminate()
                server.wait(timeout=60)
    report = {"when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "url": url,
              "news": args.news, "questions": len(Staff.questions), "runs": runs,
              "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version(),
                          "load_avg_at_end": os.getloadavg()}}
    out = args.out or ROOT / "bench" / "results" / f"load-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table(runs))
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
