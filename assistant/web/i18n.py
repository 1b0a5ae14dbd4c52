"""Interface text of the web chat in Indonesian (the default) and English."""

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
                     "untuk melihat sumbernya.",
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
    },
    "en": {
        "title": "Kemenko PMK Press Release Assistant",
        "intro": "Answers are quoted from the press releases; every sentence carries a source "
                 "number [n]. Click or hover over [n] to see its source.",
        "intro_llm": "Answers are written by a language model from the press releases only; "
                     "every sentence carries a source number [n] and is checked against its "
                     "source (⚠ marks a sentence the sources do not support). Click or hover "
                     "over [n] to see its source.",
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
    },
}

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
