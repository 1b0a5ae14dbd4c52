"""Take the README's screenshot of the web chat (docs/screenshot.png).

    nice -n 10 .venv/bin/python tools/screenshot.py [--out docs/screenshot.png]

Indexes corpus/ into a temporary folder with the bundled model, serves the page on a free
loopback port, asks the README's example question in headless Chromium (Debian's
`chromium`, driven by Playwright), points at a citation so the evidence panel shows its
highlighted sentence, and saves the 1400x1000 viewport.
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "what did the deputies propose to Guangxi?"
CHROMIUM = "/usr/bin/chromium"


def serve(app: object) -> tuple[str, object]:
    """Run an ASGI app with uvicorn in a thread on a free loopback port."""
    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,  # type: ignore[arg-type]
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def shoot(url: str, out: Path) -> None:
    """Ask the example question and save the viewport with a source brought up."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM,
                                             args=["--headless", "--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(300_000)
        page.goto(url + "/")
        page.locator("#question textarea").fill(QUESTION)
        page.locator("#send").click()
        page.wait_for_function("document.querySelectorAll('#evidence .ev-turn').length > 0")
        page.locator('#chat [data-testid="bot"] .cite-ref').nth(2).hover()
        page.wait_for_timeout(800)  # the evidence card scrolls into view smoothly
        page.mouse.move(0, 0)
        page.screenshot(path=str(out))
        browser.close()


def main() -> None:
    """Build a temporary index of corpus/, serve it and take the screenshot."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshot.png")
    out = parser.parse_args().out
    from assistant.config import Settings
    from assistant.pipeline import build
    from assistant.web.server import create_server

    with tempfile.TemporaryDirectory() as folder:
        assistant = build(Settings(index_dir=Path(folder) / "index",
                                   upload_dir=Path(folder) / "uploads"))
        assistant.index.ingest([ROOT / "corpus"])
        url, server = serve(create_server(assistant))
        try:
            shoot(url, out)
        finally:
            server.should_exit = True  # type: ignore[attr-defined]
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
