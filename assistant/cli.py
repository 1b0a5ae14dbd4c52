"""The `assistant` command: thin click commands over pipeline and ui."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from assistant.config import Settings
from assistant.errors import AssistantError

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _build(settings: Settings | None = None) -> Any:
    from assistant.pipeline import build

    try:
        return build(settings or Settings())
    except AssistantError as exc:
        raise click.ClickException(str(exc)) from exc


def _date(_ctx: Any, _param: Any, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date; use YYYY-MM-DD") from exc


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Answer questions from Kemenko PMK press releases, citing every sentence.

    \b
    Typical use:
      assistant ingest corpus/              index the release files in corpus/
      assistant ask "Apa tiga prioritas yang disampaikan Joko Kusnanto?"
      assistant serve                       web chat on http://127.0.0.1:7860

    Settings come from environment variables: ASSISTANT_INDEX_DIR (default index/),
    ASSISTANT_EMBEDDER (e5 | sentence-transformers:<model>), ASSISTANT_CHROMA_URL
    (http://host:port of a Chroma server). See README.md.
    """


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--sync", is_flag=True,
              help="Also remove indexed releases whose files are gone from PATHS.")
@click.option("--rebuild", is_flag=True,
              help="Delete the whole index first (needed after changing the embedder).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def ingest(paths: tuple[Path, ...], sync: bool, rebuild: bool, quiet: bool) -> None:
    """Index release files (.txt .md .html .pdf .docx .jsonl) or folders of them.

    Re-running indexes only new or edited releases. A file that cannot be read is
    reported with its reason and skipped; the exit status is then 1.
    """
    from tqdm import tqdm

    assistant = _build()
    bar: Any = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if quiet:
            return
        if bar is None:
            bar = tqdm(total=total, unit="chunk", desc="embedding", file=sys.stderr)
        bar.update(done - bar.n)

    try:
        report = assistant.ingest(list(paths), sync=sync, rebuild=rebuild, progress=progress)
    except AssistantError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        if bar is not None:
            bar.close()
    for reason in report.failed:
        click.echo(f"failed: {reason}", err=True)
    click.echo(report.summary())
    if report.failed:
        sys.exit(1)


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("-k", "k", type=click.IntRange(1, 50), default=None,
              help="Passages to read (default 5).")
@click.option("--since", callback=_date, help="Only releases on or after this date (YYYY-MM-DD).")
@click.option("--until", callback=_date, help="Only releases on or before this date (YYYY-MM-DD).")
def ask(question: str, as_json: bool, k: int | None, since: dt.date | None,
        until: dt.date | None) -> None:
    """Answer QUESTION (Indonesian or English) from the indexed releases."""
    from assistant.answer import to_json

    assistant = _build()
    try:
        answer = assistant.ask(question, k=k, since=since, until=until)
    except AssistantError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(to_json(answer), ensure_ascii=False))
        return
    click.echo(answer.text)
    if answer.citations:
        click.echo("")
    for c in answer.citations:
        date = c.date.isoformat() if c.date else "tanpa tanggal"
        click.echo(f"[{c.n}] {c.title} ({date}) - {c.source}")
        click.echo(f'    "{c.quote}"')


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to bind; anything but loopback exposes the chat to the network.")
@click.option("--port", default=7860, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Start the web chat."""
    from assistant.ui import launch

    assistant = _build()
    try:
        launch(assistant, host=host, port=port)
    except AssistantError as exc:
        raise click.ClickException(str(exc)) from exc


if __name__ == "__main__":
    main()
