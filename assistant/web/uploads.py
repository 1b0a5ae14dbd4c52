"""Uploaded release files: check, name safely, keep in the upload folder, index, report.

One path for the web page and the REST API: each file is checked against the upload limits,
given a safe name that never replaces another upload (a name that cleans to an existing
file with other content gets `-2`, `-3`...), copied into the upload folder and indexed;
the result has one row per file. The page passes `received`, the set of files Gradio itself
took in through its upload route, so a request naming any other server path is refused.
Uploads are indexed one at a time under the upload rules (admission.py: no replacing a
release from outside the upload folder, no second copy of indexed content), and a placed
file that no release comes from afterwards (refused, failed, interrupted, superseded by a
new version of its releases) is removed, so the upload folder holds indexed files only.
"""

from __future__ import annotations

import filecmp
import re
import shutil
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from assistant.config import Settings
from assistant.errors import UploadError
from assistant.index.indexer import Indexer, IngestReport, Progress
from assistant.ingest.releases import SUPPORTED_SUFFIXES, source_for
from assistant.schema import FileResult, UploadOut
from assistant.web.admission import Admission

_UNSAFE_NAME = re.compile(r"[^\w.-]+")
_UPLOADING = threading.Lock()
# a file name's longest safe form, in bytes: Linux allows 255, and the folder needs room for
# `-NN` (a name taken) and `.meta.json` (a sidecar is looked for beside every file)
MAX_NAME_BYTES = 200


@dataclass(frozen=True)
class Upload:
    """A file as received: where it is now and the name its sender gave it."""

    path: Path
    name: str


def safe_name(name: str) -> str:
    """A file name without path parts, spaces or punctuation that could escape the folder."""
    base = Path(name.replace("\\", "/")).name
    return _UNSAFE_NAME.sub("_", base).lstrip(".") or "berkas.txt"


def place(upload: Upload, folder: Path) -> Path:
    """Copy an upload into folder under its safe name, never replacing a different file."""
    name = safe_name(upload.name)
    stem, suffix = Path(name).stem, Path(name).suffix
    target, n = folder / name, 1
    while target.exists() and not filecmp.cmp(target, upload.path, shallow=False):
        n += 1
        target = folder / f"{stem}-{n}{suffix}"
    if not target.exists():
        shutil.copyfile(upload.path, target)
    return target


def check_names(uploads: Sequence[Upload]) -> None:
    """Refuse the whole request, before anything is stored, when a file name is too long."""
    for upload in uploads:
        name = safe_name(upload.name)
        size = len(name.encode())
        if size > MAX_NAME_BYTES:
            shown = f"{name[:40]}…{Path(name).suffix}"
            raise UploadError(f"`{shown}`: the file name is {size} bytes long, over the limit "
                              f"of {MAX_NAME_BYTES}; rename the file and upload it again "
                              "(nothing in this upload was stored)")


def check(upload: Upload, settings: Settings, received: Collection[Path] | None) -> str:
    """Why an upload is refused ("" when it is fine)."""
    name = safe_name(upload.name)
    if received is not None and upload.path.resolve() not in received:
        return f"`{name}`: was not uploaded through this page; upload the file again"
    if not upload.path.is_file():
        return f"`{name}`: the upload is missing; upload the file again"
    if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
        return (f"`{name}`: unsupported file type; use one of "
                f"{', '.join(sorted(SUPPORTED_SUFFIXES))}")
    size_mb = upload.path.stat().st_size / 2**20
    if size_mb > settings.upload_max_mb:
        return (f"`{name}`: {size_mb:.1f} MB is over the upload limit of "
                f"{settings.upload_max_mb:g} MB (ASSISTANT_UPLOAD_MAX_MB)")
    return ""


def ingest_uploads(indexer: Indexer, uploads: Sequence[Upload], received: Collection[Path]
                   | None = None, progress: Progress | None = None) -> UploadOut:
    """Check, place and index the uploads; one result row per file."""
    settings = indexer.settings
    if len(uploads) > settings.upload_max_files:
        raise UploadError(f"{len(uploads)} files at once; the limit is "
                          f"{settings.upload_max_files} (ASSISTANT_UPLOAD_MAX_FILES)")
    check_names(uploads)
    folder = Path(settings.upload_dir)
    folder.mkdir(parents=True, exist_ok=True)
    refused: list[FileResult] = []
    placed: list[tuple[str, Path]] = []
    # one upload at a time: what Admission checks against must hold until it is written
    with _UPLOADING:
        for upload in uploads:
            reason = check(upload, settings, received)
            if reason:
                refused.append(FileResult(file=safe_name(upload.name), status="failed",
                                          reason=reason))
            else:
                placed.append((safe_name(upload.name), place(upload, folder)))
        report = _index(indexer, [p for _, p in placed], progress)
    report.failed.extend(r.reason for r in refused)  # the summary counts them too
    return UploadOut(files=[*file_results(report, placed), *refused], summary=report.summary())


def _index(indexer: Indexer, paths: Sequence[Path], progress: Progress | None
           ) -> IngestReport:
    """Index placed files under the upload rules; then drop the files nothing came from."""
    if not paths:
        return IngestReport()
    folder = Path(indexer.settings.upload_dir)
    before = indexer.refresh(force=True).catalog
    report = IngestReport()
    try:
        report = indexer.ingest(paths, progress=progress, admit=Admission(folder))
    finally:  # an upload that indexed nothing (refused, failed, interrupted) leaves no file
        used = {r.file for r in indexer.refresh(force=True).catalog.values()}
        superseded = [before[rid].file for rid in report.updated if rid in before]
        for file in [*(source_for(p) for p in paths), *superseded]:
            remove_upload(folder, file, used.__contains__)
    return report


def file_results(report: IngestReport, placed: Sequence[tuple[str, Path]]) -> list[FileResult]:
    """One row per placed file: its name, what happened and, for failures, why."""
    rows = []
    for name, path in placed:
        status = report.files.get(source_for(path), "failed")
        reasons = [r for r in [*report.failed, *report.notes]
                   if r.startswith(f"`{path.name}`") or r.startswith(f"{path.name} line")]
        shown = name if path.name == name else f"{name} → {path.name}"
        rows.append(FileResult(file=shown, status=status, reason="; ".join(reasons)))
    return rows


def delete_release(indexer: Indexer, release_id: str) -> bool:
    """Delete a release and, when no other release comes from it, its uploaded file."""
    record = indexer.refresh().catalog.get(release_id)
    if record is None:
        return False
    indexer.delete_release(release_id)
    files = {r.file for r in indexer.releases()}
    remove_upload(Path(indexer.settings.upload_dir), record.file, lambda f: f in files)
    return True


def remove_upload(folder: Path, file: str, still_used: Callable[[str], bool]) -> None:
    """Delete an uploaded file once no indexed release comes from it."""
    path = Path(file)
    if not file or still_used(file) or not path.is_file():
        return
    if path.resolve().parent == Path(folder).resolve():
        path.unlink()
