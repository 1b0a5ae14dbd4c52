"""The staff page in real headless Chromium (Debian's `chromium`, driven by Playwright):
cited answers with their evidence, citation clicks, uploads, escaping, login; nothing the
page needs is blocked by the server's Content-Security-Policy.

Each test saves a screenshot under tests/artifacts/. Skips when /usr/bin/chromium is absent
(`apt-get install -y chromium`; .ci/run installs it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.pipeline import build
from assistant.web.auth import Users
from assistant.web.server import create_server
from tests.conftest import CORPUS, ROOT, run_server, write_release

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not found: install it with `apt-get install -y chromium` to run "
                "the browser tests", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "tests" / "artifacts"
GUANGXI = "what did the deputies propose to Guangxi?"
TIMEOUT = 90_000  # ms: the real model answers in seconds, but CI machines are shared
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("web")
    assistant = build(Settings(index_dir=root / "index", upload_dir=root / "uploads"))
    assert len(assistant.index.ingest([CORPUS]).added) == 1
    yield from run_server(create_server(assistant))


@pytest.fixture
def page(browser, request: pytest.FixtureRequest) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    page.dialogs = []  # type: ignore[attr-defined]
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    blocked: list[str] = []  # the server's Content-Security-Policy must not break the page
    page.on("console", lambda message: blocked.append(message.text)
            if "Content Security Policy" in message.text else None)
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not blocked, blocked


def _ask(page, question: str) -> None:  # type: ignore[no-untyped-def]
    before = page.locator("#evidence .ev-turn").count()
    page.locator("#question textarea").fill(question)
    page.locator("#send").click()
    page.wait_for_function(
        f"document.querySelectorAll('#evidence .ev-turn').length > {before}")


def _open(page, url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(url + "/")
    page.locator("#question textarea").wait_for()


def test_guangxi_answer_shows_both_deputies_in_the_evidence_panel(page, url: str) -> None:  # type: ignore[no-untyped-def]
    _open(page, url)
    assert page.get_by_text("Apa tiga prioritas yang disampaikan Joko Kusnanto?").count()  # examples
    _ask(page, GUANGXI)
    answer = page.locator('#chat [data-testid="bot"]').last
    assert "Warsito" in answer.inner_text() and "[1]" in answer.inner_text()
    cards = page.locator("#evidence .ev-turn:not([hidden]) .ev-card")
    assert cards.count() >= 2
    quotes = " ".join(page.locator("#evidence .ev-turn:not([hidden]) .ev-passage mark")
                      .all_inner_texts())
    assert "Nunung" in quotes and "Warsito" in quotes
    first = cards.first.inner_text()
    assert "Kemenko PMK Terima Audiensi Daerah Otonomi Guangxi Zhuang RRT" in first
    assert "2023-09-29" in first and "guangxi-zhuang.txt" in first
    assert page.locator("#evidence details.ev-release").first.is_visible()


def test_clicking_a_citation_brings_up_its_highlighted_sentence(page, url: str) -> None:  # type: ignore[no-untyped-def]
    _open(page, url)
    _ask(page, GUANGXI)
    refs = page.locator('#chat [data-testid="bot"] .cite-ref')
    refs.first.wait_for()
    last = refs.last
    n = last.get_attribute("data-n")
    last.click()
    active = page.locator("#evidence .ev-card.active")
    active.wait_for()
    assert active.get_attribute("data-n") == n
    mark = active.locator(".ev-passage mark")
    assert mark.is_visible() and "Warsito" in mark.inner_text()
    assert mark.evaluate("m => getComputedStyle(m).backgroundColor") != "rgba(0, 0, 0, 0)"
    active.locator("summary").click()  # the whole release
    assert active.locator("details.ev-release mark").is_visible()


def test_interface_language_switches_to_english(page, url: str) -> None:  # type: ignore[no-untyped-def]
    _open(page, url)
    assert page.locator("#send").inner_text() == "Kirim"
    page.get_by_text("English", exact=True).click()
    page.locator("#send", has_text="Send").wait_for()
    page.get_by_text("what did the deputies propose to Guangxi?").first.wait_for()  # examples
    # the tabs re-render after the other labels: wait for them rather than race them
    page.get_by_role("tab", name="Releases").wait_for()
    assert page.get_by_role("tab", name="Releases").count() == 1
    assert page.get_by_text("Evidence", exact=True).count() == 1


def _upload(page, path: Path) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("tab", name="Siaran pers").click()
    page.locator("#uploads input[type=file]").set_input_files(str(path))
    page.wait_for_function("stem => document.querySelector('#uploads').innerText.includes(stem)",
                           arg=path.stem)  # the name shows as stem and suffix
    page.locator("#ingest").click()
    page.locator("#results").get_by_text(path.name).filter(visible=True).first.wait_for()


def test_uploaded_release_is_indexed_and_answers(page, url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    release = write_release(tmp_path, "banjir-kudus.txt", (
        "Kemenko PMK Salurkan Bantuan Banjir di Kudus\n\n"
        "Kudus, Selasa (7/11/2023) - Kemenko PMK menyalurkan 800 paket sembako kepada korban "
        "banjir di Kabupaten Kudus, Jawa Tengah.\n\n"
        "Bantuan diserahkan oleh Deputi Bidang Koordinasi Penanggulangan Bencana, Lilik "
        "Kurniawan, kepada Bupati Kudus.\n"))
    _open(page, url)
    _upload(page, release)
    results = page.locator("#results").inner_text()
    assert release.name in results and "ditambahkan" in results
    page.locator("#releases").get_by_text(
        "Kemenko PMK Salurkan Bantuan Banjir di Kudus").filter(visible=True).first.wait_for()
    page.get_by_role("tab", name="Tanya").click()
    _ask(page, "Berapa paket sembako yang disalurkan untuk korban banjir di Kudus?")
    evidence = page.locator("#evidence .ev-turn:not([hidden])").inner_text()
    assert "Bantuan Banjir di Kudus" in evidence and "800 paket sembako" in evidence


def test_script_in_a_release_shows_as_text_and_runs_nothing(page, url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    release = write_release(tmp_path, "xss.txt", (
        f"Uji Keamanan {SCRIPT} Siaran\n\n"
        f"Jakarta, Rabu (8/11/2023) - Kalimat uji keamanan halaman berisi {SCRIPT} dan "
        "<img src=x onerror=alert(2)> yang harus tampil sebagai teks biasa.\n\n"
        "Paragraf kedua tentang pengujian keamanan aplikasi percakapan staf.\n"))
    _open(page, url)
    _upload(page, release)
    page.locator("#releases").get_by_text(f"Uji Keamanan {SCRIPT} Siaran").filter(
        visible=True).first.wait_for()
    page.get_by_role("tab", name="Tanya").click()
    _ask(page, "Apa isi kalimat uji keamanan halaman?")
    evidence = page.locator("#evidence .ev-turn:not([hidden])")
    assert SCRIPT in evidence.inner_text()
    assert "<img src=x onerror=alert(2)>" in evidence.inner_text()
    assert page.locator("#evidence script, #evidence img, #chat img[src=x]").count() == 0
    page.wait_for_timeout(500)
    assert page.dialogs == []  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def login_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("login")
    users = Users(root / "users")
    users.add("budi", "kata-sandi-1")
    assistant = build(Settings(index_dir=root / "index", embedder="fake",
                               upload_dir=root / "uploads"))
    yield from run_server(create_server(assistant, users))


def test_with_login_the_page_asks_for_credentials(page, login_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(login_url + "/")
    password = page.locator("input[type=password]")
    password.wait_for()
    assert page.locator("#question textarea").count() == 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "login_form.png"))
    page.locator("input[type=text]").first.fill("budi")
    password.fill("salah-sandi")
    page.get_by_role("button", name="Login").click()
    page.get_by_text("Incorrect", exact=False).first.wait_for()
    page.locator("input[type=text]").first.fill("budi")
    password.fill("kata-sandi-1")
    page.get_by_role("button", name="Login").click()
    page.locator("#question textarea").wait_for()



@pytest.fixture(scope="module")
def llm_url(tmp_path_factory: pytest.TempPathFactory, llm_server) -> Iterator[str]:  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("web-llm")
    assistant = build(Settings(index_dir=root / "index", upload_dir=root / "uploads",
                               llm="openai", llm_base_url=llm_server.url, llm_model="test-model",
                               llm_timeout_s=20, llm_max_retries=0))
    assert len(assistant.index.ingest([CORPUS]).added) == 1
    yield from run_server(create_server(assistant))


LAST_BOT = "[...document.querySelectorAll('#chat [data-testid=\"bot\"]')].pop()"


def test_streamed_llm_answer_marks_its_unsupported_sentence(page, llm_url: str, llm) -> None:  # type: ignore[no-untyped-def]
    from tests.llm_server import Reply

    llm.script(Reply(
        "Deputy Warsito hoped that Indonesia and China would explore cooperation in vocational "
        "education and training (TVET) [1]. The deputies also promised Rp 7.5 trillion for the "
        "forum [1].", chunk_delay=0.15))
    _open(page, llm_url)
    assert page.get_by_text("Jawaban ditulis model bahasa", exact=False).count() == 1
    page.locator("#question textarea").fill(GUANGXI)
    page.locator("#send").click()
    # while the model writes: the text so far, with the ellipsis, before any evidence
    page.wait_for_function(f"() => {{ const b = {LAST_BOT}; return b && "
                           "b.innerText.includes('Deputy Warsito') && b.innerText.includes('…')"
                           " && !b.innerText.includes('forum'); }")
    assert page.locator("#evidence .ev-turn").count() == 0
    page.wait_for_function("document.querySelectorAll('#evidence .ev-turn').length > 0")
    answer = page.locator('#chat [data-testid="bot"]').last
    flagged = answer.locator(".unsupported")
    flagged.wait_for()
    assert flagged.count() == 1 and flagged.is_visible()
    assert "Rp 7.5 trillion" in flagged.inner_text()
    assert "⚠ tidak didukung sumber" in flagged.inner_text()
    assert "Warsito" not in flagged.inner_text() and "Deputy Warsito" in answer.inner_text()
    assert flagged.evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"
    assert "…" not in answer.inner_text()
    quotes = page.locator("#evidence .ev-turn:not([hidden]) .ev-passage mark").all_inner_texts()
    assert any("Warsito" in q for q in quotes)
