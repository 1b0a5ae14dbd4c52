"""The staff page in real headless Chromium (Debian's `chromium`, driven by Playwright):
cited answers with their evidence, citation clicks, uploads, escaping, login; publishers as
sources, clearing, export, contrast measured on the rendered colours, keyboard and screen
reader names, the Indonesian page in Indonesian, confirmations and layout; nothing the page
needs is blocked by the server's Content-Security-Policy.

Each test saves a screenshot under tests/artifacts/. Skips when /usr/bin/chromium is absent
(`apt-get install -y chromium`; .ci/run installs it).
"""

from __future__ import annotations

import json
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
CAHRSE = "Kapan CAHRSE diselenggarakan?"
CONTRAST = (Path(__file__).parent / "contrast.js").read_text(encoding="utf-8")
BOTS = '#chat [data-testid="bot"]'
TIMEOUT = 90_000  # ms: the real model answers in seconds, but CI machines are shared
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The page over the sample release (real e5 model): its URL and state folder."""
    root = tmp_path_factory.mktemp("web")
    assistant = build(Settings(index_dir=root / "index", upload_dir=root / "uploads"))
    assert len(assistant.index.ingest([CORPUS]).added) == 1
    for url in run_server(create_server(assistant)):
        yield url, root


@pytest.fixture(scope="module")
def url(served: tuple[str, Path]) -> str:
    return served[0]


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


def _ask(page, question: str, evidence: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Ask and wait for the finished reply (and, for an answer, its evidence)."""
    turns, bots = page.locator("#evidence .ev-turn").count(), page.locator(BOTS).count()
    page.locator("#question textarea").fill(question)
    page.locator("#send").click()
    page.wait_for_function(f"""n => {{ const b = document.querySelectorAll('{BOTS}');
        return b.length > n && !b[b.length - 1].innerText.includes('…'); }}""", arg=bots)
    if evidence:
        page.wait_for_function(
            f"document.querySelectorAll('#evidence .ev-turn').length > {turns}")


def _last_answer(page):  # type: ignore[no-untyped-def]
    return page.locator(BOTS).last


def _filters(page, since: str = "") -> None:  # type: ignore[no-untyped-def]
    box = page.locator("#since textarea")
    if not box.is_visible():
        page.locator("#filters").get_by_role("button").first.click()
    box.fill(since)


def _export(page) -> str:  # type: ignore[no-untyped-def]
    """Click export and download the Markdown file it offers."""
    page.locator("#export").click()
    link = page.locator("#export-file a").first
    link.wait_for()
    with page.expect_download() as download:
        link.click()
    return Path(download.value.path()).read_text(encoding="utf-8")


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
    assert "2023-09-29 · Kemenko PMK" in first
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
    page.get_by_role("tab", name="Siaran pers").click()
    page.locator("#uploads").get_by_text("Letakkan File di Sini").wait_for()  # Gradio's words
    drop = page.locator("#uploads").inner_text()
    assert "Drop File" not in drop and "Upload" not in drop
    assert not page.locator("#results").is_visible()  # no empty table headed "1 2 3"
    _upload(page, release)
    results = page.locator("#results").inner_text()
    assert release.name in results and "ditambahkan" in results
    headers = page.locator("#results th").all_inner_texts()
    assert [h.strip() for h in headers if h.strip()][:3] == ["Berkas", "Hasil", "Keterangan"]
    page.locator("#ingest-status", has_text="1 ditambahkan").wait_for()
    assert page.locator("#ingest-status").inner_text().strip() == (
        "1 ditambahkan, 0 diperbarui, 0 tidak berubah, 0 gagal.")
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


def test_sources_name_the_publisher_never_a_server_path(page, url: str) -> None:  # type: ignore[no-untyped-def]
    _open(page, url)
    _ask(page, GUANGXI)
    page.locator("#copy").click()
    copied = page.locator("#copy-text textarea")
    copied.wait_for()
    shown = {"answer": _last_answer(page).inner_text(), "copied": copied.input_value(),
             "evidence": page.locator("#evidence .ev-turn:not([hidden])").inner_text()}
    for where, text in shown.items():
        assert "Kemenko PMK" in text and ".txt" not in text and "corpus" not in text, where
    _filters(page)
    page.locator("#sources input").click()
    assert page.get_by_role("option").all_inner_texts() == ["Kemenko PMK"]  # one publisher
    page.get_by_role("tab", name="Siaran pers").click()  # administrators still find the file
    table = page.locator("#releases")
    assert "corpus/2023-09-29_kemenko-pmk-guangxi-zhuang.txt" in table.inner_text()
    assert "Berkas" in table.inner_text()


def test_clearing_the_chat_clears_what_feedback_and_export_use(page, served) -> None:  # type: ignore[no-untyped-def]
    url, root = served
    _open(page, url)
    _ask(page, GUANGXI)
    page.get_by_role("button", name="Hapus percakapan").click()
    page.wait_for_function(f"document.querySelectorAll('{BOTS}').length === 0")
    page.locator("#evidence .ev-empty").wait_for()
    _ask(page, CAHRSE)
    page.get_by_role("button", name="Jawaban salah atau kurang").last.click()
    page.locator("#feedback-status", has_text="Terima kasih").wait_for()
    lines = (root / "index" / "feedback.jsonl").read_text(encoding="utf-8").splitlines()
    last = json.loads(lines[-1])
    assert (last["question"], last["rating"]) == (CAHRSE, "down")
    document = _export(page)
    assert f"## 1. {CAHRSE}" in document and "## 2." not in document
    assert "deputies" not in document


def test_export_works_after_an_error_and_reads_as_written(page, url: str) -> None:  # type: ignore[no-untyped-def]
    _open(page, url)
    _filters(page, since="29/9/2023")
    _ask(page, GUANGXI, evidence=False)
    error = _last_answer(page).inner_text()
    assert "Tanggal di kolom Sejak tidak terbaca: “29/9/2023”" in error
    assert "since" not in error  # no internal parameter names
    _filters(page, since="")
    question = "Apa usulan deputi kepada Guangxi & RRT?"
    _ask(page, question)
    document = _export(page)
    assert f"## 1. {GUANGXI}" in document and "kolom Sejak tidak terbaca" in document
    assert f"## 2. {question}" in document and "&amp;" not in document
    assert "**Sumber**" in document and "Kemenko PMK" in document and ".txt" not in document


def test_a_refusal_under_a_date_filter_says_the_filter_may_be_why(page, url: str) -> None:  # type: ignore[no-untyped-def]
    _open(page, url)
    _filters(page, since="2024-01-01")
    _ask(page, GUANGXI)
    reply = _last_answer(page).inner_text()
    assert "Saringan aktif: sejak 2024-01-01" in reply and "kosongkan Saring" in reply


def test_switching_language_rerenders_earlier_answers(page, url: str) -> None:  # type: ignore[no-untyped-def]
    _open(page, url)
    page.get_by_role("tab", name="Siaran pers").click()  # Gradio's upload words drawn now...
    page.locator("#uploads").get_by_text("Letakkan File di Sini").wait_for()
    page.get_by_role("tab", name="Tanya").click()
    _ask(page, GUANGXI)
    before = _last_answer(page).inner_text()
    assert "Kutipan berbahasa Indonesia, bahasa siaran pers." in before  # English question
    assert "Sumber" in before
    page.get_by_text("English", exact=True).click()
    page.wait_for_function(f"""() => [...document.querySelectorAll('{BOTS}')].pop()
                               .innerText.includes('Sources')""")
    after = _last_answer(page).inner_text()
    assert "The quotes are in Indonesian, the language of the releases." in after
    assert "Sumber" not in after and "Kutipan" not in after
    page.get_by_role("tab", name="Releases").click()  # ...follow the switch too
    page.locator("#uploads").get_by_text("Drop File Here").wait_for()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_text_meets_wcag_aa_contrast(browser, url: str, scheme: str) -> None:  # type: ignore[no-untyped-def]
    """Contrast computed from the rendered colours (tests/contrast.js): 4.5:1, 3:1 if large."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, color_scheme=scheme)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    try:
        _open(page, url)
        _ask(page, GUANGXI)
        page.locator(f"{BOTS} .cite-ref").first.hover()  # its hover colours too
        low = {"chat": page.evaluate(CONTRAST)}
        page.get_by_role("tab", name="Siaran pers").click()
        page.locator("#uploads").wait_for()
        low["releases"] = page.evaluate(CONTRAST)
        page.screenshot(path=str(ARTIFACTS / f"contrast_{scheme}.png"), full_page=True)
    finally:
        context.close()
    assert low == {"chat": [], "releases": []}


def test_citations_are_reached_and_opened_with_the_keyboard(page, url: str) -> None:  # type: ignore[no-untyped-def]
    _open(page, url)
    _ask(page, GUANGXI)
    page.locator("#question textarea").focus()
    for _ in range(40):  # back from the question box into the answer above it
        page.keyboard.press("Shift+Tab")
        if page.evaluate("document.activeElement.matches('.cite-ref')"):
            break
    focused = page.locator(".cite-ref:focus")
    assert focused.count() == 1
    n = focused.get_attribute("data-n")
    assert focused.get_attribute("aria-label") == f"Sumber {n}"
    page.locator("#evidence").hover()  # nothing active from the pointer
    page.evaluate("document.querySelectorAll('.ev-card.active')"
                  ".forEach(c => c.classList.remove('active'))")
    page.keyboard.press("Enter")
    assert page.locator("#evidence .ev-card.active").get_attribute("data-n") == n


def test_screen_readers_hear_names_in_the_pages_language(page, url: str) -> None:  # type: ignore[no-untyped-def]
    _open(page, url)
    page.get_by_role("button", name="Contoh pertanyaan 1: Apa tiga prioritas").wait_for()
    assert "Select example" not in page.locator("body").aria_snapshot()
    _ask(page, GUANGXI)
    assert page.evaluate("document.documentElement.lang") == "id"
    page.get_by_role("button", name="Hapus percakapan").wait_for()  # Gradio's, in Indonesian
    tree = page.locator("body").aria_snapshot()
    for named in ('textbox "Pertanyaan"', 'group "Bahasa antarmuka"',
                  'button "Hapus percakapan"', 'button "Jawaban tepat"',
                  'button "Jawaban salah atau kurang"', 'button "Sumber 1"', 'log "Percakapan"'):
        assert named in tree, named
    for generic in ('"Textbox"', '"Radio"', '"Like"', '"Dislike"', '"Clear"', "bot's message",
                    "chatbot conversation", "Select example"):
        assert generic not in tree, generic
    page.get_by_text("English", exact=True).click()
    page.wait_for_function("document.documentElement.lang === 'en'")
    page.get_by_role("button", name="Clear the conversation").wait_for()
    assert 'textbox "Question"' in page.locator("body").aria_snapshot()


def test_deleting_a_release_asks_first(page, url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    title = "Kemenko PMK Uji Hapus Siaran"
    release = write_release(tmp_path, "uji-hapus.txt", (
        f"{title}\n\nJakarta, Kamis (9/11/2023) - Siaran uji untuk konfirmasi hapus.\n"))
    _open(page, url)
    _upload(page, release)
    row = page.locator("#releases").get_by_text(title).filter(visible=True).first
    row.click()
    page.wait_for_function("t => document.querySelector('#chosen textarea').value.includes(t)",
                           arg=title)
    page.locator("#delete").click()
    confirm = page.locator("#confirm-delete")
    confirm.get_by_text(f"Hapus “{title}” dari indeks?").wait_for()
    assert title in page.locator("#releases").inner_text()  # nothing deleted yet
    page.locator("#confirm-no").click()
    confirm.wait_for(state="hidden")
    assert title in page.locator("#releases").inner_text()
    page.locator("#delete").click()
    page.locator("#confirm-yes").click()
    page.locator("#release-status", has_text="Dihapus").wait_for()
    assert title not in page.locator("#releases").inner_text()


def test_chat_icons_sit_above_the_messages_not_over_them(page, url: str) -> None:  # type: ignore[no-untyped-def]
    _open(page, url)
    _ask(page, GUANGXI)
    _ask(page, CAHRSE)
    page.evaluate("document.querySelector('#chat [role=log]').scrollTop = 120")
    assert page.locator('#chat [data-testid="block-label"]').filter(visible=True).count() == 0
    icons = page.locator("#chat .top-panel").bounding_box()
    log = page.locator("#chat [role=log]").bounding_box()
    assert icons and log and icons["y"] + icons["height"] <= log["y"] + 1


def test_a_new_answer_opens_at_its_first_source(page, url: str) -> None:  # type: ignore[no-untyped-def]
    _open(page, url)
    _ask(page, GUANGXI)
    panel = "document.querySelector('#evidence .evidence')"
    page.evaluate(f"{panel}.scrollTop = {panel}.scrollHeight")
    assert page.evaluate(f"{panel}.scrollTop") > 0
    _ask(page, CAHRSE)
    page.wait_for_function(f"{panel}.scrollTop === 0")
    top = page.evaluate(f"""() => {{ const p = {panel};
        const first = p.querySelector('.ev-turn:not([hidden]) .ev-card');
        return first.getBoundingClientRect().top - p.getBoundingClientRect().top; }}""")
    assert 0 <= top < 100  # the first card shows at the top


def test_on_a_phone_the_title_keeps_the_width(browser, url: str) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT)
    try:
        _open(page, url)
        title = page.locator("#title h1").bounding_box()
        overflow = page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(ARTIFACTS / "phone_390.png"), full_page=True)
    finally:
        context.close()
    assert title and title["width"] >= 300 and overflow <= 390


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


def test_the_mode_switch_gets_a_written_answer_with_citations(page, llm_url: str, llm) -> None:  # type: ignore[no-untyped-def]
    from tests.llm_server import Reply

    _open(page, llm_url)
    switch = page.locator("#answer-mode")
    assert switch.is_visible() and switch.get_by_text("Jenis jawaban").count() == 1
    written = switch.get_by_label("Jawaban tertulis (model bahasa)")
    quoted = switch.get_by_label("Kutipan kalimat")
    assert written.is_checked()  # with a model, written answers are the default
    quoted.check()
    _ask(page, GUANGXI)
    answer = _last_answer(page).inner_text()
    assert "Warsito" in answer and "Mode: kutipan kalimat" in answer
    assert llm.received == []  # quoting never called the model
    written.check()
    # in the conversation, the model first condenses the question, then writes the answer
    llm.script(GUANGXI, Reply("Deputy Warsito hoped that Indonesia and China would explore "
                              "cooperation in vocational education and training (TVET) [1].",
                              chunk_delay=0.02))
    _ask(page, GUANGXI)
    answer = _last_answer(page)
    assert "Deputy Warsito hoped" in answer.inner_text()
    assert "Mode: jawaban tertulis · model test-model" in answer.inner_text()
    assert answer.locator(".cite-ref").count() >= 1 and len(llm.received) == 2
    quotes = page.locator("#evidence .ev-turn:not([hidden]) .ev-passage mark").all_inner_texts()
    assert any("Warsito" in q for q in quotes)
    # in English the switch speaks English and keeps the choice
    page.locator("#language").get_by_text("English").click()
    switch.get_by_text("Answer mode").wait_for()
    assert switch.get_by_label("Written answer (language model)").is_checked()
    assert "Mode: written answer · model test-model" in _last_answer(page).inner_text()


def test_without_a_model_there_is_no_mode_switch(page, url: str) -> None:  # type: ignore[no-untyped-def]
    _open(page, url)
    assert not page.locator("#answer-mode").is_visible()
    assert page.get_by_text("Jawaban tertulis", exact=False).count() == 0
    _ask(page, CAHRSE)
    assert "Mode: kutipan kalimat" in _last_answer(page).inner_text()
