"""CLI commands for data at scale: ``import``, ``export``, ``generate`` (registered on :data:`cli.app`).

Kept apart from cli.py so the bulk commands (progress bars, file formats) stay one module.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Annotated, Any, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bigledger_customers.cli import JsonFlag, _fail, _print, _print_json, _state, app
from bigledger_customers.errors import Conflict, ImportReport
from bigledger_customers.services.bulk import read_csv, read_jsonl, write_csv, write_jsonl
from bigledger_customers.testing.generate import customers, reference_data

__all__: list[str] = []

FormatOption = Annotated[
    str | None, typer.Option("--format", help="csv or jsonl (default: from the file name's extension).")
]


def _format(path: str, given: str | None) -> Literal["csv", "jsonl"]:
    chosen = (given or Path(path).suffix.lstrip(".")).lower()
    if chosen in ("jsonl", "ndjson", "json"):
        return "jsonl"
    if chosen in ("csv", "tsv", "txt"):
        return "csv"
    return _fail("invalid_option", f"cannot tell the format of {path!r}; give --format csv or --format jsonl", "format")


def _count_lines(path: Path) -> int | None:
    try:
        with path.open("rb") as f:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    except OSError:
        return None


@app.command("import")
def import_file(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="CSV or JSON Lines file ('-' reads JSON Lines from stdin).")],
    *,
    fmt: FormatOption = None,
    mode: Annotated[
        str, typer.Option(help="commit_good_rows, or all_or_nothing (a batch with a bad row stores nothing).")
    ] = "commit_good_rows",
    batch_size: Annotated[int, typer.Option(min=1, help="Rows per batch (one transaction each).")] = 5000,
    dialect: Annotated[str, typer.Option(help="csv dialect: excel, excel-tab, unix.")] = "excel",
    delimiter: Annotated[str | None, typer.Option(help="CSV field delimiter, e.g. ';'.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create or update (by code) customers from a file, with a progress bar and every bad row reported."""
    state = _state(ctx)
    book = state.book
    kind = "jsonl" if path == "-" else _format(path, fmt)
    fmt_args: dict[str, Any] = {"dialect": dialect} | ({"delimiter": delimiter} if delimiter else {})
    source: Any = sys.stdin if path == "-" else path
    rows = read_jsonl(source) if kind == "jsonl" else read_csv(source, **fmt_args)
    total = None if path == "-" else _count_lines(Path(path))
    if total is not None and kind == "csv":
        total = max(total - 1, 0)
    console = Console(stderr=True)
    with Progress(
        TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as progress:
        task = progress.add_task("import", total=total)

        def on_progress(report: ImportReport) -> None:
            progress.update(task, completed=report.rows_seen)

        report = book.customers.import_rows(
            rows,
            mode=mode,  # type: ignore[arg-type]  # checked by the service
            batch_size=batch_size,
            on_progress=on_progress,
            actor=state.actor,
        )
    if as_json:
        _print_json(
            {
                "rows_seen": report.rows_seen,
                "rows_ok": report.rows_ok,
                "errors": [
                    {"row": e.row, "field": e.field, "code": e.code, "message": e.message} for e in report.errors
                ],
            }
        )
    else:
        _print(f"{report.rows_ok} of {report.rows_seen} rows stored, {len(report.errors)} errors")
        for e in report.errors[:50]:
            _print(f"row {e.row}: {e.field or '-'}: {e.code}: {e.message}")
        if len(report.errors) > 50:
            _print(f"... and {len(report.errors) - 50} more (use --json for all)")
    if report.errors:
        raise typer.Exit(2)


def _open_out(path: str) -> IO[str]:
    if path == "-":
        return sys.stdout
    return Path(path).open("w", encoding="utf-8", newline="")


@app.command("export")
def export_file(
    ctx: typer.Context,
    path: Annotated[str, typer.Argument(help="Output file ('-' writes JSON Lines to stdout).")],
    *,
    fmt: FormatOption = None,
    text: Annotated[str | None, typer.Option(help="Only customers matching this text.")] = None,
    status: Annotated[str | None, typer.Option()] = None,
    category: Annotated[str | None, typer.Option()] = None,
    region: Annotated[str | None, typer.Option()] = None,
    bom: Annotated[bool, typer.Option("--bom", help="Start a CSV with a UTF-8 byte order mark.")] = False,
    dialect: Annotated[str, typer.Option(help="csv dialect: excel, excel-tab, unix.")] = "excel",
) -> None:
    """Write customers to CSV or JSON Lines, streaming (constant memory)."""
    state = _state(ctx)
    kind = "jsonl" if path == "-" else _format(path, fmt)
    filters: dict[str, Any] = {k: v for k, v in {"status": status, "category": category, "region": region}.items() if v}
    rows = state.book.customers.export(text, actor=state.actor, **filters)
    out = _open_out(path)
    try:
        count = write_jsonl(rows, out) if kind == "jsonl" else write_csv(rows, out, dialect=dialect, bom=bom)
    finally:
        if out is not sys.stdout:
            out.close()
    if path != "-":
        _print(f"{count} customers written to {path}")


def _generated(count: int, seed: int) -> Iterator[dict[str, Any]]:
    yield from customers(count, seed=seed)


@app.command("generate")
def generate(
    ctx: typer.Context,
    *,
    count: Annotated[int, typer.Option("--count", min=1, help="How many customers.")] = 1000,
    seed: Annotated[int, typer.Option("--seed", help="The same seed gives the same customers.")] = 0,
    out: Annotated[
        str | None, typer.Option("--out", help="Write JSON Lines here ('-': stdout) instead of into --db.")
    ] = None,
) -> None:
    """Make realistic test customers (zh, ms, en names; valid phones; skewed categories and statuses)."""
    if out is not None:
        target = _open_out(out)
        try:
            written = write_jsonl(_generated(count, seed), target)
        finally:
            if target is not sys.stdout:
                target.close()
        if out != "-":
            _print(f"{written} customers written to {out}")
        return
    state = _state(ctx)
    book = state.book
    for kind, code in reference_data():
        with contextlib.suppress(Conflict):  # already there: fine
            book.reference.add(kind, code, actor=state.actor)
    report = book.customers.import_rows(_generated(count, seed), actor=state.actor)
    _print(f"{report.rows_ok} customers generated into the database ({len(report.errors)} errors)")
    if report.errors:
        _print(json.dumps([e.code for e in report.errors[:5]]))
        raise typer.Exit(2)
