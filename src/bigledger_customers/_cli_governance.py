"""CLI command ``duplicates`` (registered on :data:`cli.app`): the batch duplicate report as CSV."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bigledger_customers.cli import _fail, _print, _state, app

__all__: list[str] = []

#: Columns of the report: the pair, its score, the fields that matched, each field's similarity.
COLUMNS = (
    "left_code",
    "right_code",
    "score",
    "matched",
    "name",
    "address",
    "tax_number",
    "email",
    "phone",
    "left_id",
    "right_id",
)


_FIELDS = ("name", "address", "tax_number", "email", "phone")


@app.command("duplicates")
def duplicates(
    ctx: typer.Context,
    output: Annotated[
        str, typer.Option("--output", "-o", help="CSV file to write ('-' writes to stdout).")
    ] = "duplicates.csv",
    threshold: Annotated[
        str | None, typer.Option(help="Lowest score reported, 0-1 (default: the book's setting, 0.5).")
    ] = None,
    include_voided: Annotated[bool, typer.Option("--include-voided", help="Compare voided customers too.")] = False,
) -> None:
    """Likely duplicate customers as CSV, one pair per row, with a progress bar (DESIGN.md section 3)."""
    book = _state(ctx).book
    console = Console(stderr=True)
    handle: Any = sys.stdout if output == "-" else None
    try:
        if handle is None:
            handle = Path(output).open("w", newline="", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as error:
        _fail("invalid_option", f"cannot write {output}: {error.strerror}", "output")
    pairs = 0
    try:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        ) as progress:
            tasks: dict[str, Any] = {}

            def on_progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    label = "reading customers" if stage == "read" else "comparing"
                    tasks[stage] = progress.add_task(label, total=total)
                progress.update(tasks[stage], completed=done, total=total)

            for match in book.duplicates.report(
                threshold=threshold, include_voided=include_voided, on_progress=on_progress
            ):
                fields = match.fields
                writer.writerow(
                    [
                        match.left_code,
                        match.right_code,
                        str(match.score),
                        " ".join(match.matched),
                        *(
                            str(fields[f]) if f in fields else ""
                            for f in ("name", "address", "tax_number", "email", "phone")
                        ),
                        match.left_id,
                        match.right_id,
                    ]
                )
                pairs += 1
    finally:
        if handle is not sys.stdout:
            handle.close()
    if output != "-":
        _print(f"{pairs} likely duplicate pairs written to {output}")
