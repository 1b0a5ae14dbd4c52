"""Interface text of the web chat in Indonesian (the default) and English: our own labels
(TEXT), the labels Gradio draws itself (GRADIO, applied in the page's language by ui.js),
and example questions."""

from __future__ import annotations

LANGUAGES = {"Bahasa Indonesia": "id", "English": "en"}
DEFAULT = "id"

TEXT: dict[str, dict[str, str]] = {
    "id": {
        "title": "Asisten Siaran Pers Kemenko PMK",
        "intro": "Jawaban dikutip dari siaran pers; setiap kalimat diberi nomor sumber [n]. "
                 "Klik atau arahkan kursor ke [n] untuk melihat sumbernya.",
        "intro_llm": "Jawaban ditulis model bahasa hanya dari siaran pers; setiap kalimat "
                     "diberi nomor sumber [n] dan diperiksa terhadap sumbernya (⚠ menandai "
                     "kalimat yang tidak didukung sumber). Klik atau arahkan kursor ke [n] "
                     "untuk melihat sumbernya. Pilih **Kutipan kalimat** di bawah kotak "
                     "pertanyaan untuk kalimat asli siaran pers.",
        "tab_chat": "Tanya", "tab_releases": "Siaran pers",
        "chat": "Percakapan", "placeholder": "Tulis pertanyaan…", "send": "Kirim",
        "filters": "Saring", "since": "Sejak (YYYY-MM-DD)", "until": "Sampai (YYYY-MM-DD)",
        "sources": "Sumber", "copy": "Salin jawaban + sumber",
        "export": "Ekspor percakapan (Markdown)", "new_chat": "Percakapan baru",
        "copy_text": "Teks untuk nota dinas (sudah disalin ke papan klip jika peramban "
                     "mengizinkan)",
        "export_file": "Berkas Markdown",
        "evidence": "Bukti", "evidence_empty": "Sumber jawaban terakhir akan tampil di sini.",
        "open_release": "Buka siaran pers lengkap", "no_date": "tanpa tanggal",
        "question": "Pertanyaan", "answer": "Jawaban", "sources_head": "Sumber",
        "comment": "Komentar (opsional): apa yang salah atau kurang?",
        "send_comment": "Kirim komentar",
        "thanks": "Terima kasih, masukan dicatat.",
        "thanks_comment": "Terima kasih, komentar dicatat.",
        "no_answer": "Belum ada jawaban untuk disalin.",
        "upload": "Unggah siaran pers (.txt .md .html .pdf .docx .jsonl)",
        "ingest": "Indeks berkas", "results": "Hasil per berkas",
        "col_file": "Berkas", "col_status": "Hasil", "col_reason": "Keterangan",
        "search": "Cari judul atau sumber", "releases": "Siaran pers terindeks",
        "col_title": "Judul", "col_date": "Tanggal", "col_chunks": "Potongan",
        "col_source": "Sumber", "col_id": "ID",
        "selected": "Siaran pers terpilih (klik baris tabel)", "delete": "Hapus dari indeks",
        "deleted": "Dihapus: {title}", "select_first": "Pilih siaran pers di tabel dulu.",
        "too_many": "Terlalu banyak berkas: {n} dipilih, paling banyak {max} per unggahan. "
                    "Unggah dalam beberapa kali.",
        "no_files": "Pilih berkas untuk diunggah dulu.",
        "ingested": "{summary}", "limits": "Batas: {files} berkas per unggahan, "
                                           "{mb:g} MB per berkas.",
        "status_added": "ditambahkan", "status_updated": "diperbarui",
        "status_unchanged": "tidak berubah", "status_failed": "gagal",
        "progress": "Menyematkan potongan teks",
        "thinking": "Mencari di siaran pers…",
        "language": "Bahasa antarmuka",
        "unsupported": "tidak didukung sumber",
        "empty_index": "Belum ada siaran pers di indeks. Untuk menambahkannya, buka tab "
                       "**Siaran pers** dan unggah berkas (.txt, .md, .html, .pdf, .docx atau "
                       ".jsonl), atau letakkan berkas di folder `corpus/` lalu jalankan "
                       "`assistant ingest corpus/` (atau `make run`), dan kirim pertanyaan lagi.",
        "since_name": "Sejak", "until_name": "Sampai",
        "bad_date": "Tanggal di kolom {field} tidak terbaca: “{value}”. Tulis dengan format "
                    "YYYY-MM-DD, misalnya 2023-09-29, atau kosongkan kolomnya.",
        "filter_note": "Saringan aktif: {filters}. Jawabannya mungkin ada di siaran pers di luar "
                       "saringan: kosongkan **Saring**, lalu tanya lagi.",
        "filter_since": "sejak {date}", "filter_until": "sampai {date}",
        "filter_sources": "sumber {sources}",
        "quotes_language": "Kutipan berbahasa Indonesia, bahasa siaran pers.",
        "written_answer": "Untuk jawaban yang ditulis dalam bahasa Inggris, pilih jawaban "
                          "tertulis (model bahasa).",
        "summary": "{added} ditambahkan, {updated} diperbarui, {unchanged} tidak berubah, "
                   "{failed} gagal.",
        "confirm_delete": "Hapus “{title}” dari indeks? Berkas unggahannya ikut dihapus; "
                          "berkas di `corpus/` kembali pada `assistant ingest` berikutnya.",
        "confirm_yes": "Ya, hapus", "confirm_no": "Batal",
        "cite": "Sumber {n}", "example": "Contoh pertanyaan {n}: {text}",
        "answer_mode": "Jenis jawaban", "mode_llm": "Jawaban tertulis (model bahasa)",
        "mode_quoted": "Kutipan kalimat",
        "produced_llm": "Mode: jawaban tertulis · model {model}",
        "produced_extractive": "Mode: kutipan kalimat",
        "produced_reader": "Mode: kutipan kalimat (pembaca terlatih)",
    },
    "en": {
        "title": "Kemenko PMK Press Release Assistant",
        "intro": "Answers are quoted from the press releases; every sentence carries a source "
                 "number [n]. Click or hover over [n] to see its source.",
        "intro_llm": "Answers are written by a language model from the press releases only; "
                     "every sentence carries a source number [n] and is checked against its "
                     "source (⚠ marks a sentence the sources do not support). Click or hover "
                     "over [n] to see its source. Choose **Quoted sentences** below the "
                     "question box for the releases' own sentences.",
        "tab_chat": "Ask", "tab_releases": "Releases",
        "chat": "Conversation", "placeholder": "Type a question…", "send": "Send",
        "filters": "Filters", "since": "Since (YYYY-MM-DD)", "until": "Until (YYYY-MM-DD)",
        "sources": "Sources", "copy": "Copy answer with sources",
        "export": "Export conversation (Markdown)", "new_chat": "New conversation",
        "copy_text": "Text for a briefing note (copied to the clipboard when the browser "
                     "allows it)",
        "export_file": "Markdown file",
        "evidence": "Evidence", "evidence_empty": "The sources of the latest answer show here.",
        "open_release": "Open the whole release", "no_date": "no date",
        "question": "Question", "answer": "Answer", "sources_head": "Sources",
        "comment": "Comment (optional): what was wrong or missing?",
        "send_comment": "Send comment",
        "thanks": "Thank you, your feedback was recorded.",
        "thanks_comment": "Thank you, your comment was recorded.",
        "no_answer": "There is no answer to copy yet.",
        "upload": "Upload releases (.txt .md .html .pdf .docx .jsonl)",
        "ingest": "Index files", "results": "Result per file",
        "col_file": "File", "col_status": "Result", "col_reason": "Details",
        "search": "Search titles or sources", "releases": "Indexed releases",
        "col_title": "Title", "col_date": "Date", "col_chunks": "Chunks",
        "col_source": "Source", "col_id": "ID",
        "selected": "Selected release (click a table row)", "delete": "Delete from the index",
        "deleted": "Deleted: {title}", "select_first": "Select a release in the table first.",
        "too_many": "Too many files: {n} selected, at most {max} per upload. "
                    "Upload them in several goes.",
        "no_files": "Choose files to upload first.",
        "ingested": "{summary}", "limits": "Limits: {files} files per upload, "
                                           "{mb:g} MB per file.",
        "status_added": "added", "status_updated": "updated",
        "status_unchanged": "unchanged", "status_failed": "failed",
        "progress": "Embedding text chunks",
        "thinking": "Searching the releases…",
        "language": "Interface language",
        "unsupported": "not supported by the sources",
        "empty_index": "There are no press releases in the index yet. To add some, open the "
                       "**Releases** tab and upload files (.txt, .md, .html, .pdf, .docx or "
                       ".jsonl), or put files in the `corpus/` folder and run "
                       "`assistant ingest corpus/` (or `make run`), then ask again.",
        "since_name": "Since", "until_name": "Until",
        "bad_date": "The {field} date cannot be read: “{value}”. Write it as YYYY-MM-DD, "
                    "for example 2023-09-29, or leave it empty.",
        "filter_note": "Filters on: {filters}. The answer may be in releases outside them: "
                       "clear the **Filters**, then ask again.",
        "filter_since": "since {date}", "filter_until": "until {date}",
        "filter_sources": "sources {sources}",
        "quotes_language": "The quotes are in Indonesian, the language of the releases.",
        "written_answer": "For an answer written in English, choose the written answer "
                          "(language model).",
        "summary": "{added} added, {updated} updated, {unchanged} unchanged, {failed} failed.",
        "confirm_delete": "Delete “{title}” from the index? Its uploaded file is deleted too; "
                          "a file in `corpus/` comes back on the next `assistant ingest`.",
        "confirm_yes": "Yes, delete", "confirm_no": "Cancel",
        "cite": "Source {n}", "example": "Example question {n}: {text}",
        "answer_mode": "Answer mode", "mode_llm": "Written answer (language model)",
        "mode_quoted": "Quoted sentences",
        "produced_llm": "Mode: written answer · model {model}",
        "produced_extractive": "Mode: quoted sentences",
        "produced_reader": "Mode: quoted sentences (trained reader)",
    },
}

# Gradio's own words, as we want them (its keys): given to Gradio as gr.I18n translations.
# Gradio draws them once, in its locale of the moment, so ui.js also swaps any of them,
# or of GRADIO_STOCK (Gradio's own en/id words), for the page's language.
GRADIO: dict[str, dict[str, str]] = {
    "id": {"chatbot.like": "Jawaban tepat", "chatbot.dislike": "Jawaban salah atau kurang",
           "chatbot.clear": "Hapus percakapan", "chatbot.copy_message": "Salin pesan",
           "chatbot.copied_message": "Pesan disalin",
           # "upload_text.or" is ours: Gradio writes "- {common.or} -"
           "upload_text.drop_file": "Letakkan File di Sini", "upload_text.or": "- atau -",
           "upload_text.click_to_upload": "Klik untuk Mengunggah"},
    "en": {"chatbot.like": "Good answer", "chatbot.dislike": "Wrong or incomplete answer",
           "chatbot.clear": "Clear the conversation", "chatbot.copy_message": "Copy message",
           "chatbot.copied_message": "Message copied",
           "upload_text.drop_file": "Drop File Here", "upload_text.or": "- or -",
           "upload_text.click_to_upload": "Click to Upload"},
}
GRADIO_STOCK = {
    "chatbot.like": ["Like", "Suka"], "chatbot.dislike": ["Dislike", "Tidak Suka"],
    "chatbot.clear": ["Clear", "Bersihkan obrolan"], "chatbot.copied_message": ["Copied message"],
}
SCRIPT_KEYS = ("chat", "cite", "example", "language")  # the labels ui.js sets itself

EXAMPLES = {
    "id": ["Apa tiga prioritas yang disampaikan Joko Kusnanto?",
           "Apa usulan para deputi kepada Guangxi?",
           "Kapan CAHRSE diselenggarakan?"],
    "en": ["what did the deputies propose to Guangxi?",
           "What are the three priorities Joko Kusnanto raised?",
           "When is CAHRSE held?"],
}


def t(lang: str, key: str, **values: object) -> str:
    """The interface text for key in lang (Indonesian when lang is unknown)."""
    text = TEXT.get(lang, TEXT[DEFAULT])[key]
    return text.format(**values) if values else text


def mode_choices(lang: str, modes: list[str]) -> list[tuple[str, str]]:
    """The answer-mode switch's choices in lang: (label, mode) for each mode offered."""
    return [(t(lang, "mode_llm" if mode == "llm" else "mode_quoted"), mode) for mode in modes]


def script_labels() -> dict[str, object]:
    """What ui.js labels, in every language ({n} and {text} filled in there)."""
    return {"labels": {lang: {key: TEXT[lang][key] for key in SCRIPT_KEYS} for lang in TEXT},
            "gradio": GRADIO, "stock": GRADIO_STOCK}
