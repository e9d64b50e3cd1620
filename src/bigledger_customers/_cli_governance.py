"""CLI commands ``duplicates`` (the batch duplicate report as CSV) and ``approval ...`` (pending
requests per approver, approve, reject), registered on :data:`cli.app`."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from bigledger_customers.cli import JsonFlag, _fail, _print, _print_json, _state, _table, app
from bigledger_customers.domain.approvals import ApprovalRequest
from bigledger_customers.domain.convert import unstructure

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


approval_app = typer.Typer(
    help="Approval requests of every governed command: list, show, approve, reject.", no_args_is_help=True
)
app.add_typer(approval_app, name="approval")


def _show_request(request: ApprovalRequest, as_json: bool) -> None:
    if as_json:
        _print_json(unstructure(request))
        return
    step = request.current_step
    waiting = f", step {step + 1} of {len(request.steps)} ({request.steps[step].role})" if step is not None else ""
    _print(Text(f"approval {request.id} ({request.command}): {request.status}{waiting}"))


@approval_app.command("list")
def approval_list(
    ctx: typer.Context,
    command: Annotated[str | None, typer.Option(help="Only requests of this command, e.g. credit.limit.")] = None,
    mine: Annotated[bool, typer.Option("--mine", help="Only requests the acting actor may sign now.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Pending approval requests, oldest first."""
    state = _state(ctx)
    requests = state.book.approvals.pending(command=command, approver=state.actor if mine else None)
    if as_json:
        _print_json([unstructure(r) for r in requests])
        return
    if not requests:
        _print(Text("no pending approvals"))
        return
    rows = [
        (
            r.id,
            r.command,
            r.subject_id,
            r.steps[r.current_step or 0].role,
            r.requested_by,
            r.requested_at.isoformat(timespec="seconds"),
        )
        for r in requests
    ]
    _print(_table(("id", "command", "subject", "waiting for", "requested by", "requested at"), rows))


@approval_app.command("show")
def approval_show(
    ctx: typer.Context,
    approval_id: Annotated[str, typer.Argument(metavar="ID", help="The approval request.", show_default=False)],
    as_json: JsonFlag = False,
) -> None:
    """One approval request with its status and current step."""
    _show_request(_state(ctx).book.approvals.get(approval_id), as_json)


@approval_app.command("approve")
def approval_approve(
    ctx: typer.Context,
    approval_id: Annotated[str, typer.Argument(metavar="ID", help="The approval request.", show_default=False)],
    note: Annotated[str, typer.Option(help="Kept with the decision.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Sign the current step (not the requester); the last step applies the change."""
    state = _state(ctx)
    _show_request(state.book.approvals.approve(approval_id, note=note, actor=state.actor), as_json)


@approval_app.command("reject")
def approval_reject(
    ctx: typer.Context,
    approval_id: Annotated[str, typer.Argument(metavar="ID", help="The approval request.", show_default=False)],
    note: Annotated[str, typer.Option(help="Kept with the decision.")] = "",
    as_json: JsonFlag = False,
) -> None:
    """Reject the request: the proposed change is discarded."""
    state = _state(ctx)
    _show_request(state.book.approvals.reject(approval_id, note=note, actor=state.actor), as_json)
