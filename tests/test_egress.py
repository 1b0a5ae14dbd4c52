"""Egress: `assistant ingest`, `ask --json` and `serve`, run as real subprocesses and driven
by a real HTTP client and headless Chromium, open no connection beyond loopback.

The autouse guard `conftest.py::no_network` sees only this test process; here each command
runs in a process of its own and is watched from outside with `strace -f` (every connect,
sendto and sendmsg, in every thread and child). Without strace a `sitecustomize.py` put on
PYTHONPATH patches `socket` in the subprocess instead (Python-level sockets only). A
connection counts as outbound when its address is not loopback (127.0.0.0/8, ::1), and any
port-53 (DNS) packet counts too. The subprocesses get the environment without
ANONYMIZED_TELEMETRY, GRADIO_ANALYTICS_ENABLED and HF_HUB_OFFLINE, so what is tested is
that the assistant turns telemetry, analytics and downloads off by itself.
`test_the_watch_catches_an_outbound_connection` proves each watcher can fail.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.conftest import CORPUS, ROOT, free_port, wait_for_serve

pytestmark = pytest.mark.slow

STRACE = shutil.which("strace")
CHROMIUM = Path("/usr/bin/chromium")
GUANGXI = "what did the deputies propose to Guangxi?"
UNSET = ("ANONYMIZED_TELEMETRY", "GRADIO_ANALYTICS_ENABLED", "HF_HUB_OFFLINE",
         "TRANSFORMERS_OFFLINE")
ADDRESS = re.compile(
    r'sa_family=AF_INET, sin_port=htons\((?P<port>\d+)\), sin_addr=inet_addr\("(?P<host>[^"]+)"'
    r'|sa_family=AF_INET6, sin6_port=htons\((?P<port6>\d+)\),.*?'
    r'inet_pton\(AF_INET6, "(?P<host6>[^"]+)"')
GUARD = '''"""Egress guard injected by tests/test_egress.py: record and refuse outbound sockets."""
import ipaddress, os, socket

_LOG = os.environ.get("EGRESS_GUARD_LOG")


def _outbound(address):
    if not isinstance(address, tuple):
        return False  # AF_UNIX
    host, port = str(address[0]).split("%")[0], address[1]
    if host in ("localhost", ""):
        return port == 53
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return True  # a name: resolving it is a DNS query
    ip = getattr(ip, "ipv4_mapped", None) or ip
    return not ip.is_loopback or port == 53


def _record(what):
    with open(_LOG, "a", encoding="utf-8") as log:
        log.write(f"{os.getpid()} {what}\\n")
    raise ConnectionRefusedError(f"egress guard: {what} refused")


def _wrap(name):
    real = getattr(socket.socket, name)

    def guarded(self, *args):
        address = args[-1]
        if _outbound(address):
            _record(f"{name} {address[0]}:{address[1]}")
        return real(self, *args)

    setattr(socket.socket, name, guarded)


def _is_name(host):
    if host is None or host in ("localhost", ""):
        return False
    try:
        ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return True
    return False


def _resolving(real):
    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if _is_name(name):
            _record(f"dns {name}")  # resolving a name is a DNS query
        return real(host, *args, **kwargs)
    return getaddrinfo


if _LOG:
    for _name in ("connect", "connect_ex", "sendto"):
        _wrap(_name)
    socket.getaddrinfo = _resolving(socket.getaddrinfo)
'''


def outbound_in_strace(text: str) -> list[str]:
    """Every `pid syscall host:port` of an strace log that leaves loopback or is DNS."""
    found = []
    for line in text.splitlines():
        match = ADDRESS.search(line)
        if not match:
            continue
        host = match["host"] or match["host6"]
        port = int(match["port"] or match["port6"])
        ip = ipaddress.ip_address(host)
        ip = getattr(ip, "ipv4_mapped", None) or ip
        if not ip.is_loopback or port == 53:
            pid, call = line.split(maxsplit=1)[0], line.split("(", 1)[0].split()[-1]
            found.append(f"{pid} {call} {host}:{port}")
    return found


@dataclass(frozen=True)
class Watch:
    """Runs commands under one watcher (`strace` or the injected `python` guard)."""

    kind: str
    folder: Path

    def command(self, name: str, argv: list[str], env: dict[str, str]
                ) -> tuple[list[str], dict[str, str]]:
        if self.kind == "strace":
            assert STRACE
            return [STRACE, "-f", "--seccomp-bpf", "-qq", "-e", "signal=none",
                    "-e", "trace=connect,sendto,sendmsg", "-o", str(self.log(name)), *argv], env
        guard = self.folder / "guard"
        guard.mkdir(exist_ok=True)
        (guard / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
        path = os.pathsep.join(p for p in (str(guard), env.get("PYTHONPATH")) if p)
        return argv, {**env, "PYTHONPATH": path, "EGRESS_GUARD_LOG": str(self.log(name))}

    def log(self, name: str) -> Path:
        return self.folder / f"{name}.{self.kind}"

    def outbound(self, name: str) -> list[str]:
        log = self.log(name)
        if self.kind == "strace":
            assert log.exists(), f"strace wrote no log for {name}"
            return outbound_in_strace(log.read_text(errors="replace"))
        return log.read_text().splitlines() if log.exists() else []

    def run(self, name: str, argv: list[str], env: dict[str, str]
            ) -> subprocess.CompletedProcess[str]:
        argv, env = self.command(name, argv, env)
        return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=300)


def _watch(folder: Path, kind: str | None = None) -> Watch:
    kind = kind or ("strace" if STRACE else "python")
    folder.mkdir(parents=True, exist_ok=True)
    return Watch(kind, folder)


def _assistant() -> list[str]:
    script = Path(sys.executable).with_name("assistant")
    return [str(script)] if script.exists() else [sys.executable, "-m", "assistant.cli"]


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in UNSET and not k.startswith("ASSISTANT_")}
    return {**env, "ASSISTANT_INDEX_DIR": str(root / "index"),
            "ASSISTANT_UPLOAD_DIR": str(root / "uploads")}


def _main_pid(proc: subprocess.Popen[bytes], watch: Watch) -> int:
    """The serving process itself: strace's child when strace runs it."""
    if watch.kind != "strace":
        return proc.pid
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
    return int(children[0]) if children else proc.pid


@dataclass(frozen=True)
class Served:
    url: str
    watch: Watch
    ingest: subprocess.CompletedProcess[str]
    ask: subprocess.CompletedProcess[str]
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        """SIGTERM to `assistant serve` itself; strace then exits and has flushed its log."""
        if self.proc.poll() is None:
            os.kill(_main_pid(self.proc, self.watch), signal.SIGTERM)
        self.proc.wait(timeout=60)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Ingest the sample corpus, ask once, then serve that index: each one watched."""
    root = tmp_path_factory.mktemp("egress")
    watch, env = _watch(root / "watch"), _env(root)
    ingest = watch.run("ingest", [*_assistant(), "ingest", "-q", str(CORPUS)], env)
    ask = watch.run("ask", [*_assistant(), "ask", "--json", GUANGXI], env)
    port, log = free_port(), root / "serve.log"
    argv, env = watch.command("serve", [*_assistant(), "serve", "--port", str(port)], env)
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    running = Served(url, watch, ingest, ask, proc)
    try:
        wait_for_serve(url, proc, log)
        yield running
    finally:
        running.stop()


def _same_origin_assets(url: str, html: str) -> list[str]:
    links = re.findall(r'(?:src|href)="([^"#]+)"', html)
    absolute = {urljoin(url + "/", link) for link in links}
    return sorted(a for a in absolute if urlsplit(a).netloc == urlsplit(url).netloc)


def _drive_over_http(url: str) -> None:
    """GET the page, its scripts and styles, the docs and health; ask once."""
    with httpx.Client(trust_env=False, timeout=120) as client:
        page = client.get(url + "/")
        assert page.status_code == 200 and "<html" in page.text.lower()
        assets = _same_origin_assets(url, page.text)
        assert any(a.endswith(".js") for a in assets), assets
        for asset in assets:
            assert client.get(asset).status_code == 200, asset
        assert client.get(url + "/docs").status_code == 200
        assert client.get(url + "/api/health").status_code == 200
        answer = client.post(url + "/api/ask", json={"question": GUANGXI}).json()
        assert "Warsito" in answer["answer"], answer


def _drive_in_chromium(url: str) -> list[str]:
    """Open the page in headless Chromium and ask once; every request the page made."""
    sync_api = pytest.importorskip("playwright.sync_api")
    requests: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update"])
        page = browser.new_page()
        page.set_default_timeout(90_000)
        page.on("request", lambda request: requests.append(request.url))
        page.goto(url + "/")
        page.locator("#question textarea").fill(GUANGXI)
        page.locator("#send").click()
        page.wait_for_function("document.querySelectorAll('#evidence .ev-turn').length > 0")
        assert "Warsito" in page.locator('#chat [data-testid="bot"]').last.inner_text()
        browser.close()
    return requests


def test_ingest_ask_and_serve_connect_to_nothing_beyond_loopback(served: Served) -> None:
    assert served.ingest.returncode == 0, served.ingest.stderr
    assert served.ask.returncode == 0, served.ask.stderr
    assert "Warsito" in json.loads(served.ask.stdout)["answer"]
    _drive_over_http(served.url)
    if CHROMIUM.exists():
        requests = _drive_in_chromium(served.url)
        foreign = [r for r in requests if not r.startswith(("data:", "blob:", served.url))]
        assert requests and not foreign, foreign
    served.stop()
    assert served.proc.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises SIGTERM
    for name in ("ingest", "ask", "serve"):
        assert served.watch.outbound(name) == [], f"{name} ({served.watch.kind})"


PROBE = """import socket
for host, port in (("127.0.0.1", {free}), ("localhost", {free}), ("192.0.2.1", 80)):
    try:
        socket.create_connection((host, port), timeout=0.2).close()
    except OSError:
        pass
try:
    socket.getaddrinfo("egress-probe.invalid", 80)
except OSError:
    pass
"""


@pytest.mark.parametrize("kind", ["strace", "python"])
def test_the_watch_catches_an_outbound_connection(kind: str, tmp_path: Path) -> None:
    if kind == "strace" and not STRACE:
        pytest.skip("strace not found: `apt-get install -y strace`")
    watch = _watch(tmp_path, kind)
    code = PROBE.format(free=free_port())
    done = watch.run("probe", [sys.executable, "-c", code], _env(tmp_path))
    assert done.returncode == 0, done.stderr
    found = watch.outbound("probe")
    assert [f for f in found if f.endswith("192.0.2.1:80")], found
    assert not [f for f in found if "127.0.0.1" in f or "localhost" in f], found
    if kind == "python":  # strace sees the query itself (port 53) where a resolver is set up
        assert [f for f in found if f.endswith("dns egress-probe.invalid")], found


def test_strace_lines_of_every_family_are_read() -> None:
    log = """\
7 connect(3, {sa_family=AF_INET, sin_port=htons(8000), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
7 connect(4, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2606:4700::1", &sin6_addr), sin6_scope_id=0}, 28 <unfinished ...>
8 sendto(5, "\\x12"..., 40, MSG_NOSIGNAL, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("127.0.0.53")}, 16) = 40
8 connect(6, {sa_family=AF_INET6, sin6_port=htons(9000), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6_addr), sin6_scope_id=0}, 28) = 0
8 connect(7, {sa_family=AF_UNIX, sun_path="/var/run/nscd/socket"}, 110) = -1 ENOENT
8 sendmsg(9, {msg_name={sa_family=AF_INET, sin_port=htons(123), sin_addr=inet_addr("10.0.0.1")}, msg_namelen=16}, 0) = 48
"""
    assert outbound_in_strace(log) == [
        "7 connect 2606:4700::1:443", "8 sendto 127.0.0.53:53", "8 sendmsg 10.0.0.1:123"]
